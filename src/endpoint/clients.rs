//! Client administration: create, read, list, replace and delete clients.

use serde::{Deserialize, Serialize};

use super::params::printable;
use crate::error::{Error, ErrorCode, Result};
use crate::keys::Algorithm;
use crate::model::{AccessTokenStrategy, AuthMethod, Client, ClientLifespans, GrantType, Scope};
use crate::storage::{ClientPage, ClientQuery};
use crate::token::client_assertion;
use crate::token::secret::{self, SecretHash};
use crate::Provider;

/// The fields a caller may set on a client (Hydra's `OAuth2Client` input). Unset fields
/// take their defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(missing_docs)]
pub struct ClientRequest {
    pub client_id: Option<String>,
    /// A secret chosen by the caller; hashed with PBKDF2. When absent, the server
    /// generates a 256-bit secret and returns it once.
    pub client_secret: Option<String>,
    pub client_secret_expires_at: Option<i64>,
    pub client_name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub response_types: Option<Vec<String>>,
    pub scope: Option<String>,
    pub audience: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub token_endpoint_auth_signing_alg: Option<String>,
    pub access_token_strategy: Option<String>,
    pub skip_consent: Option<bool>,
    pub skip_logout_consent: Option<bool>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub frontchannel_logout_uri: Option<String>,
    pub frontchannel_logout_session_required: Option<bool>,
    pub backchannel_logout_uri: Option<String>,
    pub backchannel_logout_session_required: Option<bool>,
    #[serde(flatten)]
    pub lifespans: ClientLifespans,
    pub metadata: Option<serde_json::Value>,
    pub owner: Option<String>,
    pub contacts: Option<Vec<String>>,
    pub jwks: Option<serde_json::Value>,
    pub jwks_uri: Option<String>,
    pub subject_type: Option<String>,
    pub id_token_signed_response_alg: Option<String>,
    pub userinfo_signed_response_alg: Option<String>,
    pub request_object_signing_alg: Option<String>,
    pub request_uris: Option<Vec<String>>,
    pub allowed_cors_origins: Option<Vec<String>>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub policy_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub sector_identifier_uri: Option<String>,
}

/// A client just created or given a new secret: the clear secret is here, once.
#[derive(Debug, Clone, PartialEq)]
pub struct CreatedClient {
    /// The stored client.
    pub client: Client,
    /// The clear secret (generated or chosen), to show the caller once.
    pub client_secret: Option<String>,
}

pub(crate) fn metadata_error(msg: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(ErrorCode::InvalidClientMetadata, msg)
}

fn check_uri(kind: &str, uri: &str) -> Result<()> {
    let parsed = url::Url::parse(uri).map_err(|_| {
        Error::new(
            ErrorCode::InvalidRedirectUri,
            format!("The {kind} '{}' is not an absolute URI.", printable(uri)),
        )
    })?;
    if parsed.fragment().is_some() {
        return Err(Error::new(
            ErrorCode::InvalidRedirectUri,
            format!("The {kind} '{}' has a fragment.", printable(uri)),
        ));
    }
    Ok(())
}

fn parse_enum<T: for<'de> Deserialize<'de>>(field: &str, value: &str) -> Result<T> {
    serde_json::from_value(serde_json::Value::String(value.to_owned())).map_err(|_| {
        metadata_error(format!(
            "The {field} '{}' is not supported.",
            printable(value)
        ))
    })
}

fn check_alg(field: &str, value: &Option<String>, allow_none: bool) -> Result<()> {
    match value.as_deref() {
        None => Ok(()),
        Some("none") if allow_none => Ok(()),
        Some(a) if Algorithm::parse(a).is_some() => Ok(()),
        Some(a) => Err(metadata_error(format!(
            "The {field} '{}' is not supported; use RS256 or ES256.",
            printable(a)
        ))),
    }
}

