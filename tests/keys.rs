//! Signing keys: JWS verified by an independent library (jsonwebtoken), persistence through
//! a key store with sealed private keys, system-secret rotation, key rotation, PEM import,
//! and the same for the aws-lc signer (plus keys moving between the two backends).
#![cfg(any(feature = "rust-crypto", feature = "aws-lc"))]

use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{DecodingKey, Validation};
use portcullis::keys::{Algorithm, Backend, KeySigner, Keyring};
use portcullis::model::KeyState;
use portcullis::storage::{KeyStore, MemoryStore};
use portcullis::ErrorCode;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z

fn secrets(list: &[&[u8]]) -> Vec<Vec<u8>> {
    list.iter().map(|s| s.to_vec()).collect()
}

fn jwt_alg(alg: Algorithm) -> jsonwebtoken::Algorithm {
    match alg {
        Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
        Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
    }
}

fn claims() -> Value {
    json!({ "iss": "https://auth.example.com", "sub": "alice", "n": 42 })
}

/// The JWKS entries, by kid.
fn jwk_entry(jwks: &Value, kid: &str) -> Option<Value> {
    jwks["keys"]
        .as_array()
        .expect("a JWK Set has a keys array")
        .iter()
        .find(|k| k["kid"] == kid)
        .cloned()
}

fn jwks_kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .expect("a JWK Set has a keys array")
        .iter()
        .map(|k| k["kid"].as_str().expect("every JWK has a kid").to_owned())
        .collect()
}

/// Verifies `jws` with jsonwebtoken against the JWKS entry named by its header `kid`,
/// returning the claims and the header's kid.
fn verify(jwks: &Value, jws: &str, alg: Algorithm) -> Result<(Value, String), String> {
    let header = jsonwebtoken::decode_header(jws).map_err(|e| e.to_string())?;
    let kid = header.kid.ok_or("no kid in the header")?;
    let entry = jwk_entry(jwks, &kid).ok_or_else(|| format!("kid {kid} is not in the JWKS"))?;
    let jwk: Jwk = serde_json::from_value(entry).map_err(|e| e.to_string())?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
    let mut validation = Validation::new(jwt_alg(alg));
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_aud = false;
    let data = jsonwebtoken::decode::<Value>(jws, &key, &validation).map_err(|e| e.to_string())?;
    Ok((data.claims, kid))
}

fn header_kid(jws: &str) -> String {
    jsonwebtoken::decode_header(jws)
        .unwrap()
        .kid
        .expect("kid in header")
}

fn sign(ring: &(impl KeySigner + ?Sized), alg: Algorithm) -> String {
    ring.sign(alg, "JWT", claims().to_string().as_bytes())
        .unwrap()
}

/// A fresh P-256 key: PKCS#8 PEM, public key PEM, PKCS#8 DER, raw private scalar.
fn p256_pem() -> (String, String, Vec<u8>, Vec<u8>) {
    use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
    let secret = p256::SecretKey::random(&mut rand_core::OsRng);
    let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let public = secret
        .public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let der = secret.to_pkcs8_der().unwrap().as_bytes().to_vec();
    let scalar = secret.to_bytes().to_vec();
    (pem, public, der, scalar)
}

// The behaviour every backend must show, generic over the backend.

async fn signs_verifiable_jws<B: Backend>() {
    let ring = Keyring::<B>::generate(&[Algorithm::ES256, Algorithm::RS256]).unwrap();
    assert_eq!(ring.algorithms(), vec![Algorithm::RS256, Algorithm::ES256]);
    let jwks = ring.jwks();
    for alg in [Algorithm::ES256, Algorithm::RS256] {
        let payload = claims().to_string();
        let jws = ring.sign(alg, "at+jwt", payload.as_bytes()).unwrap();
        assert_eq!(jws.split('.').count(), 3, "{jws}");

        let header = jsonwebtoken::decode_header(&jws).unwrap();
        assert_eq!(header.alg, jwt_alg(alg));
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let kid = ring.current_kid(alg).unwrap();
        assert_eq!(header.kid.as_deref(), Some(kid.as_str()));

        let (verified, _) = verify(&jwks, &jws, alg).unwrap();
        assert_eq!(verified, claims());

        // The published JWK: public members only, marked for signatures, kid = thumbprint.
        let entry = jwk_entry(&jwks, &kid).unwrap();
        assert_eq!(entry["use"], "sig");
        assert_eq!(entry["alg"], alg.as_str());
        assert!(
            entry.get("d").is_none(),
            "private member published: {entry}"
        );
        let jwk: Jwk = serde_json::from_value(entry).unwrap();
        assert_eq!(jwk.thumbprint(ThumbprintHash::SHA256).unwrap(), kid);

        // A forged payload does not verify.
        let parts: Vec<&str> = jws.split('.').collect();
        let forged_payload = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"mallory"}"#)
        };
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert!(verify(&jwks, &forged, alg).is_err());

        // Signing with the digest: a verifiable token, and the SHA-256 of all of it.
        let (jws, digest) = ring
            .sign_digested(alg, "at+jwt", payload.as_bytes())
            .unwrap();
        assert_eq!(verify(&jwks, &jws, alg).unwrap().0, claims());
        assert_eq!(digest, <[u8; 32]>::from(Sha256::digest(jws.as_bytes())));
    }
    // Unusual typ values are encoded on demand.
    let jws = ring.sign(Algorithm::ES256, "dpop+jwt", b"{}").unwrap();
    let header = jsonwebtoken::decode_header(&jws).unwrap();
    assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
}

