//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, OpenID Connect Core §9):
//! assertions signed here with ES256 and RS256 keys generated per test binary, every
//! rejection, replay, registration rules and discovery.

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine as _;
use common::signing_keys::*;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portcullis::token::client_assertion::{LEEWAY, MAX_ASSERTION_BYTES, MAX_LIFETIME};
use portcullis::{ClientRequest, Config, CreatedClient, Error, ErrorCode};
use serde_json::{json, Value};
use time::Duration;

const TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

fn token_url() -> String {
    format!("{ISSUER}/oauth2/token")
}

fn jwks(keys: &[&Key]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
}

fn pkjwt_client(jwks: Value, alg: Option<&str>) -> ClientRequest {
    ClientRequest {
        token_endpoint_auth_method: Some("private_key_jwt".into()),
        token_endpoint_auth_signing_alg: alg.map(Into::into),
        jwks: Some(jwks),
        ..web_client()
    }
}

/// Valid claims for `client_id` at the fixture's time.
fn claims(f: &Fixture, client_id: &str) -> Value {
    let now = f.provider.now().unix_timestamp();
    json!({
        "iss": client_id, "sub": client_id, "aud": token_url(),
        "iat": now, "exp": now + 300, "jti": fresh_jti(),
    })
}

fn cc_body(assertion: &str) -> String {
    format!(
        "grant_type=client_credentials&client_assertion_type={TYPE}&client_assertion={assertion}"
    )
}

struct Setup {
    f: Fixture,
    client: CreatedClient,
    key: Key,
}

impl Setup {
    fn id(&self) -> &str {
        &self.client.client.client_id
    }

    fn claims(&self) -> Value {
        claims(&self.f, self.id())
    }

    /// A client_credentials request with `assertion`; its error.
    async fn refused(&self, assertion: &str) -> Error {
        self.f
            .token(&cc_body(assertion), None)
            .await
            .expect_err("the assertion must be refused")
    }

    /// Signs `claims` with the client's key; the error, which must be `invalid_client`
    /// naming `what`.
    async fn refuses_claims(&self, claims: &Value, what: &str) {
        let e = self.refused(&sign(&self.key, claims)).await;
        assert_eq!(e.code(), ErrorCode::InvalidClient, "{claims}: {e}");
        assert!(e.description().contains(what), "{claims}: {e}");
    }
}

/// A provider with one ES256 `private_key_jwt` client (key id `ec-1`).
async fn setup() -> Setup {
    let f = fixture().await;
    let key = es256(Some("ec-1"));
    let client = f.client(pkjwt_client(jwks(&[&key]), None)).await;
    Setup { f, client, key }
}

#[tokio::test]
async fn client_credentials_with_es256_and_rs256_assertions() {
    let s = setup().await;
    assert!(s.client.client_secret.is_none(), "no secret is generated");
    assert!(s.client.client.client_secret_hash.is_none());
    let r = s.f.token(&cc_body(&sign(&s.key, &s.claims())), None).await;
    let r = r.expect("a valid ES256 assertion authenticates");
    assert_eq!(s.f.record(&r.access_token).await.client_id.as_ref(), s.id());

    let rsa =
        s.f.client(pkjwt_client(jwks(&[rs256()]), Some("RS256")))
            .await;
    let id = &rsa.client.client_id;
    let r =
        s.f.token(&cc_body(&sign(rs256(), &claims(&s.f, id))), None)
            .await
            .expect("a valid RS256 assertion authenticates");
    assert_eq!(
        s.f.record(&r.access_token).await.client_id.as_ref(),
        id.as_str()
    );
}

