//! [`Keyring`]: the one signer, generic over the crypto backend.
//!
//! A keyring holds, per algorithm, one **current** key (it signs), at most one **next**
//! key (published in the JWKS so verifiers cache it before it signs) and any number of
//! **retired** keys (published until their `until`, when what they signed has expired).
//!
//! Rotation, in three calls, spaced by the JWKS cache lifetime and the token lifetime:
//!
//! 1. [`Keyring::add_next`] (or [`Keyring::import_pem`]): a new key is published.
//! 2. [`Keyring::promote`]: the next key signs; the old current key is retired until
//!    `retire_until`.
//! 3. [`Keyring::drop_retired`]: retired keys past their `until` leave the JWKS.
//!
//! The key set ([`key_set`](super::key_set)) lives behind `RwLock<Arc<KeySet>>`: signing
//! clones the `Arc` under a read lock and signs without holding the lock; rotation builds
//! a new set and swaps it in.
//!
//! Several instances of an app on one store (PostgreSQL) each hold a keyring: one
//! rotates, the others pick the change up with [`Keyring::reload`].
//!
//! Persistence is optional: every rotation call takes an optional [`KeyStore`] and the
//! system secrets (the first seals; see [`sealed`](super::sealed)). The store is written
//! first, then the in-memory set is swapped, so a failed write leaves the keyring as it
//! was. Rotations of one keyring are meant to come from one task at a time.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use p256::elliptic_curve::zeroize::Zeroizing;

use super::backend::{pem_to_pkcs8, Backend};
use super::key_set::{KeySet, LoadedKey, Slot, ALGORITHMS};
use super::sealed::{open_private_key, seal_private_key};
use super::{Algorithm, KeySigner};
use crate::error::{Error, ErrorCode, Result};
use crate::model::{KeyState, StoredKey};
use crate::random::{Entropy, OsEntropy};
use crate::storage::KeyStore;

/// Signs with the pure-Rust backend (`rsa`, `p256`): the default signer.
#[cfg(feature = "rust-crypto")]
pub type LocalSigner = Keyring<super::RustCrypto>;

/// Signs with aws-lc-rs: the fast signer.
#[cfg(feature = "aws-lc")]
pub type AwsLcSigner = Keyring<super::AwsLc>;

/// A set of signing keys that rotates while shared: implements [`KeySigner`].
///
/// Use it through [`LocalSigner`] (feature `rust-crypto`) or [`AwsLcSigner`] (feature
/// `aws-lc`); both store keys the same way, so either loads what the other persisted.
pub struct Keyring<B: Backend> {
    set: RwLock<Arc<KeySet<B>>>,
    entropy: Arc<dyn Entropy>,
}

/// What a keyring reports about one of its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// The key id.
    pub kid: String,
    /// The algorithm it signs with.
    pub alg: Algorithm,
    /// Where it is in its rotation.
    pub state: KeyState,
    /// When it entered the keyring (unix seconds; 0 for keys made by
    /// [`Keyring::generate`], which takes no time).
    pub created_at: i64,
}

/// The keys in `store` as slots in their stored states, oldest first: a key in `known`
/// is reused, any other opened with `secrets` and parsed. Keys of an algorithm this
/// version does not know are skipped with a warning.
async fn stored_slots<B: Backend>(
    store: &dyn KeyStore,
    secrets: &[Vec<u8>],
    known: &[Arc<LoadedKey<B>>],
) -> Result<Vec<Slot<B>>> {
    let mut slots = Vec::new();
    for record in store.keys().await? {
        let Some(alg) = Algorithm::parse(&record.alg) else {
            tracing::warn!(kid = %record.kid, alg = %record.alg, "skipping a stored key of an unknown algorithm");
            continue;
        };
        let key = match known.iter().find(|k| k.kid == record.kid && k.alg == alg) {
            Some(key) => Arc::clone(key),
            None => {
                let pkcs8 =
                    open_private_key(secrets, &record.kid, alg, &record.sealed_private_key)?;
                let key = LoadedKey::new(alg, pkcs8, Some(record.kid.clone()), record.created_at)
                    .map_err(|e| {
                    Error::internal(format_args!(
                        "stored key {} is unusable: {}",
                        record.kid,
                        e.description()
                    ))
                })?;
                Arc::new(key)
            }
        };
        slots.push(Slot {
            state: record.state,
            key,
        });
    }
    Ok(slots)
}

impl<B: Backend> Keyring<B> {
    /// An ephemeral keyring with a fresh current key for each of `algs`, kept in memory
    /// only. Keys come from the operating system's generator.
    pub fn generate(algs: &[Algorithm]) -> Result<Self> {
        Self::generate_with_entropy(algs, Arc::new(OsEntropy))
    }