async fn persisted_keys_survive_reload<B: Backend>() {
    let store = MemoryStore::new();
    let secrets = secrets(&[b"system secret one"]);
    let algs = [Algorithm::ES256, Algorithm::RS256];
    let first = Keyring::<B>::load_or_generate(&store, &secrets, &algs, NOW)
        .await
        .unwrap();
    let stored = store.keys().await.unwrap();
    assert_eq!(stored.len(), 2);
    assert!(stored.iter().all(|k| k.state == KeyState::Current));
    let old_es = sign(&first, Algorithm::ES256);
    let old_rs = sign(&first, Algorithm::RS256);

    let second = Keyring::<B>::load_or_generate(&store, &secrets, &algs, NOW + 60)
        .await
        .unwrap();
    assert_eq!(
        store.keys().await.unwrap().len(),
        2,
        "no new keys generated"
    );
    for (alg, old) in [(Algorithm::ES256, &old_es), (Algorithm::RS256, &old_rs)] {
        assert_eq!(second.current_kid(alg), first.current_kid(alg));
        verify(&second.jwks(), old, alg).unwrap();
        let fresh = sign(&second, alg);
        verify(&first.jwks(), &fresh, alg).unwrap();
    }
}

async fn stored_bytes_are_sealed<B: Backend>() {
    let store = MemoryStore::new();
    let secrets = secrets(&[b"system secret"]);
    let ring = Keyring::<B>::generate(&[]).unwrap();
    let (pem, _, der, scalar) = p256_pem();
    let kid = ring
        .import_pem(Some(&store), &secrets, Algorithm::ES256, &pem, NOW)
        .await
        .unwrap();
    let stored = store.keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    let record = &stored[0];
    assert_eq!(record.kid, kid);
    assert_eq!(record.alg, "ES256");
    assert_eq!(record.created_at, NOW);
    assert!(
        !record
            .sealed_private_key
            .windows(der.len())
            .any(|w| w == der.as_slice()),
        "the PKCS#8 document is stored in clear"
    );
    assert!(
        !record
            .sealed_private_key
            .windows(scalar.len())
            .any(|w| w == scalar.as_slice()),
        "the private scalar is stored in clear"
    );
    assert_eq!(record.sealed_private_key.len(), 24 + der.len() + 16);
}

async fn secrets_rotate<B: Backend>() {
    let store = MemoryStore::new();
    let old = secrets(&[b"old system secret"]);
    let ring = Keyring::<B>::load_or_generate(&store, &old, &[Algorithm::ES256], NOW)
        .await
        .unwrap();
    let kid = ring.current_kid(Algorithm::ES256).unwrap();

    let wrong = Keyring::<B>::load_or_generate(
        &store,
        &secrets(&[b"new system secret"]),
        &[Algorithm::ES256],
        NOW,
    )
    .await;
    let err = wrong.expect_err("a wrong secret must not open the stored key");
    assert_eq!(err.code(), ErrorCode::ServerError);
    assert!(!err.description().contains("secret"));
    assert_eq!(
        store.keys().await.unwrap().len(),
        1,
        "nothing written on failure"
    );

    let rotated = secrets(&[b"new system secret", b"old system secret"]);
    let reloaded = Keyring::<B>::load_or_generate(&store, &rotated, &[Algorithm::ES256], NOW)
        .await
        .unwrap();
    assert_eq!(reloaded.current_kid(Algorithm::ES256), Some(kid));

    // Rotation writes re-seal under the new secret: after a promote, the old secret is
    // no longer needed for any key.
    reloaded
        .add_next(Some(&store), &rotated, Algorithm::ES256, NOW + 1)
        .await
        .unwrap();
    reloaded
        .promote(Some(&store), &rotated, Algorithm::ES256, NOW + 100)
        .await
        .unwrap();
    Keyring::<B>::load_or_generate(
        &store,
        &secrets(&[b"new system secret"]),
        &[Algorithm::ES256],
        NOW,
    )
    .await
    .unwrap();
}