#[tokio::test]
async fn authorization_code_and_refresh_with_assertions() {
    let s = setup().await;
    let code = s.f.code(s.id(), "openid offline_access").await;
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}\
         &client_id={}&client_assertion_type={TYPE}&client_assertion={}",
        urlencode(REDIRECT),
        s.id(),
        sign(&s.key, &s.claims())
    );
    let r = s.f.token(&body, None).await.expect("code exchanged");
    assert!(r.id_token.is_some());
    let refresh = r
        .refresh_token
        .expect("offline_access gives a refresh token");
    let body = format!(
        "grant_type=refresh_token&refresh_token={}&client_assertion_type={TYPE}&client_assertion={}",
        urlencode(&refresh),
        sign(&s.key, &s.claims())
    );
    let r2 = s.f.token(&body, None).await.expect("refreshed");
    assert_ne!(r2.access_token, r.access_token);
}

#[tokio::test]
async fn audience_may_be_the_issuer_an_array_or_the_revocation_endpoint() {
    let s = setup().await;
    for aud in [
        json!(ISSUER),
        json!(["https://other.example", token_url()]),
        json!(format!("{ISSUER}/oauth2/revoke")),
    ] {
        let mut c = s.claims();
        c["aud"] = aud.clone();
        let r = s.f.token(&cc_body(&sign(&s.key, &c)), None).await;
        assert!(r.is_ok(), "aud {aud}: {r:?}");
    }
    // The revocation endpoint authenticates the same way.
    let at =
        s.f.token(&cc_body(&sign(&s.key, &s.claims())), None)
            .await
            .unwrap()
            .access_token;
    let body = format!(
        "token={}&client_assertion_type={TYPE}&client_assertion={}",
        urlencode(&at),
        sign(&s.key, &s.claims())
    );
    let req = portcullis::RevokeRequest::from_form(body.as_bytes(), None).unwrap();
    assert_eq!(
        s.f.provider.revoke(req).await.unwrap(),
        portcullis::Revocation::AccessToken
    );
    assert!(!s.f.introspect(&at).await.is_active());
}

#[tokio::test]
async fn claims_that_break_rfc7523_are_invalid_client() {
    let s = setup().await;
    let now = s.f.provider.now().unix_timestamp();
    let with = |k: &str, v: Value| {
        let mut c = s.claims();
        c[k] = v;
        c
    };
    let without = |k: &str| {
        let mut c = s.claims();
        c.as_object_mut().unwrap().remove(k);
        c
    };
    s.refuses_claims(&with("iss", json!("someone-else")), "iss and sub")
        .await;
    s.refuses_claims(
        &with("aud", json!("https://elsewhere.example/token")),
        "aud",
    )
    .await;
    s.refuses_claims(&without("aud"), "aud").await;
    s.refuses_claims(&with("exp", json!(now - LEEWAY - 1)), "expired")
        .await;
    s.refuses_claims(&without("exp"), "no exp").await;
    s.refuses_claims(
        &with("exp", json!(now + MAX_LIFETIME + 1)),
        "too far in the future",
    )
    .await;
    s.refuses_claims(&with("nbf", json!(now + LEEWAY + 10)), "nbf")
        .await;
    s.refuses_claims(&with("iat", json!(now + LEEWAY + 10)), "iat")
        .await;
    s.refuses_claims(&without("jti"), "no jti").await;
    s.refuses_claims(&with("exp", json!("tomorrow")), "malformed")
        .await;
    // Within the leeway, a just-expired assertion and a slightly early nbf pass.
    let mut c = with("exp", json!(now - LEEWAY + 5));
    c["nbf"] = json!(now + LEEWAY - 5);
    assert!(s.f.token(&cc_body(&sign(&s.key, &c)), None).await.is_ok());
}

#[tokio::test]
async fn an_assertion_is_checked_against_the_clock_of_the_provider() {
    let s = setup().await;
    let assertion = sign(&s.key, &s.claims()); // exp: now + 300
    s.f.clock.advance(Duration::seconds(300 + LEEWAY));
    let e = s.refused(&assertion).await;
    assert_eq!(e.code(), ErrorCode::InvalidClient);
    assert!(e.description().contains("expired"), "{e}");
}

#[tokio::test]
async fn sub_of_another_client_with_the_same_key_is_refused() {
    let s = setup().await;
    // A second client sharing the public key: the signature verifies for it, so only
    // the iss/sub check stands between the two.
    let other = s.f.client(pkjwt_client(jwks(&[&s.key]), None)).await;
    let mut c = s.claims();
    c["sub"] = other.client.client_id.clone().into();
    s.refuses_claims(&c, "iss and sub").await;
}

