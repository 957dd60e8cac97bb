//! Provider configuration: issuer, lifespans and policies.

use time::Duration;

use crate::keys::Algorithm;
use crate::model::client::AccessTokenStrategy;
use crate::model::{Client, GrantKind};

/// Default token lifespans (Hydra's defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lifespans {
    /// Access tokens: 1 hour.
    pub access_token: Duration,
    /// Refresh tokens: 720 hours.
    pub refresh_token: Duration,
    /// Authorization codes: 10 minutes.
    pub authorization_code: Duration,
    /// ID tokens: 1 hour.
    pub id_token: Duration,
}

impl Default for Lifespans {
    fn default() -> Self {
        Self {
            access_token: Duration::hours(1),
            refresh_token: Duration::hours(720),
            authorization_code: Duration::minutes(10),
            id_token: Duration::hours(1),
        }
    }
}

/// PKCE policy (RFC 7636, RFC 9700 §2.1.1). By default: required for public clients,
/// S256 only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PkcePolicy {
    /// Require PKCE for confidential clients too (it is always required for public ones).
    pub required_for_all: bool,
    /// Accept the `plain` method (S256 only by default).
    pub allow_plain: bool,
}

/// Where the provider sends the browser: the app's login, consent and logout pages.
/// Each gets the challenge as a query parameter (`login_challenge`, …), as in Hydra.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Urls {
    /// The login app.
    pub login: String,
    /// The consent app.
    pub consent: String,
    /// The logout app.
    pub logout: String,
    /// Where to send the browser after logout when the client named no redirect.
    pub post_logout_redirect: String,
}

impl Urls {
    fn under(issuer: &str) -> Self {
        let base = issuer.trim_end_matches('/');
        Self {
            login: format!("{base}/ui/login"),
            consent: format!("{base}/ui/consent"),
            logout: format!("{base}/ui/logout"),
            post_logout_redirect: format!("{base}/ui/logged-out"),
        }
    }
}

/// The configuration of a [`Provider`](crate::Provider).
#[derive(Debug, Clone)]
pub struct Config {
    /// The issuer identifier (`iss`), an https URL without query or fragment.
    pub issuer: String,
    /// System secrets: the first signs opaque tokens and seals keys; the others are still
    /// accepted, so a secret can be rotated without logging everyone out. Each must be at
    /// least 32 bytes.
    pub secrets: Vec<Vec<u8>>,
    /// Default lifespans, overridden per client.
    pub lifespans: Lifespans,
    /// PKCE policy.
    pub pkce: PkcePolicy,
    /// Default access token format for clients that do not choose one.
    pub access_token_strategy: AccessTokenStrategy,
    /// Algorithm of JWT access tokens.
    pub access_token_alg: Algorithm,
    /// The login, consent and logout apps.
    pub urls: Urls,
    /// How long a login or consent challenge stays valid (30 minutes).
    pub flow_lifespan: Duration,
    /// How long a remembered login lasts when the login app does not say (720 hours).
    pub login_session_lifespan: Duration,
    /// Allow OpenID / RFC 7591 dynamic client registration (off by default).
    pub dynamic_registration: bool,
}

impl Config {
    /// A configuration with Hydra's defaults for `issuer` and one system secret.
    pub fn new(issuer: impl Into<String>, secret: impl Into<Vec<u8>>) -> Self {
        let issuer = issuer.into();
        Self {
            urls: Urls::under(&issuer),
            flow_lifespan: Duration::minutes(30),
            login_session_lifespan: Duration::hours(720),
            dynamic_registration: false,
            issuer,
            secrets: vec![secret.into()],
            lifespans: Lifespans::default(),
            pkce: PkcePolicy::default(),
            access_token_strategy: AccessTokenStrategy::Opaque,
            access_token_alg: Algorithm::RS256,
        }
    }

    /// A URL of this provider: the issuer joined with `path` (e.g. `/oauth2/auth`).
    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer.trim_end_matches('/'))
    }

    /// The access-token lifespan for `client` under `grant`.
    pub fn access_token_lifespan(&self, client: &Client, grant: GrantKind) -> Duration {
        client
            .lifespans
            .access_token(grant)
            .unwrap_or(self.lifespans.access_token)
    }

    /// The refresh-token lifespan for `client` under `grant`.
    pub fn refresh_token_lifespan(&self, client: &Client, grant: GrantKind) -> Duration {
        client
            .lifespans
            .refresh_token(grant)
            .unwrap_or(self.lifespans.refresh_token)
    }

    /// The ID-token lifespan for `client` under `grant`.
    pub fn id_token_lifespan(&self, client: &Client, grant: GrantKind) -> Duration {
        client
            .lifespans
            .id_token(grant)
            .unwrap_or(self.lifespans.id_token)
    }

    /// The access token format for `client`.
    pub fn access_token_strategy(&self, client: &Client) -> AccessTokenStrategy {
        client
            .access_token_strategy
            .unwrap_or(self.access_token_strategy)
    }
}
