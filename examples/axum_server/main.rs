//! The portcullis reference server on axum: Hydra's public API on 127.0.0.1:4444 and its
//! admin API on 127.0.0.1:4445.
//!
//! ```sh
//! cargo run --release --example axum_server
//! ```
//!
//! Configured by Hydra's environment variables (see `Config::from_env_with`), plus:
//!
//! - `SERVE_HOST` (127.0.0.1), `SERVE_PUBLIC_PORT` (4444), `SERVE_ADMIN_PORT` (4445);
//! - `DSN`: `memory`, a directory for the sled store (`./portcullis-data`), or
//!   `postgres://user:password@host/db` for the PostgreSQL store (built with
//!   `--features postgres`; every instance on one database shares its state, and reads
//!   the signing keys again every 30 s, following rotations by the others); TLS as the
//!   URL's `sslmode` asks, the server verified against the web PKI's roots and the PEM
//!   file `PGSSLROOTCERT` (see `postgres_tls.rs`);
//! - `URLS_SELF_ISSUER` defaults to `http://127.0.0.1:<public port>`;
//! - `SECRETS_SYSTEM`, when unset, is generated and kept in `<DSN>/system-secret`
//!   (in memory with `DSN=memory`), with a warning; with PostgreSQL it must be set, the
//!   same for every instance;
//! - without `URLS_LOGIN` and `URLS_CONSENT`, a demo login / consent UI that accepts any
//!   username is served under `/ui/` and a demo client `demo` is created;
//! - `SERVE_PUBLIC_CORS_ENABLED=true` turns on CORS for the public API, for the origins
//!   of `SERVE_PUBLIC_CORS_ALLOWED_ORIGINS` (comma-separated) and each client's
//!   `allowed_cors_origins`; `SERVE_ADMIN_CORS_ENABLED` and
//!   `SERVE_ADMIN_CORS_ALLOWED_ORIGINS` the same for the admin API (its list only).
//!
//! A `private_key_jwt` client may register its keys inline (`jwks`) or by URL
//! (`jwks_uri`, fetched over HTTPS and cached, see `jwks_fetcher.rs`). Requests to
//! clients' URLs (`jwks_uri`, `backchannel_logout_uri`) reach public addresses only
//! unless `CLIENTS_HTTP_DISALLOW_PRIVATE_IP_RANGES=false` (Hydra's variable; here it
//! defaults to true), and trust the certificates of the PEM file
//! `CLIENTS_HTTP_CA_CERTS` besides the web PKI's roots (see `outbound.rs`).
//!
//! `RUST_LOG` sets the log level (`info`).

use std::error::Error;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use portcullis::http::{CorsOptions, ServerOptions};
use portcullis::storage::{MemoryStore, SledStore};
use portcullis::token::pkce::s256_challenge;
use portcullis::{ClientRequest, Config, Provider};
use tokio::net::TcpListener;
use tokio::sync::watch;

use app::jwks_fetcher::{HttpJwksFetcher, Timing};
use app::outbound::Outbound;

mod app;
#[cfg(feature = "postgres")]
mod postgres_tls;

type BoxError = Box<dyn Error + Send + Sync>;

const DEMO_CLIENT: &str = "demo";
const DEMO_REDIRECT: &str = "http://127.0.0.1:8080/callback";

enum Store {
    Memory,
    Sled(PathBuf),
    Postgres(String),
}

/// How often an instance on PostgreSQL reads the signing keys again.
const KEY_RELOAD_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);

#[cfg(feature = "postgres")]
async fn postgres(url: &str) -> Result<portcullis::storage::PostgresStore, BoxError> {
    let ca = match env("PGSSLROOTCERT") {
        Some(path) => {
            Some(std::fs::read(&path).map_err(|e| format!("PGSSLROOTCERT {path:?}: {e}"))?)
        }
        None => None,
    };
    let tls = postgres_tls::connector(ca.as_deref()).map_err(|e| format!("PGSSLROOTCERT: {e}"))?;
    Ok(portcullis::storage::PostgresStore::connect_with(url, tls)
        .await
        .map_err(|e| format!("DSN: connecting to PostgreSQL: {e}"))?)
}

#[cfg(not(feature = "postgres"))]
async fn postgres(_: &str) -> Result<MemoryStore, BoxError> {
    Err("DSN: the PostgreSQL store needs the `postgres` feature: \
         cargo run --release --features postgres --example axum_server"
        .into())
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn port(name: &str, default: u16) -> Result<u16, BoxError> {
    match env(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| format!("{name} must be a port number, not {v:?}").into()),
    }
}

/// CORS options from `SERVE_<API>_CORS_ENABLED` and `SERVE_<API>_CORS_ALLOWED_ORIGINS`
/// (`api` is `PUBLIC` or `ADMIN`, as Hydra names them).
/// A `true` / `false` variable.
fn flag(name: &str, default: bool) -> Result<bool, BoxError> {
    match env(name).as_deref() {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(v) => Err(format!("{name} must be true or false, not {v:?}").into()),
    }
}

