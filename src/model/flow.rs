//! Login and consent: the authorization flow's state, remembered login sessions and
//! consent sessions, as the store keeps them (Hydra v2 semantics).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::scope::Scope;
use super::token::Pkce;
use crate::endpoint::params::Params;
use crate::token::verifier::{self, Secret};

/// Which response types an authorization request asked for (OAuth 2.0 Multiple Response
/// Type Encoding Practices).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct ResponseType {
    /// `code`
    pub code: bool,
    /// `token`
    pub token: bool,
    /// `id_token`
    pub id_token: bool,
}

impl ResponseType {
    /// Parses a space-separated response type; `None` if empty or unknown.
    pub fn parse(s: &str) -> Option<Self> {
        let mut rt = Self::default();
        for part in s.split(' ').filter(|p| !p.is_empty()) {
            let flag = match part {
                "code" => &mut rt.code,
                "token" => &mut rt.token,
                "id_token" => &mut rt.id_token,
                _ => return None,
            };
            if *flag {
                return None;
            }
            *flag = true;
        }
        (rt.code || rt.token || rt.id_token).then_some(rt)
    }

    /// The normalised name (`code id_token token` order), as clients register it.
    pub fn name(self) -> String {
        let mut parts = Vec::with_capacity(3);
        if self.code {
            parts.push("code");
        }
        if self.id_token {
            parts.push("id_token");
        }
        if self.token {
            parts.push("token");
        }
        parts.join(" ")
    }

    /// Whether a token comes back through the front channel (implicit or hybrid).
    pub fn is_front_channel(self) -> bool {
        self.token || self.id_token
    }
}

/// How the authorization response reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseMode {
    /// In the redirect URI's query (`code` only).
    Query,
    /// In the redirect URI's fragment.
    Fragment,
    /// An auto-submitting HTML form (OAuth 2.0 Form Post Response Mode).
    FormPost,
}

impl ResponseMode {
    /// Parses a `response_mode` value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "query" => Some(Self::Query),
            "fragment" => Some(Self::Fragment),
            "form_post" => Some(Self::FormPost),
            _ => None,
        }
    }
}

/// The `prompt` values (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Prompt {
    /// `none`: no interaction allowed.
    pub none: bool,
    /// `login`: re-authenticate.
    pub login: bool,
    /// `consent`: ask for consent again.
    pub consent: bool,
    /// `select_account`: let the user choose an account.
    pub select_account: bool,
}

/// A validated authorization request, kept with its flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthorizationRequest {
    /// The client.
    pub client_id: String,
    /// The redirect URI the response goes to (given, or the client's only one).
    pub redirect_uri: String,
    /// Whether the request carried `redirect_uri` (then the token request must repeat it).
    pub redirect_uri_given: bool,
    /// The response type.
    pub response_type: ResponseType,
    /// The response mode.
    pub response_mode: ResponseMode,
    /// The requested scope.
    pub scope: Scope,
    /// The requested access token audiences.
    pub audience: Vec<String>,
    /// `state`, echoed.
    pub state: Option<String>,
    /// `nonce`, for the ID token.
    pub nonce: Option<String>,
    /// The PKCE challenge.
    pub pkce: Option<Pkce>,
    /// `prompt`.
    pub prompt: Prompt,
    /// `max_age` in seconds.
    pub max_age: Option<i64>,
    /// The OIDC context shown to the login and consent apps.
    pub oidc_context: OidcContext,
    /// Every parameter as the browser sent it, unknown ones included: the login and
    /// consent apps read them in the request URL, which is built from them when asked
    /// for. Stored as the form-encoded query (empty in a flow stored before it was kept).
    #[serde(default)]
    pub params: Params,
}

/// Hydra's `oidc_context`: what the client said about the login.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct OidcContext {
    /// `acr_values`, split.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub acr_values: Vec<String>,
    /// `display`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
    /// The claims of a valid `id_token_hint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_hint_claims: Option<Map<String, Value>>,
    /// `login_hint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login_hint: Option<String>,
    /// `ui_locales`, split.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ui_locales: Vec<String>,
    /// `claims_locales`, split.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claims_locales: Vec<String>,
}

