//! The route table: Hydra v2's public and admin paths, and the methods each allows.

use http::Method;

use super::body::path_segment;
use crate::error::Error;

/// A matched route; path ids are percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    // Public.
    Authorize,
    Token,
    Revoke,
    Userinfo,
    Logout,
    Discovery,
    Jwks,
    Register,
    Registration(String),
    // Admin.
    Clients,
    Client(String),
    ClientLifespans(String),
    LoginRequest,
    LoginAccept,
    LoginReject,
    ConsentRequest,
    ConsentAccept,
    ConsentReject,
    LogoutRequest,
    LogoutAccept,
    LogoutReject,
    ConsentSessions,
    LoginSessions,
    Introspect,
    Tokens,
    Flush,
    TrustIssuers,
    TrustIssuer(String),
    // Both APIs.
    Alive,
    Ready,
    Version,
}

/// An API: the public one, the admin one, or both (on one listener, or a route both
/// serve).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Api {
    Public,
    Admin,
    Both,
}

/// The trust relationships of the JWT-bearer grant.
const TRUST_ISSUERS: &str = "/admin/trust/grants/jwt-bearer/issuers";

const GET: Method = Method::GET;
const POST: Method = Method::POST;
const PUT: Method = Method::PUT;
const PATCH: Method = Method::PATCH;
const DELETE: Method = Method::DELETE;

impl Route {
    /// The methods the route allows.
    pub(crate) fn allowed(&self) -> &'static [Method] {
        match self {
            Self::Authorize | Self::Userinfo | Self::Logout => &[GET, POST],
            Self::Token | Self::Revoke | Self::Register | Self::Introspect | Self::Flush => &[POST],
            Self::Discovery | Self::Jwks | Self::Alive | Self::Ready | Self::Version => &[GET],
            Self::LoginRequest | Self::ConsentRequest | Self::LogoutRequest => &[GET],
            Self::Registration(_) => &[GET, PUT, DELETE],
            Self::Clients | Self::TrustIssuers => &[GET, POST],
            Self::TrustIssuer(_) => &[GET, DELETE],
            Self::Client(_) => &[GET, PUT, PATCH, DELETE],
            Self::ClientLifespans(_) => &[PUT],
            Self::LoginAccept
            | Self::LoginReject
            | Self::ConsentAccept
            | Self::ConsentReject
            | Self::LogoutAccept
            | Self::LogoutReject => &[PUT],
            Self::ConsentSessions => &[GET, DELETE],
            Self::LoginSessions | Self::Tokens => &[DELETE],
        }
    }

    /// The API that serves the route: the health and version probes are on both, as in
    /// Hydra.
    pub(crate) fn api(&self) -> Api {
        match self {
            Self::Alive | Self::Ready | Self::Version => Api::Both,
            Self::Authorize
            | Self::Token
            | Self::Revoke
            | Self::Userinfo
            | Self::Logout
            | Self::Discovery
            | Self::Jwks
            | Self::Register
            | Self::Registration(_) => Api::Public,
            Self::Clients
            | Self::Client(_)
            | Self::ClientLifespans(_)
            | Self::LoginRequest
            | Self::LoginAccept
            | Self::LoginReject
            | Self::ConsentRequest
            | Self::ConsentAccept
            | Self::ConsentReject
            | Self::LogoutRequest
            | Self::LogoutAccept
            | Self::LogoutReject
            | Self::ConsentSessions
            | Self::LoginSessions
            | Self::Introspect
            | Self::Tokens
            | Self::Flush
            | Self::TrustIssuers
            | Self::TrustIssuer(_) => Api::Admin,
        }
    }
}

/// One decoded, non-empty path segment without a raw `/`.
pub(super) fn id(raw: &str) -> Option<Result<String, Error>> {
    if raw.is_empty() || raw.contains('/') {
        return None;
    }
    Some(path_segment(raw))
}

