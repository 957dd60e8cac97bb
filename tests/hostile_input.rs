//! Property tests: random bytes in any request field give an `Error`, never a panic.

mod common;

use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};

const FIELDS: &[&str] = &[
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "scope",
    "audience",
    "client_id",
    "client_secret",
];

fn form(params: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut body = String::new();
    for (k, v) in params {
        if !body.is_empty() {
            body.push('&');
        }
        body.extend(url::form_urlencoded::byte_serialize(k.as_bytes()));
        body.push('=');
        body.extend(url::form_urlencoded::byte_serialize(v));
    }
    body.into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any bytes as a form body and header parse to a request or an error.
    #[test]
    fn any_body_parses_or_errors(body in proptest::collection::vec(any::<u8>(), 0..512),
                                 header in proptest::option::of(".{0,80}")) {
        let _ = portcullis::TokenRequest::from_form(&body, header.as_deref());
    }
}

/// Random values in any field of a well-formed request of each grant end in a standard
/// client error (never a panic, never a 5xx).
#[test]
fn random_field_values_give_client_errors() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (f, c) = rt.block_on(async {
        let f = fixture().await;
        let c = f.client(web_client()).await;
        (f, c)
    });
    let auth = basic(&c);
    let strategy = (
        prop_oneof![
            Just("authorization_code"),
            Just("refresh_token"),
            Just("client_credentials")
        ],
        proptest::sample::select(FIELDS),
        proptest::collection::vec(any::<u8>(), 1..200),
    );
    let mut runner = TestRunner::new(RunnerConfig {
        cases: 256,
        ..RunnerConfig::default()
    });
    runner
        .run(&strategy, |(grant, field, value)| {
            rt.block_on(async {
                let code = f.code(&c.client.client_id, "openid offline_access").await;
                let mut params: Vec<(String, Vec<u8>)> = vec![
                    ("grant_type".into(), grant.as_bytes().to_vec()),
                    ("code".into(), code.into_bytes()),
                    ("redirect_uri".into(), REDIRECT.as_bytes().to_vec()),
                    ("code_verifier".into(), VERIFIER.as_bytes().to_vec()),
                    ("refresh_token".into(), b"ptc_rt_x.y".to_vec()),
                ];
                params.retain(|(k, _)| k != field);
                params.push((field.to_string(), value));
                let result = match portcullis::TokenRequest::from_form(&form(&params), Some(&auth))
                {
                    Ok(req) => f.provider.token(req).await,
                    Err(e) => Err(e),
                };
                // A field the grant ignores may leave the request valid; anything else
                // must be a standard error below 500.
                if let Err(e) = result {
                    prop_assert!(e.status() < 500, "{e}");
                    prop_assert!(!e.description().is_empty());
                }
                Ok(())
            })
        })
        .unwrap();
}
