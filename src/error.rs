//! The one error type every operation returns.
//!
//! An [`Error`] carries a standard error code (RFC 6749 §4.1.2.1 and §5.2, RFC 6750 §3.1,
//! RFC 7009 §2.2.1, RFC 7591 §3.2.2, OpenID Connect Core §3.1.2.6) and a description that is
//! safe to show to the client. Internal detail (a storage failure, a key problem) is logged
//! through `tracing` when the error is built and never reaches a response.

use std::borrow::Cow;
use std::fmt;

/// A standard OAuth 2.0 / OpenID Connect error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    // RFC 6749 §4.1.2.1 and §5.2
    /// The request is missing a parameter, repeats one, or is otherwise malformed.
    InvalidRequest,
    /// Client authentication failed.
    InvalidClient,
    /// The grant (code, refresh token, credentials) is invalid, expired, revoked or foreign.
    InvalidGrant,
    /// The client is not allowed to use this grant or response type.
    UnauthorizedClient,
    /// The grant type is not supported by the server.
    UnsupportedGrantType,
    /// The requested scope is invalid, unknown, malformed or exceeds what was granted.
    InvalidScope,
    /// The resource owner or the server denied the request.
    AccessDenied,
    /// The response type is not supported by the server.
    UnsupportedResponseType,
    /// The server met an unexpected condition.
    ServerError,
    /// The server is temporarily unable to handle the request.
    TemporarilyUnavailable,
    // RFC 6750 §3.1
    /// The access token is expired, revoked, malformed or invalid.
    InvalidToken,
    /// The access token lacks the scope the resource needs.
    InsufficientScope,
    // RFC 7009 §2.2.1
    /// The server cannot revoke this type of token.
    UnsupportedTokenType,
    // OpenID Connect Core §3.1.2.6
    /// The user must interact with the server.
    InteractionRequired,
    /// The user must authenticate.
    LoginRequired,
    /// The user must select an account.
    AccountSelectionRequired,
    /// The user must consent.
    ConsentRequired,
    /// The `request_uri` is invalid.
    InvalidRequestUri,
    /// The request object is invalid.
    InvalidRequestObject,
    /// The `request` parameter is not supported.
    RequestNotSupported,
    /// The `request_uri` parameter is not supported.
    RequestUriNotSupported,
    /// Dynamic registration is not supported.
    RegistrationNotSupported,
    // RFC 7591 §3.2.2
    /// A redirect URI of a registration is invalid.
    InvalidRedirectUri,
    /// A metadata field of a registration is invalid.
    InvalidClientMetadata,
    // Admin API (Hydra)
    /// The resource does not exist.
    NotFound,
    /// The resource already exists or the request conflicts with its state.
    Conflict,
}

impl ErrorCode {
    /// Every code.
    pub const ALL: [ErrorCode; 26] = [
        Self::InvalidRequest,
        Self::InvalidClient,
        Self::InvalidGrant,
        Self::UnauthorizedClient,
        Self::UnsupportedGrantType,
        Self::InvalidScope,
        Self::AccessDenied,
        Self::UnsupportedResponseType,
        Self::ServerError,
        Self::TemporarilyUnavailable,
        Self::InvalidToken,
        Self::InsufficientScope,
        Self::UnsupportedTokenType,
        Self::InteractionRequired,
        Self::LoginRequired,
        Self::AccountSelectionRequired,
        Self::ConsentRequired,
        Self::InvalidRequestUri,
        Self::InvalidRequestObject,
        Self::RequestNotSupported,
        Self::RequestUriNotSupported,
        Self::RegistrationNotSupported,
        Self::InvalidRedirectUri,
        Self::InvalidClientMetadata,
        Self::NotFound,
        Self::Conflict,
    ];

