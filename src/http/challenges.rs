//! The admin API of the login, consent and logout apps (Hydra v2's
//! `/admin/oauth2/auth/requests/...`) and of sessions (`/admin/oauth2/auth/sessions/...`).

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde::Serialize;
use serde_json::{json, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::admin::{link_header, page_size};
use super::response;
use super::{body, Reply, Server};
use crate::endpoint::challenges::Challenge;
use crate::error::Error;
use crate::model::{AcceptConsent, AcceptLogin, ConsentSession, Rejection};
use crate::storage::SessionSelector;
use crate::Params;

/// A challenge read: `200` with the request, or `410` with `{"redirect_to"}` once
/// handled (as Hydra).
fn challenge_reply<T: Serialize>(c: Challenge<T>) -> Response<Bytes> {
    match c {
        Challenge::Pending(r) => response::json(StatusCode::OK, &r),
        Challenge::Handled(to) => response::json(StatusCode::GONE, &to),
    }
}

fn challenge(req: &Request<Bytes>, name: &str) -> Result<String, Error> {
    Ok(body::query(req)?.require(name)?.to_owned())
}

fn rfc3339(unix: i64) -> Value {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .map_or(Value::Null, Value::String)
}

impl Server {
    /// `GET /admin/oauth2/auth/requests/login?login_challenge=`.
    pub(super) async fn login_request(&self, req: &Request<Bytes>) -> Reply {
        let c = challenge(req, "login_challenge")?;
        Ok(challenge_reply(self.provider.login_request(&c).await?))
    }

    /// `PUT /admin/oauth2/auth/requests/login/accept?login_challenge=`.
    pub(super) async fn login_accept(&self, req: &Request<Bytes>) -> Reply {
        let c = challenge(req, "login_challenge")?;
        let accept: AcceptLogin = body::json(req, self.options.max_body_bytes)?;
        let to = self.provider.accept_login(&c, accept).await?;
        Ok(response::json(StatusCode::OK, &to))
    }

    /// `PUT /admin/oauth2/auth/requests/login/reject?login_challenge=`.
    pub(super) async fn login_reject(&self, req: &Request<Bytes>) -> Reply {
        let c = challenge(req, "login_challenge")?;
        let rejection: Rejection = body::json(req, self.options.max_body_bytes)?;
        let to = self.provider.reject_login(&c, rejection).await?;
        Ok(response::json(StatusCode::OK, &to))
    }

    /// `GET /admin/oauth2/auth/requests/consent?consent_challenge=`.
    pub(super) async fn consent_request(&self, req: &Request<Bytes>) -> Reply {
        let c = challenge(req, "consent_challenge")?;
        Ok(challenge_reply(self.provider.consent_request(&c).await?))
    }

    /// `PUT /admin/oauth2/auth/requests/consent/accept?consent_challenge=`.
    pub(super) async fn consent_accept(&self, req: &Request<Bytes>) -> Reply {
        let c = challenge(req, "consent_challenge")?;
        let accept: AcceptConsent = body::json(req, self.options.max_body_bytes)?;
        let to = self.provider.accept_consent(&c, accept).await?;
        Ok(response::json(StatusCode::OK, &to))
    }

    /// `PUT /admin/oauth2/auth/requests/consent/reject?consent_challenge=`.
    pub(super) async fn consent_reject(&self, req: &Request<Bytes>) -> Reply {
        let c = challenge(req, "consent_challenge")?;
        let rejection: Rejection = body::json(req, self.options.max_body_bytes)?;
        let to = self.provider.reject_consent(&c, rejection).await?;
        Ok(response::json(StatusCode::OK, &to))
    }

    /// `GET /admin/oauth2/auth/requests/logout?logout_challenge=`.
    pub(super) async fn logout_request(&self, req: &Request<Bytes>) -> Reply {
        let c = challenge(req, "logout_challenge")?;
        Ok(challenge_reply(self.provider.logout_request(&c).await?))
    }

    /// `PUT /admin/oauth2/auth/requests/logout/accept?logout_challenge=`.
    pub(super) async fn logout_accept(&self, req: &Request<Bytes>) -> Reply {
        let c = challenge(req, "logout_challenge")?;
        let to = self.provider.accept_logout(&c).await?;
        Ok(response::json(StatusCode::OK, &to))
    }

    /// `PUT /admin/oauth2/auth/requests/logout/reject?logout_challenge=`: `204`.
    pub(super) async fn logout_reject(&self, req: &Request<Bytes>) -> Reply {
        let c = challenge(req, "logout_challenge")?;
        self.provider.reject_logout(&c).await?;
        Ok(response::empty(StatusCode::NO_CONTENT))
    }

    /// One consent session in Hydra's `OAuth2ConsentSession` shape.
    async fn consent_session_json(&self, c: &ConsentSession) -> Result<Value, Error> {
        let client = self
            .provider
            .store()
            .get_client(&c.client_id)
            .await?
            .map_or(Value::Null, |cl| cl.to_public_json());
        let scope: Vec<&str> = c.granted_scope.iter().collect();
        Ok(json!({
            "consent_request": {
                "challenge": c.id,
                "client": client,
                "subject": c.subject,
                "login_session_id": c.sid,
                "requested_scope": scope,
                "requested_access_token_audience": c.granted_audience,
            },
            "grant_scope": scope,
            "grant_access_token_audience": c.granted_audience,
            "session": c.claims,
            "remember": c.remember,
            "remember_for": c.remember_until.map_or(0, |u| u.saturating_sub(c.handled_at).max(0)),
            "handled_at": rfc3339(c.handled_at),
        }))
    }

    /// `GET|DELETE /admin/oauth2/auth/sessions/consent`.
    pub(super) async fn consent_sessions(&self, req: &Request<Bytes>) -> Reply {
        let params = body::query(req)?;
        let subject = params.require("subject")?;
        if req.method() == http::Method::DELETE {
            let client = params.get("client")?;
            let all = parse_bool(&params, "all")?;
            if client.is_none() && !all {
                return Err(Error::invalid_request(
                    "Name a client, or set all=true to revoke every consent of the subject.",
                )
                .into());
            }
            self.provider
                .revoke_consent_sessions(subject, client)
                .await?;
            return Ok(response::empty(StatusCode::NO_CONTENT));
        }
        let page = self
            .provider
            .list_consent_sessions(
                subject,
                params.get("login_session_id")?,
                page_size(&params)?,
                params.get("page_token")?,
            )
            .await?;
        let mut items = Vec::with_capacity(page.sessions.len());
        for c in &page.sessions {
            items.push(self.consent_session_json(c).await?);
        }
        let mut resp = response::json(StatusCode::OK, &items);
        link_header(&mut resp, req, page.next_page_token.as_deref());
        Ok(resp)
    }

    /// `DELETE /admin/oauth2/auth/sessions/login?subject=` or `?sid=`: `204`. By `sid`,
    /// the back-channel logout tokens go to the notifier.
    pub(super) async fn login_sessions(&self, req: &Request<Bytes>) -> Reply {
        let params = body::query(req)?;
        let by = match (params.get("subject")?, params.get("sid")?) {
            (Some(s), None) => SessionSelector::Subject(s),
            (None, Some(sid)) => SessionSelector::Sid(sid),
            _ => {
                return Err(Error::invalid_request(
                    "Give exactly one of the 'subject' and 'sid' parameters.",
                )
                .into())
            }
        };
        let logouts = self.provider.end_login_sessions(by).await?;
        self.notify(&logouts).await;
        Ok(response::empty(StatusCode::NO_CONTENT))
    }
}

fn parse_bool(params: &Params, name: &str) -> Result<bool, Error> {
    match params.get(name)? {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(_) => Err(Error::invalid_request(format!(
            "The parameter '{name}' must be true or false."
        ))),
    }
}
