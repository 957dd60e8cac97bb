//! A process killed mid-work keeps everything it answered: a SledStore that a child
//! process was writing when it got SIGKILL reopens, and every revocation, code redemption
//! and refresh rotation the child reported as done still holds, while what it had not
//! touched still works. Unlike a reopen after a clean drop (tests/durability.rs),
//! nothing gets a chance to flush on the way out, so this checks that a spending
//! operation is durable when it returns.
//!
//! The children are this test binary run again with `crash_child`, which is ignored
//! unless `PORTCULLIS_CRASH_DIR` names its store. A first child issues tokens and codes
//! and exits cleanly, so they are on disk. A second one spends them, reporting each
//! operation on stdout once it has returned, and the parent kills it right after a
//! chosen report, in the middle of the next operation.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use common::*;
use portcullis::clock::MockClock;
use portcullis::storage::SledStore;
use portcullis::{Config, CreatedClient, ErrorCode, Provider, Revocation};

const DIR_VAR: &str = "PORTCULLIS_CRASH_DIR";
/// The child's work: empty to issue, else the client and the items to spend.
const WORK_VAR: &str = "PORTCULLIS_CRASH_WORK";
/// Marks the child's report lines among the test harness's own output.
const MARK: &str = "@@ ";
/// Items of each kind the first child issues.
const ITEMS: usize = 4;

/// A provider on the sled store in `dir`. The mock clock stands still, so the parent and
/// the children agree on the time.
async fn provider(dir: &std::path::Path) -> Fixture {
    let provider = Provider::builder(Config::new(ISSUER, [7u8; 32]))
        .store(SledStore::open(dir).expect("the store opens, after a crash too"))
        .clock(MockClock::default())
        .build()
        .await
        .expect("provider builds");
    Fixture {
        provider,
        clock: MockClock::default(),
    }
}

fn report(line: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{MARK}{line}").unwrap();
    out.flush().unwrap();
}

/// What a child spends, in order: each access token, code and refresh token at index i
/// is spent as operations 3i, 3i + 1 and 3i + 2.
#[derive(Debug, Clone)]
struct Work {
    client_id: String,
    secret: String,
    tokens: Vec<String>,
    codes: Vec<String>,
    refresh: Vec<String>,
}

impl Work {
    fn client(&self) -> CreatedClient {
        CreatedClient {
            client: portcullis::model::Client {
                client_id: self.client_id.clone(),
                ..portcullis::model::Client::default()
            },
            client_secret: Some(self.secret.clone()),
        }
    }

    fn encode(&self) -> String {
        let mut parts = vec![self.client_id.clone(), self.secret.clone()];
        parts.extend(
            self.tokens
                .iter()
                .chain(&self.codes)
                .chain(&self.refresh)
                .cloned(),
        );
        parts.join(" ")
    }

    fn decode(text: &str) -> Self {
        let parts: Vec<String> = text.split(' ').map(str::to_owned).collect();
        let items = |k: usize| parts[2 + k * ITEMS..2 + (k + 1) * ITEMS].to_vec();
        Self {
            client_id: parts[0].clone(),
            secret: parts[1].clone(),
            tokens: items(0),
            codes: items(1),
            refresh: items(2),
        }
    }
}

