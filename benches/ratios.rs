//! The issuance targets as ratios to the signature floor, measured so that a noisy host
//! does not decide them: each round times the floor (one signature with the same key, in
//! a loop) and then the operation, back to back on a fresh store, and the best round of
//! each is kept. Criterion's separate runs of `signing` and `issuance` can land minutes
//! apart on a shared machine, where the floor itself moves by a fifth.
//!
//! ```sh
//! cargo bench --features aws-lc --bench ratios            # 40 rounds
//! cargo bench --features aws-lc --bench ratios -- 10      # fewer rounds
//! ```
//!
//! Prints one Markdown table row per operation and backend.

mod common;

use std::time::Instant;

use common::{runtime, typical_claims, Backend, Fixture, Store, Tokens, CLIENT_CREDENTIALS};
use portcullis::keys::Algorithm;

/// What is measured against the floor of one signature with `alg`.
#[derive(Clone, Copy)]
enum Operation {
    /// `client_credentials` with a JWT access token.
    JwtIssuance(Algorithm),
    /// The whole authorization-code flow with an ID token (one signature).
    CodeFlow(Algorithm),
}

impl Operation {
    fn name(self) -> String {
        match self {
            Self::JwtIssuance(alg) => format!("client_credentials, JWT {}", alg.as_str()),
            Self::CodeFlow(alg) => format!("full code flow, {} ID token", alg.as_str()),
        }
    }

    fn alg(self) -> Algorithm {
        match self {
            Self::JwtIssuance(alg) | Self::CodeFlow(alg) => alg,
        }
    }

    fn tokens(self) -> Tokens {
        match self {
            Self::JwtIssuance(alg) => Tokens::Jwt(alg),
            Self::CodeFlow(alg) => Tokens::IdToken(alg),
        }
    }
}

/// Iterations per round: about 50 ms of signatures.
fn iterations(backend: Backend, alg: Algorithm) -> u32 {
    match (backend.name(), alg) {
        ("aws-lc", Algorithm::ES256) => 2000,
        ("aws-lc", _) | (_, Algorithm::ES256) => 200,
        _ => 20,
    }
}

fn main() {
    // `cargo bench` passes `--bench`; a bare number sets the rounds.
    let rounds: u32 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(40);
    let rt = runtime();
    let payload = typical_claims();
    println!("| operation | backend | floor | operation | ratio |");
    println!("| --- | --- | --- | --- | --- |");
    for backend in Backend::all() {
        let signer = backend.signer();
        for op in [
            Operation::JwtIssuance(Algorithm::ES256),
            Operation::JwtIssuance(Algorithm::RS256),
            Operation::CodeFlow(Algorithm::ES256),
        ] {
            let n = iterations(backend, op.alg());
            let (mut floor, mut cost) = (f64::MAX, f64::MAX);
            for _ in 0..rounds {
                let start = Instant::now();
                for _ in 0..n {
                    std::hint::black_box(signer.sign(op.alg(), "JWT", &payload).expect("signs"));
                }
                floor = floor.min(start.elapsed().as_secs_f64() / f64::from(n));
                let round = rt.block_on(async {
                    let fx = Fixture::with_signer(Store::Memory, signer.clone(), op.tokens()).await;
                    let subjects: Vec<String> = (0..n).map(|i| format!("user-{i}")).collect();
                    let start = Instant::now();
                    for subject in &subjects {
                        match op {
                            Operation::JwtIssuance(_) => {
                                std::hint::black_box(fx.token(CLIENT_CREDENTIALS).await);
                            }
                            Operation::CodeFlow(_) => {
                                std::hint::black_box(fx.code_flow(subject).await);
                            }
                        }
                    }
                    start.elapsed().as_secs_f64() / f64::from(n)
                });
                cost = cost.min(round);
            }
            println!(
                "| {}, memory | {} | {} | {} | {:.2}× |",
                op.name(),
                backend.name(),
                micros(floor),
                micros(cost),
                cost / floor
            );
        }
    }
}

/// Seconds as µs, or ms from a millisecond up.
fn micros(seconds: f64) -> String {
    if seconds >= 1e-3 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.1} µs", seconds * 1e6)
    }
}
