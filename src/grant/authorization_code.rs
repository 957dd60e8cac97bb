//! `authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6): redeeming a code, once.

use std::sync::Arc;

use super::Issue;
use crate::endpoint::authorize::request::check_pkce;
use crate::endpoint::token::TokenResponse;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{
    Client, CodeBinding, GrantKind, GrantType, Pkce, Scope, Session, TokenKind, TokenStatus,
};
use crate::storage::Consumed;
use crate::token::pkce;
use crate::Provider;

/// An authorization the user granted, ready to become a code. The authorization endpoint
/// builds this once login and consent are done; tests and custom flows may build it
/// directly.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizedGrant {
    /// The client the code is for.
    pub client_id: String,
    /// The `redirect_uri` the authorization request carried, if any; the token request
    /// must then repeat it.
    pub redirect_uri: Option<String>,
    /// The granted scope.
    pub scope: Scope,
    /// The granted access token audiences.
    pub audience: Vec<String>,
    /// The PKCE challenge of the authorization request.
    pub pkce: Option<Pkce>,
    /// Who authenticated, how, and the consent's extra claims.
    pub session: Arc<Session>,
}

impl Provider {
    /// Records an authorized grant and returns its authorization code (one grant family:
    /// every token later issued from the code belongs to it).
    pub async fn issue_authorization_code(&self, grant: AuthorizedGrant) -> Result<String> {
        let client = self
            .store()
            .get_client(&grant.client_id)
            .await?
            .ok_or_else(|| Error::invalid_request("The client does not exist."))?;
        if !client.allows_grant(GrantType::AuthorizationCode) {
            return Err(Error::new(
                ErrorCode::UnauthorizedClient,
                "The client is not allowed to use the authorization_code grant.",
            ));
        }
        check_pkce(&client, grant.pkce.as_ref(), &self.config().pkce)?;
        let AuthorizedGrant {
            redirect_uri,
            scope,
            audience,
            pkce,
            session,
            ..
        } = grant;
        let binding = CodeBinding { redirect_uri, pkce };
        self.mint_code(&client, self.new_id(), (scope, audience), session, binding)
            .await
    }

    /// Mints and stores a code for a grant family (its granted scope and audiences), once
    /// the caller has checked the client and the PKCE policy.
    pub(crate) async fn mint_code(
        &self,
        client: &Client,
        grant_id: Arc<str>,
        (scope, audience): (Scope, Vec<String>),
        session: Arc<Session>,
        binding: CodeBinding,
    ) -> Result<String> {
        let code = self
            .opaque()
            .mint(TokenKind::AuthorizationCode, self.entropy());
        let now = self.unix_now();
        let record = crate::model::TokenRecord {
            signature: code.signature,
            kind: TokenKind::AuthorizationCode,
            status: TokenStatus::Active,
            rotated_at: None,
            reuses: 0,
            grant_id,
            client_id: client.client_id.as_str().into(),
            granted_scope: scope.clone(),
            scope,
            audience,
            issued_at: now,
            expires_at: now
                .saturating_add(self.config().lifespans.authorization_code.whole_seconds()),
            session,
            code: Some(binding),
        };
        self.store().insert_tokens(vec![record]).await?;
        Ok(code.token)
    }
}

/// Exchanges a code for tokens. Every check runs before the code is consumed; consuming
/// is the one atomic step, so of many concurrent redemptions exactly one gets tokens. A
/// code presented again revokes every token issued from it (RFC 6749 §4.1.2).
pub(crate) async fn exchange(
    provider: &Provider,
    client: &Client,
    code: &str,
    redirect_uri: Option<&str>,
    code_verifier: Option<&str>,
) -> Result<TokenResponse> {
    if !client.allows_grant(GrantType::AuthorizationCode) {
        return Err(Error::new(
            ErrorCode::UnauthorizedClient,
            "The client is not allowed to use the authorization_code grant.",
        ));
    }
    let invalid = || Error::invalid_grant("The authorization code is invalid, expired or revoked.");
    let signature = provider
        .opaque()
        .verify(TokenKind::AuthorizationCode, code)
        .ok_or_else(invalid)?;
    let store = provider.store();
    let record = store.get_token(signature).await?.ok_or_else(invalid)?;
    if record.status != TokenStatus::Active {
        return Err(super::revoke_replayed(
            provider,
            &record.grant_id,
            "The authorization code has already been used.",
        )
        .await);
    }
    if *record.client_id != *client.client_id {
        return Err(Error::invalid_grant(
            "The authorization code was issued to another client.",
        ));
    }
    if provider.unix_now() >= record.expires_at {
        return Err(Error::invalid_grant("The authorization code has expired."));
    }
    let binding = record.code.as_ref().ok_or_else(invalid)?;
    match (&binding.redirect_uri, redirect_uri) {
        (Some(bound), Some(given)) if bound == given => {}
        (None, None) => {}
        (None, Some(given)) if client.redirect_uris.iter().any(|u| u == given) => {}
        _ => {
            return Err(Error::invalid_grant(
                "The redirect_uri does not match the one of the authorization request.",
            ))
        }
    }
    match (&binding.pkce, code_verifier) {
        (Some(p), Some(v)) if pkce::verify(p, v) => {}
        (Some(_), Some(_)) => {
            return Err(Error::invalid_grant(
                "The PKCE code verifier does not match the challenge.",
            ))
        }
        (Some(_), None) => return Err(Error::invalid_grant("The PKCE code verifier is missing.")),
        (None, Some(_)) => {
            return Err(Error::invalid_grant(
                "A code_verifier was sent but the authorization request had no code_challenge.",
            ))
        }
        (None, None) => check_pkce(client, None, &provider.config().pkce)
            .map_err(|_| Error::invalid_grant("The authorization code was issued without PKCE."))?,
    }
    let record = match store.consume_code(signature).await? {
        Consumed::Redeemed(record) => record,
        Consumed::AlreadyUsed { grant_id } => {
            return Err(super::revoke_replayed(
                provider,
                &grant_id,
                "The authorization code has already been used.",
            )
            .await)
        }
        Consumed::NotFound => return Err(invalid()),
    };
    let minted = Issue {
        client,
        client_id: &record.client_id,
        grant: GrantKind::AuthorizationCode,
        grant_id: &record.grant_id,
        scope: &record.scope,
        granted_scope: &record.granted_scope,
        audience: &record.audience,
        session: &record.session,
        refresh: record.scope.is_offline() && client.allows_grant(GrantType::RefreshToken),
        id_token: record.scope.contains("openid").then_some((None, true)),
    }
    .mint(provider)?;
    store.insert_tokens(minted.records).await?;
    Ok(minted.response)
}
