//! # portcullis
//!
//! An OAuth 2.0 and OpenID Connect authorization server that lives inside your
//! application: a library with Ory Hydra's feature set and no separate service to run.
//!
//! ```
//! # tokio_test_block(async {
//! use portcullis::{Config, Provider, ClientRequest, TokenRequest};
//! use portcullis::storage::MemoryStore;
//!
//! let provider = Provider::builder(Config::new("https://auth.example.com", [7u8; 32]))
//!     .store(MemoryStore::new())
//!     .build()
//!     .await?;
//!
//! // Register a client that may use client_credentials.
//! let created = provider
//!     .create_client(ClientRequest {
//!         grant_types: Some(vec!["client_credentials".into()]),
//!         token_endpoint_auth_method: Some("client_secret_post".into()),
//!         scope: Some("read write".into()),
//!         ..Default::default()
//!     })
//!     .await?;
//! let secret = created.client_secret.expect("the server generated a secret");
//!
//! // Issue a token, as the token endpoint would for this form body.
//! let body = format!(
//!     "grant_type=client_credentials&scope=read&client_id={}&client_secret={}",
//!     created.client.client_id, secret
//! );
//! let request = TokenRequest::from_form(body.as_bytes(), None)?;
//! let response = provider.token(request).await?;
//! assert_eq!(response.token_type, "bearer");
//! assert_eq!(response.scope.as_deref(), Some("read"));
//! # Ok::<_, portcullis::Error>(())
//! # }).unwrap();
//! # fn tokio_test_block<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```
//!
//! Start with [`manual`] for the architecture, the storage contract and the security
//! defaults.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod clock;
pub mod config;
pub mod endpoint;
pub mod error;
pub mod grant;
pub mod http;
pub mod keys;
pub mod manual;
pub mod model;
pub mod provider;
pub mod random;
pub mod storage;
pub mod token;

pub use config::Config;
pub use endpoint::authorize::{Authorization, AuthorizeOutcome, FormPost, SessionCookie};
pub use endpoint::challenges::{Challenge, ConsentRequest, LoginRequest, RedirectTo};
pub use endpoint::clients::{ClientRequest, CreatedClient};
pub use endpoint::introspect::{ActiveToken, IntrospectRequest, Introspection};
pub use endpoint::params::Params;
pub use endpoint::revoke::{Revocation, RevokeRequest, TokenTypeHint};
pub use endpoint::token::{TokenRequest, TokenResponse};
pub use endpoint::trust::TrustRequest;
pub use endpoint::userinfo::{Userinfo, UserinfoRequest};
pub use error::{Error, ErrorCode, Result};
pub use provider::{Provider, ProviderBuilder};
pub use token::client_jwks::JwksFetcher;
