//! The authorization endpoint and its flow (RFC 6749 §4.1, §4.2; OpenID Connect Core
//! §3): request → login app → consent app → response to the client.
//!
//! The engine never renders a page. [`Provider::authorize`] answers what the browser
//! should see next: the login app (with a challenge), the consent app, the client's
//! redirect URI, or an error page. The apps answer the challenges through
//! [`Provider::accept_login`](crate::Provider::accept_login) and friends, and send the
//! browser back here with a verifier.

use std::sync::Arc;

use smallvec::SmallVec;

use crate::endpoint::params::Params;
use crate::endpoint::url_query::with_query;
use crate::error::{Error, ErrorCode, Result};
use crate::grant::Issue;
use crate::model::{
    AcceptConsent, Client, CodeBinding, ConsentSession, Flow, FlowState, GrantKind, LoginSession,
    Rejection, Scope, Session,
};
use crate::token::jwt::{self, IdTokenParts};
use crate::token::verifier::{self, Secret};
use crate::Provider;

pub mod request;
pub mod response;

use request::{error_target, ErrorTarget};
pub use response::{Authorization, AuthorizeOutcome, FormPost, SessionCookie};

fn page(e: Error) -> Result<Authorization> {
    Ok(Authorization {
        outcome: AuthorizeOutcome::ErrorPage(e),
        set_cookie: None,
    })
}

/// The error an app's rejection becomes for the client.
pub(crate) fn rejection_error(r: &Rejection) -> Error {
    let code = ErrorCode::from_name(&r.error).unwrap_or(ErrorCode::AccessDenied);
    let description = if r.error_description.is_empty() {
        "The request was denied.".to_owned()
    } else {
        r.error_description.clone()
    };
    Error::new(code, description)
}

impl Provider {
    /// The authorization endpoint: `params` from the GET query or POST form,
    /// `session_cookie` the value of the [`SessionCookie::NAME`] cookie if the browser sent
    /// one.
    pub async fn authorize(
        &self,
        params: &Params,
        session_cookie: Option<&str>,
    ) -> Result<Authorization> {
        match (params.get("login_verifier"), params.get("consent_verifier")) {
            (Err(e), _) | (_, Err(e)) => page(e),
            (Ok(Some(v)), _) => self.after_login(v).await,
            (_, Ok(Some(v))) => self.after_consent(v).await,
            _ => self.start(params, session_cookie).await,
        }
    }

    /// An error for the client, in its response mode, with `state` and `iss`.
    fn redirect_error(&self, target: ErrorTarget<'_>, e: Error) -> Authorization {
        let mut params = vec![
            ("error", e.code().as_str()),
            ("error_description", e.description()),
        ];
        if let Some(state) = target.state {
            params.push(("state", state));
        }
        params.push(("iss", &self.config().issuer));
        Authorization {
            outcome: response::respond(target.redirect_uri, target.mode, &params),
            set_cookie: None,
        }
    }

    /// This provider's `path` with `name` set to a handle of the flow `flow_id`, if it has
    /// one (`secret`): where the browser takes a verifier back to. (A flow stored by a
    /// version that kept no verifiers has none.)
    pub(crate) fn verifier_url(
        &self,
        path: &str,
        name: &str,
        flow_id: &str,
        secret: Option<&Secret>,
    ) -> Option<String> {
        secret.map(|s| {
            s.with_handle(flow_id, |handle| {
                self.config().endpoint_with_query(path, [(name, handle)])
            })
        })
    }

    /// The live flow a handle (`<flow id>.<secret>`, see [`verifier`]) names, if the flow
    /// kept its secret as `kept`.
    pub(crate) async fn flow_by_handle(
        &self,
        handle: &str,
        kept: impl Fn(&Flow) -> Option<&Secret>,
    ) -> Result<Option<Box<Flow>>> {
        let Some((id, secret)) = verifier::split(handle) else {
            return Ok(None);
        };
        Ok(self
            .live_flow(id)
            .await?
            .filter(|f| Secret::matches(kept(f), secret)))
    }

    /// The flow with this id, unless expired.
    pub(crate) async fn live_flow(&self, id: &str) -> Result<Option<Box<Flow>>> {
        let now = self.unix_now();
        Ok(self
            .store()
            .get_flow(id)
            .await?
            .filter(|f| f.expires_at > now))
    }

