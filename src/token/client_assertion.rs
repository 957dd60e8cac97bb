//! `private_key_jwt` client assertions (RFC 7523 §2.2 and §3, OpenID Connect Core §9).
//!
//! A client registered for `private_key_jwt` authenticates with a JWT it signed with one
//! of its public keys: its registered `jwks`, or the document at its `jwks_uri` when the
//! app gave the provider a fetcher ([`client_jwks`](super::client_jwks)). The signature is verified by
//! `jsonwebtoken`; the claims are checked against the provider's clock (the checks the
//! JWT-bearer grant shares are in [`assertion`]):
//!
//! - `iss` and `sub` are both the client id;
//! - `aud` names this server: its issuer, its token endpoint or its revocation endpoint;
//! - `exp` is required and not past (with [`LEEWAY`]), and at most
//!   [`MAX_LIFETIME`] ahead, so the replay store stays bounded;
//! - `nbf` and `iat`, when present, are not in the future (with [`LEEWAY`]);
//! - `jti` is required; the engine then lets the store accept it once per client
//!   ([`TokenStore::use_assertion_id`](crate::storage::TokenStore::use_assertion_id)).
//!
//! Only asymmetric algorithms are accepted ([`SIGNING_ALGS`]): never `none`, never HMAC
//! (a client secret is not a key here). If the client registered
//! `token_endpoint_auth_signing_alg`, the assertion must use exactly that one.
//!
//! Either way the keys are checked as [`check_public_jwks`] does; a client registered
//! with inline keys must have one that can verify its assertions
//! ([`has_verification_key`]).

use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;

use super::assertion::{self, Claims, KeyFault, Profile};
pub use super::assertion::{
    signing_alg, VerifiedAssertion, LEEWAY, MAX_ASSERTION_BYTES, MAX_JTI_BYTES, MAX_LIFETIME,
    SIGNING_ALGS,
};
use crate::error::{Error, ErrorCode, Result};
use crate::model::Client;

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Client assertion failures are `invalid_client` (RFC 7523 §3.2).
const PROFILE: Profile = Profile {
    code: ErrorCode::InvalidClient,
    noun: "client assertion",
};

fn invalid(description: &'static str) -> Error {
    Error::invalid_client(description)
}

#[derive(Deserialize)]
struct Subject {
    sub: String,
}

/// The `sub` of an assertion, read **without verifying it**, to find the client whose
/// keys verify it. Fails (`invalid_client`) if the assertion is larger than
/// [`MAX_ASSERTION_BYTES`] or is not a JWT with a string `sub`.
pub fn unverified_subject(assertion: &str) -> Result<String> {
    assertion::check_size(assertion, PROFILE)?;
    let subject: Subject = jsonwebtoken::dangerous::insecure_decode_claims(assertion)
        .map_err(|_| invalid("The client assertion is not a JWT with a 'sub' claim."))?;
    if subject.sub.is_empty() {
        return Err(invalid("The client assertion's 'sub' is empty."));
    }
    Ok(subject.sub)
}

/// The `kid` of an assertion's header, read **before verifying it**, to find the key set
/// that verifies it. Fails (`invalid_client`) as [`verify`] does on a malformed header.
pub fn header_kid(assertion: &str) -> Result<Option<String>> {
    Ok(assertion::header(assertion, PROFILE)?.kid)
}

/// Verifies `assertion` for `client`: signature against `jwks` (the client's keys), algorithm,
/// and the RFC 7523 §3 claims at `now` (unix seconds); `audiences` are the values of
/// `aud` that name this server. Every failure is `invalid_client` with a description
/// that names the check, never a key or claim value.
pub fn verify(
    client: &Client,
    jwks: &JwkSet,
    assertion: &str,
    audiences: &[&str],
    now: i64,
) -> Result<VerifiedAssertion> {
    let header = assertion::header(assertion, PROFILE)?;
    if let Some(registered) = &client.token_endpoint_auth_signing_alg {
        if signing_alg(registered) != Some(header.alg) {
            return Err(invalid(
                "The client assertion is not signed with the client's registered \
                 token_endpoint_auth_signing_alg.",
            ));
        }
    }
    let jwk = assertion::select_key(&jwks.keys, |k| k, header.kid.as_deref(), header.alg).map_err(
        |fault| {
            invalid(match fault {
                KeyFault::UnknownKid => "No registered key of the client has the assertion's kid.",
                KeyFault::NoneFits => {
                    "No registered key of the client fits the assertion's algorithm."
                }
                KeyFault::Ambiguous => {
                    "The client assertion has no kid and several registered keys fit it."
                }
                KeyFault::Misfit => {
                    "The registered key with the assertion's kid does not fit its algorithm."
                }
            })
        },
    )?;
    let claims = assertion::decode(assertion, jwk, header.alg, PROFILE)?;
    check_claims(&client.client_id, &claims, audiences, now)
}

