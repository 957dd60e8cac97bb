//! `private_key_jwt` client assertions (RFC 7523 §2.2 and §3, OpenID Connect Core §9).
//!
//! A client registered for `private_key_jwt` authenticates with a JWT it signed with one
//! of the public keys in its registered `jwks`. The signature is verified by
//! `jsonwebtoken`; the claims are checked here against the provider's clock:
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
//! Keys come only from the client's inline `jwks`: a sans-IO engine cannot fetch a
//! `jwks_uri`, so a `private_key_jwt` client must be registered with `jwks`
//! ([`check_public_jwks`], [`has_verification_key`]).

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::model::Client;

/// The `client_assertion_type` of a JWT client assertion (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest assertion read (bytes): far above any real one (an RS512 assertion with a
/// 4096-bit key is under 1.5 KiB), and small enough to decode before authenticating.
pub const MAX_ASSERTION_BYTES: usize = 8 * 1024;

/// The longest `jti` accepted (bytes): it becomes a store key.
pub const MAX_JTI_BYTES: usize = 256;

/// Clock skew tolerated on `exp`, `nbf` and `iat` (seconds).
pub const LEEWAY: i64 = 60;

/// How far ahead (seconds) an assertion's `exp` may be. Used ids are kept until their
/// assertion expires, so this bounds how long the store remembers each one.
pub const MAX_LIFETIME: i64 = 60 * 60;

/// The algorithms a client assertion may be signed with, by their JWS names.
pub const SIGNING_ALGS: [(&str, Algorithm); 9] = [
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("EdDSA", Algorithm::EdDSA),
];

/// The supported signing algorithm with this JWS name.
pub fn signing_alg(name: &str) -> Option<Algorithm> {
    SIGNING_ALGS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, a)| *a)
}

/// The JWK members that hold private or symmetric key material (RFC 7518 §6).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

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
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(invalid("The client assertion is too large."));
    }
    let subject: Subject = jsonwebtoken::dangerous::insecure_decode_claims(assertion)
        .map_err(|_| invalid("The client assertion is not a JWT with a 'sub' claim."))?;
    if subject.sub.is_empty() {
        return Err(invalid("The client assertion's 'sub' is empty."));
    }
    Ok(subject.sub)
}

/// `aud`: one string or an array of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn contains_any(&self, accepted: &[&str]) -> bool {
        match self {
            Self::One(a) => accepted.contains(&a.as_str()),
            Self::Many(all) => all.iter().any(|a| accepted.contains(&a.as_str())),
        }
    }
}

/// The claims checked; NumericDates may be fractional (RFC 7519 §2).
#[derive(Deserialize)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<f64>,
    nbf: Option<f64>,
    iat: Option<f64>,
    jti: Option<String>,
}

/// A verified assertion: what the replay check needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The assertion's `jti`.
    pub jti: String,
    /// Until when (unix seconds) the assertion would be accepted: `exp` plus
    /// [`LEEWAY`]. Its id must be remembered at least that long.
    pub accepted_until: i64,
}

/// Verifies `assertion` for `client`: signature against the client's `jwks`, algorithm,
/// and the RFC 7523 §3 claims at `now` (unix seconds); `audiences` are the values of
/// `aud` that name this server. Every failure is `invalid_client` with a description
/// that names the check, never a key or claim value.
pub fn verify(
    client: &Client,
    assertion: &str,
    audiences: &[&str],
    now: i64,
) -> Result<VerifiedAssertion> {
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(invalid("The client assertion is too large."));
    }
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| {
        invalid("The client assertion is not a JWS signed with a supported algorithm.")
    })?;
    if !SIGNING_ALGS.iter().any(|(_, a)| *a == header.alg) {
        return Err(invalid(
            "The client assertion must be signed with an asymmetric algorithm.",
        ));
    }
    if header.crit.is_some() {
        return Err(invalid(
            "The client assertion has critical header extensions this server does not support.",
        ));
    }
    if let Some(registered) = &client.token_endpoint_auth_signing_alg {
        if signing_alg(registered) != Some(header.alg) {
            return Err(invalid(
                "The client assertion is not signed with the client's registered \
                 token_endpoint_auth_signing_alg.",
            ));
        }
    }
    let jwks: JwkSet = client
        .jwks
        .as_ref()
        .and_then(|v| JwkSet::deserialize(v).ok())
        .ok_or_else(|| invalid("The client has no usable registered keys (jwks)."))?;
    let jwk = select_key(&jwks, header.kid.as_deref(), header.alg)?;
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|_| invalid("The client's registered key cannot be used."))?;
    let mut validation = Validation::new(header.alg);
    // Time and audience are checked below, against the provider's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Claims>(assertion, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                invalid("The client assertion's signature is invalid.")
            }
            jsonwebtoken::errors::ErrorKind::Json(_) => {
                invalid("The client assertion's claims are malformed.")
            }
            _ => invalid("The client assertion cannot be verified with the client's keys."),
        })?
        .claims;
    check_claims(&client.client_id, claims, audiences, now)
}

/// Whether a key may verify `alg`: of its family and curve, and not restricted by its
/// own `alg` or `use` to something else.
fn fits(jwk: &Jwk, alg: Algorithm) -> bool {
    let family = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => matches!(
            alg,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        ),
        AlgorithmParameters::EllipticCurve(ec) => matches!(
            (&ec.curve, alg),
            (EllipticCurve::P256, Algorithm::ES256) | (EllipticCurve::P384, Algorithm::ES384)
        ),
        AlgorithmParameters::OctetKeyPair(okp) => {
            okp.curve == EllipticCurve::Ed25519 && alg == Algorithm::EdDSA
        }
        _ => false,
    };
    family
        && jwk
            .common
            .key_algorithm
            .is_none_or(|a| a == jsonwebtoken::jwk::KeyAlgorithm::from(alg))
        && jwk
            .common
            .public_key_use
            .as_ref()
            .is_none_or(|u| *u == PublicKeyUse::Signature)
}

