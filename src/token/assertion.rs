//! What the two RFC 7523 profiles share: JWT assertions verified with `jsonwebtoken`
//! against keys the server holds, and the claims of RFC 7523 §3 checked against the
//! provider's clock.
//!
//! Both the `private_key_jwt` client assertions (§2.2,
//! [`client_assertion`](super::client_assertion)) and the JWT-bearer authorization grant
//! (§2.1, [`grant::jwt_bearer`](crate::grant::jwt_bearer)) use these checks; they differ
//! in where the keys come from, how `iss` and `sub` are judged, and which error code a
//! failure is (`invalid_client` or `invalid_grant`).
//!
//! - Only asymmetric algorithms are accepted ([`SIGNING_ALGS`]): never `none`, never
//!   HMAC (a shared secret is not a key here).
//! - `aud` names this server; `exp` is required, not past (with [`LEEWAY`]) and at most
//!   [`MAX_LIFETIME`] ahead, so the replay store stays bounded; `nbf` and `iat`, when
//!   present, are not in the future; `jti` is required (the caller spends it once).
//! - Assertions over [`MAX_ASSERTION_BYTES`] are refused before anything is decoded.

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::Deserialize;

use crate::error::{Error, ErrorCode, Result};

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

/// The algorithms an assertion may be signed with, by their JWS names.
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

/// Whether a JWK (as JSON) holds private or symmetric key material: such a key must
/// never be registered, whoever sent it.
pub fn has_private_material(jwk: &serde_json::Value) -> bool {
    jwk.as_object()
        .is_some_and(|k| PRIVATE_MEMBERS.iter().any(|m| k.contains_key(*m)))
}

/// How one profile reports a failed check: its error code, and what its descriptions
/// call the assertion ("client assertion", "assertion").
#[derive(Debug, Clone, Copy)]
pub(crate) struct Profile {
    pub code: ErrorCode,
    pub noun: &'static str,
}

impl Profile {
    /// `The {noun} {what}`.
    pub fn error(self, what: &str) -> Error {
        Error::new(self.code, format!("The {} {what}", self.noun))
    }

    /// `The {noun}'s {what}`.
    pub fn error_of(self, what: &str) -> Error {
        Error::new(self.code, format!("The {}'s {what}", self.noun))
    }
}

/// Refuses an assertion over [`MAX_ASSERTION_BYTES`].
pub(crate) fn check_size(assertion: &str, profile: Profile) -> Result<()> {
    if assertion.len() > MAX_ASSERTION_BYTES {
        return Err(profile.error("is too large."));
    }
    Ok(())
}

/// The header of an assertion signed with a supported asymmetric algorithm, without
/// critical extensions. Checks the size first.
pub(crate) fn header(assertion: &str, profile: Profile) -> Result<Header> {
    check_size(assertion, profile)?;
    let header = jsonwebtoken::decode_header(assertion)
        .map_err(|_| profile.error("is not a JWS signed with a supported algorithm."))?;
    if !SIGNING_ALGS.iter().any(|(_, a)| *a == header.alg) {
        return Err(profile.error("must be signed with an asymmetric algorithm."));
    }
    if header.crit.is_some() {
        return Err(profile.error("has critical header extensions this server does not support."));
    }
    Ok(header)
}

/// Why no key was chosen for an assertion ([`select_key`]); each profile words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyFault {
    /// No candidate has the assertion's `kid`.
    UnknownKid,
    /// The assertion has no `kid` and no candidate fits its algorithm.
    NoneFits,
    /// The assertion has no `kid` and several candidates fit its algorithm.
    Ambiguous,
    /// The candidate with the assertion's `kid` does not fit its algorithm.
    Misfit,
}