#[tokio::test]
async fn a_replayed_jti_is_refused_everywhere() {
    let s = setup().await;
    let first = s.claims();
    let assertion = sign(&s.key, &first);
    s.f.token(&cc_body(&assertion), None)
        .await
        .expect("first use");
    let e = s.refused(&assertion).await;
    assert_eq!(e.code(), ErrorCode::InvalidClient);
    assert!(e.description().contains("used before"), "{e}");
    // Same jti in a freshly signed assertion: still a replay.
    let mut again = s.claims();
    again["jti"] = first["jti"].clone();
    s.refuses_claims(&again, "used before").await;
    // At the revocation endpoint too.
    let body = format!("token=x&client_assertion_type={TYPE}&client_assertion={assertion}");
    let req = portcullis::RevokeRequest::from_form(body.as_bytes(), None).unwrap();
    assert_eq!(
        s.f.provider.revoke(req).await.unwrap_err().code(),
        ErrorCode::InvalidClient
    );
    // A new jti works.
    assert!(s
        .f
        .token(&cc_body(&sign(&s.key, &s.claims())), None)
        .await
        .is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_uses_of_one_assertion_one_wins() {
    let s = setup().await;
    let body = cc_body(&sign(&s.key, &s.claims()));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let provider = s.f.provider.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let req = portcullis::TokenRequest::from_form(body.as_bytes(), None).unwrap();
                provider.token(req).await
            })
        })
        .collect();
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), ErrorCode::InvalidClient),
        }
    }
    assert_eq!(ok, 1, "exactly one use of a jti succeeds");
}

#[tokio::test]
async fn keys_and_algorithms_are_enforced() {
    let s = setup().await;
    let c = s.claims();
    // Signed with a key the client did not register (same kid).
    let e = s.refused(&sign(&es256(Some("ec-1")), &c)).await;
    assert!(e.description().contains("signature is invalid"), "{e}");
    // A kid the client does not have.
    let e = s.refused(&sign(&es256(Some("nope")), &c)).await;
    assert!(e.description().contains("kid"), "{e}");
    // alg none.
    let none = format!(
        "{}.{}.",
        B64.encode(br#"{"alg":"none","typ":"JWT"}"#),
        B64.encode(c.to_string())
    );
    let e = s.refused(&none).await;
    assert!(e.description().contains("supported algorithm"), "{e}");
    // HS256, keyed with anything: a made-up secret, or the client's public key.
    for secret in [
        &b"anything"[..],
        s.key.jwk["x"].as_str().unwrap().as_bytes(),
    ] {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("ec-1".into());
        let hs = jsonwebtoken::encode(&header, &c, &EncodingKey::from_secret(secret)).unwrap();
        let e = s.refused(&hs).await;
        assert_eq!(e.code(), ErrorCode::InvalidClient);
        assert!(e.description().contains("asymmetric"), "{e}");
    }
    // The header names an algorithm the kid's key does not fit (RS256 with the EC kid).
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("ec-1".into());
    let mismatched = jsonwebtoken::encode(&header, &c, &rs256().encoding).unwrap();
    let e = s.refused(&mismatched).await;
    assert_eq!(e.code(), ErrorCode::InvalidClient);
    assert!(e.description().contains("does not fit"), "{e}");
    // None of the refusals spent the jti.
    assert!(s.f.token(&cc_body(&sign(&s.key, &c)), None).await.is_ok());
}

#[tokio::test]
async fn the_registered_signing_alg_is_required() {
    let f = fixture().await;
    let ec = es256(Some("ec-1"));
    let client = f
        .client(pkjwt_client(jwks(&[rs256(), &ec]), Some("RS256")))
        .await;
    let id = &client.client.client_id;
    let e = f
        .token(&cc_body(&sign(&ec, &claims(&f, id))), None)
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidClient);
    assert!(
        e.description().contains("token_endpoint_auth_signing_alg"),
        "{e}"
    );
    // PS256 with the same RSA key: still not the registered RS256.
    let e = f
        .token(
            &cc_body(&sign_as(rs256(), Algorithm::PS256, &claims(&f, id))),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        e.description().contains("token_endpoint_auth_signing_alg"),
        "{e}"
    );
    assert!(f
        .token(&cc_body(&sign(rs256(), &claims(&f, id))), None)
        .await
        .is_ok());
}

