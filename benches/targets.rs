//! The performance targets, measured so that a noisy host does not decide them: each
//! round runs an operation a few thousand times on a fresh store, and the best round is
//! kept. A JWT operation is compared with its floor (one signature with the same key, in a
//! loop) timed in the same round, just before it: criterion's separate runs of `signing`
//! and `issuance` can land minutes apart on a shared machine, where the floor itself
//! moves by a fifth. Every row runs in a process of its own.
//!
//! ```sh
//! cargo bench --features aws-lc --bench targets            # 40 rounds
//! cargo bench --features aws-lc --bench targets -- 10      # fewer rounds
//! PORTCULLIS_BENCH_POSTGRES=postgres://… \
//!   cargo bench --features aws-lc,postgres --bench targets  # with PostgreSQL rows
//! ```
//!
//! Prints one Markdown table row per operation, store and backend. A JWT row also gives
//! where its time goes: the operation with a signer that returns at once (the engine's
//! own work), and its signature as timed inside the operation (colder than in the
//! floor's loop).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
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

/// A signer that returns at once (a distinct short token each time): the operation's
/// cost without its signature.
#[derive(Default)]
struct Unsigned(AtomicU64);

impl KeySigner for Unsigned {
    fn sign(&self, _: Algorithm, _: &str, _: &[u8]) -> portcullis::Result<String> {
        Ok(format!(
            "e30.e30.{}",
            self.0.fetch_add(1, Ordering::Relaxed)
        ))
    }
    fn current_kid(&self, _: Algorithm) -> Option<String> {
        Some("unsigned".to_owned())
    }
    fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [] })
    }
    fn algorithms(&self) -> Vec<Algorithm> {
        vec![Algorithm::RS256, Algorithm::ES256]
    }
}

/// The backend's signer, timing its signatures: what one costs inside the operation.
struct Timed {
    inner: Arc<dyn KeySigner>,
    nanos: AtomicU64,
    count: AtomicU64,
}

impl Timed {
    fn new(inner: Arc<dyn KeySigner>) -> Self {
        Timed {
            inner,
            nanos: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    fn time<T>(&self, sign: impl FnOnce() -> T) -> T {
        let start = Instant::now();
        let signed = sign();
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        signed
    }

    /// Seconds per signature so far.
    fn mean(&self) -> f64 {
        let count = self.count.load(Ordering::Relaxed).max(1);
        self.nanos.load(Ordering::Relaxed) as f64 * 1e-9 / count as f64
    }
}

impl KeySigner for Timed {
    fn sign(&self, alg: Algorithm, typ: &str, payload: &[u8]) -> portcullis::Result<String> {
        self.time(|| self.inner.sign(alg, typ, payload))
    }
    fn sign_digested(
        &self,
        alg: Algorithm,
        typ: &str,
        payload: &[u8],
    ) -> portcullis::Result<(String, [u8; 32])> {
        self.time(|| self.inner.sign_digested(alg, typ, payload))
    }
    fn current_kid(&self, alg: Algorithm) -> Option<String> {
        self.inner.current_kid(alg)
    }
    fn jwks(&self) -> serde_json::Value {
        self.inner.jwks()
    }
    fn algorithms(&self) -> Vec<Algorithm> {
        self.inner.algorithms()
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

/// The rows of the table, in order: an operation on a store with a backend's signer.
fn rows() -> Vec<(Backend, Operation, Store)> {
    // Nothing signed: the backend does not matter, so the opaque rows run once.
    let mut rows = vec![
        (Backend::Local, Operation::OpaqueIssuance, Store::Memory),
        (Backend::Local, Operation::OpaqueIssuance, Store::Sled),
        (
            Backend::Local,
            Operation::OpaqueIntrospection,
            Store::Memory,
        ),
    ];
    if cfg!(feature = "postgres") && std::env::var(common::POSTGRES_ENV).is_ok() {
        rows.push((Backend::Local, Operation::OpaqueIssuance, Store::Postgres));
        rows.push((
            Backend::Local,
            Operation::OpaqueIntrospection,
            Store::Postgres,
        ));
    }
    for backend in Backend::all() {
        for op in [
            Operation::JwtIssuance(Algorithm::ES256),
            Operation::JwtIssuance(Algorithm::RS256),
            Operation::CodeFlow(Algorithm::ES256),
        ] {
            rows.push((backend, op, Store::Memory));
        }
    }
    rows
}

/// Runs every row in a process of its own (this executable, given `--row=N`), so that no
/// row inherits what another left behind: in one process, the rows run after the
/// SledStore row (whose I/O threads stay, and whose heap the allocator keeps) ran up to
/// 0.4 µs slower than alone.
fn main() {
    // `cargo bench` passes `--bench`; a bare number sets the rounds.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rounds: u32 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(40);
    let row = args.iter().find_map(|a| {
        a.strip_prefix("--row=")
            .and_then(|n| n.parse::<usize>().ok())
    });
    if let Some(row) = row {
        let (backend, op, store) = rows()[row];
        println!("{}", measure(backend, op, store, rounds));
        return;
    }
    println!(
        "| operation | store | backend | floor | operation | ratio | unsigned | signature inside |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    let me = std::env::current_exe().expect("the bench's own path");
    for row in 0..rows().len() {
        let out = std::process::Command::new(&me)
            .arg(format!("--row={row}"))
            .arg(rounds.to_string())
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("the row's process runs");
        assert!(out.status.success(), "row {row} failed: {}", out.status);
        print!("{}", String::from_utf8_lossy(&out.stdout));
    }
}

/// One row: the best of `rounds` rounds, and for a JWT operation its floor, its cost
/// unsigned and its signature's cost inside it.
fn measure(backend: Backend, op: Operation, store: Store, rounds: u32) -> String {
    let rt = runtime();
    let payload = typical_claims();
    let signer = backend.signer();
    let n = iterations(backend, op.alg(), store);
    let (mut floor, mut cost) = (f64::MAX, f64::MAX);
    let (mut unsigned, mut inside) = (f64::MAX, f64::MAX);
    for _ in 0..rounds {
        if let Some(alg) = op.alg() {
            let start = Instant::now();
            for _ in 0..n {
                std::hint::black_box(signer.sign(alg, "JWT", &payload).expect("signs"));
            }
            floor = floor.min(start.elapsed().as_secs_f64() / f64::from(n));
        }
        cost = cost.min(round(&rt, store, &signer, op, n));
        if op.alg().is_some() {
            let none: Arc<dyn KeySigner> = Arc::new(Unsigned::default());
            unsigned = unsigned.min(round(&rt, store, &none, op, n));
            let timed = Arc::new(Timed::new(signer.clone()));
            round(&rt, store, &(timed.clone() as Arc<dyn KeySigner>), op, n);
            inside = inside.min(timed.mean());
        }
    }
    let dash = || "—".to_owned();
    let (backend, floor, ratio, unsigned, inside) = match op.alg() {
        Some(_) => (
            backend.name(),
            micros(floor),
            format!("{:.3}×", cost / floor),
            micros(unsigned),
            micros(inside),
        ),
        None => ("—", dash(), dash(), dash(), dash()),
    };
    format!(
        "| {} | {} | {backend} | {floor} | {} | {ratio} | {unsigned} | {inside} |",
        op.name(),
        store.name(),
        micros(cost),
    )
}

/// Seconds as µs, or ms from a millisecond up.
fn micros(seconds: f64) -> String {
    if seconds >= 1e-3 {
        format!("{:.2} ms", seconds * 1e3)
    } else {
        format!("{:.2} µs", seconds * 1e6)
    }
}
