//! Token request parsing and handling: any form body, with and without client auth.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let w = common::world();
    let (auth, body) = match data.split_first() {
        Some((b, rest)) if b % 2 == 0 => (Some(w.basic.as_str()), rest),
        Some((_, rest)) => (None, rest),
        None => (None, data),
    };
    if let Ok(req) = portcullis::TokenRequest::from_form(body, auth) {
        if let Err(e) = w.rt.block_on(w.provider.token(req)) {
            assert!(e.status() < 500 || e.code() == portcullis::ErrorCode::ServerError);
        }
    }
});
