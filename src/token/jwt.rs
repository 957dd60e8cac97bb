//! JWT access tokens (RFC 9068) and ID tokens (OpenID Connect Core §2).
//!
//! A JWT access token is recorded like an opaque one, keyed by the SHA-256 digest of the
//! whole token (which fixes its `jti`). Presenting it for introspection or revocation is a
//! digest and a lookup: no signature verification, and no forged token with a known `jti`
//! can match. Issuing hashes the token once: the keyring signs the SHA-256 of the signing
//! input it computed, and the same hash state, fed the signature segment, gives the key
//! ([`KeySigner::sign_digested`]).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::claims::Claims;
use crate::error::Result;
use crate::keys::{Algorithm, KeySigner};
use crate::model::TokenRecord;

/// Claims an extra-claims map may never set in an ID token or userinfo.
pub const PROTECTED_ID_TOKEN_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "sid",
    "at_hash",
    "c_hash",
];

/// The lookup key of a JWT: base64url(SHA-256(token)).
pub fn digest(token: &str) -> String {
    lookup_key(&Sha256::digest(token.as_bytes()).into())
}

/// The lookup key of a JWT from the SHA-256 of the whole token.
pub fn lookup_key(digest: &[u8; 32]) -> String {
    B64.encode(digest)
}

/// Whether a token has the shape of a JWS compact serialization.
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("ey") && token.bytes().filter(|b| *b == b'.').count() == 2
}

/// `at_hash` / `c_hash` (OIDC Core §3.3.2.11): base64url of the left half of the SHA-256
/// of the value, for the SHA-256 based algorithms.
pub fn half_hash(value: &str) -> String {
    HalfHash::of(value).as_str().to_owned()
}

/// A [`half_hash`] on the stack: 22 base64url characters.
struct HalfHash([u8; 22]);

impl HalfHash {
    fn of(value: &str) -> Self {
        let mut text = [0u8; 22];
        let d = Sha256::digest(value.as_bytes());
        B64.encode_slice(&d[..16], &mut text)
            .expect("16 bytes encode in 22");
        HalfHash(text)
    }

    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).expect("base64 is ASCII")
    }
}

/// Signs the RFC 9068 access token for `record` (`typ: at+jwt`); returns it with its
/// lookup key ([`digest`]).
pub fn sign_access_token(
    signer: &dyn KeySigner,
    alg: Algorithm,
    issuer: &str,
    jti: &str,
    record: &TokenRecord,
) -> Result<(String, String)> {
    let mut claims = Claims::new();
    claims
        .str("iss", issuer)
        .str("sub", &record.session.subject)
        .strs("aud", &record.audience)
        .int("exp", record.expires_at)
        .int("iat", record.issued_at)
        .int("nbf", record.issued_at)
        .str("jti", jti)
        .str("client_id", &record.client_id)
        .str("scope", record.scope.as_str());
    if !record.session.access_token_claims.is_empty() {
        claims.value("ext", &record.session.access_token_claims)?;
    }
    let (token, digest) = signer.sign_digested(alg, "at+jwt", &claims.finish())?;
    Ok((token, lookup_key(&digest)))
}

/// What an ID token needs beyond the grant's session.
#[derive(Debug, Clone, Copy)]
pub struct IdTokenParts<'a> {
    /// The issuer.
    pub issuer: &'a str,
    /// The client (`aud` and `azp`).
    pub client_id: &'a str,
    /// Issued at (unix seconds).
    pub issued_at: i64,
    /// Expires at (unix seconds).
    pub expires_at: i64,
    /// The access token issued with it, for `at_hash`.
    pub access_token: Option<&'a str>,
    /// The code issued with it, for `c_hash`.
    pub code: Option<&'a str>,
    /// Whether to include the request's `nonce` (not on refresh, OIDC Core §12.2).
    pub with_nonce: bool,
}

/// Signs an ID token for a grant's session.
pub fn sign_id_token(
    signer: &dyn KeySigner,
    alg: Algorithm,
    session: &crate::model::Session,
    parts: IdTokenParts<'_>,
) -> Result<String> {
    let mut claims = Claims::new();
    // The session's extra claims first, never one of the protected ones.
    claims.extra(&session.id_token_claims, |name| {
        !PROTECTED_ID_TOKEN_CLAIMS.contains(&name)
    })?;
    claims
        .str("iss", parts.issuer)
        .str("sub", &session.subject)
        .str("aud", parts.client_id)
        .str("azp", parts.client_id)
        .int("iat", parts.issued_at)
        .int("exp", parts.expires_at)
        .opt_int("auth_time", session.auth_time)
        .opt_str(
            "nonce",
            session.nonce.as_deref().filter(|_| parts.with_nonce),
        )
        .opt_str("acr", session.acr.as_deref());
    if !session.amr.is_empty() {
        claims.strs("amr", &session.amr);
    }
    claims.opt_str("sid", session.sid.as_deref());
    if let Some(token) = parts.access_token {
        claims.str("at_hash", HalfHash::of(token).as_str());
    }
    if let Some(code) = parts.code {
        claims.str("c_hash", HalfHash::of(code).as_str());
    }
    let json = claims.finish();
    signer.sign(alg, "JWT", &json)
}

/// Verifies a JWT this provider signed (e.g. an `id_token_hint`): signature against the
/// published keys, and issuer. Expiry is not checked (OIDC Core §3.1.2.1 allows expired
/// hints). Returns the claims.
pub fn verify_own(signer: &dyn KeySigner, issuer: &str, token: &str) -> Result<Map<String, Value>> {
    use jsonwebtoken::{decode, decode_header, jwk::JwkSet, DecodingKey, Validation};
    let invalid = || {
        crate::Error::invalid_request("The id_token_hint is not a valid ID token of this provider.")
    };
    let header = decode_header(token).map_err(|_| invalid())?;
    if !matches!(
        header.alg,
        jsonwebtoken::Algorithm::RS256 | jsonwebtoken::Algorithm::ES256
    ) {
        return Err(invalid());
    }
    let kid = header.kid.ok_or_else(invalid)?;
    let jwks: JwkSet = serde_json::from_value(signer.jwks()).map_err(crate::Error::internal)?;
    let jwk = jwks.find(&kid).ok_or_else(invalid)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| invalid())?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation.set_issuer(&[issuer]);
    let data = decode::<Map<String, Value>>(token, &key, &validation).map_err(|_| invalid())?;
    Ok(data.claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_hash_matches_oidc_example_shape() {
        // OIDC Core §3.3.2.11: left-most 128 bits, base64url: 22 characters.
        assert_eq!(half_hash("x").len(), 22);
        assert_ne!(half_hash("x"), half_hash("y"));
    }

    #[test]
    fn jwt_shape() {
        assert!(looks_like_jwt("eyJhbGciOiJ.eyJ.sig"));
        assert!(!looks_like_jwt("ptc_at_abc.def"));
    }
}
