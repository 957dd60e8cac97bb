//! OAuth 2.0 clients, with the fields of Hydra's `OAuth2Client`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::lifespan::ClientLifespans;
use super::scope::Scope;
use crate::token::secret::SecretHash;

/// How a client authenticates at the token, revocation and introspection endpoints.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// HTTP Basic with the client id and secret (RFC 6749 §2.3.1; the default).
    #[default]
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// A JWT signed with the client's key (RFC 7523 §2.2).
    PrivateKeyJwt,
    /// A public client: no secret; only `client_id` is sent.
    None,
}

impl AuthMethod {
    /// The registered name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecretBasic => "client_secret_basic",
            Self::ClientSecretPost => "client_secret_post",
            Self::PrivateKeyJwt => "private_key_jwt",
            Self::None => "none",
        }
    }
}

/// A grant type a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GrantType {
    /// RFC 6749 §4.1.
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    /// RFC 6749 §4.2.
    #[serde(rename = "implicit")]
    Implicit,
    /// RFC 6749 §6.
    #[serde(rename = "refresh_token")]
    RefreshToken,
    /// RFC 6749 §4.4.
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    /// RFC 7523 §2.1.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:jwt-bearer")]
    JwtBearer,
}

impl GrantType {
    /// The registered name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::AuthorizationCode => "authorization_code",
            Self::Implicit => "implicit",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
            Self::JwtBearer => "urn:ietf:params:oauth:grant-type:jwt-bearer",
        }
    }
}

/// Whether a client's access tokens are opaque strings or JWTs (RFC 9068).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessTokenStrategy {
    /// Random string with an HMAC; only the HMAC is stored (the default).
    #[default]
    Opaque,
    /// A signed JWT access token (RFC 9068), recorded by `jti`.
    Jwt,
}

/// A registered OAuth 2.0 client.
///
/// The secret is held only as a hash ([`SecretHash`]); the clear secret is returned once,
/// when the server creates it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Client {
    /// The client identifier.
    pub client_id: String,
    /// The hash of the client secret; `None` for public clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret_hash: Option<SecretHash>,
    /// When the secret expires (unix seconds; 0 = never).
    pub client_secret_expires_at: i64,
    /// A human-readable name.
    pub client_name: String,
    /// Exact redirect URIs (loopback ones match on any port).
    pub redirect_uris: Vec<String>,
    /// The grant types the client may use.
    pub grant_types: Vec<GrantType>,
    /// The response types the client may use at the authorization endpoint.
    pub response_types: Vec<String>,
    /// The scopes the client may request.
    pub scope: Scope,
    /// The audiences the client may request for its access tokens.
    pub audience: Vec<String>,
    /// How the client authenticates.
    pub token_endpoint_auth_method: AuthMethod,
    /// The JWS algorithm of `private_key_jwt` assertions.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_signing_alg: Option<String>,
    /// Opaque or JWT access tokens; `None` follows the provider's default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_token_strategy: Option<AccessTokenStrategy>,
    /// Skip the consent screen for this client.
    pub skip_consent: bool,
    /// Skip the logout consent screen for this client.
    pub skip_logout_consent: bool,
    /// Where the client may send the user after logout.
    pub post_logout_redirect_uris: Vec<String>,
    /// Front-channel logout URI (OIDC Front-Channel Logout 1.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frontchannel_logout_uri: Option<String>,
    /// Whether `iss` and `sid` go with the front-channel logout URI.
    pub frontchannel_logout_session_required: bool,
    /// Back-channel logout URI (OIDC Back-Channel Logout 1.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backchannel_logout_uri: Option<String>,
    /// Whether the logout token carries `sid`.
    pub backchannel_logout_session_required: bool,
    /// Per-grant token lifespans.
    #[serde(flatten)]
    pub lifespans: ClientLifespans,
    /// Free-form metadata.
    pub metadata: serde_json::Value,
    /// The owner of the client.
    pub owner: String,
    /// Contacts for the client.
    pub contacts: Vec<String>,
    /// The client's public keys (a JWK Set).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<serde_json::Value>,
    /// Where the client's JWK Set is published.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// `public` or `pairwise`.
    pub subject_type: String,
    /// The JWS algorithm of ID tokens for this client (`RS256` by default).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<String>,
    /// When set, userinfo answers a JWT signed with this algorithm.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub userinfo_signed_response_alg: Option<String>,
    /// The JWS algorithm of request objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_object_signing_alg: Option<String>,
    /// Pre-registered request URIs.
    pub request_uris: Vec<String>,
    /// Origins allowed for CORS.
    pub allowed_cors_origins: Vec<String>,
    /// The client's home page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_uri: Option<String>,
    /// The client's logo.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    /// The client's policy page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_uri: Option<String>,
    /// The client's terms of service.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tos_uri: Option<String>,
    /// The sector identifier for pairwise subjects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sector_identifier_uri: Option<String>,
    /// Hash of the registration access token (RFC 7592), for dynamically registered clients.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_access_token_hash: Option<SecretHash>,
    /// When the client was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the client was last changed.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl Default for Client {
    fn default() -> Self {
        Self {
            client_id: String::new(),
            client_secret_hash: None,
            client_secret_expires_at: 0,
            client_name: String::new(),
            redirect_uris: Vec::new(),
            grant_types: vec![GrantType::AuthorizationCode],
            response_types: vec!["code".to_owned()],
            scope: Scope::default(),
            audience: Vec::new(),
            token_endpoint_auth_method: AuthMethod::default(),
            token_endpoint_auth_signing_alg: None,
            access_token_strategy: None,
            skip_consent: false,
            skip_logout_consent: false,
            post_logout_redirect_uris: Vec::new(),
            frontchannel_logout_uri: None,
            frontchannel_logout_session_required: false,
            backchannel_logout_uri: None,
            backchannel_logout_session_required: false,
            lifespans: ClientLifespans::default(),
            metadata: serde_json::Value::Object(Default::default()),
            owner: String::new(),
            contacts: Vec::new(),
            jwks: None,
            jwks_uri: None,
            subject_type: "public".to_owned(),
            id_token_signed_response_alg: None,
            userinfo_signed_response_alg: None,
            request_object_signing_alg: None,
            request_uris: Vec::new(),
            allowed_cors_origins: Vec::new(),
            client_uri: None,
            logo_uri: None,
            policy_uri: None,
            tos_uri: None,
            sector_identifier_uri: None,
            registration_access_token_hash: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            updated_at: OffsetDateTime::UNIX_EPOCH,
        }
    }
}

impl Client {
    /// The client as the admin API shows it: every field but the secret and
    /// registration-token hashes.
    pub fn to_public_json(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = v.as_object_mut() {
            map.remove("client_secret_hash");
            map.remove("registration_access_token_hash");
        }
        v
    }

    /// Whether the client has no secret (`token_endpoint_auth_method = none`).
    pub fn is_public(&self) -> bool {
        self.token_endpoint_auth_method == AuthMethod::None
    }

    /// Whether the client authenticates with a secret (`client_secret_basic` or
    /// `client_secret_post`); public and `private_key_jwt` clients have none.
    pub fn authenticates_with_secret(&self) -> bool {
        matches!(
            self.token_endpoint_auth_method,
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost
        )
    }

    /// Whether the client registered a grant type.
    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Whether the client may ask for every audience in `requested`.
    pub fn allows_audience<'a>(&self, mut requested: impl Iterator<Item = &'a str>) -> bool {
        requested.all(|a| self.audience.iter().any(|mine| mine == a))
    }
}