    async fn start(&self, params: &Params, session_cookie: Option<&str>) -> Result<Authorization> {
        let client_id = match params.get("client_id") {
            Ok(Some(id)) => id,
            Ok(None) => {
                return page(Error::invalid_request(
                    "The request is missing the 'client_id' parameter.",
                ))
            }
            Err(e) => return page(e),
        };
        let Some(client) = self.store().get_client(client_id).await? else {
            return page(Error::invalid_client("The client does not exist."));
        };
        let given = match params.get("redirect_uri") {
            Ok(v) => v,
            Err(e) => return page(e),
        };
        let (redirect_uri, redirect_uri_given) = match request::resolve_redirect_uri(&client, given)
        {
            Ok(r) => r,
            Err(e) => return page(e),
        };
        let target = error_target(params, redirect_uri);
        let mut request = match request::validate(
            params,
            &client,
            redirect_uri,
            redirect_uri_given,
            &self.config().pkce,
        ) {
            Ok(r) => r,
            Err(e) => return Ok(self.redirect_error(target, e)),
        };
        let hint_subject = match params.get("id_token_hint") {
            Ok(Some(hint)) => match jwt::verify_own(self.signer(), &self.config().issuer, hint) {
                Ok(claims) => {
                    let sub = claims
                        .get("sub")
                        .and_then(|s| s.as_str())
                        .map(str::to_owned);
                    request.oidc_context.id_token_hint_claims = Some(claims);
                    sub
                }
                Err(e) => return Ok(self.redirect_error(target, e)),
            },
            Ok(None) => None,
            Err(e) => return Ok(self.redirect_error(target, e)),
        };

        let now = self.unix_now();
        let session = match session_cookie {
            Some(sid) => self
                .store()
                .get_login_session(sid)
                .await?
                .filter(|s| s.remember && s.expires_at > now)
                .filter(|s| hint_subject.as_deref().is_none_or(|h| h == s.subject)),
            None => None,
        };
        let too_old = session
            .as_ref()
            .zip(request.max_age)
            .is_some_and(|(s, max_age)| now - s.authenticated_at > max_age);
        let reauthenticate = request.prompt.login || request.prompt.select_account || too_old;
        if request.prompt.none && (session.is_none() || reauthenticate) {
            return Ok(self.redirect_error(
                target,
                Error::new(
                    ErrorCode::LoginRequired,
                    "The user must log in, but prompt=none forbids it.",
                ),
            ));
        }
        let skip = session.is_some() && !reauthenticate;
        let flow = Flow {
            login_skip: skip,
            known_subject: session.as_ref().map(|s| s.subject.as_str().into()),
            auth_time: session.as_ref().map(|s| s.authenticated_at),
            ..Flow::requested(
                self.new_id(),
                request.into(),
                session
                    .as_ref()
                    .map_or_else(|| self.new_id(), |s| s.sid.clone()),
                now,
                now.saturating_add(self.config().flow_lifespan.whole_seconds()),
            )
        };
        self.store().create_flow(&flow).await?;
        Ok(Authorization {
            outcome: AuthorizeOutcome::Login {
                redirect_to: with_query(&self.config().urls.login, "login_challenge", &flow.id),
                challenge: flow.id.as_ref().to_owned(),
            },
            set_cookie: None,
        })
    }