/// The candidate key named by `kid`, or without one the single key that fits `alg`.
/// With a `kid`, the first candidate with it is taken (callers keep kids unique).
pub(crate) fn select_key<'a, T>(
    candidates: &'a [T],
    jwk: impl Fn(&T) -> &Jwk,
    kid: Option<&str>,
    alg: Algorithm,
) -> std::result::Result<&'a T, KeyFault> {
    let chosen = match kid {
        Some(kid) => candidates
            .iter()
            .find(|c| jwk(c).common.key_id.as_deref() == Some(kid))
            .ok_or(KeyFault::UnknownKid)?,
        None => {
            let mut fitting = candidates.iter().filter(|c| fits(jwk(c), alg));
            return match (fitting.next(), fitting.next()) {
                (Some(c), None) => Ok(c),
                (None, _) => Err(KeyFault::NoneFits),
                (Some(_), Some(_)) => Err(KeyFault::Ambiguous),
            };
        }
    };
    if !fits(jwk(chosen), alg) {
        return Err(KeyFault::Misfit);
    }
    Ok(chosen)
}

/// Whether a key may verify `alg`: of its family and curve, and not restricted by its
/// own `alg` or `use` to something else.
pub(crate) fn fits(jwk: &Jwk, alg: Algorithm) -> bool {
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

/// Whether a key can verify assertions signed with `alg` (any of [`SIGNING_ALGS`] if
/// `None`): it fits, and `jsonwebtoken` can build a verifying key from it.
pub(crate) fn verifies(jwk: &Jwk, alg: Option<Algorithm>) -> bool {
    SIGNING_ALGS
        .iter()
        .any(|(_, a)| alg.is_none_or(|alg| alg == *a) && fits(jwk, *a))
        && DecodingKey::from_jwk(jwk).is_ok()
}

/// `aud`: one string or an array of them.
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Audience {
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
pub(crate) struct Claims {
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub aud: Option<Audience>,
    pub exp: Option<f64>,
    pub nbf: Option<f64>,
    pub iat: Option<f64>,
    pub jti: Option<String>,
}

/// The claims of `assertion`, its signature verified with `jwk` for `alg` (which the
/// caller took from the checked [`header`]). Time and audience are left to
/// [`check_claims`], against the provider's clock.
pub(crate) fn decode(
    assertion: &str,
    jwk: &Jwk,
    alg: Algorithm,
    profile: Profile,
) -> Result<Claims> {
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|_| profile.error("cannot be verified: its key cannot be used."))?;
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode::<Claims>(assertion, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                profile.error_of("signature is invalid.")
            }
            jsonwebtoken::errors::ErrorKind::Json(_) => profile.error_of("claims are malformed."),
            _ => profile.error("cannot be verified with the key."),
        })
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

/// A NumericDate as whole seconds (saturating: JSON numbers cannot be NaN).
fn seconds(date: f64) -> i64 {
    date.floor() as i64
}

/// The RFC 7523 §3 checks both profiles share, at `now` (unix seconds): `aud` names one
/// of `audiences`, `exp`, `nbf`, `iat` and `jti`. (`iss` and `sub` are the caller's.)
pub(crate) fn check_claims(
    claims: &Claims,
    audiences: &[&str],
    now: i64,
    profile: Profile,
) -> Result<VerifiedAssertion> {
    if !claims
        .aud
        .as_ref()
        .is_some_and(|a| a.contains_any(audiences))
    {
        return Err(profile.error_of("aud must name this server's issuer or token endpoint."));
    }
    let exp = seconds(claims.exp.ok_or_else(|| profile.error("has no exp."))?);
    if exp.saturating_add(LEEWAY) <= now {
        return Err(profile.error("has expired."));
    }
    if exp > now.saturating_add(MAX_LIFETIME) {
        return Err(profile.error("expires too far in the future (at most one hour)."));
    }
    let future = |date: Option<f64>| date.is_some_and(|d| seconds(d) > now.saturating_add(LEEWAY));
    if future(claims.nbf) {
        return Err(profile.error("is not valid yet (nbf)."));
    }
    if future(claims.iat) {
        return Err(profile.error("is issued in the future (iat)."));
    }
    let jti = claims
        .jti
        .as_deref()
        .filter(|j| !j.is_empty())
        .ok_or_else(|| profile.error("has no jti."))?;
    if jti.len() > MAX_JTI_BYTES {
        return Err(profile.error_of("jti is too long."));
    }
    Ok(VerifiedAssertion {
        jti: jti.to_owned(),
        accepted_until: exp.saturating_add(LEEWAY),
    })
}
