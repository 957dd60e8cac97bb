//! Dynamic client registration: RFC 7591, RFC 7592 and OpenID Connect Dynamic Client
//! Registration 1.0. Off unless [`Config::dynamic_registration`](crate::Config) is set.
//!
//! The server chooses the `client_id` and `client_secret`. Each registration gets a
//! `registration_access_token` (stored only as a hash) that the client presents to read,
//! replace or delete its registration. Self-registered clients may not give themselves
//! privileges an administrator grants: skipping consent, metadata, lifespans, an owner,
//! the `client_credentials` grant (it would let a client grant itself scopes).

use serde_json::Value;

use super::clients::{metadata_error, ClientRequest};
use super::params::printable;
use crate::error::{Error, ErrorCode, Result};
use crate::model::Client;
use crate::token::secret::{self, SecretHash};
use crate::Provider;

/// A registration as the client sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Registration {
    /// The stored client.
    pub client: Client,
    /// The clear secret, only when it was just created.
    pub client_secret: Option<String>,
    /// The clear registration access token, only when it was just created.
    pub registration_access_token: Option<String>,
    /// Where the client manages its registration.
    pub registration_client_uri: String,
}

impl Registration {
    /// The RFC 7591 §3.2.1 response body: the client's metadata plus the credentials.
    pub fn to_json(&self) -> Value {
        let mut v = self.client.to_public_json();
        if let Some(map) = v.as_object_mut() {
            if let Some(s) = &self.client_secret {
                map.insert("client_secret".into(), s.as_str().into());
            }
            if let Some(t) = &self.registration_access_token {
                map.insert("registration_access_token".into(), t.as_str().into());
            }
            map.insert(
                "registration_client_uri".into(),
                self.registration_client_uri.as_str().into(),
            );
            map.insert(
                "client_id_issued_at".into(),
                self.client.created_at.unix_timestamp().into(),
            );
        }
        v
    }
}

fn invalid_token() -> Error {
    Error::new(
        ErrorCode::InvalidToken,
        "The registration access token is invalid for this client.",
    )
}

/// Refuses what a client may not choose for itself, and redirect URIs that are not https
/// (loopback http is allowed for native apps, RFC 8252 §7.3).
fn check_self_service(req: &ClientRequest) -> Result<()> {
    let privileged = [
        ("client_id", req.client_id.is_some()),
        ("client_secret", req.client_secret.is_some()),
        ("skip_consent", req.skip_consent.is_some()),
        ("skip_logout_consent", req.skip_logout_consent.is_some()),
        ("metadata", req.metadata.is_some()),
        ("owner", req.owner.is_some()),
        ("access_token_strategy", req.access_token_strategy.is_some()),
        ("lifespans", req.lifespans != Default::default()),
    ];
    if let Some((field, _)) = privileged.iter().find(|(_, set)| *set) {
        return Err(metadata_error(format!(
            "The field '{field}' cannot be set through dynamic registration."
        )));
    }
    // With client_credentials a client would grant itself the scopes it registered.
    if req
        .grant_types
        .iter()
        .flatten()
        .any(|g| g == "client_credentials")
    {
        return Err(metadata_error(
            "The client_credentials grant cannot be self-registered: an administrator grants it.",
        ));
    }
    for uri in req.redirect_uris.iter().flatten() {
        let ok = url::Url::parse(uri).is_ok_and(|u| {
            u.scheme() == "https"
                || u.scheme() == "http"
                    && matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"))
        });
        if !ok {
            return Err(Error::new(
                ErrorCode::InvalidRedirectUri,
                format!(
                    "The redirect URI '{}' must use https (or http on a loopback address).",
                    printable(uri)
                ),
            ));
        }
    }
    Ok(())
}

impl Provider {
    fn check_registration_enabled(&self) -> Result<()> {
        if self.config().dynamic_registration {
            Ok(())
        } else {
            Err(Error::new(
                ErrorCode::RegistrationNotSupported,
                "Dynamic client registration is not enabled.",
            ))
        }
    }

    fn registration_uri(&self, client_id: &str) -> String {
        let id: String = form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
        self.config().endpoint(&format!("/oauth2/register/{id}"))
    }

    /// The client behind a registration access token.
    async fn registered_client(&self, client_id: &str, token: &str) -> Result<Client> {
        self.check_registration_enabled()?;
        let client = self
            .store()
            .get_client(client_id)
            .await?
            .ok_or_else(invalid_token)?;
        match &client.registration_access_token_hash {
            Some(hash) if hash.verify(token) => Ok((*client).clone()),
            _ => Err(invalid_token()),
        }
    }

    /// Registers a client (RFC 7591 §3).
    pub async fn register_client(&self, request: ClientRequest) -> Result<Registration> {
        self.check_registration_enabled()?;
        check_self_service(&request)?;
        let mut created = self.create_client(request).await?;
        let token = secret::generate(self.entropy());
        created.client.registration_access_token_hash = Some(SecretHash::generated(&token));
        self.store().update_client(created.client.clone()).await?;
        Ok(Registration {
            registration_client_uri: self.registration_uri(&created.client.client_id),
            client: created.client,
            client_secret: created.client_secret,
            registration_access_token: Some(token),
        })
    }

    /// Reads a registration (RFC 7592 §2.1).
    pub async fn get_registration(&self, client_id: &str, token: &str) -> Result<Registration> {
        let client = self.registered_client(client_id, token).await?;
        Ok(Registration {
            registration_client_uri: self.registration_uri(client_id),
            client,
            client_secret: None,
            registration_access_token: None,
        })
    }

    /// Replaces a registration's metadata (RFC 7592 §2.2); the secret stays.
    pub async fn update_registration(
        &self,
        client_id: &str,
        token: &str,
        mut request: ClientRequest,
    ) -> Result<Registration> {
        let client = self.registered_client(client_id, token).await?;
        if request
            .client_id
            .as_deref()
            .is_some_and(|id| id != client_id)
        {
            return Err(metadata_error("The client_id cannot be changed."));
        }
        // RFC 7592 §2.2: a client may echo its secret; it must then match.
        if let Some(s) = request.client_secret.take() {
            if !client
                .client_secret_hash
                .as_ref()
                .is_some_and(|h| h.verify(&s))
            {
                return Err(metadata_error("The client_secret does not match."));
            }
        }
        request.client_id = None;
        check_self_service(&request)?;
        let updated = self.set_client(client_id, request).await?;
        Ok(Registration {
            registration_client_uri: self.registration_uri(client_id),
            client: updated.client,
            client_secret: updated.client_secret,
            registration_access_token: None,
        })
    }

    /// Deletes a registration and its tokens (RFC 7592 §2.3).
    pub async fn delete_registration(&self, client_id: &str, token: &str) -> Result<()> {
        self.registered_client(client_id, token).await?;
        self.delete_client(client_id).await
    }
}
