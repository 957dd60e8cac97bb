//! Token formats: opaque HMAC tokens, JWT access tokens, PKCE and client secrets.

pub mod jwt;
pub mod opaque;
pub mod pkce;
pub mod secret;
