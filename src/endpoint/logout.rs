//! Logout: OpenID Connect RP-Initiated Logout 1.0, Front-Channel Logout 1.0 and
//! Back-Channel Logout 1.0, with Hydra's logout challenge.
//!
//! `GET /oauth2/sessions/logout` comes here as [`Provider::logout`]. Without an
//! `id_token_hint` the browser's session decides (OP-initiated; `state` and
//! `post_logout_redirect_uri` are then refused). With a valid hint (expired is fine) the
//! client named by it may ask to come back to one of its registered
//! `post_logout_redirect_uris`. If there is a session to end, the logout app confirms it
//! through a challenge; then the browser returns with a verifier and the engine ends the
//! session and hands back the front-channel URLs and back-channel logout tokens. The
//! app (or the reference server) delivers the latter through a [`LogoutNotifier`];
//! delivery failures never block the logout.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::challenges::{Challenge, RedirectTo};
use super::params::Params;
use super::url_query::{append_query, with_query};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{LoginSession, LogoutFlow, LogoutState};
use crate::storage::SessionSelector;
use crate::token::jwt;
use crate::token::verifier::{self, Secret};
use crate::Provider;

const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// How long a logout token is valid (seconds).
const LOGOUT_TOKEN_LIFESPAN: i64 = 120;

/// What to answer the browser at the logout endpoint.
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub enum LogoutOutcome {
    /// Send the browser to the logout app to confirm.
    LogoutApp {
        /// The logout challenge.
        challenge: String,
        /// The logout app URL with `logout_challenge`.
        redirect_to: String,
    },
    /// The logout ran (or there was nothing to end): run the front-channel page, deliver
    /// the back-channel tokens, clear the session cookie, and redirect.
    LoggedOut(LoggedOut),
    /// Show an error page; never redirect (bad hint, unregistered redirect URI).
    ErrorPage(Error),
}

/// The effects of a completed logout.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoggedOut {
    /// Where to send the browser last (with `state`).
    pub redirect_to: String,
    /// Front-channel logout URLs to load in hidden iframes.
    pub frontchannel_urls: Vec<String>,
    /// Back-channel logout tokens to deliver.
    pub backchannel: Vec<BackchannelLogout>,
    /// Whether the browser's session cookie must be cleared.
    pub clear_cookie: bool,
}

/// A logout token (OIDC Back-Channel Logout 1.0 §2.4) for one client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackchannelLogout {
    /// The client.
    pub client_id: String,
    /// Its `backchannel_logout_uri`: POST `logout_token=<token>` there.
    pub uri: String,
    /// The signed logout token (`typ: logout+jwt`).
    pub logout_token: String,
}

/// Delivers back-channel logout tokens (the reference server POSTs them).
///
/// The URL is one a client registered: whoever may register a client chooses it. An
/// implementation that makes the request should refuse addresses the server must not
/// reach on a client's behalf (loopback, private ranges, link-local metadata services)
/// and not follow redirects, as the reference server's `examples/axum_server/outbound.rs`
/// does.
#[async_trait]
pub trait LogoutNotifier: Send + Sync {
    /// Delivers one; an error is logged, never fatal.
    async fn deliver(&self, logout: &BackchannelLogout) -> std::result::Result<(), String>;
}

/// Delivers every token; failures are logged and counted, never block. Returns how many
/// were delivered.
pub async fn deliver_all(notifier: &dyn LogoutNotifier, logouts: &[BackchannelLogout]) -> usize {
    let mut ok = 0;
    for l in logouts {
        match notifier.deliver(l).await {
            Ok(()) => ok += 1,
            Err(e) => {
                tracing::warn!(client_id = %l.client_id, error = %e, "back-channel logout failed")
            }
        }
    }
    ok
}

/// Hydra's `OAuth2LogoutRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogoutRequest {
    /// The logout challenge.
    pub challenge: String,
    /// The client that initiated it (without secrets), if any.
    pub client: Value,
    /// The URL the browser asked for.
    pub request_url: String,
    /// Whether a client initiated it.
    pub rp_initiated: bool,
    /// The login session to end.
    pub sid: String,
    /// Who is logging out.
    pub subject: String,
}

fn page(e: Error) -> Result<LogoutOutcome> {
    Ok(LogoutOutcome::ErrorPage(e))
}

