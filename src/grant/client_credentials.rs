//! `client_credentials` (RFC 6749 §4.4): a confidential client acting on its own behalf.

use crate::endpoint::token::TokenResponse;
use crate::error::{Error, ErrorCode, Result};
use crate::model::{Client, GrantKind, GrantType, Scope};
use crate::Provider;

/// Issues an access token (never a refresh token, §4.4.3) for scopes and audiences
/// within the client's registration.
pub(crate) async fn issue(
    provider: &Provider,
    client: &Client,
    scope: Scope,
    audience: Vec<String>,
) -> Result<TokenResponse> {
    if client.is_public() || !client.allows_grant(GrantType::ClientCredentials) {
        return Err(Error::new(
            ErrorCode::UnauthorizedClient,
            "The client is not allowed to use the client_credentials grant.",
        ));
    }
    if !scope.is_subset_of(&client.scope) {
        return Err(Error::invalid_scope(
            "The client is not allowed to request one of the scopes.",
        ));
    }
    super::check_audience(client, &audience)?;
    let subject = client.client_id.clone();
    super::issue_access_token(
        provider,
        client,
        GrantKind::ClientCredentials,
        subject,
        scope,
        audience,
    )
    .await
}
