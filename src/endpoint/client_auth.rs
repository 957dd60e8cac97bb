//! Client authentication (RFC 6749 §2.3) for the token, revocation and introspection
//! endpoints: `client_secret_basic`, `client_secret_post`, `none`, and `private_key_jwt`
//! (RFC 7523 §2.2; the assertion checks are in
//! [`token::client_assertion`](crate::token::client_assertion)).

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::params::{printable, Params};
use crate::error::{Error, Result};
use crate::model::{AuthMethod, Client};
use crate::token::client_assertion::{self, ASSERTION_TYPE};
use crate::token::client_jwks;
use crate::Provider;

/// The credentials a request presented.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientCredentials {
    /// `Authorization: Basic` (`client_secret_basic`).
    Basic {
        /// The client id.
        client_id: String,
        /// The secret.
        client_secret: String,
    },
    /// `client_id` and `client_secret` in the body (`client_secret_post`).
    Post {
        /// The client id.
        client_id: String,
        /// The secret.
        client_secret: String,
    },
    /// Only `client_id`: a public client (`none`).
    Public {
        /// The client id.
        client_id: String,
    },
    /// A JWT the client signed with its key, in `client_assertion` (`private_key_jwt`,
    /// RFC 7523 §2.2).
    Assertion {
        /// The client id: the assertion's `sub`, read before the assertion is verified.
        client_id: String,
        /// The assertion (a JWS), verified by
        /// [`authenticate_client`](crate::Provider::authenticate_client).
        assertion: String,
    },
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (method, id, hidden) = match self {
            Self::Basic { client_id, .. } => ("Basic", client_id, "secret"),
            Self::Post { client_id, .. } => ("Post", client_id, "secret"),
            Self::Public { client_id } => ("Public", client_id, "secret"),
            Self::Assertion { client_id, .. } => ("Assertion", client_id, "assertion"),
        };
        write!(f, "{method}({id:?}, {hidden} hidden)")
    }
}

impl ClientCredentials {
    /// Reads the credentials from an `Authorization` header value and the body.
    ///
    /// Using two methods at once is refused (RFC 6749 §2.3). The Basic credentials are
    /// form-urlencoded before base64 (§2.3.1), so they are decoded here. A
    /// `client_assertion` is only decoded (not verified) to learn its client id.
    pub fn parse(params: &Params, authorization: Option<&str>) -> Result<Self> {
        let body_id = params.get("client_id")?;
        let body_secret = params.get("client_secret")?;
        let authorization = authorization.filter(|h| !h.trim_ascii().is_empty());
        let assertion_type = params.get("client_assertion_type")?;
        let assertion = params.get("client_assertion")?;
        if assertion_type.is_some() || assertion.is_some() {
            if authorization.is_some() || body_secret.is_some() {
                return Err(Error::invalid_request(
                    "The client used more than one authentication method.",
                ));
            }
            return Self::parse_assertion(assertion_type, assertion, body_id);
        }
        if let Some(header) = authorization {
            let (client_id, client_secret) = parse_basic(header)?;
            if body_secret.is_some() {
                return Err(Error::invalid_request(
                    "The client used more than one authentication method.",
                ));
            }
            if body_id.is_some_and(|id| id != client_id) {
                return Err(Error::invalid_request(
                    "The client_id in the body does not match the Authorization header.",
                ));
            }
            return Ok(Self::Basic {
                client_id,
                client_secret,
            });
        }
        let client_id = body_id
            .ok_or_else(|| Error::invalid_client("The request carries no client credentials."))?
            .to_owned();
        Ok(match body_secret {
            Some(secret) => Self::Post {
                client_id,
                client_secret: secret.to_owned(),
            },
            None => Self::Public { client_id },
        })
    }

    fn parse_assertion(
        assertion_type: Option<&str>,
        assertion: Option<&str>,
        body_id: Option<&str>,
    ) -> Result<Self> {
        let assertion = match (assertion_type, assertion) {
            (Some(ASSERTION_TYPE), Some(assertion)) => assertion,
            (Some(ASSERTION_TYPE), None) => {
                return Err(Error::invalid_request(
                    "The request has a client_assertion_type but no client_assertion.",
                ))
            }
            (Some(other), _) => {
                return Err(Error::invalid_request(format!(
                    "The client_assertion_type '{}' is not supported; use '{ASSERTION_TYPE}'.",
                    printable(other)
                )))
            }
            (None, _) => {
                return Err(Error::invalid_request(format!(
                    "A client_assertion needs client_assertion_type={ASSERTION_TYPE}."
                )))
            }
        };
        let client_id = client_assertion::unverified_subject(assertion)?;
        if body_id.is_some_and(|id| id != client_id) {
            return Err(Error::invalid_request(
                "The client_id in the body does not match the client assertion's subject.",
            ));
        }
        Ok(Self::Assertion {
            client_id,
            assertion: assertion.to_owned(),
        })
    }

