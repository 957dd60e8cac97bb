//! The login and consent challenges (Hydra v2's admin API): what the login and consent
//! apps read, accept and reject.
//!
//! A challenge moves forward once: accepting or rejecting a handled challenge fails with
//! `conflict`, and reading one answers [`Challenge::Handled`] with the redirect the browser
//! should follow (Hydra answers 410 with it).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::endpoint::trust::MAX_IDENTIFIER_BYTES;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{AcceptConsent, AcceptLogin, Flow, FlowState, OidcContext, Rejection, Scope};
use crate::token::verifier::Secret;
use crate::Provider;

/// Where the app sends the browser next (Hydra's `OAuth2RedirectTo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedirectTo {
    /// The URL.
    pub redirect_to: String,
}

/// A challenge still waiting for an answer, or one already answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Challenge<T> {
    /// Waiting: here is what to show.
    Pending(T),
    /// Already answered: send the browser here.
    Handled(RedirectTo),
}

/// Hydra's `OAuth2LoginRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginRequest {
    /// The login challenge.
    pub challenge: String,
    /// The client (without secrets).
    pub client: Value,
    /// What the client said about the login.
    pub oidc_context: OidcContext,
    /// The URL the browser first asked for.
    pub request_url: String,
    /// The audiences asked for.
    pub requested_access_token_audience: Vec<String>,
    /// The scopes asked for.
    pub requested_scope: Vec<String>,
    /// The login session id.
    pub session_id: String,
    /// The browser is already logged in as `subject`: accept without showing a form.
    pub skip: bool,
    /// The subject already logged in, when `skip`.
    pub subject: String,
}

/// Hydra's `OAuth2ConsentRequest`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentRequest {
    /// The consent challenge.
    pub challenge: String,
    /// The client (without secrets).
    pub client: Value,
    /// The context the login app passed on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    /// The login challenge of the same flow.
    pub login_challenge: String,
    /// The login session id.
    pub login_session_id: String,
    /// What the client said about the login.
    pub oidc_context: OidcContext,
    /// The URL the browser first asked for.
    pub request_url: String,
    /// The audiences asked for.
    pub requested_access_token_audience: Vec<String>,
    /// The scopes asked for.
    pub requested_scope: Vec<String>,
    /// The subject consented before and it was remembered: accept without a form.
    pub skip: bool,
    /// Who is consenting.
    pub subject: String,
    /// Authentication context class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Authentication methods.
    pub amr: Vec<String>,
}

fn unknown(what: &str) -> Error {
    Error::not_found(format!(
        "The {what} challenge does not exist or has expired."
    ))
}

fn handled(what: &str) -> Error {
    Error::new(
        ErrorCode::Conflict,
        format!("The {what} request has already been handled."),
    )
}

impl Provider {
    fn login_redirect(&self, flow: &Flow) -> Result<RedirectTo> {
        let url = self.verifier_url(
            "/oauth2/auth",
            "login_verifier",
            &flow.id,
            flow.login_verifier.as_ref(),
        );
        url.map(|redirect_to| RedirectTo { redirect_to })
            .ok_or_else(|| unknown("login"))
    }

    fn consent_redirect(&self, flow: &Flow) -> Result<RedirectTo> {
        let url = self.verifier_url(
            "/oauth2/auth",
            "consent_verifier",
            &flow.id,
            flow.consent_verifier.as_ref(),
        );
        url.map(|redirect_to| RedirectTo { redirect_to })
            .ok_or_else(|| unknown("consent"))
    }

    /// The URL the browser first asked for.
    fn request_url(&self, flow: &Flow) -> String {
        self.config()
            .endpoint_with_query("/oauth2/auth", flow.request.params.pairs())
    }

    async fn login_flow(&self, challenge: &str) -> Result<Box<Flow>> {
        self.live_flow(challenge)
            .await?
            .ok_or_else(|| unknown("login"))
    }

    async fn consent_flow(&self, challenge: &str) -> Result<Box<Flow>> {
        self.flow_by_handle(challenge, |f| f.consent_challenge.as_ref())
            .await?
            .ok_or_else(|| unknown("consent"))
    }

    async fn client_json(&self, client_id: &str) -> Result<Value> {
        Ok(self
            .store()
            .get_client(client_id)
            .await?
            .map(|c| c.to_public_json())
            .unwrap_or(Value::Null))
    }

    /// Records an app's answer, once: the flow moves to `to` (`LoginHandled` or
    /// `ConsentHandled`) with a new verifier, and the browser is sent to redeem it;
    /// `conflict` if another answer got there first.
    async fn answer(
        &self,
        mut flow: Box<Flow>,
        to: FlowState,
        edit: impl FnOnce(&mut Flow),
    ) -> Result<RedirectTo> {
        let login = to == FlowState::LoginHandled;
        flow.version += 1;
        flow.state = to;
        let verifier = Some(Secret::random(self.entropy()));
        if login {
            flow.login_verifier = verifier;
        } else {
            flow.consent_verifier = verifier;
        }
        edit(&mut flow);
        if !self.store().update_flow(&flow).await? {
            return Err(handled(if login { "login" } else { "consent" }));
        }
        if login {
            self.login_redirect(&flow)
        } else {
            self.consent_redirect(&flow)
        }
    }

