//! Value types shared by the flows: clients, scopes, lifespans, token records and the
//! trust relationships of the JWT-bearer grant.

pub mod client;
pub mod flow;
pub mod key;
pub mod lifespan;
pub mod origin;
pub mod scope;
pub mod token;
pub mod trust;

pub use client::{AccessTokenStrategy, AuthMethod, Client, GrantType};
pub use flow::{
    AcceptConsent, AcceptLogin, AuthorizationRequest, ConsentClaims, ConsentSession, Flow,
    FlowState, LoginSession, LogoutFlow, LogoutState, OidcContext, Prompt, Rejection, ResponseMode,
    ResponseType,
};
pub use key::{KeyState, StoredKey};
pub use lifespan::{ClientLifespans, GrantKind, Lifespan};
pub use scope::Scope;
pub use token::{CodeBinding, Pkce, PkceMethod, Session, TokenKind, TokenRecord, TokenStatus};
pub use trust::{TrustedIssuer, TrustedKey};