/// Where a flow is. Each step moves forward exactly once (compare-and-swap on
/// the flow's `version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowState {
    /// Waiting for the login app to accept or reject.
    LoginRequested,
    /// The login app answered; the browser holds the login verifier.
    LoginHandled,
    /// Waiting for the consent app to accept or reject.
    ConsentRequested,
    /// The consent app answered; the browser holds the consent verifier.
    ConsentHandled,
    /// The client has its response.
    Done,
}

/// What the login app said when it accepted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AcceptLogin {
    /// The authenticated subject.
    pub subject: String,
    /// Remember the login in the browser.
    pub remember: bool,
    /// For how many seconds (0: the session's default).
    pub remember_for: i64,
    /// Authentication context class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<String>,
    /// Authentication methods.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<String>,
    /// Context passed on to the consent app.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<Value>,
    /// Extend the remembered session's lifespan.
    pub extend_session_lifespan: bool,
    /// A pairwise subject to use instead of `subject` in tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub force_subject_identifier: Option<String>,
}

/// What the consent app said when it accepted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AcceptConsent {
    /// The scopes granted.
    pub grant_scope: Vec<String>,
    /// The audiences granted.
    pub grant_access_token_audience: Vec<String>,
    /// Extra claims for tokens.
    pub session: ConsentClaims,
    /// Remember the consent for later requests of this client.
    pub remember: bool,
    /// For how many seconds (0: forever).
    pub remember_for: i64,
}

/// Hydra's consent `session`: extra claims for access tokens and ID tokens.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsentClaims {
    /// Extra access-token claims (introspection `ext`).
    pub access_token: Map<String, Value>,
    /// Extra ID-token and userinfo claims.
    pub id_token: Map<String, Value>,
}

/// A rejection by the login or consent app (Hydra's `RejectOAuth2Request`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rejection {
    /// The error code for the client (default `access_denied`).
    pub error: String,
    /// Its description.
    pub error_description: String,
    /// A hint for debugging.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_hint: Option<String>,
    /// An HTTP status for the error (informational).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<u16>,
}

/// One authorization flow: the request, then login, then consent.
///
/// A flow record is copied at every step, so everything in it that does not change
/// from step to step is shared: its strings and the validated request and answers.
#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    /// The flow id; also the login challenge.
    pub id: Arc<str>,
    /// Bumped on every update; updates compare-and-swap on it.
    pub version: u64,
    /// Where the flow is.
    pub state: FlowState,
    /// The validated authorization request (shared: it never changes once validated,
    /// and a flow record is copied at every step).
    pub request: Arc<AuthorizationRequest>,
    /// When it was requested (unix seconds).
    pub requested_at: i64,
    /// When the flow expires (unix seconds).
    pub expires_at: i64,
    /// The login session id (`sid`) in the browser, or the one to create.
    pub session_id: Arc<str>,
    /// Whether login was skipped because the browser had a session.
    pub login_skip: bool,
    /// The subject known before login (from the browser session).
    pub known_subject: Option<Arc<str>>,
    /// When the user authenticated, for `auth_time`.
    pub auth_time: Option<i64>,
    /// The login app's acceptance (shared, as `request`).
    pub login: Option<Arc<AcceptLogin>>,
    /// The secret of the login verifier (`<flow id>.<secret>`), once the login app
    /// answered: the browser brings the verifier back to the authorization endpoint.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "verifier::lenient"
    )]
    pub login_verifier: Option<Secret>,
    /// The secret of the consent challenge (`<flow id>.<secret>`), once consent is asked.
    #[serde(default, deserialize_with = "verifier::lenient")]
    pub consent_challenge: Option<Secret>,
    /// Whether consent was skipped (remembered).
    pub consent_skip: bool,
    /// The consent app's acceptance (shared, as `request`).
    pub consent: Option<Arc<AcceptConsent>>,
    /// The secret of the consent verifier (`<flow id>.<secret>`), once the consent app
    /// answered.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "verifier::lenient"
    )]
    pub consent_verifier: Option<Secret>,
    /// A rejection by either app (shared, as `request`).
    pub rejection: Option<Arc<Rejection>>,
}

