//! JSON bodies of the admin API: clients, login/consent acceptances and rejections.
#![no_main]

#[path = "../common/mod.rs"]
mod common;

use libfuzzer_sys::fuzz_target;
use portcullis::model::{AcceptConsent, AcceptLogin, Rejection};
use portcullis::ClientRequest;

fuzz_target!(|data: &[u8]| {
    let w = common::world();
    if let Ok(req) = serde_json::from_slice::<ClientRequest>(data) {
        let p = &w.provider;
        if let Ok(created) = w.rt.block_on(p.create_client(req.clone())) {
            let id = created.client.client_id;
            let _ = w.rt.block_on(p.set_client(&id, req.clone()));
            assert!(w.rt.block_on(p.delete_client(&id)).is_ok());
        }
        let _ = w.rt.block_on(p.register_client(req));
    }
    let _ = serde_json::from_slice::<AcceptLogin>(data);
    let _ = serde_json::from_slice::<AcceptConsent>(data);
    let _ = serde_json::from_slice::<Rejection>(data);
});
