//! One module per endpoint: its request type, its operation, its response.

pub mod client_auth;
pub mod clients;
pub mod introspect;
pub mod params;
pub mod revoke;
pub mod token;
pub mod token_admin;
pub mod userinfo;
