//! The JWT-bearer authorization grant (RFC 7523 §2.1 and §3) and its trust
//! relationships: assertions signed here by an "identity provider" with ES256 and RS256
//! keys, every refusal with its code and description, replay, expiry and deletion of the
//! trust, and scope limits.

mod common;

use common::signing_keys::*;
use common::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use portcullis::model::Lifespan;
use portcullis::token::assertion::{LEEWAY, MAX_ASSERTION_BYTES, MAX_JTI_BYTES, MAX_LIFETIME};
use portcullis::{ClientRequest, CreatedClient, Error, ErrorCode, TrustRequest};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

const IDP: &str = "https://idp.example.com";
const GRANT: &str = "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer";

fn token_url() -> String {
    format!("{ISSUER}/oauth2/token")
}

/// A confidential client allowed the jwt-bearer grant, with scopes `read write profile`.
fn bearer_client() -> ClientRequest {
    ClientRequest {
        grant_types: Some(vec![
            "client_credentials".into(),
            "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
        ]),
        scope: Some("read write profile".into()),
        response_types: Some(vec![]),
        redirect_uris: Some(vec![]),
        ..web_client()
    }
}

fn trust_request(key: &Key, subject: Option<&str>, expires_at: OffsetDateTime) -> TrustRequest {
    TrustRequest {
        issuer: Some(IDP.into()),
        subject: subject.map(Into::into),
        allow_any_subject: subject.is_none().then_some(true),
        scope: Some(vec!["read".into(), "profile".into()]),
        jwk: Some(key.jwk.clone()),
        expires_at: Some(expires_at),
    }
}

fn body(assertion: &str, scope: Option<&str>) -> String {
    let mut b = format!("grant_type={GRANT}&assertion={assertion}");
    if let Some(s) = scope {
        b.push_str(&format!("&scope={}", urlencode(s)));
    }
    b
}

/// A provider, a jwt-bearer client and an ES256 key (kid `idp-1`) trusted for `alice`
/// with scopes `read profile` for a day.
struct Setup {
    f: Fixture,
    client: CreatedClient,
    key: Key,
    trust_id: String,
}

async fn setup() -> Setup {
    let f = fixture().await;
    let client = f.client(bearer_client()).await;
    let key = es256(Some("idp-1"));
    let day = f.provider.now() + Duration::days(1);
    let trust = f
        .provider
        .trust_jwt_grant_issuer(trust_request(&key, Some("alice"), day))
        .await
        .expect("issuer trusted");
    Setup {
        f,
        client,
        key,
        trust_id: trust.id,
    }
}

impl Setup {
    fn now(&self) -> i64 {
        self.f.provider.now().unix_timestamp()
    }

    /// Valid claims about `alice`.
    fn claims(&self) -> Value {
        let now = self.now();
        json!({
            "iss": IDP, "sub": "alice", "aud": token_url(),
            "iat": now, "exp": now + 300, "jti": fresh_jti(),
        })
    }

    fn with(&self, k: &str, v: Value) -> Value {
        let mut c = self.claims();
        c[k] = v;
        c
    }

    fn without(&self, k: &str) -> Value {
        let mut c = self.claims();
        c.as_object_mut().unwrap().remove(k);
        c
    }

    async fn grant(
        &self,
        assertion: &str,
        scope: Option<&str>,
    ) -> portcullis::Result<portcullis::TokenResponse> {
        self.f
            .token(&body(assertion, scope), Some(&self.client))
            .await
    }

    /// The grant for `assertion` with scope `read` and `audience`.
    async fn grant_for(
        &self,
        assertion: &str,
        audience: &str,
    ) -> portcullis::Result<portcullis::TokenResponse> {
        let body = format!(
            "{}&audience={}",
            body(assertion, Some("read")),
            urlencode(audience)
        );
        self.f.token(&body, Some(&self.client)).await
    }

    /// The grant's error for `assertion`: `code`, with exactly `description`.
    async fn refused(&self, assertion: &str, code: ErrorCode, description: &str) -> Error {
        let e = self
            .grant(assertion, Some("read"))
            .await
            .expect_err("the grant must be refused");
        assert_eq!(e.code(), code, "{e}");
        assert_eq!(e.description(), description);
        e
    }