/// Checks the `private_key_jwt` fields: a supported signing algorithm if one is named, a
/// `jwks` of public keys only if one is given, never both `jwks` and `jwks_uri`
/// (RFC 7591 §2), and for a `private_key_jwt` client a `jwks` with a key that can verify
/// its assertions, or a `jwks_uri` if the provider can fetch one (`fetches`: the engine
/// does no IO; the app may give it a [`JwksFetcher`](crate::JwksFetcher)).
fn check_assertion_keys(
    method: AuthMethod,
    signing_alg: Option<&str>,
    jwks: Option<&serde_json::Value>,
    jwks_uri: Option<&str>,
    fetches: bool,
) -> Result<()> {
    if jwks.is_some() && jwks_uri.is_some() {
        return Err(metadata_error(
            "A client may register its keys in 'jwks' or at 'jwks_uri', not both.",
        ));
    }
    let alg = signing_alg
        .map(|a| {
            client_assertion::signing_alg(a).ok_or_else(|| {
                let names: Vec<&str> = client_assertion::SIGNING_ALGS
                    .iter()
                    .map(|(name, _)| *name)
                    .collect();
                metadata_error(format!(
                    "The token_endpoint_auth_signing_alg '{}' is not supported; use one of {}.",
                    printable(a),
                    names.join(", ")
                ))
            })
        })
        .transpose()?;
    let set = jwks
        .map(client_assertion::check_public_jwks)
        .transpose()
        .map_err(metadata_error)?;
    if method != AuthMethod::PrivateKeyJwt {
        return Ok(());
    }
    if let Some(uri) = jwks_uri {
        if !fetches {
            return Err(metadata_error(
                "A private_key_jwt client needs its public keys in 'jwks': this server \
                 does not fetch a 'jwks_uri'.",
            ));
        }
        if !uri.starts_with("https://") {
            return Err(metadata_error("The jwks_uri must be an https URL."));
        }
        return Ok(());
    }
    let set = set.ok_or_else(|| {
        metadata_error("A private_key_jwt client needs its public keys in 'jwks' or at 'jwks_uri'.")
    })?;
    if !client_assertion::has_verification_key(&set, alg) {
        return Err(metadata_error(
            "The jwks has no public key that can verify the client's assertions.",
        ));
    }
    Ok(())
}

/// Normalises a response type (`"id_token code"` → `"code id_token"`).
fn normalise_response_type(rt: &str) -> Result<String> {
    let mut parts: Vec<&str> = rt.split(' ').filter(|p| !p.is_empty()).collect();
    parts.sort_by_key(|p| match *p {
        "code" => 0,
        "id_token" => 1,
        "token" => 2,
        _ => 3,
    });
    parts.dedup();
    if parts.is_empty()
        || parts
            .iter()
            .any(|p| !matches!(*p, "code" | "id_token" | "token"))
    {
        return Err(metadata_error(format!(
            "The response type '{}' is not supported.",
            printable(rt)
        )));
    }
    Ok(parts.join(" "))
}

