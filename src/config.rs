//! Provider configuration: issuer, lifespans and policies.

use time::Duration;

use crate::endpoint::url_query::{append_query, plain_len};
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
    /// How long after its first exchange a refresh token may be exchanged again (Hydra's
    /// `oauth2.grant.refresh_token.rotation_grace_period`): for a client whose answer was
    /// lost, or two tabs refreshing at once. Each reuse issues new tokens in the same
    /// grant and does not extend the period; a reuse after it revokes the grant, as any
    /// reuse does without one. Zero (the default) is strict reuse detection (RFC 9700
    /// §4.14.2). As in Hydra, at most [`MAX_ROTATION_GRACE_PERIOD`], or
    /// [`MAX_COUNTED_ROTATION_GRACE_PERIOD`] with a reuse count.
    pub refresh_token_rotation_grace_period: Duration,
    /// How many times a refresh token may be reused within the grace period (Hydra's
    /// `rotation_grace_reuse_count`); a reuse beyond it revokes the grant. Zero (the
    /// default): any number of times.
    pub refresh_token_rotation_grace_reuse_count: u32,
}

/// The longest [`Config::refresh_token_rotation_grace_period`] without a reuse count:
/// five minutes.
pub const MAX_ROTATION_GRACE_PERIOD: Duration = Duration::minutes(5);

/// The longest [`Config::refresh_token_rotation_grace_period`] with a reuse count: 30
/// days.
pub const MAX_COUNTED_ROTATION_GRACE_PERIOD: Duration = Duration::days(30);

impl Config {
    /// A configuration with Hydra's defaults for `issuer` and one system secret.
    pub fn new(issuer: impl Into<String>, secret: impl Into<Vec<u8>>) -> Self {
        let issuer = issuer.into();
        Self {
            urls: Urls::under(&issuer),
            flow_lifespan: Duration::minutes(30),
            login_session_lifespan: Duration::hours(720),
            dynamic_registration: false,
            refresh_token_rotation_grace_period: Duration::ZERO,
            refresh_token_rotation_grace_reuse_count: 0,
            issuer,
            secrets: vec![secret.into()],
            lifespans: Lifespans::default(),
            pkce: PkcePolicy::default(),
            access_token_strategy: AccessTokenStrategy::Opaque,
            access_token_alg: Algorithm::RS256,
        }
    }

    /// A configuration from Hydra's environment variables, read through `get` (pass
    /// `|k| std::env::var(k).ok()`): `URLS_SELF_ISSUER` (required), `SECRETS_SYSTEM`
    /// (required, comma-separated, first current, each ≥ 32 bytes), `URLS_LOGIN`,
    /// `URLS_CONSENT`, `URLS_LOGOUT`, `URLS_POST_LOGOUT_REDIRECT`,
    /// `STRATEGIES_ACCESS_TOKEN` (`opaque` | `jwt`),
    /// `OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED`, `TTL_ACCESS_TOKEN`,
    /// `TTL_REFRESH_TOKEN`, `TTL_ID_TOKEN`, `TTL_AUTH_CODE`, `TTL_LOGIN_CONSENT_REQUEST`,
    /// `OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_PERIOD` (durations such as `1h`, `30m`,
    /// `30s`), `OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_REUSE_COUNT` (a number).
    pub fn from_env_with(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let issuer = get("URLS_SELF_ISSUER").ok_or("URLS_SELF_ISSUER is required")?;
        let secrets: Vec<Vec<u8>> = get("SECRETS_SYSTEM")
            .ok_or("SECRETS_SYSTEM is required")?
            .split(',')
            .map(|s| s.trim().as_bytes().to_vec())
            .collect();
        if secrets.iter().any(|s| s.len() < 32) {
            return Err("each SECRETS_SYSTEM entry must be at least 32 bytes".into());
        }
        let mut config = Self::new(issuer, Vec::new());
        config.secrets = secrets;
        let urls = [
            ("URLS_LOGIN", &mut config.urls.login),
            ("URLS_CONSENT", &mut config.urls.consent),
            ("URLS_LOGOUT", &mut config.urls.logout),
            (
                "URLS_POST_LOGOUT_REDIRECT",
                &mut config.urls.post_logout_redirect,
            ),
        ];
        for (name, slot) in urls {
            if let Some(v) = get(name) {
                *slot = v;
            }
        }
        if let Some(v) = get("STRATEGIES_ACCESS_TOKEN") {
            config.access_token_strategy = match v.as_str() {
                "opaque" => AccessTokenStrategy::Opaque,
                "jwt" => AccessTokenStrategy::Jwt,
                _ => {
                    return Err(format!(
                        "STRATEGIES_ACCESS_TOKEN must be opaque or jwt, not {v:?}"
                    ))
                }
            };
        }
        if let Some(v) = get("OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED") {
            config.dynamic_registration = matches!(v.as_str(), "true" | "1");
        }
        let ttls = [
            ("TTL_ACCESS_TOKEN", &mut config.lifespans.access_token),
            ("TTL_REFRESH_TOKEN", &mut config.lifespans.refresh_token),
            ("TTL_ID_TOKEN", &mut config.lifespans.id_token),
            ("TTL_AUTH_CODE", &mut config.lifespans.authorization_code),
            ("TTL_LOGIN_CONSENT_REQUEST", &mut config.flow_lifespan),
            (
                "OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_PERIOD",
                &mut config.refresh_token_rotation_grace_period,
            ),
        ];
        for (name, slot) in ttls {
            if let Some(v) = get(name) {
                *slot = crate::model::Lifespan::parse(&v)
                    .ok_or_else(|| format!("{name} is not a duration such as 1h or 30m: {v:?}"))?
                    .0;
            }
        }
        if let Some(v) = get("OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_REUSE_COUNT") {
            config.refresh_token_rotation_grace_reuse_count = v.parse().map_err(|_| {
                format!(
                    "OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_REUSE_COUNT is not a count: {v:?}"
                )
            })?;
        }
        Ok(config)
    }

