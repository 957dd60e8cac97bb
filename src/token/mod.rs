//! Token formats: opaque HMAC tokens, JWT access tokens, PKCE, client secrets and client
//! assertions.

pub mod client_assertion;
pub mod jwt;
pub mod opaque;
pub mod pkce;
pub mod secret;