#[tokio::test]
async fn without_kid_the_single_fitting_key_is_used() {
    let f = fixture().await;
    let (a, b) = (es256(None), es256(None));
    let one = f.client(pkjwt_client(jwks(&[&a, rs256()]), None)).await;
    let id = one.client.client_id.clone();
    assert!(f
        .token(&cc_body(&sign(&a, &claims(&f, &id))), None)
        .await
        .is_ok());
    let two = f.client(pkjwt_client(jwks(&[&a, &b]), None)).await;
    let e = f
        .token(
            &cc_body(&sign(&b, &claims(&f, &two.client.client_id))),
            None,
        )
        .await
        .unwrap_err();
    assert!(e.description().contains("several registered keys"), "{e}");
}

#[tokio::test]
async fn malformed_and_oversized_assertions_are_invalid_client() {
    let s = setup().await;
    let payload = B64.encode(s.claims().to_string());
    for bad in [
        "not-a-jwt".to_owned(),
        "a.b.c".to_owned(),
        format!("bm90IGpzb24.{payload}.c2ln"),
        format!(
            "{}.{payload}.!!!",
            B64.encode(br#"{"alg":"ES256","kid":"ec-1"}"#)
        ),
        format!("eyJ{}.{payload}.c2ln", "A".repeat(MAX_ASSERTION_BYTES)),
    ] {
        let e = s.refused(&bad).await;
        assert_eq!(e.code(), ErrorCode::InvalidClient, "{bad:.40}: {e}");
    }
    let huge = format!("eyJ{}.{payload}.c2ln", "A".repeat(MAX_ASSERTION_BYTES));
    assert!(s.refused(&huge).await.description().contains("too large"));
}

#[tokio::test]
async fn assertion_parameters_must_be_the_only_method_and_match_client_id() {
    let s = setup().await;
    let assertion = sign(&s.key, &s.claims());
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("x:y")
    );
    let req = portcullis::TokenRequest::from_form(cc_body(&assertion).as_bytes(), Some(&basic));
    assert_eq!(req.unwrap_err().code(), ErrorCode::InvalidRequest);
    let e =
        s.f.token(&format!("{}&client_id=other", cc_body(&assertion)), None)
            .await
            .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidRequest);
    assert!(e.description().contains("client_id"), "{e}");
    let unknown_type =
        "grant_type=client_credentials&client_assertion_type=urn%3Ax&client_assertion=a.b.c";
    let e = s.f.token(unknown_type, None).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidRequest);
    assert!(e.description().contains("client_assertion_type"), "{e}");
    // Not spent by the refused requests.
    assert!(s.f.token(&cc_body(&assertion), None).await.is_ok());
}

#[tokio::test]
async fn a_client_must_use_the_method_it_registered() {
    let s = setup().await;
    // A client_secret_basic client presenting an assertion.
    let web = s.f.client(web_client()).await;
    let c = claims(&s.f, &web.client.client_id);
    let e = s.refused(&sign(&s.key, &c)).await;
    assert_eq!(e.code(), ErrorCode::InvalidClient);
    assert!(e.description().contains("client_secret_basic"), "{e}");
    // The private_key_jwt client presenting Basic, a body secret or only its id.
    let id = s.id();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:guess"))
    );
    let req = portcullis::TokenRequest::from_form(b"grant_type=client_credentials", Some(&basic))
        .unwrap();
    for body in [
        None,
        Some(format!(
            "grant_type=client_credentials&client_id={id}&client_secret=guess"
        )),
        Some(format!("grant_type=client_credentials&client_id={id}")),
    ] {
        let r = match &body {
            None => s.f.provider.token(req.clone()).await,
            Some(b) => s.f.token(b, None).await,
        };
        let e = r.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidClient, "{body:?}");
        assert!(e.description().contains("private_key_jwt"), "{body:?}: {e}");
    }
}