    /// Like [`generate`](Self::generate), drawing randomness (key generation where the
    /// backend allows it, sealing nonces) from `entropy`.
    pub fn generate_with_entropy(algs: &[Algorithm], entropy: Arc<dyn Entropy>) -> Result<Self> {
        let mut slots = Vec::new();
        for alg in distinct(algs) {
            let pkcs8 = B::generate(alg, &*entropy)?;
            slots.push(Slot {
                state: KeyState::Current,
                key: Arc::new(LoadedKey::new(alg, pkcs8, None, 0)?),
            });
        }
        Ok(Self::from_slots(slots, entropy))
    }

    /// Loads every key in `store`, opening each with `secrets` (current first, older after),
    /// and generates and persists a current key for each of `algs` that has none.
    ///
    /// Fails if a stored key cannot be opened (e.g. no secret fits) or parsed. Keys of an
    /// algorithm this version does not know are skipped with a warning.
    pub async fn load_or_generate(
        store: &dyn KeyStore,
        secrets: &[Vec<u8>],
        algs: &[Algorithm],
        now: i64,
    ) -> Result<Self> {
        Self::load_or_generate_with_entropy(store, secrets, algs, now, Arc::new(OsEntropy)).await
    }

    /// Like [`load_or_generate`](Self::load_or_generate), drawing randomness from `entropy`.
    pub async fn load_or_generate_with_entropy(
        store: &dyn KeyStore,
        secrets: &[Vec<u8>],
        algs: &[Algorithm],
        now: i64,
        entropy: Arc<dyn Entropy>,
    ) -> Result<Self> {
        let slots = stored_slots(store, secrets, &[]).await?;
        let keyring = Self::from_slots(slots, entropy);
        let mut generated = false;
        for alg in distinct(algs) {
            if keyring.snapshot().signer(alg).is_none() {
                keyring.add_next(Some(store), secrets, alg, now).await?;
                generated = true;
            }
        }
        if generated {
            // Instances of an app starting together on one empty store each generate
            // keys: take every key stored so far, so that the instances, once each has
            // reloaded, hold one key set and sign with the same key.
            keyring.reload(store, secrets).await?;
        }
        Ok(keyring)
    }

    /// Reads the key set again from `store`, which other instances of the app may share
    /// and rotate (add, promote, drop keys): the keyring then holds exactly the stored
    /// keys in their stored states. Keys already loaded are kept, not parsed again. Call
    /// it when another instance rotated, or periodically (more often than the spacing
    /// of the rotation steps); the engine never calls it on its own.
    ///
    /// Fails, changing nothing, if a new stored key cannot be opened or parsed, or if the
    /// store holds no signing key for an algorithm the keyring signs with now (a keyring
    /// never loses the ability to sign).
    pub async fn reload(&self, store: &dyn KeyStore, secrets: &[Vec<u8>]) -> Result<()> {
        let before = self.snapshot();
        let known: Vec<Arc<LoadedKey<B>>> =
            before.slots.iter().map(|s| Arc::clone(&s.key)).collect();
        let slots = stored_slots(store, secrets, &known).await?;
        let after = KeySet::new(slots);
        if let Some(alg) = ALGORITHMS
            .into_iter()
            .find(|&alg| before.signer(alg).is_some() && after.signer(alg).is_none())
        {
            return Err(Error::internal(format_args!(
                "the store holds no current {} key; the keyring keeps its keys",
                alg.as_str()
            )));
        }
        *self.set.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(after);
        Ok(())
    }

    /// Generates a key for `alg` and adds it as the **next** key: published, not signing.
    /// If `alg` has no current key, the new key becomes current instead. A next key
    /// already waiting for `alg` (it never signed) is replaced.
    ///
    /// With a `store`, the key is persisted sealed under `secrets[0]`. Returns its `kid`.
    pub async fn add_next(
        &self,
        store: Option<&dyn KeyStore>,
        secrets: &[Vec<u8>],
        alg: Algorithm,
        now: i64,
    ) -> Result<String> {
        let pkcs8 = B::generate(alg, &*self.entropy)?;
        self.add(store, secrets, alg, pkcs8, now).await
    }

    /// Imports a PEM private key for `alg` — PKCS#8 (`PRIVATE KEY`), PKCS#1
    /// (`RSA PRIVATE KEY`) or SEC 1 (`EC PRIVATE KEY`, P-256) — and adds it as
    /// [`add_next`](Self::add_next) does: next, or current if `alg` has none.
    ///
    /// Its `kid` is the RFC 7638 thumbprint. RSA keys under 2048 bits, keys that do not
    /// match `alg`, and a key already in the keyring are refused. Returns the `kid`.
    pub async fn import_pem(
        &self,
        store: Option<&dyn KeyStore>,
        secrets: &[Vec<u8>],
        alg: Algorithm,
        pem: &str,
        now: i64,
    ) -> Result<String> {
        let pkcs8 = pem_to_pkcs8(pem)?;
        self.add(store, secrets, alg, pkcs8, now).await
    }