    async fn after_login(&self, verifier: &str) -> Result<Authorization> {
        let Some(mut flow) = self
            .flow_by_handle(verifier, |f| f.login_verifier.as_ref())
            .await?
        else {
            return page(Error::invalid_request(
                "The login verifier is invalid or has expired.",
            ));
        };
        if flow.state != FlowState::LoginHandled {
            return page(Error::invalid_request(
                "The login verifier has already been used.",
            ));
        }
        flow.version += 1;
        if let Some(e) = flow.rejection.as_deref().map(rejection_error) {
            flow.state = FlowState::Done;
            let out = self.redirect_error(ErrorTarget::of(&flow.request), e);
            return self.advance(&flow, out).await;
        }
        let Some(login) = flow.login.clone() else {
            return Err(Error::internal("a handled login flow has no result"));
        };
        let Some(client) = self.store().get_client(&flow.request.client_id).await? else {
            return page(Error::invalid_client("The client does not exist."));
        };
        let now = self.unix_now();
        let login_skip = flow.login_skip;
        flow.auth_time = Some(if login_skip {
            flow.auth_time.unwrap_or(now)
        } else {
            now
        });
        // A browser session of another subject is not taken over: a new one starts. With
        // no browser session, the flow's session id is already a fresh one.
        if flow
            .known_subject
            .as_deref()
            .is_some_and(|known| known != login.subject)
        {
            flow.session_id = self.new_id();
        }

        // Consent: skipped by the client's registration, remembered, or asked.
        let request = &flow.request;
        if client.skip_consent {
            flow.consent = Some(Arc::new(AcceptConsent {
                grant_scope: request.scope.iter().map(str::to_owned).collect(),
                grant_access_token_audience: request.audience.clone(),
                ..AcceptConsent::default()
            }));
            flow.state = FlowState::Done;
            flow.consent_skip = true;
        } else {
            let remembered = if request.prompt.consent {
                false
            } else {
                self.store()
                    .consents(&login.subject)
                    .await?
                    .iter()
                    .any(|c| {
                        c.client_id == client.client_id
                            && c.remember
                            && c.remember_until.is_none_or(|u| u > now)
                            && request.scope.is_subset_of(&c.granted_scope)
                            && request
                                .audience
                                .iter()
                                .all(|a| c.granted_audience.contains(a))
                    })
            };
            if request.prompt.none && !remembered {
                let e = Error::new(
                    ErrorCode::ConsentRequired,
                    "The user must consent, but prompt=none forbids it.",
                );
                let out = self.redirect_error(ErrorTarget::of(request), e);
                flow.state = FlowState::Done;
                return self.advance(&flow, out).await;
            }
            flow.state = FlowState::ConsentRequested;
            flow.consent_skip = remembered;
            flow.consent_challenge = Some(Secret::random(self.entropy()));
        }
        if !self.store().update_flow(&flow).await? {
            return page(Error::invalid_request(
                "The login verifier has already been used.",
            ));
        }
        let set_cookie = self.remember_login(login_skip, &flow, &login, now).await?;
        let mut out = match flow.consent_challenge {
            Some(secret) if flow.state == FlowState::ConsentRequested => {
                let challenge = secret.handle(&flow.id);
                Authorization {
                    outcome: AuthorizeOutcome::Consent {
                        redirect_to: with_query(
                            &self.config().urls.consent,
                            "consent_challenge",
                            &challenge,
                        ),
                        challenge,
                    },
                    set_cookie: None,
                }
            }
            _ => self.finish(&flow, &client).await?,
        };
        out.set_cookie = set_cookie;
        Ok(out)
    }

    /// Moves a flow one step (compare-and-swap) and answers `then`; a step already taken
    /// is an error page.
    async fn advance(&self, next: &Flow, then: Authorization) -> Result<Authorization> {
        if !self.store().update_flow(next).await? {
            return page(Error::invalid_request(
                "The verifier has already been used.",
            ));
        }
        Ok(then)
    }

    /// Records or extends the browser's login session of `flow` (whose login was skipped
    /// for a remembered session if `login_skip`); the cookie to set, if any.
    async fn remember_login(
        &self,
        login_skip: bool,
        flow: &Flow,
        login: &crate::model::AcceptLogin,
        now: i64,
    ) -> Result<Option<SessionCookie>> {
        let lifespan = if login.remember_for > 0 {
            login.remember_for
        } else {
            self.config().login_session_lifespan.whole_seconds()
        };
        let renew = !login_skip || login.extend_session_lifespan;
        if !renew {
            return Ok(None);
        }
        let remember = login.remember || login_skip;
        self.store()
            .put_login_session(LoginSession {
                sid: flow.session_id.clone(),
                subject: login.subject.clone(),
                authenticated_at: flow.auth_time.unwrap_or(now),
                expires_at: now.saturating_add(lifespan),
                remember,
            })
            .await?;
        Ok(remember.then(|| SessionCookie {
            value: flow.session_id.as_ref().to_owned(),
            max_age: lifespan,
        }))
    }

    async fn after_consent(&self, verifier: &str) -> Result<Authorization> {
        let Some(mut flow) = self
            .flow_by_handle(verifier, |f| f.consent_verifier.as_ref())
            .await?
        else {
            return page(Error::invalid_request(
                "The consent verifier is invalid or has expired.",
            ));
        };
        if flow.state != FlowState::ConsentHandled {
            return page(Error::invalid_request(
                "The consent verifier has already been used.",
            ));
        }
        flow.version += 1;
        flow.state = FlowState::Done;
        if let Some(e) = flow.rejection.as_deref().map(rejection_error) {
            let out = self.redirect_error(ErrorTarget::of(&flow.request), e);
            return self.advance(&flow, out).await;
        }
        let Some(client) = self.store().get_client(&flow.request.client_id).await? else {
            return page(Error::invalid_client("The client does not exist."));
        };
        if !self.store().update_flow(&flow).await? {
            return page(Error::invalid_request(
                "The consent verifier has already been used.",
            ));
        }
        self.finish(&flow, &client).await
    }