async fn rotation<B: Backend>() {
    let store = MemoryStore::new();
    let secrets = secrets(&[b"system secret"]);
    let ring = Keyring::<B>::load_or_generate(&store, &secrets, &[Algorithm::ES256], NOW)
        .await
        .unwrap();
    let old_kid = ring.current_kid(Algorithm::ES256).unwrap();
    let signed_by_old = sign(&ring, Algorithm::ES256);

    let err = ring
        .promote(Some(&store), &secrets, Algorithm::ES256, NOW + 3600)
        .await
        .expect_err("nothing to promote");
    assert_eq!(err.code(), ErrorCode::NotFound);

    // 1. Next key: published, not signing.
    let new_kid = ring
        .add_next(Some(&store), &secrets, Algorithm::ES256, NOW + 10)
        .await
        .unwrap();
    assert_ne!(new_kid, old_kid);
    let jwks = ring.jwks();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    assert_eq!(
        jwks_kids(&jwks)[0],
        old_kid,
        "the signing key is listed first"
    );
    assert!(jwk_entry(&jwks, &new_kid).is_some());
    assert_eq!(ring.current_kid(Algorithm::ES256), Some(old_kid.clone()));
    assert_eq!(header_kid(&sign(&ring, Algorithm::ES256)), old_kid);
    let states: Vec<_> = store
        .keys()
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.kid, k.state))
        .collect();
    assert!(states.contains(&(new_kid.clone(), KeyState::Next)));

    // 2. Promote: the new key signs, the old one stays published.
    let promoted = ring
        .promote(Some(&store), &secrets, Algorithm::ES256, NOW + 3600)
        .await
        .unwrap();
    assert_eq!(promoted, new_kid);
    assert_eq!(ring.current_kid(Algorithm::ES256), Some(new_kid.clone()));
    let signed_by_new = sign(&ring, Algorithm::ES256);
    assert_eq!(header_kid(&signed_by_new), new_kid);
    let jwks = ring.jwks();
    assert_eq!(jwks_kids(&jwks), vec![new_kid.clone(), old_kid.clone()]);
    verify(&jwks, &signed_by_old, Algorithm::ES256).unwrap();
    verify(&jwks, &signed_by_new, Algorithm::ES256).unwrap();
    let info = ring.keys();
    assert_eq!(info.len(), 2);
    assert_eq!(info[1].kid, old_kid);
    assert_eq!(info[1].state, KeyState::Retired { until: NOW + 3600 });

    // A restart in between sees the same rotation state.
    let reloaded = Keyring::<B>::load_or_generate(&store, &secrets, &[Algorithm::ES256], NOW)
        .await
        .unwrap();
    assert_eq!(reloaded.keys(), ring.keys());

    // 3. Drop: not before `until`; at `until`, from memory and store.
    assert!(ring
        .drop_retired(Some(&store), NOW + 3599)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 2);
    assert_eq!(
        ring.drop_retired(Some(&store), NOW + 3600).await.unwrap(),
        vec![old_kid.clone()]
    );
    let jwks = ring.jwks();
    assert_eq!(jwks_kids(&jwks), vec![new_kid.clone()]);
    assert!(verify(&jwks, &signed_by_old, Algorithm::ES256).is_err());
    verify(&jwks, &signed_by_new, Algorithm::ES256).unwrap();
    let stored = store.keys().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].kid, new_kid);
    assert_eq!(stored[0].state, KeyState::Current);
}