impl Provider {
    /// The logout endpoint: `params` from the query or form, `session_cookie` the value of
    /// the session cookie if the browser sent one.
    pub async fn logout(
        &self,
        params: &Params,
        session_cookie: Option<&str>,
    ) -> Result<LogoutOutcome> {
        match params.get("logout_verifier") {
            Err(e) => page(e),
            Ok(Some(v)) => self.complete_logout(v).await,
            Ok(None) => self.start_logout(params, session_cookie).await,
        }
    }

    async fn start_logout(
        &self,
        params: &Params,
        session_cookie: Option<&str>,
    ) -> Result<LogoutOutcome> {
        let get = |name| params.get(name).map(|v| v.map(str::to_owned));
        let (hint, redirect, state, client_id) = match (
            get("id_token_hint"),
            get("post_logout_redirect_uri"),
            get("state"),
            get("client_id"),
        ) {
            (Ok(h), Ok(r), Ok(s), Ok(c)) => (h, r, s, c),
            (Err(e), ..) | (_, Err(e), ..) | (_, _, Err(e), _) | (.., Err(e)) => return page(e),
        };
        let now = self.unix_now();
        let browser = match session_cookie {
            Some(sid) => self
                .store()
                .get_login_session(sid)
                .await?
                .filter(|s| s.remember && s.expires_at > now),
            None => None,
        };
        let Some(hint) = hint else {
            // OP-initiated: only the browser's session; no state, no redirect URI.
            if redirect.is_some() || state.is_some() {
                return page(Error::invalid_request(
                    "post_logout_redirect_uri and state need an id_token_hint.",
                ));
            }
            return match browser {
                Some(s) => {
                    self.ask_logout_app(s.subject, s.sid.to_string(), None, None, None, params, now)
                        .await
                }
                None => Ok(LogoutOutcome::LoggedOut(LoggedOut {
                    redirect_to: self.config().urls.post_logout_redirect.clone(),
                    ..LoggedOut::default()
                })),
            };
        };
        let claims = match jwt::verify_own(self.signer(), &self.config().issuer, &hint) {
            Ok(c) => c,
            Err(e) => return page(e),
        };
        let audiences: Vec<&str> = match claims.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let hint_client = match (&client_id, audiences.as_slice()) {
            (Some(id), auds) if auds.contains(&id.as_str()) => id.clone(),
            (Some(_), _) => {
                return page(Error::invalid_request(
                    "The client_id does not match the id_token_hint.",
                ))
            }
            (None, [one]) => (*one).to_owned(),
            (None, _) => {
                return page(Error::invalid_request(
                    "The id_token_hint names no single client.",
                ))
            }
        };
        let Some(client) = self.store().get_client(&hint_client).await? else {
            return page(Error::invalid_request(
                "The client of the id_token_hint does not exist.",
            ));
        };
        if let Some(uri) = &redirect {
            if !client.post_logout_redirect_uris.iter().any(|u| u == uri) {
                return page(Error::invalid_request(
                    "The post_logout_redirect_uri is not registered for this client.",
                ));
            }
        }
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let hint_sid = claims.get("sid").and_then(Value::as_str).map(str::to_owned);
        // The session to end: the browser's, if it is the hint's subject; else the hint's.
        let session = match browser.filter(|s| s.subject == subject) {
            Some(s) => Some(s),
            None => match &hint_sid {
                Some(sid) => self
                    .store()
                    .get_login_session(sid)
                    .await?
                    .filter(|s| s.expires_at > now),
                None => None,
            },
        };
        match session {
            Some(s) if s.remember => {
                self.ask_logout_app(
                    subject,
                    s.sid.to_string(),
                    Some(hint_client),
                    redirect,
                    state,
                    params,
                    now,
                )
                .await
            }
            // Nothing remembered to confirm: end what there is and go back.
            other => {
                let sid = other
                    .map(|s| s.sid.to_string())
                    .or(hint_sid)
                    .unwrap_or_default();
                let flow = LogoutFlow {
                    id: String::new(),
                    version: 0,
                    state: LogoutState::Done,
                    subject,
                    sid,
                    client_id: Some(hint_client),
                    rp_initiated: true,
                    post_logout_redirect_uri: redirect,
                    state_param: state,
                    request_url: String::new(),
                    expires_at: now,
                    verifier: None,
                };
                Ok(LogoutOutcome::LoggedOut(self.end_sessions(&flow).await?))
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn ask_logout_app(
        &self,
        subject: String,
        sid: String,
        client_id: Option<String>,
        redirect: Option<String>,
        state: Option<String>,
        params: &Params,
        now: i64,
    ) -> Result<LogoutOutcome> {
        let request_url = self
            .config()
            .endpoint_with_query("/oauth2/sessions/logout", params.pairs());
        let flow = LogoutFlow {
            id: self.new_id(),
            version: 0,
            state: LogoutState::Requested,
            subject,
            sid,
            rp_initiated: client_id.is_some(),
            client_id,
            post_logout_redirect_uri: redirect,
            state_param: state,
            request_url,
            expires_at: now.saturating_add(self.config().flow_lifespan.whole_seconds()),
            verifier: None,
        };
        self.store().create_logout(&flow).await?;
        Ok(LogoutOutcome::LogoutApp {
            redirect_to: with_query(&self.config().urls.logout, "logout_challenge", &flow.id),
            challenge: flow.id,
        })
    }

    async fn logout_flow(&self, challenge: &str) -> Result<LogoutFlow> {
        let now = self.unix_now();
        self.store()
            .get_logout(challenge)
            .await?
            .filter(|l| l.expires_at > now)
            .ok_or_else(|| Error::not_found("The logout challenge does not exist or has expired."))
    }

    fn logout_redirect(&self, flow: &LogoutFlow) -> Result<RedirectTo> {
        let url = self.verifier_url(
            "/oauth2/sessions/logout",
            "logout_verifier",
            &flow.id,
            flow.verifier.as_ref(),
        );
        url.map(|redirect_to| RedirectTo { redirect_to })
            .ok_or_else(|| Error::not_found("The logout challenge does not exist or has expired."))
    }

    /// The logout request behind a challenge.
    pub async fn logout_request(&self, challenge: &str) -> Result<Challenge<LogoutRequest>> {
        let flow = self.logout_flow(challenge).await?;
        if flow.state != LogoutState::Requested {
            return Ok(Challenge::Handled(self.logout_redirect(&flow)?));
        }
        let client = match &flow.client_id {
            Some(id) => self
                .store()
                .get_client(id)
                .await?
                .map(|c| c.to_public_json())
                .unwrap_or(Value::Null),
            None => Value::Null,
        };
        Ok(Challenge::Pending(LogoutRequest {
            challenge: flow.id.clone(),
            client,
            request_url: flow.request_url.clone(),
            rp_initiated: flow.rp_initiated,
            sid: flow.sid.clone(),
            subject: flow.subject.clone(),
        }))
    }

    async fn answer_logout(&self, challenge: &str, to: LogoutState) -> Result<LogoutFlow> {
        let mut flow = self.logout_flow(challenge).await?;
        if flow.state != LogoutState::Requested {
            return Err(Error::new(
                ErrorCode::Conflict,
                "The logout request has already been handled.",
            ));
        }
        flow.version += 1;
        flow.state = to;
        flow.verifier = Some(Secret::random(self.entropy()));
        if !self.store().update_logout(&flow).await? {
            return Err(Error::new(
                ErrorCode::Conflict,
                "The logout request has already been handled.",
            ));
        }
        Ok(flow)
    }

    /// The user confirmed the logout: the browser goes back to the logout endpoint.
    pub async fn accept_logout(&self, challenge: &str) -> Result<RedirectTo> {
        let flow = self.answer_logout(challenge, LogoutState::Accepted).await?;
        self.logout_redirect(&flow)
    }

    /// The user does not want to log out: nothing ends.
    pub async fn reject_logout(&self, challenge: &str) -> Result<()> {
        self.answer_logout(challenge, LogoutState::Rejected)
            .await
            .map(|_| ())
    }

    async fn complete_logout(&self, given: &str) -> Result<LogoutOutcome> {
        let flow = match verifier::split(given) {
            Some((id, secret)) => self
                .logout_flow(id)
                .await
                .ok()
                .filter(|f| Secret::matches(f.verifier.as_ref(), secret)),
            None => None,
        };
        let Some(mut flow) = flow.filter(|f| f.state == LogoutState::Accepted) else {
            return page(Error::invalid_request(
                "The logout verifier is invalid, used or expired.",
            ));
        };
        flow.version += 1;
        flow.state = LogoutState::Done;
        if !self.store().update_logout(&flow).await? {
            return page(Error::invalid_request(
                "The logout verifier has already been used.",
            ));
        }
        Ok(LogoutOutcome::LoggedOut(self.end_sessions(&flow).await?))
    }

    /// Ends the flow's login session and collects what the clients must be told.
    async fn end_sessions(&self, flow: &LogoutFlow) -> Result<LoggedOut> {
        if !flow.sid.is_empty() {
            self.store()
                .delete_login_sessions(SessionSelector::Sid(&flow.sid))
                .await?;
        }
        let (frontchannel_urls, backchannel) = self
            .logout_notifications(&flow.subject, std::slice::from_ref(&flow.sid))
            .await?;
        let redirect_to = match (&flow.post_logout_redirect_uri, &flow.state_param) {
            (Some(uri), Some(state)) => with_query(uri, "state", state),
            (Some(uri), None) => uri.clone(),
            (None, _) => self.config().urls.post_logout_redirect.clone(),
        };
        Ok(LoggedOut {
            redirect_to,
            frontchannel_urls,
            backchannel,
            clear_cookie: !flow.sid.is_empty(),
        })
    }

    /// The front-channel URLs and back-channel logout tokens for the clients a subject
    /// used in the given login sessions.
    pub async fn logout_notifications(
        &self,
        subject: &str,
        sids: &[String],
    ) -> Result<(Vec<String>, Vec<BackchannelLogout>)> {
        let mut clients: Vec<String> = self
            .store()
            .consents(subject)
            .await?
            .into_iter()
            .filter(|c| sids.iter().any(|s| **s == *c.sid))
            .map(|c| c.client_id)
            .collect();
        clients.sort();
        clients.dedup();
        let issuer = &self.config().issuer;
        let now = self.unix_now();
        let mut front = Vec::new();
        let mut back = Vec::new();
        for id in clients {
            let Some(client) = self.store().get_client(&id).await? else {
                continue;
            };
            let sid = sids.first().map(String::as_str).unwrap_or_default();
            if let Some(uri) = &client.frontchannel_logout_uri {
                front.push(if client.frontchannel_logout_session_required {
                    let mut uri = uri.clone();
                    append_query(&mut uri, [("iss", issuer.as_str()), ("sid", sid)]);
                    uri
                } else {
                    uri.clone()
                });
            }
            if let Some(uri) = &client.backchannel_logout_uri {
                let mut claims = json!({
                    "iss": issuer,
                    "aud": client.client_id,
                    "iat": now,
                    "exp": now + LOGOUT_TOKEN_LIFESPAN,
                    "jti": self.new_id::<String>(),
                    "sub": subject,
                    "events": { BACKCHANNEL_EVENT: {} },
                });
                if !sid.is_empty() {
                    claims["sid"] = sid.into();
                }
                let payload = serde_json::to_vec(&claims).map_err(Error::internal)?;
                let token = self.signer().sign(
                    crate::grant::id_token_alg(&client),
                    "logout+jwt",
                    &payload,
                )?;
                back.push(BackchannelLogout {
                    client_id: client.client_id.clone(),
                    uri: uri.clone(),
                    logout_token: token,
                });
            }
        }
        Ok((front, back))
    }

    /// Ends login sessions (Hydra's `DELETE /admin/oauth2/auth/sessions/login`) and
    /// returns what the clients must be told. By `sid`, the back-channel logout runs (as
    /// in Hydra); by subject, no notifications.
    pub async fn end_login_sessions(
        &self,
        by: SessionSelector<'_>,
    ) -> Result<Vec<BackchannelLogout>> {
        let ended: Vec<LoginSession> = self.revoke_login_sessions(by).await?;
        match (by, ended.first()) {
            (SessionSelector::Sid(sid), Some(s)) => Ok(self
                .logout_notifications(&s.subject, &[sid.to_owned()])
                .await?
                .1),
            _ => Ok(Vec::new()),
        }
    }
}