impl Flow {
    /// A new flow waiting for the login app: version 0, nothing answered yet.
    pub fn requested(
        id: Arc<str>,
        request: Arc<AuthorizationRequest>,
        session_id: Arc<str>,
        requested_at: i64,
        expires_at: i64,
    ) -> Self {
        Flow {
            id,
            version: 0,
            state: FlowState::LoginRequested,
            request,
            requested_at,
            expires_at,
            session_id,
            login_skip: false,
            known_subject: None,
            auth_time: None,
            login: None,
            login_verifier: None,
            consent_challenge: None,
            consent_skip: false,
            consent: None,
            consent_verifier: None,
            rejection: None,
        }
    }
}

impl Clone for Flow {
    fn clone(&self) -> Self {
        Flow {
            id: self.id.clone(),
            version: self.version,
            state: self.state,
            request: self.request.clone(),
            requested_at: self.requested_at,
            expires_at: self.expires_at,
            session_id: self.session_id.clone(),
            login_skip: self.login_skip,
            known_subject: self.known_subject.clone(),
            auth_time: self.auth_time,
            login: self.login.clone(),
            login_verifier: self.login_verifier,
            consent_challenge: self.consent_challenge,
            consent_skip: self.consent_skip,
            consent: self.consent.clone(),
            consent_verifier: self.consent_verifier,
            rejection: self.rejection.clone(),
        }
    }

    /// Takes a new shared part only where it is another one: a stored flow updated to
    /// its next step keeps most of them, and every shared count bumped is an atomic
    /// operation (a dozen nanoseconds with the drop that undoes it).
    fn clone_from(&mut self, source: &Self) {
        let Flow {
            id,
            version,
            state,
            request,
            requested_at,
            expires_at,
            session_id,
            login_skip,
            known_subject,
            auth_time,
            login,
            login_verifier,
            consent_challenge,
            consent_skip,
            consent,
            consent_verifier,
            rejection,
        } = source;
        share(&mut self.id, id);
        self.version = *version;
        self.state = *state;
        share(&mut self.request, request);
        self.requested_at = *requested_at;
        self.expires_at = *expires_at;
        share(&mut self.session_id, session_id);
        self.login_skip = *login_skip;
        share_opt(&mut self.known_subject, known_subject);
        self.auth_time = *auth_time;
        share_opt(&mut self.login, login);
        self.login_verifier = *login_verifier;
        self.consent_challenge = *consent_challenge;
        self.consent_skip = *consent_skip;
        share_opt(&mut self.consent, consent);
        self.consent_verifier = *consent_verifier;
        share_opt(&mut self.rejection, rejection);
    }
}

/// `*to = from.clone()`, unless `to` already shares `from`'s value.
fn share<T: ?Sized>(to: &mut Arc<T>, from: &Arc<T>) {
    if !Arc::ptr_eq(to, from) {
        *to = Arc::clone(from);
    }
}

fn share_opt<T: ?Sized>(to: &mut Option<Arc<T>>, from: &Option<Arc<T>>) {
    match (to.as_mut(), from) {
        (Some(to), Some(from)) => share(to, from),
        _ => to.clone_from(from),
    }
}

/// A remembered browser login (`sid`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoginSession {
    /// The session id (cookie value and `sid` claim).
    pub sid: Arc<str>,
    /// Who is logged in.
    pub subject: String,
    /// When they authenticated (unix seconds).
    pub authenticated_at: i64,
    /// When the session ends (unix seconds).
    pub expires_at: i64,
    /// Whether the login app asked to remember it (else it only names the `sid`).
    pub remember: bool,
}

