//! `private_key_jwt` client authentication: arbitrary `client_assertion` values at the
//! token endpoint of a provider with one `private_key_jwt` client, on a clock standing
//! at `NOW`.
//!
//! First byte even: the rest is the assertion as sent. Odd: the rest is a claims set,
//! signed here with the client's key, so the claim checks are reached. Either way
//! nothing panics, and a refusal is `invalid_client` or `invalid_request`.
#![no_main]

use std::sync::{Arc, OnceLock};

use libfuzzer_sys::fuzz_target;
use portcullis::clock::MockClock;
use portcullis::keys::{Algorithm, LocalSigner};
use portcullis::storage::MemoryStore;
use portcullis::{ClientRequest, Config, ErrorCode, Params, Provider, TokenRequest};

/// The clock of the fuzzed provider (unix seconds); the corpus' claims are relative to it.
const NOW: i64 = 1_700_000_000;

/// The client's key: the P-256 key of RFC 7515 appendix A.3 (public test material).
const PRIVATE_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgjpsQnnGQmL+YBIff
H1136cspYG6+0iY7X1fCE9+E9LKhRANCAAR/zc4ncPbEXUGDy+5v20t7WAczNXvp
7xO6z248e9FURcfxRM0bvZt+hyzf7bnuufSzaV1uqQskrYpGIyiFiOWt
-----END PRIVATE KEY-----
";

struct World {
    rt: tokio::runtime::Runtime,
    provider: Provider,
    key: jsonwebtoken::EncodingKey,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        let provider = rt.block_on(async {
            let clock = MockClock::new(
                time::OffsetDateTime::from_unix_timestamp(NOW).expect("a valid instant"),
            );
            let signer = LocalSigner::generate(&[Algorithm::ES256]).expect("keys");
            let provider = Provider::builder(Config::new("https://fuzz.example", [9u8; 32]))
                .store(MemoryStore::new())
                .signer(Arc::new(signer))
                .clock(clock)
                .build()
                .await
                .expect("provider");
            provider
                .create_client(ClientRequest {
                    client_id: Some("pkjwt".into()),
                    grant_types: Some(vec!["client_credentials".into()]),
                    token_endpoint_auth_method: Some("private_key_jwt".into()),
                    jwks: Some(serde_json::json!({"keys": [{
                        "kty": "EC", "crv": "P-256", "kid": "fuzz-ec", "use": "sig",
                        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                        "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
                    }]})),
                    ..Default::default()
                })
                .await
                .expect("client");
            provider
        });
        let key = jsonwebtoken::EncodingKey::from_ec_pem(PRIVATE_PEM.as_bytes()).expect("key");
        World { rt, provider, key }
    })
}

fuzz_target!(|data: &[u8]| {
    let w = world();
    let Some((mode, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let assertion = if mode % 2 == 0 {
        text.to_owned()
    } else {
        let Ok(claims) = serde_json::from_str::<serde_json::Value>(text) else {
            return;
        };
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some("fuzz-ec".into());
        jsonwebtoken::encode(&header, &claims, &w.key).expect("signs any JSON")
    };
    let params = Params::from_pairs([
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", assertion.as_str()),
    ]);
    let outcome = match TokenRequest::from_params(&params, None) {
        Ok(req) => w.rt.block_on(w.provider.token(req)).map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        assert!(
            matches!(
                e.code(),
                ErrorCode::InvalidClient | ErrorCode::InvalidRequest
            ),
            "{e}"
        );
    }
});
