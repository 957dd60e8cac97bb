//! JWT/JWS parsing of `id_token_hint` (authorization and logout endpoints).
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let w = common::world();
    let Ok(hint) = std::str::from_utf8(data) else {
        return;
    };
    let issuer = &w.provider.config().issuer;
    assert!(portcullis::token::jwt::verify_own(w.provider.signer(), issuer, hint).is_err());
    let params = portcullis::Params::from_pairs([
        ("client_id", w.client_id.as_str()),
        ("response_type", "code"),
        ("scope", "openid"),
        ("id_token_hint", hint),
    ]);
    assert!(w.rt.block_on(w.provider.authorize(&params, None)).is_ok());
    let params = portcullis::Params::from_pairs([("id_token_hint", hint)]);
    assert!(w.rt.block_on(w.provider.logout(&params, None)).is_ok());
});