/// A consent a subject gave a client; also the grant family of the tokens issued under
/// it (its `id` is their `grant_id`), so revoking it revokes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentSession {
    /// The consent id (the login challenge of its flow, and the grant id).
    pub id: Arc<str>,
    /// The subject.
    pub subject: String,
    /// The client.
    pub client_id: String,
    /// The login session it was given in.
    pub sid: Arc<str>,
    /// The granted scope.
    pub granted_scope: Scope,
    /// The granted audiences.
    pub granted_audience: Vec<String>,
    /// The extra claims.
    pub claims: ConsentClaims,
    /// Whether it may skip later consent screens.
    pub remember: bool,
    /// Until when it is remembered (unix seconds; `None`: forever).
    pub remember_until: Option<i64>,
    /// When it was given (unix seconds).
    pub handled_at: i64,
}

/// Where a logout request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogoutState {
    /// Waiting for the logout app.
    Requested,
    /// The logout app accepted; the browser holds the verifier.
    Accepted,
    /// The logout app refused; nothing was ended.
    Rejected,
    /// The logout ran.
    Done,
}

/// A logout request (OpenID Connect RP-Initiated Logout 1.0, Hydra's logout challenge).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogoutFlow {
    /// The logout challenge.
    pub id: String,
    /// Bumped on every update; updates compare-and-swap on it.
    pub version: u64,
    /// Where it is.
    pub state: LogoutState,
    /// The subject being logged out.
    pub subject: String,
    /// The login session to end.
    pub sid: String,
    /// The client that asked (RP-initiated), if any.
    pub client_id: Option<String>,
    /// Whether a client initiated it (with an `id_token_hint`).
    pub rp_initiated: bool,
    /// The validated `post_logout_redirect_uri`.
    pub post_logout_redirect_uri: Option<String>,
    /// `state`, echoed to the post-logout redirect.
    pub state_param: Option<String>,
    /// The URL the browser asked for.
    pub request_url: String,
    /// When the challenge expires (unix seconds).
    pub expires_at: i64,
    /// The secret of the logout verifier (`<logout id>.<secret>`), once the logout app
    /// answered.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "verifier::lenient"
    )]
    pub verifier: Option<Secret>,
}

/// A record that moves forward by compare-and-swap on its version (flows and logout
/// requests), so stores implement create/get/update once for both.
pub(crate) trait Versioned: Clone + Serialize + serde::de::DeserializeOwned {
    fn id(&self) -> &str;
    fn version(&self) -> u64;
    fn expires_at(&self) -> i64;
}

impl Versioned for Flow {
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

impl Versioned for LogoutFlow {
    fn id(&self) -> &str {
        &self.id
    }
    fn version(&self) -> u64 {
        self.version
    }
    fn expires_at(&self) -> i64 {
        self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow() -> Flow {
        Flow::requested(
            "f1".into(),
            Arc::new(AuthorizationRequest {
                client_id: "app".into(),
                redirect_uri: "https://app/cb".into(),
                redirect_uri_given: true,
                response_type: ResponseType::parse("code").unwrap(),
                response_mode: ResponseMode::Query,
                scope: Scope::parse("openid").unwrap(),
                audience: vec![],
                state: None,
                nonce: None,
                pkce: None,
                prompt: Prompt::default(),
                max_age: None,
                oidc_context: OidcContext::default(),
                params: Params::default(),
            }),
            "s1".into(),
            1,
            2,
        )
    }

    #[test]
    fn clone_from_takes_every_field_and_keeps_what_it_shares() {
        let stored = flow();
        let mut next = stored.clone();
        assert_eq!(next, stored);
        next.version = 1;
        next.state = FlowState::LoginHandled;
        next.session_id = "s2".into();
        next.login = Some(Arc::new(AcceptLogin::default()));
        next.login_verifier = Some(Secret::from([7; 16]));
        next.rejection = Some(Arc::new(Rejection::default()));
        let mut copy = stored.clone();
        let request = Arc::as_ptr(&copy.request);
        copy.clone_from(&next);
        assert_eq!(copy, next);
        assert_eq!(
            Arc::as_ptr(&copy.request),
            request,
            "the request is still shared"
        );
        assert!(Arc::ptr_eq(
            copy.login.as_ref().unwrap(),
            next.login.as_ref().unwrap()
        ));
        copy.clone_from(&stored);
        assert_eq!(copy, stored);
    }
}
