//! Token lifespans: Hydra's per-client lifespans object and its Go-style durations.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::Duration;

/// A lifespan, written the way Hydra writes them (`"1h0m0s"`, `"30m"`, `"720h"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lifespan(pub Duration);

impl Lifespan {
    /// Parses a Go duration: one or more `<digits><unit>` with unit `h`, `m`, `s`, `ms`,
    /// `us`, `ns`. Negative and empty durations are refused.
    pub fn parse(s: &str) -> Option<Self> {
        if s.is_empty() {
            return None;
        }
        let mut total = Duration::ZERO;
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let n: i64 = rest[..digits].parse().ok()?;
            rest = &rest[digits..];
            let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
            let part = match &rest[..unit_len] {
                "h" => Duration::seconds(n.checked_mul(3600)?),
                "m" => Duration::seconds(n.checked_mul(60)?),
                "s" => Duration::seconds(n),
                "ms" => Duration::milliseconds(n),
                "us" => Duration::microseconds(n),
                "ns" => Duration::nanoseconds(n),
                _ => return None,
            };
            rest = &rest[unit_len..];
            total = total.checked_add(part)?;
        }
        Some(Self(total))
    }
}

impl fmt::Display for Lifespan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.whole_seconds();
        write!(f, "{}h{}m{}s", secs / 3600, (secs % 3600) / 60, secs % 60)
    }
}

impl Serialize for Lifespan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Lifespan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Lifespan::parse(&s).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "invalid lifespan {s:?}: expected a duration such as \"1h0m0s\""
            ))
        })
    }
}

/// Which grant a token is issued under, for choosing its lifespan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantKind {
    /// `authorization_code`
    AuthorizationCode,
    /// `client_credentials`
    ClientCredentials,
    /// The implicit flow (tokens from the authorization endpoint).
    Implicit,
    /// RFC 7523 JWT bearer.
    JwtBearer,
    /// `refresh_token`
    RefreshToken,
}

/// Hydra's per-client lifespans (`/admin/clients/{id}/lifespans`); unset fields fall back
/// to the provider's defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct ClientLifespans {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_code_grant_access_token_lifespan: Option<Lifespan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_code_grant_id_token_lifespan: Option<Lifespan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorization_code_grant_refresh_token_lifespan: Option<Lifespan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_credentials_grant_access_token_lifespan: Option<Lifespan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implicit_grant_access_token_lifespan: Option<Lifespan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub implicit_grant_id_token_lifespan: Option<Lifespan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_bearer_grant_access_token_lifespan: Option<Lifespan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_grant_id_token_lifespan: Option<Lifespan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_grant_access_token_lifespan: Option<Lifespan>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token_grant_refresh_token_lifespan: Option<Lifespan>,
}

impl ClientLifespans {
    /// The client's access-token lifespan for a grant, if it set one.
    pub fn access_token(&self, grant: GrantKind) -> Option<Duration> {
        match grant {
            GrantKind::AuthorizationCode => self.authorization_code_grant_access_token_lifespan,
            GrantKind::ClientCredentials => self.client_credentials_grant_access_token_lifespan,
            GrantKind::Implicit => self.implicit_grant_access_token_lifespan,
            GrantKind::JwtBearer => self.jwt_bearer_grant_access_token_lifespan,
            GrantKind::RefreshToken => self.refresh_token_grant_access_token_lifespan,
        }
        .map(|l| l.0)
    }

    /// The client's refresh-token lifespan for a grant, if it set one.
    pub fn refresh_token(&self, grant: GrantKind) -> Option<Duration> {
        match grant {
            GrantKind::AuthorizationCode => self.authorization_code_grant_refresh_token_lifespan,
            GrantKind::RefreshToken => self.refresh_token_grant_refresh_token_lifespan,
            _ => None,
        }
        .map(|l| l.0)
    }

    /// The client's ID-token lifespan for a grant, if it set one.
    pub fn id_token(&self, grant: GrantKind) -> Option<Duration> {
        match grant {
            GrantKind::AuthorizationCode => self.authorization_code_grant_id_token_lifespan,
            GrantKind::Implicit => self.implicit_grant_id_token_lifespan,
            GrantKind::RefreshToken => self.refresh_token_grant_id_token_lifespan,
            _ => None,
        }
        .map(|l| l.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(Lifespan::parse("1h0m0s").unwrap().0, Duration::hours(1));
        assert_eq!(Lifespan::parse("720h").unwrap().0, Duration::hours(720));
        assert_eq!(Lifespan::parse("1m30s").unwrap().0, Duration::seconds(90));
        assert_eq!(
            Lifespan::parse("1500ms").unwrap().0,
            Duration::milliseconds(1500)
        );
        for bad in ["", "h", "1", "-1h", "1d", "1.5h", "99999999999999999999h"] {
            assert!(Lifespan::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(Lifespan(Duration::seconds(3725)).to_string(), "1h2m5s");
    }

    #[test]
    fn lifespans_json_uses_hydra_names() {
        let l: ClientLifespans =
            serde_json::from_str(r#"{"client_credentials_grant_access_token_lifespan":"5m"}"#)
                .unwrap();
        assert_eq!(
            l.access_token(GrantKind::ClientCredentials),
            Some(Duration::minutes(5))
        );
        assert_eq!(l.access_token(GrantKind::AuthorizationCode), None);
        assert!(serde_json::from_str::<ClientLifespans>(
            r#"{"implicit_grant_id_token_lifespan":"soon"}"#
        )
        .is_err());
    }
}