/// A child: issues (and exits cleanly), or spends and reports until it is killed.
#[tokio::test]
#[ignore = "run by killed_mid_work_keeps_what_it_answered"]
async fn crash_child() {
    let Some(dir) = std::env::var_os(DIR_VAR) else {
        return;
    };
    let f = provider(dir.as_ref()).await;
    let work = std::env::var(WORK_VAR).unwrap_or_default();
    if work.is_empty() {
        let client = f.client(web_client()).await;
        let mut work = Work {
            client_id: client.client.client_id.clone(),
            secret: client.client_secret.clone().unwrap(),
            tokens: vec![],
            codes: vec![],
            refresh: vec![],
        };
        let scope = "openid offline_access";
        for _ in 0..ITEMS {
            let cc = f.token("grant_type=client_credentials", Some(&client));
            work.tokens.push(cc.await.unwrap().access_token);
            work.codes
                .push(f.code(&client.client.client_id, scope).await);
            let code = f.code(&client.client.client_id, scope).await;
            let tokens = f.exchange(&code, &client).await.unwrap();
            work.refresh.push(tokens.refresh_token.unwrap());
        }
        report(&work.encode());
        return;
    }
    let work = Work::decode(&work);
    let client = work.client();
    // Each operation starts when the parent says so: it kills this child during the one
    // it lets start after its chosen report, never later.
    let mut go = std::io::stdin().lock();
    let mut proceed = || {
        let mut byte = [0u8];
        std::io::Read::read_exact(&mut go, &mut byte).expect("the parent says go");
    };
    for i in 0..ITEMS {
        proceed();
        let revoked = f.revoke(&work.tokens[i], &client).await.unwrap();
        assert_eq!(revoked, Revocation::AccessToken);
        report(&format!("{}", 3 * i));
        proceed();
        f.exchange(&work.codes[i], &client).await.unwrap();
        report(&format!("{}", 3 * i + 1));
        proceed();
        f.refresh(&work.refresh[i], &client).await.unwrap();
        report(&format!("{}", 3 * i + 2));
    }
}

/// Runs a child on `dir` with `work`, killing it after `kill_after` reports (if given),
/// in the operation it starts next; returns its reports.
fn run_child(dir: &std::path::Path, work: &str, kill_after: Option<usize>) -> Vec<String> {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["crash_child", "--exact", "--ignored", "--nocapture"])
        .env(DIR_VAR, dir)
        .env(WORK_VAR, work)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the child starts");
    let mut go = child.stdin.take().unwrap();
    let mut start_next = || {
        // A child that is done (the issuing one) reads nothing: ignore a closed pipe.
        let _ = go.write_all(b"g").and_then(|()| go.flush());
    };
    start_next();
    let out = BufReader::new(child.stdout.take().unwrap());
    let mut reports = Vec::new();
    for line in out.lines() {
        if let Some(report) = line.unwrap().strip_prefix(MARK) {
            reports.push(report.to_owned());
            start_next();
            if Some(reports.len()) == kill_after {
                // SIGKILL, while the child is in the operation it just started (or
                // before it starts it): it cannot start another.
                child.kill().unwrap();
                break;
            }
        }
    }
    let status = child.wait().unwrap();
    if kill_after.is_none() {
        assert!(status.success(), "the child failed: {status}");
    }
    reports
}

#[tokio::test]
async fn killed_mid_work_keeps_what_it_answered() {
    let dir = TempDir::new("crash");
    // The operation cut short is a redemption, a rotation and a revocation.
    for kill_after in [1, 5, 9] {
        let issued = run_child(&dir.0, "", None);
        let work = Work::decode(&issued[0]);
        let spent = run_child(&dir.0, &work.encode(), Some(kill_after));
        assert_eq!(
            spent.len(),
            kill_after,
            "the child stopped early: {spent:?}"
        );

        // The killed process held the database's lock; it is gone, so this opens.
        let f = provider(&dir.0).await;
        let client = work.client();
        for op in 0..3 * ITEMS {
            // The operation in progress when the child was killed may or may not have
            // happened.
            if op == kill_after {
                continue;
            }
            let done = op < kill_after;
            let i = op / 3;
            match op % 3 {
                0 => assert_eq!(
                    f.introspect(&work.tokens[i]).await.is_active(),
                    !done,
                    "access token {i}, revoked: {done}"
                ),
                1 => {
                    let redeemed = f.exchange(&work.codes[i], &client).await;
                    let refused =
                        matches!(&redeemed, Err(e) if e.code() == ErrorCode::InvalidGrant);
                    assert_eq!(
                        refused, done,
                        "code {i}, redeemed before: {done}: {redeemed:?}"
                    );
                }
                _ => {
                    let rotated = f.refresh(&work.refresh[i], &client).await;
                    let refused = matches!(&rotated, Err(e) if e.code() == ErrorCode::InvalidGrant);
                    assert_eq!(
                        refused, done,
                        "refresh token {i}, rotated before: {done}: {rotated:?}"
                    );
                }
            }
        }
    }
}