#[tokio::test]
async fn over_http_the_token_endpoint_accepts_an_assertion_once() {
    let s = setup().await;
    let mut h = Http::new(&s.f.provider);
    let body = cc_body(&sign(&s.key, &s.claims()));
    let resp = h.form("/oauth2/token", &body, None).await;
    assert_eq!(resp.status(), 200);
    assert!(body_json(&resp)["access_token"]
        .as_str()
        .unwrap()
        .starts_with("ptc_at_"));
    let replay = h.form("/oauth2/token", &body, None).await;
    assert_eq!(replay.status(), 401);
    assert_eq!(body_json(&replay)["error"], "invalid_client");
}

#[tokio::test]
async fn registration_requires_public_jwks_for_private_key_jwt() {
    let f = fixture().await;
    let key = es256(Some("k"));
    let refused = |req: ClientRequest| {
        let f = &f;
        async move {
            let e = f.provider.create_client(req).await.unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidClientMetadata, "{e}");
            e.description().to_owned()
        }
    };
    let no_jwks = ClientRequest {
        jwks: None,
        jwks_uri: Some("https://app.example.com/jwks.json".into()),
        ..pkjwt_client(Value::Null, None)
    };
    assert!(refused(no_jwks).await.contains("jwks_uri"));
    let mut private = key.jwk.clone();
    private["d"] = json!("jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI");
    let d = refused(pkjwt_client(json!({ "keys": [private] }), None)).await;
    assert!(d.contains("public keys only"), "{d}");
    let oct = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]});
    assert!(refused(pkjwt_client(oct, None))
        .await
        .contains("public keys only"));
    assert!(refused(pkjwt_client(json!({"keys": []}), None))
        .await
        .contains("no public key"));
    assert!(refused(pkjwt_client(jwks(&[&key]), Some("HS256")))
        .await
        .contains("not supported"));
    assert!(refused(pkjwt_client(jwks(&[&key]), Some("RS256")))
        .await
        .contains("no public key"));
    let chosen = ClientRequest {
        client_secret: Some("a chosen secret".into()),
        ..pkjwt_client(jwks(&[&key]), None)
    };
    assert!(refused(chosen).await.contains("cannot have a secret"));

    // Dynamic registration follows the same rules.
    let f = fixture_with(|c: &mut Config| c.dynamic_registration = true).await;
    let self_service = |jwks: Option<Value>| ClientRequest {
        token_endpoint_auth_method: Some("private_key_jwt".into()),
        jwks,
        redirect_uris: Some(vec![REDIRECT.into()]),
        ..Default::default()
    };
    let e = f
        .provider
        .register_client(self_service(None))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidClientMetadata);
    let reg = f
        .provider
        .register_client(self_service(Some(jwks(&[&key]))))
        .await
        .expect("registered with public keys");
    assert!(reg.client_secret.is_none());
    assert!(reg.to_json().get("client_secret").is_none());
}

#[tokio::test]
async fn discovery_advertises_private_key_jwt() {
    let f = fixture().await;
    let d = f.provider.discovery();
    for field in [
        "token_endpoint_auth_methods_supported",
        "revocation_endpoint_auth_methods_supported",
    ] {
        assert!(d[field]
            .as_array()
            .unwrap()
            .contains(&json!("private_key_jwt")));
    }
    for field in [
        "token_endpoint_auth_signing_alg_values_supported",
        "revocation_endpoint_auth_signing_alg_values_supported",
    ] {
        let algs = d[field].as_array().unwrap();
        assert!(algs.contains(&json!("ES256")) && algs.contains(&json!("RS256")));
        assert!(!algs.contains(&json!("HS256")) && !algs.contains(&json!("none")));
    }
}
