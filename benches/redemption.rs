//! Redeeming what was issued: authorization codes and refresh tokens at the token
//! endpoint (request parsing and client authentication included).
//!
//! - `authorization_code/<alg>/<backend>/<store>`: a code bound to a redirect URI and a
//!   PKCE challenge (S256), scope `openid offline_access profile`, exchanged for an
//!   opaque access token, a refresh token and an ID token signed with `<alg>`; compare
//!   with `signature/<alg>/<backend>`. The codes are issued before the timer starts
//!   (`Provider::issue_authorization_code`).
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

// TODO(introspection, revocation): `Provider::introspect` and `Provider::revoke` land on
// another branch. Add here, issuing the tokens in `prepare` as above:
// - `introspection/opaque/<store>` and `introspection/jwt-es256/<store>`: an active
//   access token introspected by its resource server (client auth included);
// - `revocation/refresh_token/<store>`: a refresh token revoked with its grant family.
// `run` times anything returning a `TokenResponse`; generalise its output type to `T`.

criterion_group! {
    name = benches;
    config = criterion();
    targets = authorization_code, refresh_token
}
criterion_main!(benches);
