//! A whole authorization-code flow in the engine, as a browser, the login and consent
//! apps and the client drive it (the steps of `tests/authorize.rs`):
//! authorize → accept_login → follow the login verifier → accept_consent → follow the
//! consent verifier → code exchange with PKCE (S256) → opaque access token, refresh token
//! and an ES256 ID token.
//!
//! - `code_flow/es256/<backend>/<store>`: one ES256 signature per flow; compare with
//!   `signature/es256/<backend>`. Each flow logs in a different user (as real traffic
//!   does), neither login nor consent remembered.

mod common;

use common::{criterion, run, runtime, Backend, Store, Tokens};
use criterion::{criterion_group, criterion_main, Criterion};
use portcullis::keys::Algorithm;

fn code_flow(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("code_flow");
    for backend in Backend::all() {
        for store in Store::ALL {
            run(
                &mut group,
                &rt,
                &format!("es256/{}/{}", backend.name(), store.name()),
                (store, backend, Tokens::IdToken(Algorithm::ES256)),
                async |_, i| format!("user-{i}"),
                async |fx, subject| fx.code_flow(&subject).await,
            );
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = code_flow
}
criterion_main!(benches);