    /// Signs `claims` with the trusted key; must be `invalid_grant` with `description`.
    async fn refuses_claims(&self, claims: &Value, description: &str) {
        let e = self
            .refused(
                &sign(&self.key, claims),
                ErrorCode::InvalidGrant,
                description,
            )
            .await;
        assert!(!e.description().contains(IDP), "no claim value is echoed");
    }
}

#[tokio::test]
async fn an_es256_assertion_buys_an_access_token_for_its_subject() {
    let s = setup().await;
    let r = s
        .grant(&sign(&s.key, &s.claims()), Some("read profile"))
        .await
        .expect("a valid assertion is exchanged");
    assert_eq!(r.scope.as_deref(), Some("read profile"));
    assert!(r.refresh_token.is_none(), "no refresh token");
    assert!(r.id_token.is_none(), "no ID token");
    let record = s.f.record(&r.access_token).await;
    assert_eq!(record.session.subject, "alice");
    assert_eq!(&*record.client_id, s.client.client.client_id.as_str());
    let active = s.f.introspect(&r.access_token).await;
    assert!(active.is_active());
    assert_eq!(r.expires_in, 3600, "the default access token lifespan");
}

#[tokio::test]
async fn an_rs256_assertion_for_any_subject_and_the_grant_lifespan() {
    let f = fixture().await;
    let mut req = bearer_client();
    req.lifespans.jwt_bearer_grant_access_token_lifespan = Lifespan::parse("7m");
    let client = f.client(req).await;
    let key = rs256();
    let day = f.provider.now() + Duration::days(1);
    let trust = f
        .provider
        .trust_jwt_grant_issuer(trust_request(key, None, day))
        .await
        .unwrap();
    assert!(trust.allow_any_subject && trust.subject.is_empty());
    let now = f.provider.now().unix_timestamp();
    let claims = json!({"iss": IDP, "sub": "bob@example.com", "aud": ISSUER,
        "exp": now + 60, "jti": fresh_jti()});
    let r = f
        .token(&body(&sign(key, &claims), Some("read")), Some(&client))
        .await
        .expect("any subject is trusted");
    assert_eq!(
        r.expires_in,
        7 * 60,
        "jwt_bearer_grant_access_token_lifespan"
    );
    assert_eq!(
        f.record(&r.access_token).await.session.subject,
        "bob@example.com"
    );
}

#[tokio::test]
async fn a_jwt_access_token_carries_the_assertion_subject() {
    let f = fixture().await;
    let mut req = bearer_client();
    req.access_token_strategy = Some("jwt".into());
    let client = f.client(req).await;
    let key = es256(Some("k"));
    let day = f.provider.now() + Duration::days(1);
    f.provider
        .trust_jwt_grant_issuer(trust_request(&key, Some("alice"), day))
        .await
        .unwrap();
    let now = f.provider.now().unix_timestamp();
    let claims = json!({"iss": IDP, "sub": "alice", "aud": token_url(),
        "exp": now + 60, "jti": fresh_jti()});
    let r = f
        .token(&body(&sign(&key, &claims), None), Some(&client))
        .await
        .unwrap();
    let (_, at) = verify_jwt(&f.provider, &r.access_token, None);
    assert_eq!(at["sub"], "alice");
    assert_eq!(at["client_id"], client.client.client_id.as_str());
}

