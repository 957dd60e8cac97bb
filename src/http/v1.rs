//! Hydra v1's admin paths (the v1 `OAuth2Api` of `seeds/001`), served as the v2 routes
//! they became: a v1 request is rewritten to its v2 path, the ids its path carries
//! become the v2 query parameters, and it is then served like any v2 request (same
//! handlers, same JSON, same errors).
//!
//! | v1 | v2 |
//! | --- | --- |
//! | `/clients`, `/clients/{id}` | `/admin/clients`, `/admin/clients/{id}` (`limit` and `offset` are read there) |
//! | `/oauth2/auth/requests/{login,consent}/{challenge}[/accept,/reject]` | `/admin/oauth2/auth/requests/{login,consent}[/accept,/reject]?{login,consent}_challenge=` |
//! | `GET /oauth2/auth/sessions/consent/{user}` | `GET /admin/oauth2/auth/sessions/consent?subject=` |
//! | `DELETE /oauth2/auth/sessions/consent/{user}` | `DELETE …/sessions/consent?subject=&all=true` |
//! | `DELETE /oauth2/auth/sessions/consent/{user}/{client}` | `DELETE …/sessions/consent?subject=&client=` |
//! | `DELETE /oauth2/auth/sessions/login/{user}` | `DELETE /admin/oauth2/auth/sessions/login?subject=` |
//! | `POST /oauth2/introspect`, `POST /oauth2/flush` | `/admin/oauth2/introspect`, `/admin/oauth2/flush` |
//!
//! They are admin routes: the public listener answers them `404`.

use bytes::Bytes;
use http::{Method, Request, Uri};

use super::routes::id as segment;
use super::{response, Fail};
use crate::endpoint::url_query::append_query;
use crate::error::Error;

/// A v1 path's v2 form: the path, and the query parameters its ids become.
struct Target {
    path: String,
    params: Vec<(&'static str, String)>,
}

impl Target {
    fn to(path: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            params: Vec::new(),
        }
    }

    fn with(mut self, name: &'static str, value: String) -> Self {
        self.params.push((name, value));
        self
    }
}

/// Rewrites `req` in place if its path is one of Hydra v1's admin paths: `None` if it is
/// not, `Some(Err)` if its ids are malformed or the method is not one v1 served there.
pub(super) fn rewrite(req: &mut Request<Bytes>) -> Option<Result<(), Fail>> {
    let target = match target(req.method(), req.uri().path())? {
        Ok(t) => t,
        Err(fail) => return Some(Err(fail)),
    };
    let mut path_and_query = target.path;
    let query = req.uri().query().filter(|q| !q.is_empty());
    if let Some(q) = query {
        path_and_query.push('?');
        path_and_query.push_str(q);
    }
    append_query(
        &mut path_and_query,
        target.params.iter().map(|(k, v)| (*k, v.as_str())),
    );
    let mut parts = req.uri().clone().into_parts();
    let uri = path_and_query.parse().ok().and_then(|pq| {
        parts.path_and_query = Some(pq);
        Uri::from_parts(parts).ok()
    });
    Some(match uri {
        Some(uri) => {
            *req.uri_mut() = uri;
            Ok(())
        }
        None => Err(Error::invalid_request("The request URI is not valid.").into()),
    })
}

fn target(method: &Method, path: &str) -> Option<Result<Target, Fail>> {
    match path {
        "/clients" => return Some(Ok(Target::to("/admin/clients"))),
        "/oauth2/introspect" => return Some(Ok(Target::to("/admin/oauth2/introspect"))),
        "/oauth2/flush" => return Some(Ok(Target::to("/admin/oauth2/flush"))),
        _ => {}
    }
    if let Some(id) = path.strip_prefix("/clients/") {
        // Kept encoded: the v2 route decodes it.
        return segment(id).map(|r| {
            r.map(|_| Target::to(format!("/admin/clients/{id}")))
                .map_err(Fail::from)
        });
    }
    if let Some(rest) = path.strip_prefix("/oauth2/auth/requests/") {
        let (kind, rest) = rest.split_once('/')?;
        let name = match kind {
            "login" => "login_challenge",
            "consent" => "consent_challenge",
            _ => return None,
        };
        let (challenge, action) = match rest.rsplit_once('/') {
            Some((c, a @ ("accept" | "reject"))) => (c, Some(a)),
            _ => (rest, None),
        };
        let challenge = match segment(challenge)? {
            Ok(c) => c,
            Err(e) => return Some(Err(e.into())),
        };
        let path = match action {
            Some(action) => format!("/admin/oauth2/auth/requests/{kind}/{action}"),
            None => format!("/admin/oauth2/auth/requests/{kind}"),
        };
        return Some(Ok(Target::to(path).with(name, challenge)));
    }
    if let Some(user) = path.strip_prefix("/oauth2/auth/sessions/login/") {
        return segment(user).map(|r| {
            r.map(|user| Target::to("/admin/oauth2/auth/sessions/login").with("subject", user))
                .map_err(Fail::from)
        });
    }
    let rest = path.strip_prefix("/oauth2/auth/sessions/consent/")?;
    let sessions = || Target::to("/admin/oauth2/auth/sessions/consent");
    match rest.split_once('/') {
        None => Some(segment(rest)?.map_err(Fail::from).map(|user| {
            let t = sessions().with("subject", user);
            // v1 revoked every consent of the user here; v2 asks for it by name.
            match *method == Method::DELETE {
                true => t.with("all", "true".to_owned()),
                false => t,
            }
        })),
        Some((user, client)) => {
            let (user, client) = match (segment(user)?, segment(client)?) {
                (Ok(u), Ok(c)) => (u, c),
                (Err(e), _) | (_, Err(e)) => return Some(Err(e.into())),
            };
            // Only revocation is served for one client of a user (and CORS preflights).
            if ![Method::DELETE, Method::OPTIONS].contains(method) {
                return Some(Err(Fail(Box::new(response::method_not_allowed(&[
                    Method::DELETE,
                ])))));
            }
            Some(Ok(sessions().with("subject", user).with("client", client)))
        }
    }
}
