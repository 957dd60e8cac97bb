//! portcullis on actix-web 4: the public API on 127.0.0.1:4444 and the admin API on
//! 127.0.0.1:4445, in memory. The reference server (`examples/axum_server`) adds the
//! persistent store, the demo login UI and back-channel logout delivery.
//!
//! ```sh
//! cargo run --example actix_server
//! ```
//!
//! actix-web 4 still uses `http` 0.2, so the adapter copies the method, URI and headers
//! across; the body is already `Bytes`.

use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use portcullis::http::Server;
use portcullis::storage::MemoryStore;
use portcullis::{Config, Provider};

fn to_http(req: &HttpRequest, body: web::Bytes) -> Option<http::Request<bytes::Bytes>> {
    let mut b = http::Request::builder()
        .method(req.method().as_str())
        .uri(req.uri().to_string());
    for (name, value) in req.headers() {
        b = b.header(name.as_str(), value.as_bytes());
    }
    b.body(body).ok()
}

fn from_http(resp: http::Response<bytes::Bytes>) -> HttpResponse {
    let status = actix_web::http::StatusCode::from_u16(resp.status().as_u16())
        .unwrap_or(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut out = HttpResponse::build(status);
    for (name, value) in resp.headers() {
        out.append_header((name.as_str(), value.as_bytes()));
    }
    out.body(resp.into_body())
}

async fn public(server: web::Data<Server>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    match to_http(&req, body) {
        Some(req) => from_http(server.public(req).await),
        None => HttpResponse::BadRequest().finish(),
    }
}

async fn admin(server: web::Data<Server>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    match to_http(&req, body) {
        Some(req) => from_http(server.admin(req).await),
        None => HttpResponse::BadRequest().finish(),
    }
}

#[actix_web::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = std::env::var("SECRETS_SYSTEM").unwrap_or_else(|_| {
        eprintln!("warning: SECRETS_SYSTEM not set, using an insecure example secret");
        "an-insecure-example-secret-of-32-bytes!".into()
    });
    let provider = Provider::builder(Config::new("http://127.0.0.1:4444", secret))
        .store(MemoryStore::new())
        .build()
        .await?;
    let server = web::Data::new(Server::new(provider));
    let limit = web::PayloadConfig::new(server.options().max_body_bytes);
    println!("public API on http://127.0.0.1:4444, admin API on http://127.0.0.1:4445");
    // Each stops gracefully on Ctrl-C.
    let (s, l) = (server.clone(), limit.clone());
    let public = HttpServer::new(move || {
        let app = App::new().app_data(s.clone()).app_data(l.clone());
        app.default_service(web::to(public))
    })
    .bind(("127.0.0.1", 4444))?
    .run();
    let admin = HttpServer::new(move || {
        let app = App::new().app_data(server.clone()).app_data(limit.clone());
        app.default_service(web::to(admin))
    })
    .bind(("127.0.0.1", 4445))?
    .run();
    tokio::try_join!(public, admin)?;
    Ok(())
}