    /// The client id presented.
    pub fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::Public { client_id }
            | Self::Assertion { client_id, .. } => client_id,
        }
    }

    fn method(&self) -> AuthMethod {
        match self {
            Self::Basic { .. } => AuthMethod::ClientSecretBasic,
            Self::Post { .. } => AuthMethod::ClientSecretPost,
            Self::Public { .. } => AuthMethod::None,
            Self::Assertion { .. } => AuthMethod::PrivateKeyJwt,
        }
    }

    fn secret(&self) -> Option<&str> {
        match self {
            Self::Basic { client_secret, .. } | Self::Post { client_secret, .. } => {
                Some(client_secret)
            }
            Self::Public { .. } | Self::Assertion { .. } => None,
        }
    }
}

fn parse_basic(header: &str) -> Result<(String, String)> {
    let bad = || Error::invalid_client("The Authorization header is not valid Basic credentials.");
    let (scheme, value) = header.trim_ascii().split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    // Decoded on the stack: real credentials are far shorter than the buffer.
    let mut buf = [0u8; 512];
    let value = value.trim_ascii();
    let heap;
    let decoded: &[u8] = match STANDARD.decode_slice(value, &mut buf) {
        Ok(len) => &buf[..len],
        Err(base64::DecodeSliceError::OutputSliceTooSmall) => {
            heap = STANDARD.decode(value).map_err(|_| bad())?;
            &heap
        }
        Err(_) => return Err(bad()),
    };
    let colon = memchr::memchr(b':', decoded).ok_or_else(bad)?;
    let id = unescape(&decoded[..colon]).ok_or_else(bad)?;
    let secret = unescape(&decoded[colon + 1..]).ok_or_else(bad)?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((id, secret))
}

