//! The JWT-bearer authorization grant (RFC 7523 §2.1 and §3): a client presents an
//! assertion a trusted issuer signed about a subject, and gets an access token for that
//! subject.
//!
//! The issuer must be trusted (a [`TrustedIssuer`] created through the admin API, not
//! expired) for the assertion's `sub` (or for any subject), and the assertion verified
//! with that relationship's key. The claims are checked as client assertions' are
//! ([`token::assertion`](crate::token::assertion)): `aud` names this server (its issuer
//! or token endpoint), `exp` required and at most an hour ahead, `nbf` and `iat` not in
//! the future, and `jti` spent once per issuer. Every failure of the assertion is
//! `invalid_grant` (§3.1), described without echoing it.
//!
//! The requested scope must be within both the client's and the relationship's; none
//! requested grants none, as `client_credentials` does. Requested audiences (Hydra's
//! `audience` parameter) must be within the client's. No refresh token, no ID token.

use std::sync::Arc;

use jsonwebtoken::jwk::Jwk;
use serde::Deserialize;

use crate::endpoint::token::TokenResponse;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Client, GrantKind, GrantType, Scope, TrustedIssuer};
use crate::token::assertion::{self, KeyFault, Profile};
use crate::Provider;

/// The `grant_type` of this grant (RFC 7523 §2.1).
pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Assertion failures are `invalid_grant` (RFC 7523 §3.1).
const PROFILE: Profile = Profile {
    code: ErrorCode::InvalidGrant,
    noun: "assertion",
};

/// The prefix of the replay namespace of an issuer's assertion ids: client ids have no
/// spaces, so no client assertion id can collide with a grant assertion id.
const REPLAY_NAMESPACE: &str = "jwt-bearer ";

fn invalid(description: &'static str) -> Error {
    Error::invalid_grant(description)
}

/// `iss` and `sub`, read **without verifying** them, to find the relationship whose key
/// verifies the assertion.
#[derive(Deserialize)]
struct Parties {
    iss: Option<String>,
    sub: Option<String>,
}

/// A relationship that may verify the assertion, with its key parsed.
struct Candidate {
    trust: Arc<TrustedIssuer>,
    jwk: Jwk,
}

/// Issues an access token for the assertion's subject, within the scopes of the client
/// and of the relationship that verified it, for audiences of the client's.
pub(crate) async fn issue(
    provider: &Provider,
    client: &Client,
    assertion: &str,
    scope: Scope,
    audience: Vec<String>,
) -> Result<TokenResponse> {
    if client.is_public() || !client.allows_grant(GrantType::JwtBearer) {
        return Err(Error::new(
            ErrorCode::UnauthorizedClient,
            "The client is not allowed to use the jwt-bearer grant.",
        ));
    }
    let (trust, subject, verified) = verify(provider, assertion).await?;
    if !scope.is_subset_of(&client.scope) {
        return Err(Error::invalid_scope(
            "The client is not allowed to request one of the scopes.",
        ));
    }
    if !trust.allows_scope(&scope) {
        return Err(Error::invalid_scope(
            "The trust relationship of the assertion's issuer does not allow one of the scopes.",
        ));
    }
    super::check_audience(client, &audience)?;
    let namespace = format!("{REPLAY_NAMESPACE}{}", trust.issuer);
    let first_use = provider
        .store()
        .use_assertion_id(&namespace, &verified.jti, verified.accepted_until)
        .await?;
    if !first_use {
        return Err(invalid("The assertion's jti has been used before."));
    }
    super::issue_access_token(
        provider,
        client,
        GrantKind::JwtBearer,
        subject,
        scope,
        audience,
    )
    .await
}

/// Verifies the assertion: the relationship that verified it, its subject, and what the
/// replay check needs.
async fn verify(
    provider: &Provider,
    assertion: &str,
) -> Result<(Arc<TrustedIssuer>, String, assertion::VerifiedAssertion)> {
    let header = assertion::header(assertion, PROFILE)?;
    let parties: Parties = jsonwebtoken::dangerous::insecure_decode_claims(assertion)
        .map_err(|_| invalid("The assertion is not a JWT with iss and sub claims."))?;
    let (Some(issuer), Some(subject)) = (parties.iss, parties.sub) else {
        return Err(invalid("The assertion must have an iss and a sub."));
    };
    if issuer.is_empty() || subject.is_empty() {
        return Err(invalid("The assertion's iss and sub must not be empty."));
    }
    let candidates = candidates(provider, &issuer, &subject).await?;
    let chosen = assertion::select_key(&candidates, |c| &c.jwk, header.kid.as_deref(), header.alg)
        .map_err(|fault| {
            invalid(match fault {
                KeyFault::UnknownKid => {
                    "No key trusted for the assertion's issuer and subject has its kid."
                }
                KeyFault::NoneFits => {
                    "No key trusted for the assertion's issuer and subject fits its algorithm."
                }
                KeyFault::Ambiguous => {
                    "The assertion has no kid and several keys trusted for its issuer fit it."
                }
                KeyFault::Misfit => {
                    "The trusted key with the assertion's kid does not fit its algorithm."
                }
            })
        })?;
    let claims = assertion::decode(assertion, &chosen.jwk, header.alg, PROFILE)?;
    // The verified claims are the ones peeked at; checked again rather than assumed.
    if claims.iss.as_deref() != Some(issuer.as_str())
        || claims.sub.as_deref() != Some(subject.as_str())
    {
        return Err(invalid("The assertion's iss or sub is malformed."));
    }
    let config = provider.config();
    let token_endpoint = config.endpoint("/oauth2/token");
    let audiences = [config.issuer.as_str(), token_endpoint.as_str()];
    let verified = assertion::check_claims(&claims, &audiences, provider.unix_now(), PROFILE)?;
    Ok((chosen.trust.clone(), subject, verified))
}

/// The issuer's relationships in force now that cover `subject`, with their keys: those
/// for exactly this subject first, then those for any subject.
async fn candidates(provider: &Provider, issuer: &str, subject: &str) -> Result<Vec<Candidate>> {
    let now = provider.now();
    let active: Vec<Arc<TrustedIssuer>> = provider
        .store()
        .issuer_trusts(issuer)
        .await?
        .into_iter()
        .filter(|t| t.is_active(now))
        .collect();
    if active.is_empty() {
        return Err(invalid("The assertion's issuer is not trusted."));
    }
    let mut covering: Vec<Candidate> = active
        .into_iter()
        .filter(|t| t.trusts_subject(subject))
        .filter_map(|trust| {
            // Checked when the relationship was created; a stored key that no longer
            // parses is left out rather than trusted.
            let jwk = Jwk::deserialize(&trust.jwk).ok()?;
            Some(Candidate { trust, jwk })
        })
        .collect();
    if covering.is_empty() {
        return Err(invalid(
            "The assertion's issuer is not trusted for its subject.",
        ));
    }
    covering.sort_by_key(|c| c.trust.allow_any_subject);
    Ok(covering)
}
