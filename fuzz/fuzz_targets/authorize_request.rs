//! Authorization request parsing and handling, including verifier and cookie paths.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let w = common::world();
    let (cookie, query) = match data.iter().position(|b| *b == b'\n') {
        Some(i) => (std::str::from_utf8(&data[..i]).ok(), &data[i + 1..]),
        None => (None, data),
    };
    let params = portcullis::Params::parse(query);
    let out = w.rt.block_on(w.provider.authorize(&params, cookie));
    assert!(out.is_ok(), "only storage failures are errors: {out:?}");
    let out = w.rt.block_on(w.provider.logout(&params, cookie));
    assert!(out.is_ok(), "only storage failures are errors: {out:?}");
});
