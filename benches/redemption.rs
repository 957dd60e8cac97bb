//! Redeeming what was issued: authorization codes and refresh tokens at the token
//! endpoint (request parsing and client authentication included).
//!
//! - `authorization_code/<alg>/<backend>/<store>`: a code bound to a redirect URI and a
//!   PKCE challenge (S256), scope `openid offline_access profile`, exchanged for an
//!   opaque access token, a refresh token and an ID token signed with `<alg>`; compare
//!   with `signature/<alg>/<backend>`. The codes are issued before the timer starts
//!   (`Provider::issue_authorization_code`).
//! - `introspection/<opaque|jwt-es256>/<store>`: an active access token introspected.
//! - `revocation/refresh_token/<store>`: a refresh token revoked with its family.
//! - `refresh_token/rotate/<store>`: a refresh token (scope `offline_access read`, no ID
//!   token) exchanged for a new access token and refresh token, the old one marked
//!   rotated. The refresh tokens are issued before the timer starts.

mod common;

use common::{
    alg_name, criterion, exchange_body, refresh_body, run, runtime, slow, Backend, Store, Tokens,
    ALGS,
};
use criterion::{criterion_group, criterion_main, Criterion};
use portcullis::keys::Algorithm;
use portcullis::model::Scope;
use portcullis::{IntrospectRequest, Revocation, RevokeRequest};

const CLIENT_CREDENTIALS: &str = "grant_type=client_credentials&scope=read";

fn authorization_code(c: &mut Criterion) {
    let rt = runtime();
    let scope = Scope::parse("openid offline_access profile").expect("scope");
    let mut group = c.benchmark_group("authorization_code");
    for backend in Backend::all() {
        for alg in ALGS {
            if alg == Algorithm::RS256 && backend == Backend::Local {
                slow(&mut group);
            }
            for store in Store::ALL {
                run(
                    &mut group,
                    &rt,
                    &format!("{}/{}/{}", alg_name(alg), backend.name(), store.name()),
                    (store, backend, Tokens::IdToken(alg)),
                    async |fx, _| fx.code(&scope).await,
                    async |fx, code| fx.token(&exchange_body(&code)).await,
                );
            }
        }
    }
    group.finish();
}

fn refresh_token(c: &mut Criterion) {
    let rt = runtime();
    let scope = Scope::parse("offline_access read").expect("scope");
    let mut group = c.benchmark_group("refresh_token");
    for store in Store::ALL {
        run(
            &mut group,
            &rt,
            &format!("rotate/{}", store.name()),
            (store, Backend::Local, Tokens::Opaque),
            async |fx, _| {
                let code = fx.code(&scope).await;
                let tokens = fx.token(&exchange_body(&code)).await;
                tokens.refresh_token.expect("a refresh token")
            },
            async |fx, refresh_token| fx.token(&refresh_body(&refresh_token)).await,
        );
    }
    group.finish();
}

/// Introspection of an active access token by a resource server (the admin API: no
/// client authentication), opaque and JWT.
fn introspection(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("introspection");
    for (name, tokens) in [
        ("opaque", Tokens::Opaque),
        ("jwt-es256", Tokens::Jwt(Algorithm::ES256)),
    ] {
        for store in Store::ALL {
            run(
                &mut group,
                &rt,
                &format!("{name}/{}", store.name()),
                (store, Backend::Local, tokens),
                async |fx, _| {
                    let token = fx.token(CLIENT_CREDENTIALS).await.access_token;
                    format!("token={token}")
                },
                async |fx, body| {
                    let req = IntrospectRequest::from_form(body.as_bytes()).expect("parses");
                    let answer = fx.provider.introspect(req).await.expect("introspected");
                    assert!(answer.is_active());
                },
            );
        }
    }
    group.finish();
}

/// Revocation of a refresh token: its whole grant family, durably.
fn revocation(c: &mut Criterion) {
    let rt = runtime();
    let scope = Scope::parse("offline_access read").expect("scope");
    let mut group = c.benchmark_group("revocation");
    for store in Store::ALL {
        run(
            &mut group,
            &rt,
            &format!("refresh_token/{}", store.name()),
            (store, Backend::Local, Tokens::Opaque),
            async |fx, _| {
                let code = fx.code(&scope).await;
                let tokens = fx.token(&exchange_body(&code)).await;
                format!("token={}", tokens.refresh_token.expect("a refresh token"))
            },
            async |fx, body| {
                let req =
                    RevokeRequest::from_form(body.as_bytes(), Some(&fx.basic)).expect("parses");
                let done = fx.provider.revoke(req).await.expect("revoked");
                assert_eq!(done, Revocation::Grant);
            },
        );
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = authorization_code, refresh_token, introspection, revocation
}
criterion_main!(benches);
