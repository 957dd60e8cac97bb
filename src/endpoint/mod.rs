//! One module per endpoint: its request type, its operation, its response.

pub mod authorize;
pub mod client_auth;
pub mod clients;
pub mod params;
pub mod token;