#[tokio::test]
async fn the_client_must_be_allowed_the_grant_and_authenticate() {
    let s = setup().await;
    let assertion = sign(&s.key, &s.claims());
    let plain = s.f.client(web_client()).await;
    let e =
        s.f.token(&body(&assertion, None), Some(&plain))
            .await
            .unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnauthorizedClient);
    assert_eq!(
        e.description(),
        "The client is not allowed to use the jwt-bearer grant."
    );
    let public =
        s.f.client(ClientRequest {
            token_endpoint_auth_method: Some("none".into()),
            grant_types: Some(vec![
                "authorization_code".into(),
                "urn:ietf:params:oauth:grant-type:jwt-bearer".into(),
            ]),
            ..bearer_client()
        })
        .await;
    let b = format!(
        "{}&client_id={}",
        body(&assertion, None),
        public.client.client_id
    );
    let e = s.f.token(&b, None).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnauthorizedClient);
    assert_eq!(
        e.description(),
        "The client is not allowed to use the jwt-bearer grant."
    );
    let mut wrong = s.client.clone();
    wrong.client_secret = Some("wrong".into());
    let e =
        s.f.token(&body(&assertion, None), Some(&wrong))
            .await
            .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidClient);
    assert_eq!(e.description(), "Client authentication failed.");
    // None of these spent the assertion.
    assert!(s.grant(&assertion, None).await.is_ok());
}

#[tokio::test]
async fn a_request_without_an_assertion_is_invalid_request() {
    let s = setup().await;
    let e =
        s.f.token(&format!("grant_type={GRANT}&scope=read"), Some(&s.client))
            .await
            .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidRequest);
    assert_eq!(
        e.description(),
        "The request is missing the 'assertion' parameter."
    );
    let e =
        s.f.token(&format!("{}&assertion=x", body("x", None)), Some(&s.client))
            .await
            .unwrap_err();
    assert_eq!(
        e.code(),
        ErrorCode::InvalidRequest,
        "a repeated assertion: {e}"
    );
}

#[tokio::test]
async fn claims_that_break_rfc7523_are_invalid_grant() {
    let s = setup().await;
    let now = s.now();
    let aud = "The assertion's aud must name this server's issuer or token endpoint.";
    s.refuses_claims(
        &s.with("aud", json!("https://elsewhere.example/token")),
        aud,
    )
    .await;
    s.refuses_claims(
        &s.with("aud", json!(format!("{ISSUER}/oauth2/revoke"))),
        aud,
    )
    .await;
    s.refuses_claims(&s.without("aud"), aud).await;
    s.refuses_claims(&s.without("exp"), "The assertion has no exp.")
        .await;
    s.refuses_claims(
        &s.with("exp", json!(now - LEEWAY - 1)),
        "The assertion has expired.",
    )
    .await;
    s.refuses_claims(
        &s.with("exp", json!(now + MAX_LIFETIME + 1)),
        "The assertion expires too far in the future (at most one hour).",
    )
    .await;
    s.refuses_claims(
        &s.with("nbf", json!(now + LEEWAY + 10)),
        "The assertion is not valid yet (nbf).",
    )
    .await;
    s.refuses_claims(
        &s.with("iat", json!(now + LEEWAY + 10)),
        "The assertion is issued in the future (iat).",
    )
    .await;
    s.refuses_claims(&s.without("jti"), "The assertion has no jti.")
        .await;
    s.refuses_claims(
        &s.with("jti", json!("j".repeat(MAX_JTI_BYTES + 1))),
        "The assertion's jti is too long.",
    )
    .await;
    s.refuses_claims(
        &s.with("exp", json!("tomorrow")),
        "The assertion's claims are malformed.",
    )
    .await;
    s.refuses_claims(
        &s.without("sub"),
        "The assertion must have an iss and a sub.",
    )
    .await;
    s.refuses_claims(
        &s.with("sub", json!("")),
        "The assertion's iss and sub must not be empty.",
    )
    .await;
    s.refuses_claims(
        &s.with("iss", json!("https://unknown.example")),
        "The assertion's issuer is not trusted.",
    )
    .await;
    s.refuses_claims(
        &s.with("sub", json!("mallory")),
        "The assertion's issuer is not trusted for its subject.",
    )
    .await;
    // The issuer and the token endpoint both name this server; leeway is honoured.
    let mut c = s.with("aud", json!(["https://other.example", ISSUER]));
    c["exp"] = json!(now - LEEWAY + 5);
    c["nbf"] = json!(now + LEEWAY - 5);
    assert!(s.grant(&sign(&s.key, &c), None).await.is_ok());
}