    /// Imports a PKCS#8 DER private key for `alg`, as [`import_pem`](Self::import_pem)
    /// does. Returns the `kid`.
    pub async fn import_pkcs8_der(
        &self,
        store: Option<&dyn KeyStore>,
        secrets: &[Vec<u8>],
        alg: Algorithm,
        pkcs8_der: &[u8],
        now: i64,
    ) -> Result<String> {
        self.add(store, secrets, alg, Zeroizing::new(pkcs8_der.to_vec()), now)
            .await
    }

    /// Makes the next key for `alg` the current one; every key that was current for `alg`
    /// is retired until `retire_until` (unix seconds): set it past the expiry of the
    /// longest-lived token the old key may have signed. Returns the new current `kid`.
    ///
    /// Fails with `not_found` if `alg` has no next key.
    pub async fn promote(
        &self,
        store: Option<&dyn KeyStore>,
        secrets: &[Vec<u8>],
        alg: Algorithm,
        retire_until: i64,
    ) -> Result<String> {
        let set = self.snapshot();
        let next = set
            .slots
            .iter()
            .find(|s| s.key.alg == alg && s.state == KeyState::Next)
            .map(|s| Arc::clone(&s.key))
            .ok_or_else(|| {
                Error::not_found("there is no next key to promote for this algorithm")
            })?;
        let retiring: Vec<Arc<LoadedKey<B>>> = set
            .slots
            .iter()
            .filter(|s| s.key.alg == alg && s.state == KeyState::Current)
            .map(|s| Arc::clone(&s.key))
            .collect();
        let retired = KeyState::Retired {
            until: retire_until,
        };
        if let Some(store) = store {
            // The new key first: a crash in between leaves two current keys (the newest
            // signs), never none.
            store
                .put_key(self.record(secrets, &next, KeyState::Current)?)
                .await?;
            for key in &retiring {
                store.put_key(self.record(secrets, key, retired)?).await?;
            }
        }
        self.update(|slots| {
            for slot in slots.iter_mut() {
                if slot.key.kid == next.kid {
                    slot.state = KeyState::Current;
                } else if retiring.iter().any(|k| k.kid == slot.key.kid) {
                    slot.state = retired;
                }
            }
        });
        Ok(next.kid.clone())
    }

    /// Removes the retired keys whose `until` is at or before `now`, from the keyring and
    /// from `store`. Returns the removed `kid`s.
    pub async fn drop_retired(
        &self,
        store: Option<&dyn KeyStore>,
        now: i64,
    ) -> Result<Vec<String>> {
        let doomed: Vec<String> = self
            .snapshot()
            .slots
            .iter()
            .filter(|s| matches!(s.state, KeyState::Retired { until } if until <= now))
            .map(|s| s.key.kid.clone())
            .collect();
        if let Some(store) = store {
            for kid in &doomed {
                store.delete_key(kid).await?;
            }
        }
        self.update(|slots| slots.retain(|s| !doomed.contains(&s.key.kid)));
        Ok(doomed)
    }

    /// Every key in the keyring, signing keys first.
    pub fn keys(&self) -> Vec<KeyInfo> {
        self.snapshot()
            .published()
            .map(|s| KeyInfo {
                kid: s.key.kid.clone(),
                alg: s.key.alg,
                state: s.state,
                created_at: s.key.created_at,
            })
            .collect()
    }

    fn from_slots(slots: Vec<Slot<B>>, entropy: Arc<dyn Entropy>) -> Self {
        Self {
            set: RwLock::new(Arc::new(KeySet::new(slots))),
            entropy,
        }
    }

    /// The key that signs for `alg` now.
    fn signing_key(&self, alg: Algorithm) -> Result<Arc<LoadedKey<B>>> {
        self.snapshot()
            .signer(alg)
            .cloned()
            .ok_or_else(|| Error::internal(format_args!("no current {} signing key", alg.as_str())))
    }

