//! portcullis on hyper 1 (with hyper-util): the public API on 127.0.0.1:4444 and the admin
//! API on 127.0.0.1:4445, in memory. The reference server (`examples/axum_server`) adds
//! the persistent store, the demo login UI and back-channel logout delivery.
//!
//! ```sh
//! cargo run --example hyper_server
//! ```

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use portcullis::http::Server;
use portcullis::storage::MemoryStore;
use portcullis::{Config, Provider};
use tokio::net::TcpListener;

/// The adapter: read the body (up to the limit) into `Bytes`, hand the request over.
async fn serve(
    server: Server,
    admin: bool,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let resp = match Limited::new(body, server.options().max_body_bytes)
        .collect()
        .await
    {
        Ok(body) => {
            let req = Request::from_parts(parts, body.to_bytes());
            match admin {
                true => server.admin(req).await,
                false => server.public(req).await,
            }
        }
        Err(_) => {
            let mut r = Response::new(Bytes::from_static(b"request body too large"));
            *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
            r
        }
    };
    Ok(resp.map(Full::new))
}

async fn listen(listener: TcpListener, server: Server, admin: bool) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let server = server.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| serve(server.clone(), admin, req));
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = conn.await {
                eprintln!("connection error: {e}");
            }
        });
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("SECRETS_SYSTEM").unwrap_or_else(|_| {
        eprintln!("warning: SECRETS_SYSTEM not set, using an insecure example secret");
        "an-insecure-example-secret-of-32-bytes!".into()
    });
    let provider = Provider::builder(Config::new("http://127.0.0.1:4444", secret))
        .store(MemoryStore::new())
        .build()
        .await?;
    let server = Server::new(provider);
    let public = TcpListener::bind("127.0.0.1:4444").await?;
    let admin = TcpListener::bind("127.0.0.1:4445").await?;
    println!("public API on http://127.0.0.1:4444, admin API on http://127.0.0.1:4445");
    tokio::select! {
        _ = listen(public, server.clone(), false) => {}
        _ = listen(admin, server, true) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}
