//! The HTTP layer: raw bytes become an `http::Request` (method, path and query, headers,
//! body) for the public and admin routes, with CORS on. Nothing may panic or answer 500.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portcullis::http::{CorsOptions, Server, ServerOptions};

const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

fn server() -> &'static Server {
    static SERVER: OnceLock<Server> = OnceLock::new();
    SERVER.get_or_init(|| {
        let mut options = ServerOptions::default();
        options.cors = Some(CorsOptions::allowing(["https://*.example.com"]).expect("a pattern"));
        Server::new(common::world().provider.clone()).with_options(options)
    })
}

fuzz_target!(|data: &[u8]| {
    let w = common::world();
    let Some((m, rest)) = data.split_first() else {
        return;
    };
    // "<path>\n<name>: <value>\n...\n\n<body>"
    let (head, body) = match rest.windows(2).position(|p| p == b"\n\n") {
        Some(i) => (&rest[..i], &rest[i + 2..]),
        None => (rest, &[][..]),
    };
    let mut lines = head.split(|b| *b == b'\n');
    let path = lines.next().unwrap_or_default();
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    let mut builder = http::Request::builder()
        .method(METHODS[usize::from(*m) % METHODS.len()])
        .uri(if path.starts_with('/') { path } else { "/" });
    for line in lines {
        if let Some(i) = line.iter().position(|b| *b == b':') {
            let (name, value) = (&line[..i], line[i + 1..].trim_ascii_start());
            if let (Ok(n), Ok(v)) = (
                http::HeaderName::from_bytes(name),
                http::HeaderValue::from_bytes(value),
            ) {
                builder = builder.header(n, v);
            }
        }
    }
    let Ok(req) = builder.body(bytes::Bytes::copy_from_slice(body)) else {
        return;
    };
    let resp = w.rt.block_on(server().handle(req));
    assert!(
        resp.status().as_u16() < 500,
        "{} for {data:?}",
        resp.status()
    );
});
