//! OpenID Provider metadata (OpenID Connect Discovery 1.0 §3, RFC 8414) and the JWKS,
//! built from the configuration and what the provider really supports.

use serde_json::{json, Value};

use crate::token::client_assertion::SIGNING_ALGS;
use crate::Provider;

impl Provider {
    /// The `/.well-known/openid-configuration` document.
    pub fn discovery(&self) -> Value {
        let config = self.config();
        let algs: Vec<&str> = self
            .signer()
            .algorithms()
            .iter()
            .map(|a| a.as_str())
            .collect();
        let mut userinfo_algs = vec!["none"];
        userinfo_algs.extend(&algs);
        let assertion_algs: Vec<&str> = SIGNING_ALGS.iter().map(|(name, _)| *name).collect();
        let mut pkce = vec!["S256"];
        if config.pkce.allow_plain {
            pkce.push("plain");
        }
        let mut doc = json!({
            "issuer": config.issuer,
            "authorization_endpoint": config.endpoint("/oauth2/auth"),
            "token_endpoint": config.endpoint("/oauth2/token"),
            "jwks_uri": config.endpoint("/.well-known/jwks.json"),
            "userinfo_endpoint": config.endpoint("/userinfo"),
            "revocation_endpoint": config.endpoint("/oauth2/revoke"),
            "end_session_endpoint": config.endpoint("/oauth2/sessions/logout"),
            "response_types_supported": [
                "code", "id_token", "token", "id_token token",
                "code id_token", "code token", "code id_token token"
            ],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "grant_types_supported": [
                "authorization_code", "implicit", "refresh_token", "client_credentials",
                crate::grant::jwt_bearer::GRANT_TYPE
            ],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": algs,
            "userinfo_signing_alg_values_supported": userinfo_algs,
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic", "client_secret_post", "private_key_jwt", "none"
            ],
            "token_endpoint_auth_signing_alg_values_supported": assertion_algs,
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic", "client_secret_post", "private_key_jwt", "none"
            ],
            "revocation_endpoint_auth_signing_alg_values_supported": assertion_algs,
            "scopes_supported": ["openid", "offline_access", "offline"],
            "claims_supported": [
                "sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr",
                "azp", "sid", "at_hash", "c_hash"
            ],
            "code_challenge_methods_supported": pkce,
            "prompt_values_supported": ["none", "login", "consent", "select_account"],
            "request_parameter_supported": false,
            "request_uri_parameter_supported": false,
            "require_request_uri_registration": false,
            "claims_parameter_supported": false,
            "authorization_response_iss_parameter_supported": true,
            "frontchannel_logout_supported": true,
            "frontchannel_logout_session_supported": true,
            "backchannel_logout_supported": true,
            "backchannel_logout_session_supported": true,
        });
        if config.dynamic_registration {
            doc["registration_endpoint"] = config.endpoint("/oauth2/register").into();
        }
        doc
    }

    /// The `/.well-known/jwks.json` document: every key verifiers may meet.
    pub fn jwks(&self) -> Value {
        self.signer().jwks()
    }
}
