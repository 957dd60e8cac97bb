//! The performance targets, measured so that a noisy host does not decide them: each
//! round runs an operation a few thousand times on a fresh store, and the best round is
//! kept. A JWT operation is compared with its floor (one signature with the same key, in a
//! loop) timed in the same round, just before it: criterion's separate runs of `signing`
//! and `issuance` can land minutes apart on a shared machine, where the floor itself
//! moves by a fifth.
//!
//! ```sh
//! cargo bench --features aws-lc --bench targets            # 40 rounds
//! cargo bench --features aws-lc --bench targets -- 10      # fewer rounds
//! PORTCULLIS_BENCH_POSTGRES=postgres://… \
//!   cargo bench --features aws-lc,postgres --bench targets  # with PostgreSQL rows
//! ```
//!
//! Prints one Markdown table row per operation, store and backend.

mod common;

use std::sync::Arc;
use std::time::Instant;

use common::{runtime, typical_claims, Backend, Fixture, Store, Tokens, CLIENT_CREDENTIALS};
use portcullis::keys::{Algorithm, KeySigner};
use portcullis::IntrospectRequest;

/// What is measured; the JWT operations against the floor of one signature with `alg`.
#[derive(Clone, Copy)]
enum Operation {
    /// `client_credentials` with an opaque access token.
    OpaqueIssuance,
    /// Introspection of an active opaque access token.
    OpaqueIntrospection,
    /// `client_credentials` with a JWT access token.
    JwtIssuance(Algorithm),
    /// The whole authorization-code flow with an ID token (one signature).
    CodeFlow(Algorithm),
}

impl Operation {
    fn name(self) -> String {
        match self {
            Self::OpaqueIssuance => "client_credentials, opaque".to_owned(),
            Self::OpaqueIntrospection => "introspection, opaque".to_owned(),
            Self::JwtIssuance(alg) => format!("client_credentials, JWT {}", alg.as_str()),
            Self::CodeFlow(alg) => format!("full code flow, {} ID token", alg.as_str()),
        }
    }

    /// The algorithm of the operation's one signature, if it signs.
    fn alg(self) -> Option<Algorithm> {
        match self {
            Self::OpaqueIssuance | Self::OpaqueIntrospection => None,
            Self::JwtIssuance(alg) | Self::CodeFlow(alg) => Some(alg),
        }
    }

    fn tokens(self) -> Tokens {
        match self {
            Self::OpaqueIssuance | Self::OpaqueIntrospection => Tokens::Opaque,
            Self::JwtIssuance(alg) => Tokens::Jwt(alg),
            Self::CodeFlow(alg) => Tokens::IdToken(alg),
        }
    }
}

/// Iterations per round: about 50 ms of signatures, or a few milliseconds of work.
fn iterations(backend: Backend, alg: Option<Algorithm>, store: Store) -> u32 {
    match (backend.name(), alg) {
        _ if store == Store::Postgres => 500,
        (_, None) => 5000,
        ("aws-lc", Some(Algorithm::ES256)) => 2000,
        ("aws-lc", _) | (_, Some(Algorithm::ES256)) => 200,
        _ => 20,
    }
}

/// The time of one operation in a round of `n`, on a fresh store.
fn round(
    rt: &tokio::runtime::Runtime,
    store: Store,
    signer: &Arc<dyn KeySigner>,
    op: Operation,
    n: u32,
) -> f64 {
    rt.block_on(async {
        let fx = Fixture::with_signer(store, signer.clone(), op.tokens()).await;
        let inputs: Vec<String> = match op {
            Operation::OpaqueIntrospection => {
                let mut bodies = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let token = fx.token(CLIENT_CREDENTIALS).await.access_token;
                    bodies.push(format!("token={token}"));
                }
                bodies
            }
            _ => (0..n).map(|i| format!("user-{i}")).collect(),
        };
        let start = Instant::now();
        for input in &inputs {
            match op {
                Operation::OpaqueIssuance | Operation::JwtIssuance(_) => {
                    std::hint::black_box(fx.token(CLIENT_CREDENTIALS).await);
                }
                Operation::OpaqueIntrospection => {
                    let req = IntrospectRequest::from_form(input.as_bytes()).expect("parses");
                    let answer = fx.provider.introspect(req).await.expect("answers");
                    assert!(answer.is_active());
                }
                Operation::CodeFlow(_) => {
                    std::hint::black_box(fx.code_flow(input).await);
                }
            }
        }
        start.elapsed().as_secs_f64() / f64::from(n)
    })
}

fn main() {
    // `cargo bench` passes `--bench`; a bare number sets the rounds.
    let rounds: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(40);
    let rt = runtime();
    let payload = typical_claims();
    println!("| operation | store | backend | floor | operation | ratio |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for backend in Backend::all() {
        let signer = backend.signer();
        let mut ops = vec![
            (Operation::JwtIssuance(Algorithm::ES256), Store::Memory),
            (Operation::JwtIssuance(Algorithm::RS256), Store::Memory),
            (Operation::CodeFlow(Algorithm::ES256), Store::Memory),
        ];
        if backend == Backend::Local {
            // Nothing signed: the backend does not matter, so these run once.
            ops.splice(
                0..0,
                [
                    (Operation::OpaqueIssuance, Store::Memory),
                    (Operation::OpaqueIssuance, Store::Sled),
                    (Operation::OpaqueIntrospection, Store::Memory),
                ],
            );
            if cfg!(feature = "postgres") && std::env::var(common::POSTGRES_ENV).is_ok() {
                ops.splice(
                    3..3,
                    [
                        (Operation::OpaqueIssuance, Store::Postgres),
                        (Operation::OpaqueIntrospection, Store::Postgres),
                    ],
                );
            }
        }
        for (op, store) in ops {
            let n = iterations(backend, op.alg(), store);
            let (mut floor, mut cost) = (f64::MAX, f64::MAX);
            for _ in 0..rounds {
                if let Some(alg) = op.alg() {
                    let start = Instant::now();
                    for _ in 0..n {
                        std::hint::black_box(signer.sign(alg, "JWT", &payload).expect("signs"));
                    }
                    floor = floor.min(start.elapsed().as_secs_f64() / f64::from(n));
                }
                cost = cost.min(round(&rt, store, &signer, op, n));
            }
            let (backend, floor, ratio) = match op.alg() {
                Some(_) => (
                    backend.name(),
                    micros(floor),
                    format!("{:.2}×", cost / floor),
                ),
                None => ("—", "—".to_owned(), "—".to_owned()),
            };
            println!(
                "| {} | {} | {backend} | {floor} | {} | {ratio} |",
                op.name(),
                store.name(),
                micros(cost),
            );
        }
    }
}

/// Seconds as µs, or ms from a millisecond up.
fn micros(seconds: f64) -> String {
    if seconds >= 1e-3 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.2} µs", seconds * 1e6)
    }
}