/// The policy for requests to clients' URLs, from `CLIENTS_HTTP_*`.
fn outbound() -> Result<Outbound, BoxError> {
    let mut outbound = Outbound::public_only();
    if !flag("CLIENTS_HTTP_DISALLOW_PRIVATE_IP_RANGES", true)? {
        outbound = outbound.allowing_private();
    }
    if let Some(path) = env("CLIENTS_HTTP_CA_CERTS") {
        let pem =
            std::fs::read(&path).map_err(|e| format!("CLIENTS_HTTP_CA_CERTS {path:?}: {e}"))?;
        outbound = outbound
            .trusting_pem(&pem)
            .map_err(|e| format!("CLIENTS_HTTP_CA_CERTS {path:?}: {e}"))?;
    }
    Ok(outbound)
}

fn cors(api: &str) -> Result<Option<CorsOptions>, BoxError> {
    if !flag(&format!("SERVE_{api}_CORS_ENABLED"), false)? {
        return Ok(None);
    }
    let name = format!("SERVE_{api}_CORS_ALLOWED_ORIGINS");
    let origins = env(&name).unwrap_or_default();
    let origins = origins.split(',').map(str::trim).filter(|o| !o.is_empty());
    let cors =
        CorsOptions::allowing(origins).map_err(|e| format!("{name}: {}", e.description()))?;
    Ok(Some(cors))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    match run().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BoxError> {
    let host = env("SERVE_HOST").unwrap_or_else(|| "127.0.0.1".into());
    let public_port = port("SERVE_PUBLIC_PORT", 4444)?;
    let admin_port = port("SERVE_ADMIN_PORT", 4445)?;
    let store = match env("DSN").as_deref().unwrap_or("./portcullis-data") {
        "memory" => Store::Memory,
        dsn if dsn.starts_with("postgres://") || dsn.starts_with("postgresql://") => {
            Store::Postgres(dsn.to_owned())
        }
        dsn if dsn.contains("://") => {
            return Err(format!(
                "DSN: {:?} is not supported; use `memory`, a directory for the sled store \
                 or a postgres:// URL",
                dsn.split("://").next().unwrap_or_default()
            )
            .into())
        }
        dir => Store::Sled(PathBuf::from(dir)),
    };

    // Friendly defaults for a first run; Hydra's variables win when set.
    let issuer = env("URLS_SELF_ISSUER").unwrap_or_else(|| {
        let shown = match host.as_str() {
            "0.0.0.0" | "::" | "[::]" => "127.0.0.1",
            h => h,
        };
        format!("http://{shown}:{public_port}")
    });
    let demo_ui = env("URLS_LOGIN").is_none() && env("URLS_CONSENT").is_none();
    let secret = match (env("SECRETS_SYSTEM"), &store) {
        (Some(s), _) => s,
        (None, Store::Sled(dir)) => persisted_secret(dir)?,
        (None, Store::Postgres(_)) => {
            return Err(
                "SECRETS_SYSTEM must be set with a PostgreSQL DSN: every instance \
                        on the database needs the same secret"
                    .into(),
            )
        }
        (None, Store::Memory) => {
            tracing::warn!("SECRETS_SYSTEM is not set: using a random secret for this run only");
            random_hex(32)
        }
    };
    let config = Config::from_env_with(|k| match k {
        "URLS_SELF_ISSUER" => Some(issuer.clone()),
        "SECRETS_SYSTEM" => Some(secret.clone()),
        _ => env(k),
    })?;

    // private_key_jwt clients may register their keys by URL: fetched over HTTPS.
    let outbound = outbound()?;
    let fetcher = HttpJwksFetcher::new(outbound.clone(), Timing::default())?;
    let builder = Provider::builder(config).jwks_fetcher(std::sync::Arc::new(fetcher));
    let builder = match &store {
        Store::Memory => builder.store(MemoryStore::new()),
        Store::Sled(dir) => {
            builder.store(SledStore::open(dir).map_err(|e| format!("DSN {dir:?}: {e}"))?)
        }
        Store::Postgres(url) => builder.store(postgres(url).await?),
    };
    // No signer given: the keys are loaded from the store, or generated and sealed there.
    let provider = builder
        .build()
        .await
        .map_err(|e| format!("starting the provider: {e}"))?;
    if matches!(store, Store::Postgres(_)) {
        // Other instances on the database may rotate the signing keys, or, started at
        // the same moment, have made keys of their own: follow the stored key set.
        let provider = provider.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(KEY_RELOAD_INTERVAL);
            loop {
                every.tick().await;
                if let Err(e) = provider.reload_keys().await {
                    tracing::warn!(error = %e, "reloading the signing keys");
                }
            }
        });
    }
    let mut options = ServerOptions::default();
    options.cors = cors("PUBLIC")?;
    options.admin_cors = cors("ADMIN")?;
    let server = app::server(provider.clone(), outbound)?.with_options(options);

    let demo = if demo_ui {
        tracing::warn!("URLS_LOGIN / URLS_CONSENT not set: serving the demo UI (any username logs in) under /ui/");
        Some(app::demo_ui::DemoUi::new(provider.clone()))
    } else {
        None
    };
    let public = TcpListener::bind((host.as_str(), public_port))
        .await
        .map_err(|e| format!("binding the public API to {host}:{public_port}: {e}"))?;
    let admin = TcpListener::bind((host.as_str(), admin_port))
        .await
        .map_err(|e| format!("binding the admin API to {host}:{admin_port}: {e}"))?;
    tracing::info!(issuer = %provider.config().issuer, public = %public.local_addr()?, admin = %admin.local_addr()?, "listening");
    if demo.is_some() {
        demo_client(&provider, admin.local_addr()?).await?;
    }

    let (stop, stopped) = watch::channel(false);
    let until = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|s| *s).await;
    };
    let public = axum::serve(public, app::public_router(server.clone(), demo))
        .with_graceful_shutdown(until(stopped.clone()));
    let admin =
        axum::serve(admin, app::admin_router(server)).with_graceful_shutdown(until(stopped));
    let public = tokio::spawn(async move { public.await });
    let admin = tokio::spawn(async move { admin.await });
    shutdown_signal().await;
    tracing::info!("shutting down: finishing the requests in flight");
    let _ = stop.send(true);
    public.await??;
    admin.await??;
    Ok(())
}