/// Two instances of an app on one store: each holds a keyring, one rotates, the other
/// follows with `reload`.
async fn another_instance_follows_a_rotation_with_reload<B: Backend>() {
    let store = MemoryStore::new();
    let secrets = secrets(&[b"system secret"]);
    let algs = [Algorithm::ES256];
    let a = Keyring::<B>::load_or_generate(&store, &secrets, &algs, NOW)
        .await
        .unwrap();
    let b = Keyring::<B>::load_or_generate(&store, &secrets, &algs, NOW)
        .await
        .unwrap();
    let old_kid = a.current_kid(Algorithm::ES256).unwrap();
    assert_eq!(b.keys(), a.keys(), "both load the one stored key");

    let new_kid = a
        .add_next(Some(&store), &secrets, Algorithm::ES256, NOW + 10)
        .await
        .unwrap();
    assert!(jwk_entry(&b.jwks(), &new_kid).is_none(), "not yet reloaded");
    b.reload(&store, &secrets).await.unwrap();
    assert_eq!(b.keys(), a.keys());
    assert!(
        jwk_entry(&b.jwks(), &new_kid).is_some(),
        "b publishes the next key"
    );
    assert_eq!(b.current_kid(Algorithm::ES256), Some(old_kid.clone()));

    a.promote(Some(&store), &secrets, Algorithm::ES256, NOW + 3600)
        .await
        .unwrap();
    b.reload(&store, &secrets).await.unwrap();
    assert_eq!(b.keys(), a.keys());
    let signed_by_b = sign(&b, Algorithm::ES256);
    assert_eq!(
        header_kid(&signed_by_b),
        new_kid,
        "b signs with the promoted key"
    );
    verify(&a.jwks(), &signed_by_b, Algorithm::ES256).unwrap();

    a.drop_retired(Some(&store), NOW + 3600).await.unwrap();
    b.reload(&store, &secrets).await.unwrap();
    assert_eq!(jwks_kids(&b.jwks()), vec![new_kid.clone()]);

    // A store that lost its keys, or a key no secret opens, changes nothing.
    store.delete_key(&new_kid).await.unwrap();
    let e = b.reload(&store, &secrets).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::ServerError);
    assert_eq!(b.current_kid(Algorithm::ES256), Some(new_kid.clone()));
    let others = crate::secrets(&[b"another secret"]);
    a.add_next(Some(&store), &others, Algorithm::ES256, NOW + 20)
        .await
        .unwrap();
    assert!(b.reload(&store, &secrets).await.is_err());
    assert_eq!(jwks_kids(&b.jwks()), vec![new_kid]);
}

async fn add_next_replaces_a_waiting_next_key<B: Backend>() {
    let ring = Keyring::<B>::generate(&[Algorithm::ES256]).unwrap();
    let current = ring.current_kid(Algorithm::ES256).unwrap();
    let first = ring
        .add_next(None, &[], Algorithm::ES256, NOW)
        .await
        .unwrap();
    let second = ring
        .add_next(None, &[], Algorithm::ES256, NOW)
        .await
        .unwrap();
    let kids = jwks_kids(&ring.jwks());
    assert_eq!(kids, vec![current, second]);
    assert!(!kids.contains(&first));
}

async fn pem_import<B: Backend>(rsa_pkcs1_pem: &str, rsa_public_pem: &str) {
    use p256::pkcs8::LineEnding;

    let ring = Keyring::<B>::generate(&[]).unwrap();
    assert!(ring.algorithms().is_empty());
    assert!(ring.sign(Algorithm::ES256, "JWT", b"{}").is_err());

    // PKCS#8: no ES256 key yet, so it becomes current and signs.
    let (pem, public_pem, _, _) = p256_pem();
    let kid = ring
        .import_pem(None, &[], Algorithm::ES256, &pem, NOW)
        .await
        .unwrap();
    assert_eq!(ring.current_kid(Algorithm::ES256), Some(kid.clone()));
    let jws = sign(&ring, Algorithm::ES256);
    assert_eq!(header_kid(&jws), kid);
    // Verified with the public key we hold, not the one the keyring publishes.
    let mut validation = Validation::new(jsonwebtoken::Algorithm::ES256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let own = DecodingKey::from_ec_pem(public_pem.as_bytes()).unwrap();
    jsonwebtoken::decode::<Value>(&jws, &own, &validation).unwrap();

    // The same key again is a conflict; a key of the wrong kind is refused.
    let err = ring
        .import_pem(None, &[], Algorithm::ES256, &pem, NOW)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::Conflict);
    let err = ring
        .import_pem(None, &[], Algorithm::RS256, &pem, NOW)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest);
    let err = ring
        .import_pem(
            None,
            &[],
            Algorithm::ES256,
            "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
            NOW,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest);

    // SEC 1 "EC PRIVATE KEY": there is a current ES256 key, so this one is next.
    let sec1 = p256::SecretKey::random(&mut rand_core::OsRng);
    let sec1_pem = sec1.to_sec1_pem(LineEnding::LF).unwrap();
    let next = ring
        .import_pem(None, &[], Algorithm::ES256, &sec1_pem, NOW)
        .await
        .unwrap();
    assert_eq!(ring.current_kid(Algorithm::ES256), Some(kid.clone()));
    assert_eq!(
        ring.keys().iter().find(|k| k.kid == next).unwrap().state,
        KeyState::Next
    );

    // PKCS#1 "RSA PRIVATE KEY".
    let rsa_kid = ring
        .import_pem(None, &[], Algorithm::RS256, rsa_pkcs1_pem, NOW)
        .await
        .unwrap();
    let jws = sign(&ring, Algorithm::RS256);
    assert_eq!(header_kid(&jws), rsa_kid);
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    let own = DecodingKey::from_rsa_pem(rsa_public_pem.as_bytes()).unwrap();
    jsonwebtoken::decode::<Value>(&jws, &own, &validation).unwrap();
    verify(&ring.jwks(), &jws, Algorithm::RS256).unwrap();
}

