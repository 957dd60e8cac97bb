//! One module per endpoint: its request type, its operation, its response.

pub mod authorize;
pub mod challenges;
pub mod client_auth;
pub mod clients;
pub mod discovery;
pub(crate) mod html;
pub mod introspect;
pub mod logout;
pub mod params;
pub mod registration;
pub mod revoke;
pub mod sessions;
pub mod token;
pub mod token_admin;
pub mod trust;
pub(crate) mod url_query;
pub mod userinfo;