/// Ctrl-C, or SIGTERM on Unix (containers).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// The system secret kept next to the sled data, generated on first run.
fn persisted_secret(dir: &Path) -> Result<String, BoxError> {
    let path = dir.join("system-secret");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim().to_owned();
        if s.len() >= 32 {
            tracing::warn!(path = %path.display(), "SECRETS_SYSTEM is not set: using the generated secret in this file");
            return Ok(s);
        }
        return Err(format!("{} holds fewer than 32 bytes", path.display()).into());
    }
    let s = random_hex(32);
    write_private(&path, &s).map_err(|e| format!("writing {}: {e}", path.display()))?;
    tracing::warn!(path = %path.display(), "SECRETS_SYSTEM is not set: generated one and saved it in this file; set SECRETS_SYSTEM in production");
    Ok(s)
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

fn random_bytes(n: usize) -> Vec<u8> {
    use rand_core::RngCore as _;
    let mut b = vec![0u8; n];
    rand_core::OsRng.fill_bytes(&mut b);
    b
}

fn random_hex(n: usize) -> String {
    random_bytes(n).iter().map(|b| format!("{b:02x}")).collect()
}

fn random_b64(n: usize) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(n))
}

/// Creates the demo client if missing, and prints a ready authorization URL and the curl
/// command that exchanges its code.
async fn demo_client(provider: &Provider, admin: SocketAddr) -> Result<(), BoxError> {
    if provider.store().get_client(DEMO_CLIENT).await?.is_none() {
        provider
            .create_client(ClientRequest {
                client_id: Some(DEMO_CLIENT.into()),
                client_name: Some("Demo app".into()),
                // A public client (no secret): PKCE protects the code.
                token_endpoint_auth_method: Some("none".into()),
                grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
                response_types: Some(vec!["code".into()]),
                redirect_uris: Some(vec![DEMO_REDIRECT.into()]),
                scope: Some("openid offline_access profile".into()),
                ..Default::default()
            })
            .await?;
        tracing::info!(client_id = DEMO_CLIENT, "created the demo client");
    }
    let issuer = provider.config().issuer.trim_end_matches('/');
    let verifier = random_b64(32);
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", DEMO_CLIENT)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid offline_access profile")
        .append_pair("redirect_uri", DEMO_REDIRECT)
        .append_pair("state", &random_b64(12))
        .append_pair("code_challenge", &s256_challenge(&verifier))
        .append_pair("code_challenge_method", "S256")
        .finish();
    println!(
        r#"
Try it: open this URL in a browser, sign in with any username and allow access:

  {issuer}/oauth2/auth?{query}

The browser then lands on {DEMO_REDIRECT}?code=...&state=...&iss=...
(nothing listens there; copy the code from the address bar) and you exchange it:

  curl -s {issuer}/oauth2/token -d grant_type=authorization_code -d client_id={DEMO_CLIENT} \
    --data-urlencode redirect_uri={DEMO_REDIRECT} -d code_verifier={verifier} \
    -d code=PASTE_THE_CODE_HERE

Inspect the access token on the admin API:

  curl -s http://{admin}/admin/oauth2/introspect -d token=PASTE_THE_ACCESS_TOKEN
"#
    );
    Ok(())
}