fn rsa_pems() -> (String, String) {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
    let private = key.to_pkcs1_pem(LineEnding::LF).unwrap().to_string();
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    (private, public)
}

/// An RSA key generated once per test binary (debug-mode keygen is slow).
fn shared_rsa_pems() -> &'static (String, String) {
    static PEMS: std::sync::OnceLock<(String, String)> = std::sync::OnceLock::new();
    PEMS.get_or_init(rsa_pems)
}

async fn small_rsa_keys_are_refused<B: Backend>() {
    use rsa::pkcs8::{EncodePrivateKey, LineEnding};
    let small = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 1024).unwrap();
    let pem = small.to_pkcs8_pem(LineEnding::LF).unwrap();
    let ring = Keyring::<B>::generate(&[]).unwrap();
    let err = ring
        .import_pem(None, &[], Algorithm::RS256, &pem, NOW)
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidRequest);
    assert!(ring.keys().is_empty());
}

macro_rules! backend_tests {
    ($module:ident, $backend:ty) => {
        mod $module {
            use super::*;

            #[tokio::test]
            async fn signs_verifiable_jws() {
                super::signs_verifiable_jws::<$backend>().await;
            }

            #[tokio::test]
            async fn persisted_keys_survive_reload() {
                super::persisted_keys_survive_reload::<$backend>().await;
            }

            #[tokio::test]
            async fn stored_bytes_are_sealed() {
                super::stored_bytes_are_sealed::<$backend>().await;
            }

            #[tokio::test]
            async fn secrets_rotate() {
                super::secrets_rotate::<$backend>().await;
            }

            #[tokio::test]
            async fn rotation() {
                super::rotation::<$backend>().await;
            }

            #[tokio::test]
            async fn another_instance_follows_a_rotation_with_reload() {
                super::another_instance_follows_a_rotation_with_reload::<$backend>().await;
            }

            #[tokio::test]
            async fn add_next_replaces_a_waiting_next_key() {
                super::add_next_replaces_a_waiting_next_key::<$backend>().await;
            }

            #[tokio::test]
            async fn small_rsa_keys_are_refused() {
                super::small_rsa_keys_are_refused::<$backend>().await;
            }

            #[tokio::test]
            async fn pem_import() {
                let (private, public) = shared_rsa_pems();
                super::pem_import::<$backend>(private, public).await;
            }
        }
    };
}

#[cfg(feature = "rust-crypto")]
backend_tests!(local, portcullis::keys::RustCrypto);

#[cfg(feature = "aws-lc")]
backend_tests!(aws_lc, portcullis::keys::AwsLc);

#[cfg(all(feature = "aws-lc", feature = "rust-crypto"))]
mod cross_backend {
    use super::*;
    use portcullis::keys::{AwsLcSigner, LocalSigner};

    async fn persisted_by_one_loads_in_the_other<From: Backend, To: Backend>() {
        let store = MemoryStore::new();
        let secrets = secrets(&[b"system secret"]);
        let algs = [Algorithm::ES256, Algorithm::RS256];
        let from = Keyring::<From>::load_or_generate(&store, &secrets, &algs, NOW)
            .await
            .unwrap();
        let to = Keyring::<To>::load_or_generate(&store, &secrets, &algs, NOW)
            .await
            .unwrap();
        assert_eq!(
            store.keys().await.unwrap().len(),
            2,
            "no new keys generated"
        );
        assert_eq!(from.jwks(), to.jwks(), "the same public keys");
        for alg in algs {
            assert_eq!(from.current_kid(alg), to.current_kid(alg));
            let (_, kid) = verify(&from.jwks(), &sign(&to, alg), alg).unwrap();
            assert_eq!(Some(kid), from.current_kid(alg));
            verify(&to.jwks(), &sign(&from, alg), alg).unwrap();
        }
    }