    /// The longest rotation grace period this configuration's reuse count allows.
    pub fn max_rotation_grace_period(&self) -> Duration {
        if self.refresh_token_rotation_grace_reuse_count == 0 {
            MAX_ROTATION_GRACE_PERIOD
        } else {
            MAX_COUNTED_ROTATION_GRACE_PERIOD
        }
    }

    /// A URL of this provider: the issuer joined with `path` (e.g. `/oauth2/auth`).
    pub fn endpoint(&self, path: &str) -> String {
        self.endpoint_with_query(path, [])
    }

    /// [`endpoint`](Self::endpoint) with a query of `pairs`, form-encoded, built in one
    /// allocation unless a value needs encoding.
    pub(crate) fn endpoint_with_query<'a, I>(&self, path: &str, pairs: I) -> String
    where
        I: IntoIterator<Item = (&'a str, &'a str)>,
        I::IntoIter: Clone,
    {
        let pairs = pairs.into_iter();
        let issuer = self.issuer.trim_end_matches('/');
        let mut url =
            String::with_capacity(issuer.len() + path.len() + 1 + plain_len(pairs.clone()));
        url.push_str(issuer);
        url.push_str(path);
        append_query(&mut url, pairs);
        url
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

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn hydra_environment() {
        let secret = "0123456789abcdef0123456789abcdef";
        let c = Config::from_env_with(env(&[
            ("URLS_SELF_ISSUER", "https://id.example"),
            ("SECRETS_SYSTEM", &format!("{secret}new,{secret}")),
            ("URLS_LOGIN", "https://app.example/login"),
            ("STRATEGIES_ACCESS_TOKEN", "jwt"),
            ("OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED", "true"),
            ("TTL_ACCESS_TOKEN", "5m"),
            ("OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_PERIOD", "30s"),
            ("OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_REUSE_COUNT", "3"),
        ]))
        .unwrap();
        assert_eq!(c.secrets.len(), 2);
        assert_eq!(c.urls.login, "https://app.example/login");
        assert_eq!(c.urls.consent, "https://id.example/ui/consent");
        assert_eq!(c.access_token_strategy, AccessTokenStrategy::Jwt);
        assert!(c.dynamic_registration);
        assert_eq!(c.lifespans.access_token, Duration::minutes(5));
        assert_eq!(c.refresh_token_rotation_grace_period, Duration::seconds(30));
        assert_eq!(c.refresh_token_rotation_grace_reuse_count, 3);
    }

    #[test]
    fn bad_environment_is_explained() {
        assert!(Config::from_env_with(env(&[]))
            .unwrap_err()
            .contains("URLS_SELF_ISSUER"));
        let short = [
            ("URLS_SELF_ISSUER", "https://id.example"),
            ("SECRETS_SYSTEM", "short"),
        ];
        assert!(Config::from_env_with(env(&short))
            .unwrap_err()
            .contains("32 bytes"));
        let ttl = [
            ("URLS_SELF_ISSUER", "https://id.example"),
            ("SECRETS_SYSTEM", "0123456789abcdef0123456789abcdef"),
            ("TTL_ID_TOKEN", "forever"),
        ];
        assert!(Config::from_env_with(env(&ttl))
            .unwrap_err()
            .contains("TTL_ID_TOKEN"));
        let count = [
            ("URLS_SELF_ISSUER", "https://id.example"),
            ("SECRETS_SYSTEM", "0123456789abcdef0123456789abcdef"),
            (
                "OAUTH2_GRANT_REFRESH_TOKEN_ROTATION_GRACE_REUSE_COUNT",
                "-1",
            ),
        ];
        assert!(Config::from_env_with(env(&count))
            .unwrap_err()
            .contains("REUSE_COUNT"));
    }
}
