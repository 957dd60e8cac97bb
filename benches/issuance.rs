//! Token issuance at the token endpoint: `client_credentials`, opaque and JWT.
//!
//! Each iteration is one token request as the endpoint receives it: the form body and the
//! `Authorization: Basic` header parsed by `TokenRequest::from_form`, then
//! `Provider::token` (client lookup and secret check, scope and audience checks, minting,
//! storing). Parse and token are measured together.
//!
//! - `client_credentials/opaque/<store>`: an opaque (HMAC) access token.
//! - `client_credentials/jwt-<alg>/<backend>/<store>`: an RFC 9068 JWT access token;
//!   compare with `signature/<alg>/<backend>`.

mod common;

use common::CLIENT_CREDENTIALS;
use common::{alg_name, criterion, nothing, run, runtime, slow, Backend, Store, Tokens, ALGS};
use criterion::{criterion_group, criterion_main, Criterion};
use portcullis::keys::Algorithm;

fn client_credentials(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("client_credentials");
    for store in Store::ALL {
        run(
            &mut group,
            &rt,
            &format!("opaque/{}", store.name()),
            (store, Backend::Local, Tokens::Opaque),
            nothing,
            async |fx, ()| fx.token(CLIENT_CREDENTIALS).await,
        );
    }
    for backend in Backend::all() {
        for alg in ALGS {
            if alg == Algorithm::RS256 && backend == Backend::Local {
                slow(&mut group);
            }
            for store in Store::ALL {
                run(
                    &mut group,
                    &rt,
                    &format!("jwt-{}/{}/{}", alg_name(alg), backend.name(), store.name()),
                    (store, backend, Tokens::Jwt(alg)),
                    nothing,
                    async |fx, ()| fx.token(CLIENT_CREDENTIALS).await,
                );
            }
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = client_credentials
}
criterion_main!(benches);