    #[tokio::test]
    async fn local_to_aws_lc() {
        persisted_by_one_loads_in_the_other::<portcullis::keys::RustCrypto, portcullis::keys::AwsLc>()
            .await;
    }

    #[tokio::test]
    async fn aws_lc_to_local() {
        persisted_by_one_loads_in_the_other::<portcullis::keys::AwsLc, portcullis::keys::RustCrypto>()
            .await;
    }

    #[tokio::test]
    async fn aliases_work_as_shared_signers() {
        let signers: Vec<std::sync::Arc<dyn KeySigner>> = vec![
            std::sync::Arc::new(LocalSigner::generate(&[Algorithm::ES256]).unwrap()),
            std::sync::Arc::new(AwsLcSigner::generate(&[Algorithm::ES256]).unwrap()),
        ];
        for signer in signers {
            let jws = sign(signer.as_ref(), Algorithm::ES256);
            let (claims, _) = verify(&signer.jwks(), &jws, Algorithm::ES256).unwrap();
            assert_eq!(claims, super::claims());
        }
    }
}

/// Two instances of an app started together on one empty store may both generate a key
/// (each saw none): once each has reloaded, they hold one key set and sign with the
/// same key.
#[tokio::test]
async fn keyrings_that_raced_at_start_converge_on_reload() {
    type Ring = Keyring<portcullis::keys::RustCrypto>;
    let secrets = secrets(&[b"system secret"]);
    let algs = [Algorithm::ES256];
    let shared = MemoryStore::new();
    let a = Ring::load_or_generate(&shared, &secrets, &algs, NOW)
        .await
        .unwrap();
    // b generated its key on a store that looked empty to it, and wrote it after a did.
    let elsewhere = MemoryStore::new();
    let b = Ring::load_or_generate(&elsewhere, &secrets, &algs, NOW + 1)
        .await
        .unwrap();
    for key in elsewhere.keys().await.unwrap() {
        shared.put_key(key).await.unwrap();
    }
    assert_ne!(
        a.current_kid(Algorithm::ES256),
        b.current_kid(Algorithm::ES256)
    );
    a.reload(&shared, &secrets).await.unwrap();
    b.reload(&shared, &secrets).await.unwrap();
    assert_eq!(a.jwks(), b.jwks());
    assert_eq!(
        a.current_kid(Algorithm::ES256),
        b.current_kid(Algorithm::ES256)
    );
    verify(&b.jwks(), &sign(&a, Algorithm::ES256), Algorithm::ES256).unwrap();
}

/// A provider that made its own keys follows a rotation made by another instance's
/// keyring on the same store.
#[tokio::test]
async fn a_provider_follows_another_instances_rotation() {
    let store: std::sync::Arc<dyn portcullis::storage::Storage> =
        std::sync::Arc::new(MemoryStore::new());
    let config = portcullis::Config::new("https://auth.example.com", [7u8; 32]);
    let secrets = config.secrets.clone();
    let provider = portcullis::Provider::builder(config)
        .shared_store(store.clone())
        .build()
        .await
        .unwrap();
    let other = Keyring::<portcullis::keys::RustCrypto>::load_or_generate(
        &*store,
        &secrets,
        &[Algorithm::ES256],
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(
        other.current_kid(Algorithm::ES256),
        provider.signer().current_kid(Algorithm::ES256)
    );
    let new_kid = other
        .add_next(Some(&*store), &secrets, Algorithm::ES256, NOW + 10)
        .await
        .unwrap();
    other
        .promote(Some(&*store), &secrets, Algorithm::ES256, NOW + 3600)
        .await
        .unwrap();
    assert_ne!(
        provider.signer().current_kid(Algorithm::ES256),
        Some(new_kid.clone())
    );
    provider.reload_keys().await.unwrap();
    assert_eq!(
        provider.signer().current_kid(Algorithm::ES256),
        Some(new_kid)
    );
    assert_eq!(provider.signer().jwks(), other.jwks());
}
