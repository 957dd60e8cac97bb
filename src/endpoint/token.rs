//! The token endpoint (RFC 6749 §3.2, §4.1.3, §4.4.2, §6; RFC 7636 §4.5; RFC 7523 §2.1).

use serde::{Deserialize, Serialize};

use super::client_auth::ClientCredentials;
use super::params::{printable, Params};
use crate::error::{Error, ErrorCode, Result};
use crate::model::Scope;
use crate::Provider;

/// A parsed token request: who the client claims to be and what it asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRequest {
    /// The client's credentials.
    pub client: ClientCredentials,
    /// The grant.
    pub grant: GrantRequest,
}

/// The grant a token request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantRequest {
    /// `grant_type=authorization_code` (RFC 6749 §4.1.3).
    AuthorizationCode {
        /// The code.
        code: String,
        /// The redirect URI of the authorization request, if it carried one.
        redirect_uri: Option<String>,
        /// The PKCE verifier.
        code_verifier: Option<String>,
    },
    /// `grant_type=refresh_token` (RFC 6749 §6).
    RefreshToken {
        /// The refresh token.
        refresh_token: String,
        /// A narrower scope, if asked.
        scope: Option<Scope>,
    },
    /// `grant_type=client_credentials` (RFC 6749 §4.4).
    ClientCredentials {
        /// The scope asked for.
        scope: Scope,
        /// The audiences asked for.
        audience: Vec<String>,
    },
    /// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523 §2.1).
    JwtBearer {
        /// The assertion: a JWT a trusted issuer signed.
        assertion: String,
        /// The scope asked for.
        scope: Scope,
        /// The audiences asked for.
        audience: Vec<String>,
    },
}

/// The `scope` parameter, parsed, if given.
fn scope(params: &Params) -> Result<Option<Scope>> {
    params.get("scope")?.map(Scope::parse).transpose()
}

/// The `audience` parameters (Hydra's extension), each once.
fn audience(params: &Params) -> Vec<String> {
    params
        .all("audience")
        .into_iter()
        .map(str::to_owned)
        .collect()
}

impl TokenRequest {
    /// Parses a form body and the `Authorization` header value.
    pub fn from_form(body: &[u8], authorization: Option<&str>) -> Result<Self> {
        Self::from_params(&Params::parse(body), authorization)
    }

    /// Parses decoded parameters and the `Authorization` header value.
    pub fn from_params(params: &Params, authorization: Option<&str>) -> Result<Self> {
        let grant_type = params.require("grant_type")?;
        let grant = match grant_type {
            "authorization_code" => GrantRequest::AuthorizationCode {
                code: params.require("code")?.to_owned(),
                redirect_uri: params.get("redirect_uri")?.map(str::to_owned),
                code_verifier: params.get("code_verifier")?.map(str::to_owned),
            },
            "refresh_token" => GrantRequest::RefreshToken {
                refresh_token: params.require("refresh_token")?.to_owned(),
                scope: scope(params)?,
            },
            "client_credentials" => GrantRequest::ClientCredentials {
                scope: scope(params)?.unwrap_or_default(),
                audience: audience(params),
            },
            crate::grant::jwt_bearer::GRANT_TYPE => GrantRequest::JwtBearer {
                assertion: params.require("assertion")?.to_owned(),
                scope: scope(params)?.unwrap_or_default(),
                audience: audience(params),
            },
            "password" => {
                return Err(Error::new(
                    ErrorCode::UnsupportedGrantType,
                    "The password grant is not supported (RFC 9700 §2.4).",
                ))
            }
            other => {
                return Err(Error::new(
                    ErrorCode::UnsupportedGrantType,
                    format!("The grant type '{}' is not supported.", printable(other)),
                ))
            }
        };
        let client = ClientCredentials::parse(params, authorization)?;
        Ok(Self { client, grant })
    }
}

/// A successful token response (RFC 6749 §5.1). Serve it as JSON with
/// `Cache-Control: no-store` and `Pragma: no-cache`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    /// The access token.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: std::borrow::Cow<'static, str>,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// The refresh token, when the grant allows one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// The granted scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The ID token, for OpenID Connect requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

/// Headers every token endpoint response carries (RFC 6749 §5.1).
pub const NO_STORE_HEADERS: [(&str, &str); 2] =
    [("cache-control", "no-store"), ("pragma", "no-cache")];

impl Provider {
    /// The token endpoint: authenticates the client and runs the grant.
    pub async fn token(&self, request: TokenRequest) -> Result<TokenResponse> {
        let client = self.authenticate_client(&request.client).await?;
        match request.grant {
            GrantRequest::AuthorizationCode {
                code,
                redirect_uri,
                code_verifier,
            } => {
                crate::grant::authorization_code::exchange(
                    self,
                    &client,
                    &code,
                    redirect_uri.as_deref(),
                    code_verifier.as_deref(),
                )
                .await
            }
            GrantRequest::RefreshToken {
                refresh_token,
                scope,
            } => crate::grant::refresh_token::refresh(self, &client, &refresh_token, scope).await,
            GrantRequest::ClientCredentials { scope, audience } => {
                crate::grant::client_credentials::issue(self, &client, scope, audience).await
            }
            GrantRequest::JwtBearer {
                assertion,
                scope,
                audience,
            } => crate::grant::jwt_bearer::issue(self, &client, &assertion, scope, audience).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_grant() {
        let r = TokenRequest::from_form(
            b"grant_type=client_credentials&client_id=a&client_secret=b&scope=x%20y&audience=u&audience=v%20w",
            None,
        )
        .unwrap();
        assert_eq!(
            r.grant,
            GrantRequest::ClientCredentials {
                scope: Scope::parse("x y").unwrap(),
                audience: vec!["u".into(), "v".into(), "w".into()]
            }
        );
        let r = TokenRequest::from_form(
            b"grant_type=authorization_code&code=c&client_id=a&code_verifier=v",
            None,
        )
        .unwrap();
        assert!(matches!(r.client, ClientCredentials::Public { .. }));
    }

    #[test]
    fn errors_name_the_problem() {
        let code = |body: &[u8]| TokenRequest::from_form(body, None).unwrap_err().code();
        assert_eq!(code(b"client_id=a"), ErrorCode::InvalidRequest);
        assert_eq!(
            code(b"grant_type=password&client_id=a"),
            ErrorCode::UnsupportedGrantType
        );
        assert_eq!(
            code(b"grant_type=urn:x&client_id=a"),
            ErrorCode::UnsupportedGrantType
        );
        assert_eq!(
            code(b"grant_type=authorization_code&client_id=a"),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(b"grant_type=refresh_token&client_id=a"),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(b"grant_type=client_credentials&grant_type=client_credentials&client_id=a"),
            ErrorCode::InvalidRequest
        );
        assert_eq!(
            code(b"grant_type=client_credentials&scope=%22"),
            ErrorCode::InvalidScope
        );
        assert_eq!(
            code(b"grant_type=client_credentials"),
            ErrorCode::InvalidClient
        );
    }
}