    /// The login request behind a challenge.
    pub async fn login_request(&self, challenge: &str) -> Result<Challenge<LoginRequest>> {
        let flow = self.login_flow(challenge).await?;
        if flow.state != FlowState::LoginRequested {
            return Ok(Challenge::Handled(self.login_redirect(&flow)?));
        }
        Ok(Challenge::Pending(LoginRequest {
            challenge: flow.id.to_string(),
            client: self.client_json(&flow.request.client_id).await?,
            oidc_context: flow.request.oidc_context.clone(),
            request_url: self.request_url(&flow),
            requested_access_token_audience: flow.request.audience.clone(),
            requested_scope: flow.request.scope.iter().map(str::to_owned).collect(),
            session_id: flow.session_id.to_string(),
            skip: flow.login_skip,
            subject: flow.known_subject.as_deref().unwrap_or_default().to_owned(),
        }))
    }

    /// The login app authenticated the user.
    pub async fn accept_login(&self, challenge: &str, accept: AcceptLogin) -> Result<RedirectTo> {
        let flow = self.login_flow(challenge).await?;
        if flow.state != FlowState::LoginRequested {
            return Err(handled("login"));
        }
        if accept.subject.is_empty() {
            return Err(Error::invalid_request("The subject must not be empty."));
        }
        if accept.subject.len() > MAX_IDENTIFIER_BYTES {
            return Err(Error::invalid_request(format!(
                "The subject must not be longer than {MAX_IDENTIFIER_BYTES} bytes."
            )));
        }
        if flow.login_skip && flow.known_subject.as_deref() != Some(accept.subject.as_str()) {
            return Err(Error::invalid_request(
                "The login was skipped for a logged-in subject; accept it with that subject.",
            ));
        }
        if accept.remember_for < 0 {
            return Err(Error::invalid_request("remember_for must not be negative."));
        }
        self.answer(flow, FlowState::LoginHandled, |f| {
            f.login = Some(Arc::new(accept));
        })
        .await
    }

    /// The login app refused the login; the client gets the error.
    pub async fn reject_login(&self, challenge: &str, rejection: Rejection) -> Result<RedirectTo> {
        let flow = self.login_flow(challenge).await?;
        if flow.state != FlowState::LoginRequested {
            return Err(handled("login"));
        }
        self.answer(flow, FlowState::LoginHandled, |f| {
            f.rejection = Some(Arc::new(rejection))
        })
        .await
    }

    /// The consent request behind a challenge.
    pub async fn consent_request(&self, challenge: &str) -> Result<Challenge<ConsentRequest>> {
        let flow = self.consent_flow(challenge).await?;
        if flow.state != FlowState::ConsentRequested {
            return Ok(Challenge::Handled(self.consent_redirect(&flow)?));
        }
        let login = flow.login.as_deref().cloned().unwrap_or_default();
        Ok(Challenge::Pending(ConsentRequest {
            challenge: challenge.to_owned(),
            client: self.client_json(&flow.request.client_id).await?,
            context: login.context,
            login_challenge: flow.id.to_string(),
            login_session_id: flow.session_id.to_string(),
            oidc_context: flow.request.oidc_context.clone(),
            request_url: self.request_url(&flow),
            requested_access_token_audience: flow.request.audience.clone(),
            requested_scope: flow.request.scope.iter().map(str::to_owned).collect(),
            skip: flow.consent_skip,
            subject: login.subject,
            acr: login.acr,
            amr: login.amr,
        }))
    }

    /// The user consented. Only scopes and audiences that were asked for may be granted.
    pub async fn accept_consent(
        &self,
        challenge: &str,
        accept: AcceptConsent,
    ) -> Result<RedirectTo> {
        let flow = self.consent_flow(challenge).await?;
        if flow.state != FlowState::ConsentRequested {
            return Err(handled("consent"));
        }
        let granted = Scope::granted(&flow.request.scope, &accept.grant_scope)
            .map_err(|_| Error::invalid_request("A granted scope is malformed."))?;
        if !granted.is_subset_of(&flow.request.scope) {
            return Err(Error::invalid_request(
                "grant_scope may only contain scopes the client requested.",
            ));
        }
        if !accept
            .grant_access_token_audience
            .iter()
            .all(|a| flow.request.audience.contains(a))
        {
            return Err(Error::invalid_request(
                "grant_access_token_audience may only contain audiences the client requested.",
            ));
        }
        if accept.remember_for < 0 {
            return Err(Error::invalid_request("remember_for must not be negative."));
        }
        self.answer(flow, FlowState::ConsentHandled, |f| {
            f.consent = Some(Arc::new(accept));
        })
        .await
    }

    /// The user refused; the client gets the error.
    pub async fn reject_consent(
        &self,
        challenge: &str,
        rejection: Rejection,
    ) -> Result<RedirectTo> {
        let flow = self.consent_flow(challenge).await?;
        if flow.state != FlowState::ConsentRequested {
            return Err(handled("consent"));
        }
        self.answer(flow, FlowState::ConsentHandled, |f| {
            f.rejection = Some(Arc::new(rejection))
        })
        .await
    }
}