    /// The code with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The code as it appears in the `error` field.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::AccessDenied => "access_denied",
            Self::UnsupportedResponseType => "unsupported_response_type",
            Self::ServerError => "server_error",
            Self::TemporarilyUnavailable => "temporarily_unavailable",
            Self::InvalidToken => "invalid_token",
            Self::InsufficientScope => "insufficient_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
            Self::InteractionRequired => "interaction_required",
            Self::LoginRequired => "login_required",
            Self::AccountSelectionRequired => "account_selection_required",
            Self::ConsentRequired => "consent_required",
            Self::InvalidRequestUri => "invalid_request_uri",
            Self::InvalidRequestObject => "invalid_request_object",
            Self::RequestNotSupported => "request_not_supported",
            Self::RequestUriNotSupported => "request_uri_not_supported",
            Self::RegistrationNotSupported => "registration_not_supported",
            Self::InvalidRedirectUri => "invalid_redirect_uri",
            Self::InvalidClientMetadata => "invalid_client_metadata",
            Self::NotFound => "not_found",
            Self::Conflict => "conflict",
        }
    }

    /// The HTTP status this code implies when answered directly (not by redirect).
    pub const fn status(self) -> u16 {
        match self {
            Self::InvalidClient | Self::InvalidToken => 401,
            Self::InsufficientScope | Self::AccessDenied => 403,
            Self::NotFound => 404,
            Self::Conflict => 409,
            Self::ServerError => 500,
            Self::TemporarilyUnavailable => 503,
            _ => 400,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error answered to a client: a standard code and a safe description.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {description}")]
pub struct Error {
    code: ErrorCode,
    description: Cow<'static, str>,
}

impl Error {
    /// An error with a code and a description safe to show the client.
    pub fn new(code: ErrorCode, description: impl Into<Cow<'static, str>>) -> Self {
        Self {
            code,
            description: description.into(),
        }
    }

    /// The standard code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// The description, safe to show a client.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The HTTP status this error implies.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The `WWW-Authenticate` header value this error requires, if any:
    /// `Basic` for a failed client authentication (RFC 6749 §5.2), `Bearer` for
    /// token errors at a resource (RFC 6750 §3).
    pub fn www_authenticate(&self) -> Option<String> {
        if self.is_missing_bearer_token() {
            return Some("Bearer realm=\"portcullis\"".to_owned());
        }
        match self.code {
            ErrorCode::InvalidClient => Some("Basic realm=\"portcullis\"".to_owned()),
            ErrorCode::InvalidToken | ErrorCode::InsufficientScope => Some(format!(
                "Bearer error=\"{}\", error_description=\"{}\"",
                self.code,
                self.description.replace(['"', '\\'], "'")
            )),
            _ => None,
        }
    }

    /// An internal failure: logged in full, answered as a bare `server_error`.
    pub fn internal(detail: impl fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        Self::new(
            ErrorCode::ServerError,
            "The server met an unexpected condition.",
        )
    }

    /// Shorthand for `invalid_request`.
    pub fn invalid_request(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidRequest, description)
    }

    /// Shorthand for `invalid_grant`.
    pub fn invalid_grant(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidGrant, description)
    }

    /// Shorthand for `invalid_client`.
    pub fn invalid_client(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidClient, description)
    }

    /// Shorthand for `invalid_scope`.
    pub fn invalid_scope(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::InvalidScope, description)
    }

    /// A request to a protected resource (userinfo) that carries no access token at all.
    /// RFC 6750 §3.1: the answer is 401 with a bare `WWW-Authenticate: Bearer` challenge and
    /// no error code; [`www_authenticate`](Self::www_authenticate) gives that challenge and
    /// [`is_missing_bearer_token`](Self::is_missing_bearer_token) tells the case apart.
    pub fn missing_bearer_token() -> Self {
        Self::new(ErrorCode::InvalidToken, MISSING_BEARER_TOKEN)
    }

    /// Whether this is [`Error::missing_bearer_token`]: answer 401 with no error code.
    pub fn is_missing_bearer_token(&self) -> bool {
        self.code == ErrorCode::InvalidToken && self.description == MISSING_BEARER_TOKEN
    }

    /// Shorthand for `not_found`.
    pub fn not_found(description: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorCode::NotFound, description)
    }
}

const MISSING_BEARER_TOKEN: &str = "The request carries no access token.";

/// The result type of every operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_name(c.as_str()), Some(c));
        }
        assert_eq!(ErrorCode::from_name("nope"), None);
    }

    #[test]
    fn invalid_client_is_401_with_basic_challenge() {
        let e = Error::invalid_client("bad secret");
        assert_eq!(e.status(), 401);
        assert!(e.www_authenticate().unwrap().starts_with("Basic "));
    }

    #[test]
    fn bearer_challenge_cannot_be_broken_by_quotes() {
        let e = Error::new(ErrorCode::InvalidToken, "a \"quoted\" \\ thing");
        let h = e.www_authenticate().unwrap();
        assert_eq!(h.matches('"').count(), 4, "{h}");
    }

    #[test]
    fn internal_detail_never_leaks() {
        let e = Error::internal("disk /var/secret failed");
        assert_eq!(e.code(), ErrorCode::ServerError);
        assert!(!e.description().contains("secret"));
        assert_eq!(e.status(), 500);
    }
}