/// Form-decodes one Basic credential (RFC 6749 §2.3.1); most need nothing decoded.
/// `None` if it is not UTF-8.
fn unescape(raw: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(raw).ok()?;
    if memchr::memchr3(b'%', b'+', b'&', raw).is_none() {
        return Some(text.to_owned());
    }
    Some(
        form_urlencoded::parse(format!("x={text}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default(),
    )
}

impl Provider {
    /// Authenticates a client with the method it registered.
    pub async fn authenticate_client(&self, creds: &ClientCredentials) -> Result<Arc<Client>> {
        let failed = || Error::invalid_client("Client authentication failed.");
        let client = self
            .store()
            .get_client(creds.client_id())
            .await?
            .ok_or_else(failed)?;
        let registered = client.token_endpoint_auth_method;
        if creds.method() != registered {
            return Err(Error::invalid_client(format!(
                "The client is registered for the '{}' authentication method.",
                registered.as_str()
            )));
        }
        if let Some(secret) = creds.secret() {
            let hash = client.client_secret_hash.as_ref().ok_or_else(failed)?;
            if !hash.verify(secret) {
                return Err(failed());
            }
            let expires = client.client_secret_expires_at;
            if expires != 0 && self.unix_now() >= expires {
                return Err(Error::invalid_client("The client secret has expired."));
            }
        }
        if let ClientCredentials::Assertion { assertion, .. } = creds {
            self.verify_assertion(&client, assertion).await?;
        }
        Ok(client)
    }

    /// Verifies a `private_key_jwt` assertion and spends its `jti`. The audiences that name
    /// this server: its issuer, its token endpoint and its revocation endpoint.
    async fn verify_assertion(&self, client: &Client, assertion: &str) -> Result<()> {
        let config = self.config();
        let token_endpoint = config.endpoint("/oauth2/token");
        let revocation_endpoint = config.endpoint("/oauth2/revoke");
        let audiences = [
            config.issuer.as_str(),
            token_endpoint.as_str(),
            revocation_endpoint.as_str(),
        ];
        let now = self.now().unix_timestamp();
        let jwks = client_jwks::client_keys(self.jwks_fetcher(), client, assertion).await?;
        let verified = client_assertion::verify(client, &jwks, assertion, &audiences, now)?;
        let first_use = self
            .store()
            .use_assertion_id(&client.client_id, &verified.jti, verified.accepted_until)
            .await?;
        if !first_use {
            return Err(Error::invalid_client(
                "The client assertion's jti has been used before.",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn basic_is_url_decoded() {
        let p = Params::default();
        let c = ClientCredentials::parse(&p, Some(&basic("my%20app", "s%3Acret"))).unwrap();
        assert_eq!(
            c,
            ClientCredentials::Basic {
                client_id: "my app".into(),
                client_secret: "s:cret".into()
            }
        );
    }

    #[test]
    fn long_basic_credentials_decode() {
        let (id, secret) = ("i".repeat(300), "s".repeat(700));
        let c = ClientCredentials::parse(&Params::default(), Some(&basic(&id, &secret))).unwrap();
        assert_eq!(
            c,
            ClientCredentials::Basic {
                client_id: id,
                client_secret: secret
            }
        );
        let garbage = format!("Basic {}!", "A".repeat(1000));
        let e = ClientCredentials::parse(&Params::default(), Some(&garbage)).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidClient);
    }

    #[test]
    fn two_methods_refused() {
        let p = Params::parse(b"client_secret=x");
        assert!(ClientCredentials::parse(&p, Some(&basic("a", "b"))).is_err());
        let p = Params::parse(b"client_id=other");
        assert!(ClientCredentials::parse(&p, Some(&basic("a", "b"))).is_err());
    }

    #[test]
    fn garbage_headers_are_invalid_client() {
        for h in [
            "Basic",
            "Basic !!!",
            "Bearer abc",
            "Basic Og==",
            "Basic /w==",
        ] {
            let e = ClientCredentials::parse(&Params::default(), Some(h)).unwrap_err();
            assert_eq!(e.code(), crate::ErrorCode::InvalidClient, "{h}");
        }
    }

    #[test]
    fn assertion_parameters_must_come_together_and_alone() {
        let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhcHAifQ.c2ln";
        let t = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";
        let parse = |body: String, auth: Option<&str>| {
            ClientCredentials::parse(&Params::parse(body.as_bytes()), auth)
        };
        let ok = parse(
            format!("client_assertion_type={t}&client_assertion={jwt}"),
            None,
        );
        assert_eq!(
            ok.unwrap(),
            ClientCredentials::Assertion {
                client_id: "app".into(),
                assertion: jwt.into()
            }
        );
        let same_id = format!("client_id=app&client_assertion_type={t}&client_assertion={jwt}");
        assert!(parse(same_id, None).is_ok());
        let code = |body: String, auth: Option<&str>| parse(body, auth).unwrap_err().code();
        use crate::ErrorCode::{InvalidClient, InvalidRequest};
        for (body, auth, expected) in [
            (format!("client_assertion={jwt}"), None, InvalidRequest),
            (format!("client_assertion_type={t}"), None, InvalidRequest),
            (
                format!("client_assertion_type=urn%3Ax&client_assertion={jwt}"),
                None,
                InvalidRequest,
            ),
            (
                format!("client_id=other&client_assertion_type={t}&client_assertion={jwt}"),
                None,
                InvalidRequest,
            ),
            (
                format!("client_secret=s&client_assertion_type={t}&client_assertion={jwt}"),
                None,
                InvalidRequest,
            ),
            (
                format!("client_assertion_type={t}&client_assertion={jwt}"),
                Some(basic("app", "s")),
                InvalidRequest,
            ),
            (
                format!("client_assertion_type={t}&client_assertion=garbage"),
                None,
                InvalidClient,
            ),
        ] {
            assert_eq!(code(body.clone(), auth.as_deref()), expected, "{body}");
        }
    }

    #[test]
    fn debug_hides_assertion() {
        let c = ClientCredentials::Assertion {
            client_id: "a".into(),
            assertion: "eyJsecret".into(),
        };
        let shown = format!("{c:?}");
        assert!(!shown.contains("eyJsecret") && shown.contains("assertion hidden"));
    }

    #[test]
    fn debug_hides_secret() {
        let c = ClientCredentials::Post {
            client_id: "a".into(),
            client_secret: "topsecret".into(),
        };
        assert!(!format!("{c:?}").contains("topsecret"));
    }
}
