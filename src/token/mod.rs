//! Token formats: opaque HMAC tokens, JWT access tokens, PKCE, client secrets, the
//! handles of login, consent and logout flows, and the RFC 7523 assertions of client
//! authentication and of the JWT-bearer grant.

pub mod assertion;
mod claims;
pub mod client_assertion;
pub mod client_jwks;
pub mod jwt;
pub mod opaque;
pub mod pkce;
pub mod secret;
pub mod verifier;
