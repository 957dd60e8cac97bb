//! The floor: what one JWS signature costs with the keys the engine signs with, for a
//! typical claims payload (an RFC 9068 access token, ~300 bytes). Every JWT figure of the
//! other benches is read against the row of its algorithm and backend here.
//!
//! `signature/<alg>/<backend>`: `KeySigner::sign(alg, "JWT", payload)`, which is the
//! signature plus base64url of the payload and signature (the header is pre-encoded).

mod common;

use std::hint::black_box;

use common::{alg_name, criterion, slow, typical_claims, Backend, ALGS};
use criterion::{criterion_group, criterion_main, Criterion};
use portcullis::keys::Algorithm;

fn signature(c: &mut Criterion) {
    let payload = typical_claims();
    let mut group = c.benchmark_group("signature");
    for backend in Backend::all() {
        for alg in ALGS {
            if alg == Algorithm::RS256 && backend == Backend::Local {
                slow(&mut group);
            }
            let signer = backend.signer();
            group.bench_function(format!("{}/{}", alg_name(alg), backend.name()), |b| {
                b.iter(|| {
                    signer
                        .sign(alg, "JWT", black_box(&payload))
                        .expect("signed")
                })
            });
        }
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = criterion();
    targets = signature
}
criterion_main!(benches);