    /// The flow is done: record the consent and answer the client with what it asked for.
    async fn finish(&self, flow: &Flow, client: &Client) -> Result<Authorization> {
        let (Some(login), Some(consent)) = (&flow.login, &flow.consent) else {
            return Err(Error::internal(
                "a finished flow lacks its login or consent",
            ));
        };
        let target = ErrorTarget::of(&flow.request);
        let request = &flow.request;
        let scope = match Scope::granted(&request.scope, &consent.grant_scope) {
            Ok(s) => s,
            Err(e) => return Ok(self.redirect_error(target, e)),
        };
        let now = self.unix_now();
        self.store()
            .put_consent(ConsentSession {
                id: flow.id.clone(),
                subject: login.subject.clone(),
                client_id: client.client_id.clone(),
                sid: flow.session_id.clone(),
                granted_scope: scope.clone(),
                granted_audience: consent.grant_access_token_audience.clone(),
                claims: consent.session.clone(),
                remember: consent.remember,
                remember_until: (consent.remember_for > 0)
                    .then(|| now.saturating_add(consent.remember_for)),
                handled_at: now,
            })
            .await?;
        let session = Arc::new(Session {
            subject: login
                .force_subject_identifier
                .clone()
                .unwrap_or_else(|| login.subject.clone()),
            auth_time: flow.auth_time,
            acr: login.acr.clone(),
            amr: login.amr.clone(),
            sid: Some(flow.session_id.clone()),
            nonce: request.nonce.clone(),
            consent_id: Some(flow.id.clone()),
            access_token_claims: consent.session.access_token.clone(),
            id_token_claims: consent.session.id_token.clone(),
        });
        let rt = request.response_type;
        let code = match rt.code {
            true => Some(
                self.mint_code(
                    client,
                    flow.id.clone(),
                    (scope.clone(), consent.grant_access_token_audience.clone()),
                    session.clone(),
                    CodeBinding {
                        redirect_uri: request
                            .redirect_uri_given
                            .then(|| request.redirect_uri.clone()),
                        pkce: request.pkce.clone(),
                    },
                )
                .await?,
            ),
            false => None,
        };
        let minted = match rt.token {
            true => {
                let minted = Issue {
                    client,
                    client_id: &client.client_id.as_str().into(),
                    grant: GrantKind::Implicit,
                    grant_id: &flow.id,
                    scope: &scope,
                    granted_scope: &scope,
                    audience: &consent.grant_access_token_audience,
                    session: &session,
                    refresh: false,
                    id_token: None,
                }
                .mint(self)?;
                self.store().insert_tokens(minted.records).await?;
                Some(minted.response)
            }
            false => None,
        };
        let id_token = match rt.id_token {
            true => Some(jwt::sign_id_token(
                self.signer(),
                crate::grant::id_token_alg(client),
                &session,
                IdTokenParts {
                    issuer: &self.config().issuer,
                    client_id: &client.client_id,
                    issued_at: now,
                    expires_at: now.saturating_add(
                        self.config()
                            .id_token_lifespan(client, GrantKind::Implicit)
                            .whole_seconds(),
                    ),
                    access_token: minted.as_ref().map(|m| m.access_token.as_str()),
                    code: code.as_deref(),
                    with_nonce: true,
                },
            )?),
            false => None,
        };
        let expires_in = minted.as_ref().map(|m| m.expires_in.to_string());
        let mut params: SmallVec<[(&str, &str); 8]> = SmallVec::new();
        if let Some(code) = &code {
            params.push(("code", code));
        }
        if let (Some(m), Some(expires_in)) = (&minted, &expires_in) {
            params.push(("access_token", &m.access_token));
            params.push(("token_type", "bearer"));
            params.push(("expires_in", expires_in));
            params.push(("scope", scope.as_str()));
        }
        if let Some(id_token) = &id_token {
            params.push(("id_token", id_token));
        }
        if let Some(state) = &request.state {
            params.push(("state", state));
        }
        params.push(("iss", &self.config().issuer));
        Ok(Authorization {
            outcome: response::respond(&request.redirect_uri, request.response_mode, &params),
            set_cookie: None,
        })
    }
}