/// The key named by `kid`, or without one the single key that fits `alg`.
fn select_key<'a>(jwks: &'a JwkSet, kid: Option<&str>, alg: Algorithm) -> Result<&'a Jwk> {
    let jwk = match kid {
        Some(kid) => jwks
            .find(kid)
            .ok_or_else(|| invalid("No registered key of the client has the assertion's kid."))?,
        None => {
            let mut fitting = jwks.keys.iter().filter(|k| fits(k, alg));
            match (fitting.next(), fitting.next()) {
                (Some(k), None) => return Ok(k),
                (None, _) => {
                    return Err(invalid(
                        "No registered key of the client fits the assertion's algorithm.",
                    ))
                }
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        "The client assertion has no kid and several registered keys fit it.",
                    ))
                }
            }
        }
    };
    if !fits(jwk, alg) {
        return Err(invalid(
            "The registered key with the assertion's kid does not fit its algorithm.",
        ));
    }
    Ok(jwk)
}

/// A NumericDate as whole seconds (saturating: JSON numbers cannot be NaN).
fn seconds(date: f64) -> i64 {
    date.floor() as i64
}

fn check_claims(
    client_id: &str,
    claims: Claims,
    audiences: &[&str],
    now: i64,
) -> Result<VerifiedAssertion> {
    if claims.iss.as_deref() != Some(client_id) || claims.sub.as_deref() != Some(client_id) {
        return Err(invalid(
            "The client assertion's iss and sub must both be the client_id.",
        ));
    }
    if !claims.aud.is_some_and(|a| a.contains_any(audiences)) {
        return Err(invalid(
            "The client assertion's aud must name this server's issuer or token endpoint.",
        ));
    }
    let exp = seconds(
        claims
            .exp
            .ok_or_else(|| invalid("The client assertion has no exp."))?,
    );
    if exp.saturating_add(LEEWAY) <= now {
        return Err(invalid("The client assertion has expired."));
    }
    if exp > now.saturating_add(MAX_LIFETIME) {
        return Err(invalid(
            "The client assertion expires too far in the future (at most one hour).",
        ));
    }
    let future = |date: Option<f64>| date.is_some_and(|d| seconds(d) > now.saturating_add(LEEWAY));
    if future(claims.nbf) {
        return Err(invalid("The client assertion is not valid yet (nbf)."));
    }
    if future(claims.iat) {
        return Err(invalid(
            "The client assertion is issued in the future (iat).",
        ));
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty())
        .ok_or_else(|| invalid("The client assertion has no jti."))?;
    if jti.len() > MAX_JTI_BYTES {
        return Err(invalid("The client assertion's jti is too long."));
    }
    Ok(VerifiedAssertion {
        jti,
        accepted_until: exp.saturating_add(LEEWAY),
    })
}

/// Checks a client's `jwks` at registration: a JWK Set, with no private or symmetric key
/// material in any key. Fails with a description for `invalid_client_metadata`.
pub fn check_public_jwks(jwks: &serde_json::Value) -> std::result::Result<JwkSet, &'static str> {
    let keys = jwks
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or("The jwks must be a JWK Set: an object with a 'keys' array.")?;
    if keys.iter().any(|k| {
        k.as_object()
            .is_some_and(|k| PRIVATE_MEMBERS.iter().any(|m| k.contains_key(*m)))
    }) {
        return Err(
            "The jwks must hold public keys only: a key has private or symmetric key material.",
        );
    }
    JwkSet::deserialize(jwks).map_err(|_| "The jwks is not a valid JWK Set.")
}

/// Whether the set has a public key that can verify assertions signed with `alg` (any
/// of [`SIGNING_ALGS`] if `None`).
pub fn has_verification_key(set: &JwkSet, alg: Option<Algorithm>) -> bool {
    set.keys.iter().any(|k| {
        SIGNING_ALGS
            .iter()
            .any(|(_, a)| alg.is_none_or(|alg| alg == *a) && fits(k, *a))
            && DecodingKey::from_jwk(k).is_ok()
    })
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
        let ok = check_claims("c", claims(good()), AUD, NOW).unwrap();
        assert_eq!(ok.jti, "j");
        assert_eq!(ok.accepted_until, NOW + 60 + LEEWAY);
        let with = |k: &str, v: serde_json::Value| {
            let mut c = good();
            c[k] = v;
            check_claims("c", claims(c), AUD, NOW).map(|_| ())
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
        assert!(check_claims("c", claims(no_jti), AUD, NOW).is_err());
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
        assert!(has_verification_key(&set, Some(Algorithm::ES256)));
        assert!(!has_verification_key(&set, Some(Algorithm::RS256)));
        let mut private = ec.clone();
        private["d"] = json!("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI");
        assert!(check_public_jwks(&json!({"keys": [ec.clone(), private]})).is_err());
        assert!(check_public_jwks(&json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})).is_err());
        let empty = check_public_jwks(&json!({"keys": []})).unwrap();
        assert!(!has_verification_key(&empty, None));
        assert!(check_public_jwks(&json!([ec])).is_err());
    }
}
