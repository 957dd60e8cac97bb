//! Token formats: opaque HMAC tokens, JWT access tokens, PKCE and client secrets.

pub mod secret;
