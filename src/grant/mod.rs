//! Token-endpoint grants, and the one place tokens are minted.

use std::sync::Arc;

use crate::endpoint::token::TokenResponse;
use crate::error::{Error, Result};
use crate::keys::Algorithm;
use crate::model::{
    AccessTokenStrategy, Client, GrantKind, Scope, Session, TokenKind, TokenRecord, TokenStatus,
};
use crate::token::jwt::{self, IdTokenParts};
use crate::Provider;

pub mod authorization_code;
pub mod client_credentials;
pub mod jwt_bearer;
pub mod refresh_token;

/// What to mint for one grant family.
///
/// It borrows what the records share (a grant's earlier record holds most of it), so
/// each record takes its own share and nothing is shared twice.
pub(crate) struct Issue<'a> {
    pub client: &'a Client,
    /// The client's id.
    pub client_id: &'a Arc<str>,
    pub grant: GrantKind,
    pub grant_id: &'a Arc<str>,
    pub scope: &'a Scope,
    pub granted_scope: &'a Scope,
    pub audience: &'a [String],
    pub session: &'a Arc<Session>,
    /// Mint a refresh token too.
    pub refresh: bool,
    /// Mint an ID token too (OpenID requests): with the code it was issued with, and
    /// whether to carry the nonce.
    pub id_token: Option<(Option<&'a str>, bool)>,
}

/// Minted tokens: the response for the client and the records to store.
pub(crate) struct Minted {
    pub response: TokenResponse,
    pub records: Vec<TokenRecord>,
}

impl Issue<'_> {
    fn record(
        &self,
        provider: &Provider,
        kind: TokenKind,
        signature: String,
        client_id: &Arc<str>,
        now: i64,
    ) -> TokenRecord {
        let config = provider.config();
        let lifespan = match kind {
            TokenKind::AccessToken => config.access_token_lifespan(self.client, self.grant),
            TokenKind::RefreshToken => config.refresh_token_lifespan(self.client, self.grant),
            TokenKind::AuthorizationCode => config.lifespans.authorization_code,
        };
        TokenRecord {
            signature,
            kind,
            status: TokenStatus::Active,
            rotated_at: None,
            reuses: 0,
            grant_id: self.grant_id.clone(),
            client_id: client_id.clone(),
            scope: self.scope.clone(),
            granted_scope: self.granted_scope.clone(),
            audience: self.audience.to_vec(),
            issued_at: now,
            expires_at: now.saturating_add(lifespan.whole_seconds()),
            session: self.session.clone(),
            code: None,
        }
    }

    /// Mints the access token (opaque or JWT), the refresh token and the ID token.
    pub fn mint(&self, provider: &Provider) -> Result<Minted> {
        let now = provider.unix_now();
        let config = provider.config();
        let client_id = self.client_id;
        let (access_token, access_record) = match config.access_token_strategy(self.client) {
            AccessTokenStrategy::Opaque => {
                let m = provider
                    .opaque()
                    .mint(TokenKind::AccessToken, provider.entropy());
                (
                    m.token,
                    self.record(
                        provider,
                        TokenKind::AccessToken,
                        m.signature,
                        client_id,
                        now,
                    ),
                )
            }
            AccessTokenStrategy::Jwt => {
                let mut record = self.record(
                    provider,
                    TokenKind::AccessToken,
                    String::new(),
                    client_id,
                    now,
                );
                let (token, signature) =
                    crate::random::with_token::<16, _>(provider.entropy(), |jti| {
                        jwt::sign_access_token(
                            provider.signer(),
                            config.access_token_alg,
                            &config.issuer,
                            jti,
                            &record,
                        )
                    })?;
                record.signature = signature;
                (token, record)
            }
        };
        let expires_in = access_record.expires_at - now;
        let mut records = Vec::with_capacity(1 + usize::from(self.refresh));
        records.push(access_record);
        let refresh_token = self.refresh.then(|| {
            let m = provider
                .opaque()
                .mint(TokenKind::RefreshToken, provider.entropy());
            records.push(self.record(
                provider,
                TokenKind::RefreshToken,
                m.signature,
                client_id,
                now,
            ));
            m.token
        });
        let id_token = match self.id_token {
            Some((code, with_nonce)) => Some(jwt::sign_id_token(
                provider.signer(),
                id_token_alg(self.client),
                self.session,
                IdTokenParts {
                    issuer: &config.issuer,
                    client_id: &self.client.client_id,
                    issued_at: now,
                    expires_at: now.saturating_add(
                        config
                            .id_token_lifespan(self.client, self.grant)
                            .whole_seconds(),
                    ),
                    access_token: Some(&access_token),
                    code,
                    with_nonce,
                },
            )?),
            None => None,
        };
        Ok(Minted {
            response: TokenResponse {
                access_token,
                token_type: "bearer".into(),
                expires_in,
                refresh_token,
                scope: Some(self.scope.as_str().to_owned()),
                id_token,
            },
            records,
        })
    }
}

/// Refuses audiences the client was not registered for (Hydra's `audience` parameter).
pub(crate) fn check_audience(client: &Client, audience: &[String]) -> Result<()> {
    if client.allows_audience(audience.iter().map(String::as_str)) {
        Ok(())
    } else {
        Err(Error::invalid_request(
            "The client is not allowed to request one of the audiences.",
        ))
    }
}

/// Mints and stores an access token alone, for `subject`: the grants that give neither a
/// refresh token nor an ID token (`client_credentials`, where the client is the
/// subject, and the JWT-bearer grant, where the assertion names it).
pub(crate) async fn issue_access_token(
    provider: &Provider,
    client: &Client,
    grant: GrantKind,
    subject: String,
    scope: Scope,
    audience: Vec<String>,
) -> Result<TokenResponse> {
    let session = Arc::new(Session {
        subject,
        ..Session::default()
    });
    let minted = Issue {
        client,
        client_id: &client.client_id.as_str().into(),
        grant,
        grant_id: &provider.new_id(),
        granted_scope: &scope,
        scope: &scope,
        audience: &audience,
        session: &session,
        refresh: false,
        id_token: None,
    }
    .mint(provider)?;
    provider.store().insert_tokens(minted.records).await?;
    Ok(minted.response)
}

/// The algorithm of a client's ID tokens (RS256 unless it registered another).
pub(crate) fn id_token_alg(client: &Client) -> Algorithm {
    client
        .id_token_signed_response_alg
        .as_deref()
        .and_then(Algorithm::parse)
        .unwrap_or(Algorithm::RS256)
}

/// A spent code or refresh token presented again: the token has leaked, so revoke its
/// whole grant family, durably, and refuse (RFC 6749 §4.1.2, RFC 9700 §4.14.2).
pub(crate) async fn revoke_replayed(
    provider: &Provider,
    grant_id: &str,
    message: &'static str,
) -> crate::Error {
    tracing::warn!(grant_id, message, "replay detected: revoking the grant");
    match provider.store().revoke_grant(grant_id).await {
        Ok(()) => crate::Error::invalid_grant(message),
        Err(e) => e,
    }
}