    fn snapshot(&self) -> Arc<KeySet<B>> {
        Arc::clone(&self.set.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Applies `change` to the current slots and swaps in the resulting set.
    fn update(&self, change: impl FnOnce(&mut Vec<Slot<B>>)) {
        let mut guard = self.set.write().unwrap_or_else(PoisonError::into_inner);
        let mut slots = guard.slots.clone();
        change(&mut slots);
        *guard = Arc::new(KeySet::new(slots));
    }

    async fn add(
        &self,
        store: Option<&dyn KeyStore>,
        secrets: &[Vec<u8>],
        alg: Algorithm,
        pkcs8: Zeroizing<Vec<u8>>,
        now: i64,
    ) -> Result<String> {
        let key = Arc::new(LoadedKey::<B>::new(alg, pkcs8, None, now)?);
        let set = self.snapshot();
        if set.slots.iter().any(|s| s.key.kid == key.kid) {
            return Err(Error::new(
                ErrorCode::Conflict,
                "this key is already in the key set",
            ));
        }
        let (state, replaced): (KeyState, Vec<String>) = if set.signer(alg).is_some() {
            let waiting = set
                .slots
                .iter()
                .filter(|s| s.key.alg == alg && s.state == KeyState::Next)
                .map(|s| s.key.kid.clone())
                .collect();
            (KeyState::Next, waiting)
        } else {
            (KeyState::Current, Vec::new())
        };
        if let Some(store) = store {
            store.put_key(self.record(secrets, &key, state)?).await?;
            for kid in &replaced {
                store.delete_key(kid).await?;
            }
        }
        let kid = key.kid.clone();
        self.update(|slots| {
            slots.retain(|s| !replaced.contains(&s.key.kid));
            slots.push(Slot { state, key });
        });
        Ok(kid)
    }

    /// The store record for `key` in `state`, sealed under the current secret.
    fn record(
        &self,
        secrets: &[Vec<u8>],
        key: &LoadedKey<B>,
        state: KeyState,
    ) -> Result<StoredKey> {
        let secret = secrets
            .first()
            .ok_or_else(|| Error::internal("no system secret to seal signing keys with"))?;
        Ok(StoredKey {
            kid: key.kid.clone(),
            alg: key.alg.as_str().to_owned(),
            state,
            sealed_private_key: seal_private_key(
                secret,
                &key.kid,
                key.alg,
                &key.pkcs8,
                &*self.entropy,
            )?,
            created_at: key.created_at,
        })
    }
}

impl<B: Backend> KeySigner for Keyring<B> {
    fn sign(&self, alg: Algorithm, typ: &str, payload: &[u8]) -> Result<String> {
        Ok(self.signing_key(alg)?.sign_compact(typ, payload)?.jws)
    }

    fn sign_digested(
        &self,
        alg: Algorithm,
        typ: &str,
        payload: &[u8],
    ) -> Result<(String, [u8; 32])> {
        Ok(self.signing_key(alg)?.sign_compact(typ, payload)?.digest())
    }

    fn current_kid(&self, alg: Algorithm) -> Option<String> {
        self.snapshot().signer(alg).map(|k| k.kid.clone())
    }

    fn jwks(&self) -> serde_json::Value {
        self.snapshot().jwks.clone()
    }

    fn algorithms(&self) -> Vec<Algorithm> {
        let set = self.snapshot();
        ALGORITHMS
            .into_iter()
            .filter(|&alg| set.signer(alg).is_some())
            .collect()
    }

    fn reload<'a>(
        &'a self,
        store: &'a dyn KeyStore,
        secrets: &'a [Vec<u8>],
    ) -> crate::storage::StoreFuture<'a, Result<()>> {
        crate::storage::StoreFuture::boxed(Keyring::reload(self, store, secrets))
    }
}

impl<B: Backend> fmt::Debug for Keyring<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("keys", &self.keys())
            .finish_non_exhaustive()
    }
}

/// `algs` without repeats, in order.
fn distinct(algs: &[Algorithm]) -> Vec<Algorithm> {
    let mut seen = Vec::with_capacity(algs.len());
    for &alg in algs {
        if !seen.contains(&alg) {
            seen.push(alg);
        }
    }
    seen
}

#[cfg(all(test, feature = "rust-crypto"))]
mod tests {
    use std::borrow::Cow;

    use super::super::key_set::{encode_header, COMMON_TYPES};
    use super::*;

    #[test]
    fn headers_are_precomputed_and_match_fresh_encoding() {
        let ring = LocalSigner::generate(&[Algorithm::ES256]).unwrap();
        let set = ring.snapshot();
        let key = set.signer(Algorithm::ES256).unwrap();
        for typ in COMMON_TYPES {
            assert!(matches!(key.header(typ).unwrap(), Cow::Borrowed(_)));
            assert_eq!(
                key.header(typ).unwrap(),
                encode_header(Algorithm::ES256, &key.kid, typ).unwrap()
            );
        }
        assert!(matches!(key.header("dpop+jwt").unwrap(), Cow::Owned(_)));
    }

    #[test]
    fn duplicates_in_algs_are_ignored() {
        let ring = LocalSigner::generate(&[Algorithm::ES256, Algorithm::ES256]).unwrap();
        assert_eq!(ring.keys().len(), 1);
        assert_eq!(ring.algorithms(), vec![Algorithm::ES256]);
    }
}
