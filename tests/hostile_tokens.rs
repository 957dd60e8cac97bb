//! Property tests for the token-consuming endpoints: any bytes as a revocation,
//! introspection or userinfo request parse or error, and any presented token string is
//! answered — revocation `Nothing`, introspection inactive, userinfo `invalid_token` —
//! never a panic or a server error.

mod common;

use common::*;
use portcullis::endpoint::params::Params;
use portcullis::{ErrorCode, IntrospectRequest, Revocation, RevokeRequest, UserinfoRequest};
use proptest::prelude::*;
use proptest::test_runner::{Config as RunnerConfig, TestRunner};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Any bytes as a form body and header parse to a request or an error.
    #[test]
    fn any_body_parses_or_errors(body in proptest::collection::vec(any::<u8>(), 0..512),
                                 header in proptest::option::of(".{0,80}")) {
        let _ = RevokeRequest::from_form(&body, header.as_deref());
        let _ = IntrospectRequest::from_form(&body);
        let _ = UserinfoRequest::parse(header.as_deref(), &Params::parse(&body));
    }
}

#[test]
fn random_tokens_are_never_found() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (f, c) = rt.block_on(async {
        let f = fixture().await;
        let c = f.client(web_client()).await;
        (f, c)
    });
    // Random strings, and random strings shaped like our tokens.
    let strategy = prop_oneof![
        ".{1,200}",
        "ptc_(at|rt|ac)_[A-Za-z0-9_-]{43}\\.[A-Za-z0-9_-]{43}",
        "ey[A-Za-z0-9_-]{1,40}\\.[A-Za-z0-9_-]{1,40}\\.[A-Za-z0-9_-]{0,40}",
    ];
    let mut runner = TestRunner::new(RunnerConfig {
        cases: 256,
        ..RunnerConfig::default()
    });
    runner
        .run(&strategy, |token| {
            rt.block_on(async {
                match f.revoke(&token, &c).await {
                    Ok(r) => prop_assert_eq!(r, Revocation::Nothing),
                    // A well-formed code prefix with a wrong MAC is unknown, not a code.
                    Err(e) => prop_assert!(false, "{token:?}: {e}"),
                }
                prop_assert!(!f.introspect(&token).await.is_active());
                let header = format!("Bearer {token}");
                match UserinfoRequest::parse(Some(&header), &Params::default()) {
                    Ok(req) => {
                        let e = f.provider.userinfo(req).await.unwrap_err();
                        prop_assert_eq!(e.code(), ErrorCode::InvalidToken);
                    }
                    Err(e) => prop_assert_eq!(e.code(), ErrorCode::InvalidRequest),
                }
                Ok(())
            })
        })
        .unwrap();
}