/// `iss` and `sub` are both the client id; then the shared checks.
fn check_claims(
    client_id: &str,
    claims: &Claims,
    audiences: &[&str],
    now: i64,
) -> Result<VerifiedAssertion> {
    if claims.iss.as_deref() != Some(client_id) || claims.sub.as_deref() != Some(client_id) {
        return Err(invalid(
            "The client assertion's iss and sub must both be the client_id.",
        ));
    }
    assertion::check_claims(claims, audiences, now, PROFILE)
}

/// Checks a client's `jwks` at registration: a JWK Set, with no private or symmetric key
/// material in any key. Fails with a description for `invalid_client_metadata`.
pub fn check_public_jwks(jwks: &serde_json::Value) -> std::result::Result<JwkSet, &'static str> {
    let keys = jwks
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or("The jwks must be a JWK Set: an object with a 'keys' array.")?;
    if keys.iter().any(assertion::has_private_material) {
        return Err(
            "The jwks must hold public keys only: a key has private or symmetric key material.",
        );
    }
    JwkSet::deserialize(jwks).map_err(|_| "The jwks is not a valid JWK Set.")
}

/// Whether the set has a public key that can verify assertions signed with `alg` (any
/// of [`SIGNING_ALGS`] if `None`).
pub fn has_verification_key(set: &JwkSet, alg: Option<jsonwebtoken::Algorithm>) -> bool {
    set.keys.iter().any(|k| assertion::verifies(k, alg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: serde_json::Value) -> Claims {
        serde_json::from_value(v).unwrap()
    }

    const NOW: i64 = 1_700_000_000;
    const AUD: &[&str] = &["https://as.example/oauth2/token"];

    fn good() -> serde_json::Value {
        json!({"iss": "c", "sub": "c", "aud": AUD[0], "exp": NOW + 60, "jti": "j"})
    }

    #[test]
    fn claims_checks() {
        let ok = check_claims("c", &claims(good()), AUD, NOW).unwrap();
        assert_eq!(ok.jti, "j");
        assert_eq!(ok.accepted_until, NOW + 60 + LEEWAY);
        let with = |k: &str, v: serde_json::Value| {
            let mut c = good();
            c[k] = v;
            check_claims("c", &claims(c), AUD, NOW).map(|_| ())
        };
        assert!(with("aud", json!(["x", AUD[0]])).is_ok());
        assert!(with("exp", json!(NOW as f64 + 0.5)).is_ok());
        assert!(
            with("exp", json!(NOW - LEEWAY + 1)).is_ok(),
            "within leeway"
        );
        for (k, v) in [
            ("iss", json!("d")),
            ("sub", json!("d")),
            ("aud", json!("https://elsewhere")),
            ("aud", json!([])),
            ("exp", json!(NOW - LEEWAY)),
            ("exp", json!(NOW + MAX_LIFETIME + 1)),
            ("exp", json!(1e300)),
            ("nbf", json!(NOW + LEEWAY + 1)),
            ("iat", json!(NOW + LEEWAY + 1)),
            ("jti", json!("")),
            ("jti", json!("x".repeat(MAX_JTI_BYTES + 1))),
        ] {
            let e = with(k, v.clone()).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidClient, "{k}={v}");
        }
        let mut no_jti = good();
        no_jti.as_object_mut().unwrap().remove("jti");
        assert!(check_claims("c", &claims(no_jti), AUD, NOW).is_err());
    }

    #[test]
    fn unverified_subject_is_size_limited() {
        let e = unverified_subject(&"a".repeat(MAX_ASSERTION_BYTES + 1)).unwrap_err();
        assert_eq!(e.description(), "The client assertion is too large.");
        assert!(unverified_subject("a.b.c").is_err());
        assert!(unverified_subject("").is_err());
    }

    #[test]
    fn jwks_with_private_material_or_no_usable_key_is_refused() {
        let ec = json!({"kty": "EC", "crv": "P-256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
        let set = check_public_jwks(&json!({"keys": [ec.clone()]})).unwrap();
        assert!(has_verification_key(&set, None));
        assert!(has_verification_key(
            &set,
            Some(jsonwebtoken::Algorithm::ES256)
        ));
        assert!(!has_verification_key(
            &set,
            Some(jsonwebtoken::Algorithm::RS256)
        ));
        let mut private = ec.clone();
        private["d"] = json!("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI");
        assert!(check_public_jwks(&json!({"keys": [ec.clone(), private]})).is_err());
        assert!(check_public_jwks(&json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})).is_err());
        let empty = check_public_jwks(&json!({"keys": []})).unwrap();
        assert!(!has_verification_key(&empty, None));
        assert!(check_public_jwks(&json!([ec])).is_err());
    }
}
