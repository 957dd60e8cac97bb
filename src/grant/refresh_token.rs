//! `refresh_token` (RFC 6749 §6) with rotation and reuse detection (RFC 9700 §4.14.2),
//! and Hydra's rotation grace period.

use super::Issue;
use crate::endpoint::token::TokenResponse;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Client, GrantKind, GrantType, Scope, TokenKind, TokenStatus};
use crate::storage::{Rotated, Rotation};
use crate::Provider;

/// Exchanges a refresh token for a new access token and a new refresh token. The old
/// refresh token is spent; presenting it again revokes the whole grant family, unless it
/// comes within [`Config::refresh_token_rotation_grace_period`] of the first exchange,
/// which then issues again. The scope may narrow, never widen beyond what the grant
/// started with.
///
/// [`Config::refresh_token_rotation_grace_period`]: crate::Config::refresh_token_rotation_grace_period
pub(crate) async fn refresh(
    provider: &Provider,
    client: &Client,
    refresh_token: &str,
    scope: Option<Scope>,
) -> Result<TokenResponse> {
    if !client.allows_grant(GrantType::RefreshToken) {
        return Err(Error::new(
            ErrorCode::UnauthorizedClient,
            "The client is not allowed to use the refresh_token grant.",
        ));
    }
    let invalid = || Error::invalid_grant("The refresh token is invalid, expired or revoked.");
    let signature = provider
        .opaque()
        .verify(TokenKind::RefreshToken, refresh_token)
        .ok_or_else(invalid)?;
    let store = provider.store();
    let record = store.get_token(signature).await?.ok_or_else(invalid)?;
    if *record.client_id != *client.client_id {
        return Err(Error::invalid_grant(
            "The refresh token was issued to another client.",
        ));
    }
    let config = provider.config();
    let rotation = Rotation {
        at: provider.unix_now(),
        grace: config.refresh_token_rotation_grace_period.whole_seconds(),
        max_reuses: config.refresh_token_rotation_grace_reuse_count,
    };
    match record.status {
        TokenStatus::Active => {}
        TokenStatus::Rotated if rotation.within_grace(&record) => {}
        TokenStatus::Rotated => {
            return Err(super::revoke_replayed(
                provider,
                &record.grant_id,
                "The refresh token has already been used.",
            )
            .await)
        }
        _ => return Err(invalid()),
    }
    if rotation.at >= record.expires_at {
        return Err(Error::invalid_grant("The refresh token has expired."));
    }
    let scope = match scope {
        Some(s) if !s.is_subset_of(&record.granted_scope) => {
            return Err(Error::invalid_scope(
                "The requested scope exceeds the scope originally granted.",
            ))
        }
        Some(s) => s,
        None => record.granted_scope.clone(),
    };
    let minted = Issue {
        client,
        client_id: &record.client_id,
        grant: GrantKind::RefreshToken,
        grant_id: &record.grant_id,
        id_token: scope.contains("openid").then_some((None, false)),
        scope: &scope,
        granted_scope: &record.granted_scope,
        audience: &record.audience,
        session: &record.session,
        refresh: true,
    }
    .mint(provider)?;
    match store
        .rotate_refresh(signature, minted.records, rotation)
        .await?
    {
        Rotated::Rotated(_) => Ok(minted.response),
        Rotated::AlreadyUsed { grant_id } => Err(super::revoke_replayed(
            provider,
            &grant_id,
            "The refresh token has already been used.",
        )
        .await),
        Rotated::NotFound => Err(invalid()),
    }
}