/// The route for a path: `None` if no route serves it, `Some(Err)` if its id is
/// malformed.
pub(crate) fn route(path: &str) -> Option<Result<Route, Error>> {
    let fixed = match path {
        "/oauth2/auth" => Route::Authorize,
        "/oauth2/token" => Route::Token,
        "/oauth2/revoke" => Route::Revoke,
        "/userinfo" => Route::Userinfo,
        "/oauth2/sessions/logout" => Route::Logout,
        "/.well-known/openid-configuration" => Route::Discovery,
        "/.well-known/jwks.json" => Route::Jwks,
        // Hydra v1.x served registration under /connect/register, where its SDKs (the
        // `ory-hydra-client` crate among them) still send it.
        "/oauth2/register" | "/connect/register" => Route::Register,
        "/admin/clients" => Route::Clients,
        "/admin/oauth2/auth/requests/login" => Route::LoginRequest,
        "/admin/oauth2/auth/requests/login/accept" => Route::LoginAccept,
        "/admin/oauth2/auth/requests/login/reject" => Route::LoginReject,
        "/admin/oauth2/auth/requests/consent" => Route::ConsentRequest,
        "/admin/oauth2/auth/requests/consent/accept" => Route::ConsentAccept,
        "/admin/oauth2/auth/requests/consent/reject" => Route::ConsentReject,
        "/admin/oauth2/auth/requests/logout" => Route::LogoutRequest,
        "/admin/oauth2/auth/requests/logout/accept" => Route::LogoutAccept,
        "/admin/oauth2/auth/requests/logout/reject" => Route::LogoutReject,
        "/admin/oauth2/auth/sessions/consent" => Route::ConsentSessions,
        "/admin/oauth2/auth/sessions/login" => Route::LoginSessions,
        "/admin/oauth2/introspect" => Route::Introspect,
        "/admin/oauth2/tokens" => Route::Tokens,
        "/admin/oauth2/flush" => Route::Flush,
        "/health/alive" => Route::Alive,
        "/health/ready" => Route::Ready,
        "/version" => Route::Version,
        TRUST_ISSUERS => Route::TrustIssuers,
        _ => {
            if let Some(rest) = path
                .strip_prefix("/oauth2/register/")
                .or_else(|| path.strip_prefix("/connect/register/"))
            {
                return id(rest).map(|r| r.map(Route::Registration));
            }
            if let Some(rest) = path
                .strip_prefix(TRUST_ISSUERS)
                .and_then(|r| r.strip_prefix('/'))
            {
                return id(rest).map(|r| r.map(Route::TrustIssuer));
            }
            let rest = path.strip_prefix("/admin/clients/")?;
            if let Some(client) = rest.strip_suffix("/lifespans") {
                return id(client).map(|r| r.map(Route::ClientLifespans));
            }
            return id(rest).map(|r| r.map(Route::Client));
        }
    };
    Some(Ok(fixed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_decoded_and_bounded() {
        assert_eq!(
            route("/admin/clients/a%20b").unwrap().unwrap(),
            Route::Client("a b".into())
        );
        assert_eq!(
            route("/admin/clients/x/lifespans").unwrap().unwrap(),
            Route::ClientLifespans("x".into())
        );
        assert!(route("/admin/clients/").is_none());
        assert!(route("/admin/clients/a/b").is_none());
        assert!(route("/admin/clients/%zz").unwrap().is_err());
        assert!(route("/nope").is_none());
        assert_eq!(
            route("/admin/trust/grants/jwt-bearer/issuers/t%2F1")
                .unwrap()
                .unwrap(),
            Route::TrustIssuer("t/1".into())
        );
        assert_eq!(
            route("/connect/register/c%201").unwrap().unwrap(),
            Route::Registration("c 1".into())
        );
        assert_eq!(
            route("/connect/register").unwrap().unwrap(),
            Route::Register
        );
        assert!(route("/connect/register/").is_none());
        assert!(route("/admin/trust/grants/jwt-bearer/issuers/").is_none());
        assert!(route("/admin/trust/grants/jwt-bearer/issuersx").is_none());
    }
}