#[tokio::test]
async fn an_assertion_is_accepted_once() {
    let s = setup().await;
    let first = s.claims();
    let assertion = sign(&s.key, &first);
    s.grant(&assertion, None).await.expect("first use");
    let used = "The assertion's jti has been used before.";
    s.refused(&assertion, ErrorCode::InvalidGrant, used).await;
    // The same jti, freshly signed: still a replay.
    s.refuses_claims(&s.with("jti", first["jti"].clone()), used)
        .await;
    // Another issuer may use the same jti: ids are spent per issuer.
    let other = es256(Some("other-1"));
    let day = s.f.provider.now() + Duration::days(1);
    let mut req = trust_request(&other, Some("alice"), day);
    req.issuer = Some("https://other-idp.example".into());
    s.f.provider.trust_jwt_grant_issuer(req).await.unwrap();
    let mut c = first.clone();
    c["iss"] = json!("https://other-idp.example");
    assert!(s.grant(&sign(&other, &c), None).await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_uses_of_one_assertion_one_wins() {
    let s = setup().await;
    let b = body(&sign(&s.key, &s.claims()), Some("read"));
    let wins = concurrent_token_requests(&s.f, &s.client, &b, 16).await;
    assert_eq!(wins.len(), 1, "exactly one of 16 concurrent uses succeeds");
}

#[tokio::test]
async fn an_expired_or_deleted_trust_is_not_trusted() {
    let s = setup().await;
    let short = es256(Some("short-1"));
    let soon = s.f.provider.now() + Duration::seconds(100);
    s.f.provider
        .trust_jwt_grant_issuer(trust_request(&short, Some("bob"), soon))
        .await
        .unwrap();
    s.f.clock.advance(Duration::seconds(100));
    let bob = s.with("sub", json!("bob"));
    s.refused(
        &sign(&short, &bob),
        ErrorCode::InvalidGrant,
        "The assertion's issuer is not trusted for its subject.",
    )
    .await;
    // alice's trust still holds; deleting it ends it.
    let assertion = sign(&s.key, &s.claims());
    s.f.provider
        .delete_trusted_jwt_grant_issuer(&s.trust_id)
        .await
        .unwrap();
    s.refused(
        &assertion,
        ErrorCode::InvalidGrant,
        "The assertion's issuer is not trusted.",
    )
    .await;
}

#[tokio::test]
async fn the_trusted_key_must_verify_the_assertion() {
    let s = setup().await;
    let c = s.claims();
    // Another key claiming the trusted kid.
    s.refused(
        &sign(&es256(Some("idp-1")), &c),
        ErrorCode::InvalidGrant,
        "The assertion's signature is invalid.",
    )
    .await;
    s.refused(
        &sign(&es256(Some("idp-2")), &c),
        ErrorCode::InvalidGrant,
        "No key trusted for the assertion's issuer and subject has its kid.",
    )
    .await;
    // The RSA key under the EC key's kid.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("idp-1".into());
    let misfit = jsonwebtoken::encode(&header, &c, &rs256().encoding).unwrap();
    s.refused(
        &misfit,
        ErrorCode::InvalidGrant,
        "The trusted key with the assertion's kid does not fit its algorithm.",
    )
    .await;
    // Without a kid: the one fitting key is used; with two, none is guessed.
    let mut header = Header::new(Algorithm::ES256);
    header.kid = None;
    let unnamed = jsonwebtoken::encode(&header, &s.claims(), &s.key.encoding).unwrap();
    assert!(s.grant(&unnamed, None).await.is_ok());
    let second = es256(Some("idp-2"));
    let day = s.f.provider.now() + Duration::days(1);
    s.f.provider
        .trust_jwt_grant_issuer(trust_request(&second, None, day))
        .await
        .unwrap();
    let unnamed = jsonwebtoken::encode(&header, &s.claims(), &s.key.encoding).unwrap();
    s.refused(
        &unnamed,
        ErrorCode::InvalidGrant,
        "The assertion has no kid and several keys trusted for its issuer fit it.",
    )
    .await;
    let unnamed_rsa = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &s.claims(),
        &rs256().encoding,
    )
    .unwrap();
    s.refused(
        &unnamed_rsa,
        ErrorCode::InvalidGrant,
        "No key trusted for the assertion's issuer and subject fits its algorithm.",
    )
    .await;
}

#[tokio::test]
async fn scopes_stay_within_the_client_and_the_trust() {
    let s = setup().await;
    let e = s
        .grant(&sign(&s.key, &s.claims()), Some("read write"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidScope);
    assert_eq!(
        e.description(),
        "The trust relationship of the assertion's issuer does not allow one of the scopes."
    );
    let e = s
        .grant(&sign(&s.key, &s.claims()), Some("read admin"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidScope);
    assert_eq!(
        e.description(),
        "The client is not allowed to request one of the scopes."
    );
    // A refused scope does not spend the assertion.
    let assertion = sign(&s.key, &s.claims());
    assert!(s.grant(&assertion, Some("write")).await.is_err());
    let r = s.grant(&assertion, None).await.expect("no scope asked");
    assert_eq!(r.scope.as_deref(), Some(""), "none asked, none granted");
    assert!(s.f.record(&r.access_token).await.scope.is_empty());
}

#[tokio::test]
async fn audiences_stay_within_the_client() {
    let s = setup().await;
    // A refused audience does not spend the assertion.
    let assertion = sign(&s.key, &s.claims());
    let e = s
        .grant_for(&assertion, "https://other.example.com")
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidRequest);
    assert_eq!(
        e.description(),
        "The client is not allowed to request one of the audiences."
    );
    let r = s
        .grant_for(&assertion, "https://api.example.com")
        .await
        .expect("an audience of the client's");
    let record = s.f.record(&r.access_token).await;
    assert_eq!(record.audience, ["https://api.example.com"]);
    assert_eq!(record.session.subject, "alice");
}

#[tokio::test]
async fn hostile_assertions_are_refused_without_echo() {
    let s = setup().await;
    let unsupported = "The assertion is not a JWS signed with a supported algorithm.";
    for garbage in ["not-a-jwt", "a.b.c", "....", "eyJhbGciOiJFUzI1NiJ9.e30"] {
        s.refused(garbage, ErrorCode::InvalidGrant, unsupported)
            .await;
    }
    let huge = "a".repeat(MAX_ASSERTION_BYTES + 1);
    s.refused(
        &huge,
        ErrorCode::InvalidGrant,
        "The assertion is too large.",
    )
    .await;
    // alg: none, unsigned.
    use base64::Engine as _;
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    let none = format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&s.claims()));
    s.refused(&none, ErrorCode::InvalidGrant, unsupported).await;
    // HMAC, keyed with the trusted public key's bytes (the classic confusion).
    let secret = serde_json::to_vec(&s.key.jwk).unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("idp-1".into());
    let hmac =
        jsonwebtoken::encode(&header, &s.claims(), &EncodingKey::from_secret(&secret)).unwrap();
    s.refused(
        &hmac,
        ErrorCode::InvalidGrant,
        "The assertion must be signed with an asymmetric algorithm.",
    )
    .await;
    // Critical header extensions.
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("idp-1".into());
    header.crit = Some(vec!["exp".into()]);
    let crit = jsonwebtoken::encode(&header, &s.claims(), &s.key.encoding).unwrap();
    s.refused(
        &crit,
        ErrorCode::InvalidGrant,
        "The assertion has critical header extensions this server does not support.",
    )
    .await;
    // A signed assertion whose claims are not an object.
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some("idp-1".into());
    let array = jsonwebtoken::encode(&header, &json!([1, 2]), &s.key.encoding).unwrap();
    s.refused(
        &array,
        ErrorCode::InvalidGrant,
        "The assertion is not a JWT with iss and sub claims.",
    )
    .await;
}

#[tokio::test]
async fn discovery_lists_the_grant() {
    let f = fixture().await;
    let doc = f.provider.discovery();
    let grants = doc["grant_types_supported"].as_array().unwrap();
    assert!(grants.contains(&json!("urn:ietf:params:oauth:grant-type:jwt-bearer")));
    assert!(grants.contains(&json!("client_credentials")));
}
