//! Client authentication (RFC 6749 §2.3) for the token, revocation and introspection
//! endpoints.

use std::sync::Arc;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use super::params::Params;
use crate::error::{Error, Result};
use crate::model::{AuthMethod, Client};
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
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (method, id) = match self {
            Self::Basic { client_id, .. } => ("Basic", client_id),
            Self::Post { client_id, .. } => ("Post", client_id),
            Self::Public { client_id } => ("Public", client_id),
        };
        write!(f, "{method}({id:?}, secret hidden)")
    }
}

impl ClientCredentials {
    /// Reads the credentials from an `Authorization` header value and the body.
    ///
    /// Using two methods at once is refused (RFC 6749 §2.3). The Basic credentials are
    /// form-urlencoded before base64 (§2.3.1), so they are decoded here.
    pub fn parse(params: &Params, authorization: Option<&str>) -> Result<Self> {
        let body_id = params.get("client_id")?;
        let body_secret = params.get("client_secret")?;
        if let Some(header) = authorization.filter(|h| !h.trim_ascii().is_empty()) {
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

    /// The client id presented.
    pub fn client_id(&self) -> &str {
        match self {
            Self::Basic { client_id, .. }
            | Self::Post { client_id, .. }
            | Self::Public { client_id } => client_id,
        }
    }

    fn method(&self) -> AuthMethod {
        match self {
            Self::Basic { .. } => AuthMethod::ClientSecretBasic,
            Self::Post { .. } => AuthMethod::ClientSecretPost,
            Self::Public { .. } => AuthMethod::None,
        }
    }

    fn secret(&self) -> Option<&str> {
        match self {
            Self::Basic { client_secret, .. } | Self::Post { client_secret, .. } => {
                Some(client_secret)
            }
            Self::Public { .. } => None,
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
        Ok(client)
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
    fn debug_hides_secret() {
        let c = ClientCredentials::Post {
            client_id: "a".into(),
            client_secret: "topsecret".into(),
        };
        assert!(!format!("{c:?}").contains("topsecret"));
    }
}