impl ClientRequest {
    /// Validates the request into `client` (whose id, secret and timestamps the caller
    /// manages).
    /// `fetches_jwks`: whether the provider can fetch a `jwks_uri`.
    pub(crate) fn apply(self, client: &mut Client, fetches_jwks: bool) -> Result<()> {
        let grant_types: Vec<GrantType> = match self.grant_types {
            Some(g) => g
                .iter()
                .map(|g| parse_enum("grant type", g))
                .collect::<Result<_>>()?,
            None => vec![GrantType::AuthorizationCode],
        };
        let response_types: Vec<String> = match self.response_types {
            Some(r) => r
                .iter()
                .map(|r| normalise_response_type(r))
                .collect::<Result<_>>()?,
            // Clients without the code grant have no default response type.
            None if grant_types.contains(&GrantType::AuthorizationCode) => vec!["code".to_owned()],
            None => Vec::new(),
        };
        if response_types.iter().any(|r| r.contains("code"))
            && !grant_types.contains(&GrantType::AuthorizationCode)
        {
            return Err(metadata_error(
                "A 'code' response type needs the authorization_code grant type.",
            ));
        }
        if response_types
            .iter()
            .any(|r| r.split(' ').any(|p| p == "token"))
            && !grant_types.contains(&GrantType::Implicit)
        {
            return Err(metadata_error(
                "A 'token' response type needs the implicit grant type.",
            ));
        }
        let redirect_uris = self.redirect_uris.unwrap_or_default();
        for u in &redirect_uris {
            check_uri("redirect URI", u)?;
        }
        let post_logout_redirect_uris = self.post_logout_redirect_uris.unwrap_or_default();
        for u in &post_logout_redirect_uris {
            check_uri("post-logout redirect URI", u)?;
        }
        for u in self
            .frontchannel_logout_uri
            .iter()
            .chain(&self.backchannel_logout_uri)
            .chain(&self.jwks_uri)
        {
            check_uri("URI", u)?;
        }
        for o in self.allowed_cors_origins.iter().flatten() {
            crate::model::origin::check_pattern(o).map_err(|why| {
                metadata_error(format!("The allowed CORS origin '{}' {why}.", printable(o)))
            })?;
        }
        let subject_type = self.subject_type.unwrap_or_else(|| "public".to_owned());
        if !matches!(subject_type.as_str(), "public" | "pairwise") {
            return Err(metadata_error(
                "The subject_type must be public or pairwise.",
            ));
        }
        check_alg(
            "id_token_signed_response_alg",
            &self.id_token_signed_response_alg,
            false,
        )?;
        check_alg(
            "userinfo_signed_response_alg",
            &self.userinfo_signed_response_alg,
            true,
        )?;
        let token_endpoint_auth_method = match &self.token_endpoint_auth_method {
            Some(m) => parse_enum("token_endpoint_auth_method", m)?,
            None => AuthMethod::default(),
        };
        check_assertion_keys(
            token_endpoint_auth_method,
            self.token_endpoint_auth_signing_alg.as_deref(),
            self.jwks.as_ref(),
            self.jwks_uri.as_deref(),
            fetches_jwks,
        )?;
        let metadata = self
            .metadata
            .unwrap_or_else(|| serde_json::Value::Object(Default::default()));
        if !metadata.is_object() {
            return Err(metadata_error("The metadata must be a JSON object."));
        }

        client.client_name = self.client_name.unwrap_or_default();
        client.client_secret_expires_at = self.client_secret_expires_at.unwrap_or(0);
        client.redirect_uris = redirect_uris;
        client.grant_types = grant_types;
        client.response_types = response_types;
        client.scope = Scope::parse(
            self.scope
                .as_deref()
                .unwrap_or("openid offline_access offline"),
        )
        .map_err(|_| metadata_error("The scope has a character RFC 6749 does not allow."))?;
        client.audience = self.audience.unwrap_or_default();
        client.token_endpoint_auth_method = token_endpoint_auth_method;
        client.token_endpoint_auth_signing_alg = self.token_endpoint_auth_signing_alg;
        client.access_token_strategy = self
            .access_token_strategy
            .map(|s| parse_enum::<AccessTokenStrategy>("access_token_strategy", &s))
            .transpose()?;
        client.skip_consent = self.skip_consent.unwrap_or(false);
        client.skip_logout_consent = self.skip_logout_consent.unwrap_or(false);
        client.post_logout_redirect_uris = post_logout_redirect_uris;
        client.frontchannel_logout_uri = self.frontchannel_logout_uri;
        client.frontchannel_logout_session_required =
            self.frontchannel_logout_session_required.unwrap_or(false);
        client.backchannel_logout_uri = self.backchannel_logout_uri;
        client.backchannel_logout_session_required =
            self.backchannel_logout_session_required.unwrap_or(false);
        client.lifespans = self.lifespans;
        client.metadata = metadata;
        client.owner = self.owner.unwrap_or_default();
        client.contacts = self.contacts.unwrap_or_default();
        client.jwks = self.jwks;
        client.jwks_uri = self.jwks_uri;
        client.subject_type = subject_type;
        client.id_token_signed_response_alg = self.id_token_signed_response_alg;
        client.userinfo_signed_response_alg = self.userinfo_signed_response_alg;
        client.request_object_signing_alg = self.request_object_signing_alg;
        client.request_uris = self.request_uris.unwrap_or_default();
        client.allowed_cors_origins = self.allowed_cors_origins.unwrap_or_default();
        client.client_uri = self.client_uri;
        client.logo_uri = self.logo_uri;
        client.policy_uri = self.policy_uri;
        client.tos_uri = self.tos_uri;
        client.sector_identifier_uri = self.sector_identifier_uri;
        Ok(())
    }
}

fn check_client_id(id: &str) -> Result<()> {
    if id.is_empty() || id.len() > 255 || !id.bytes().all(|b| (0x21..0x7f).contains(&b)) {
        return Err(metadata_error(
            "The client_id must be 1 to 255 printable ASCII characters without spaces.",
        ));
    }
    Ok(())
}

