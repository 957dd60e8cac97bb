//! Asymmetric key pairs for signing RFC 7523 assertions in tests: ES256 keys made per
//! call, one RS256 key per test binary (generating one is slow).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// A key pair: the private half signs, the public half is registered (a client's
/// `jwks`) or trusted (a JWT-bearer issuer's `jwk`).
pub struct Key {
    pub encoding: EncodingKey,
    pub jwk: Value,
    pub alg: Algorithm,
}

/// A fresh P-256 key pair, its JWK named `kid` if given.
pub fn es256(kid: Option<&str>) -> Key {
    use p256::elliptic_curve::sec1::ToEncodedPoint as _;
    use p256::pkcs8::EncodePrivateKey as _;
    let secret = p256::SecretKey::random(&mut rand_core::OsRng);
    let pem = secret.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap();
    let point = secret.public_key().to_encoded_point(false);
    let mut jwk = json!({
        "kty": "EC", "crv": "P-256", "use": "sig",
        "x": B64.encode(point.x().unwrap()),
        "y": B64.encode(point.y().unwrap()),
    });
    if let Some(kid) = kid {
        jwk["kid"] = kid.into();
    }
    Key {
        encoding: EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
        jwk,
        alg: Algorithm::ES256,
    }
}

/// One RSA key for the whole binary: generating one is slow.
pub fn rs256() -> &'static Key {
    static KEY: OnceLock<Key> = OnceLock::new();
    KEY.get_or_init(|| {
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        use rsa::traits::PublicKeyParts as _;
        let key = rsa::RsaPrivateKey::new(&mut rand_core::OsRng, 2048).unwrap();
        let pem = key.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).unwrap();
        Key {
            encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
            jwk: json!({
                "kty": "RSA", "kid": "rsa-1", "alg": "RS256",
                "n": B64.encode(key.n().to_bytes_be()),
                "e": B64.encode(key.e().to_bytes_be()),
            }),
            alg: Algorithm::RS256,
        }
    })
}

/// A `jti` no other assertion of this binary has.
pub fn fresh_jti() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("jti-{}", N.fetch_add(1, Ordering::Relaxed))
}

/// Signs `claims` with `key` as `alg`, naming the key's `kid` if it has one.
pub fn sign_as(key: &Key, alg: Algorithm, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = key.jwk["kid"].as_str().map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key.encoding).unwrap()
}

/// Signs `claims` with `key` as its own algorithm.
pub fn sign(key: &Key, claims: &Value) -> String {
    sign_as(key, key.alg, claims)
}