impl Provider {
    /// Hashes a secret for `client`: a chosen one slowly, or a fresh generated one fast.
    /// A client that does not authenticate with a secret gets none.
    fn new_secret(&self, client: &mut Client, chosen: Option<String>) -> Option<String> {
        if !client.authenticates_with_secret() {
            client.client_secret_hash = None;
            return None;
        }
        let (clear, hash) = match chosen {
            Some(s) => {
                let h = SecretHash::chosen(&s, self.entropy());
                (s, h)
            }
            None => {
                let s = secret::generate(self.entropy());
                let h = SecretHash::generated(&s);
                (s, h)
            }
        };
        client.client_secret_hash = Some(hash);
        Some(clear)
    }

    /// Registers a client. The server generates the id (a UUID) unless one is given, and
    /// a 256-bit secret unless one is chosen; the clear secret is returned only here.
    pub async fn create_client(&self, request: ClientRequest) -> Result<CreatedClient> {
        let client_id = match request.client_id.clone() {
            Some(id) => {
                check_client_id(&id)?;
                id
            }
            None => self.new_uuid(),
        };
        let now = self.now();
        let mut client = Client {
            client_id,
            created_at: now,
            updated_at: now,
            ..Client::default()
        };
        let chosen = request.client_secret.clone();
        request.apply(&mut client, self.jwks_fetcher().is_some())?;
        if !client.authenticates_with_secret() && chosen.is_some() {
            return Err(metadata_error(format!(
                "A client with token_endpoint_auth_method '{}' cannot have a secret.",
                client.token_endpoint_auth_method.as_str()
            )));
        }
        let client_secret = self.new_secret(&mut client, chosen);
        self.store().create_client(client.clone()).await?;
        Ok(CreatedClient {
            client,
            client_secret,
        })
    }

    /// The client with this id.
    pub async fn get_client(&self, client_id: &str) -> Result<std::sync::Arc<Client>> {
        self.store()
            .get_client(client_id)
            .await?
            .ok_or_else(|| Error::not_found("No client with this id."))
    }

    /// A page of clients, filtered by name and owner.
    pub async fn list_clients(&self, query: &ClientQuery) -> Result<ClientPage> {
        self.store().list_clients(query).await
    }

    /// Replaces a client's fields (Hydra's `PUT /admin/clients/{id}`). The secret stays
    /// unless a new one is given; `created_at` stays.
    pub async fn set_client(
        &self,
        client_id: &str,
        request: ClientRequest,
    ) -> Result<CreatedClient> {
        let existing = self.get_client(client_id).await?;
        if request
            .client_id
            .as_deref()
            .is_some_and(|id| id != client_id)
        {
            return Err(metadata_error("The client_id cannot be changed."));
        }
        let mut client = Client {
            client_id: existing.client_id.clone(),
            client_secret_hash: existing.client_secret_hash.clone(),
            registration_access_token_hash: existing.registration_access_token_hash.clone(),
            created_at: existing.created_at,
            updated_at: self.now(),
            ..Client::default()
        };
        let chosen = request.client_secret.clone();
        request.apply(&mut client, self.jwks_fetcher().is_some())?;
        let client_secret = match chosen {
            Some(s) => self.new_secret(&mut client, Some(s)),
            None if !client.authenticates_with_secret() => self.new_secret(&mut client, None),
            None if client.client_secret_hash.is_none() => self.new_secret(&mut client, None),
            None => None,
        };
        self.store().update_client(client.clone()).await?;
        Ok(CreatedClient {
            client,
            client_secret,
        })
    }

    /// Deletes a client and revokes every token issued to it.
    pub async fn delete_client(&self, client_id: &str) -> Result<()> {
        // Tokens first: a crash in between leaves a client without tokens, never tokens
        // without a client.
        self.store().revoke_client_tokens(client_id).await?;
        if !self.store().delete_client(client_id).await? {
            return Err(Error::not_found("No client with this id."));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_types_normalise() {
        assert_eq!(
            normalise_response_type("token id_token code").unwrap(),
            "code id_token token"
        );
        assert!(normalise_response_type("code foo").is_err());
        assert!(normalise_response_type(" ").is_err());
    }
}
