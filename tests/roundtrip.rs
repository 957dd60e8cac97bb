//! Round-trip properties for the serialised value types: JSON (storage and API: token
//! records, clients, trust relationships, flows, logout flows, sessions, consents,
//! signing keys, the apps' answers, token responses), forms, response types, lifespans
//! and scopes.

use std::sync::Arc;

use portcullis::model::{
    AcceptConsent, AcceptLogin, AuthorizationRequest, Client, ClientLifespans, CodeBinding,
    ConsentClaims, ConsentSession, Flow, FlowState, KeyState, Lifespan, LoginSession, LogoutFlow,
    LogoutState, OidcContext, Pkce, PkceMethod, Prompt, Rejection, ResponseMode, ResponseType,
    Scope, Session, StoredKey, TokenKind, TokenRecord, TokenStatus, TrustedIssuer, TrustedKey,
};
use portcullis::token::verifier::Secret;
use portcullis::{Params, TokenResponse};
use proptest::prelude::*;

fn scope() -> impl Strategy<Value = Scope> {
    proptest::collection::vec("[!#-\\[\\]-~]{1,12}", 0..5)
        .prop_map(|t| Scope::from_tokens(t).unwrap())
}

fn text() -> impl Strategy<Value = String> {
    ".{0,24}"
}

fn claims() -> impl Strategy<Value = serde_json::Map<String, serde_json::Value>> {
    proptest::collection::btree_map(
        "[a-z_]{1,8}",
        prop_oneof![
            any::<i64>().prop_map(serde_json::Value::from),
            text().prop_map(serde_json::Value::from),
            any::<bool>().prop_map(serde_json::Value::from),
        ],
        0..4,
    )
    .prop_map(|m| m.into_iter().collect())
}

fn session() -> impl Strategy<Value = Session> {
    (
        text(),
        proptest::option::of(any::<i64>()),
        proptest::option::of(text()),
        proptest::collection::vec(text(), 0..3),
        proptest::option::of(text()),
        claims(),
        claims(),
    )
        .prop_map(|(subject, auth_time, nonce, amr, sid, at, it)| Session {
            subject,
            auth_time,
            acr: None,
            amr,
            sid: sid.map(Into::into),
            nonce,
            consent_id: None,
            access_token_claims: at,
            id_token_claims: it,
        })
}

fn record() -> impl Strategy<Value = TokenRecord> {
    (
        text(),
        prop_oneof![
            Just(TokenKind::AccessToken),
            Just(TokenKind::RefreshToken),
            Just(TokenKind::AuthorizationCode)
        ],
        prop_oneof![
            Just(TokenStatus::Active),
            Just(TokenStatus::Revoked),
            Just(TokenStatus::Consumed),
            Just(TokenStatus::Rotated)
        ],
        (text(), text(), scope(), scope()),
        proptest::collection::vec(text(), 0..3),
        (
            any::<i64>(),
            any::<i64>(),
            proptest::option::of(any::<i64>()),
            any::<u32>(),
        ),
        session(),
        proptest::option::of((proptest::option::of(text()), proptest::option::of(pkce()))),
    )
        .prop_map(
            |(
                signature,
                kind,
                status,
                (grant_id, client_id, scope, granted_scope),
                audience,
                (issued_at, expires_at, rotated_at, reuses),
                session,
                code,
            )| TokenRecord {
                signature,
                kind,
                status,
                rotated_at,
                reuses,
                grant_id: grant_id.into(),
                client_id: client_id.into(),
                scope,
                granted_scope,
                audience,
                issued_at,
                expires_at,
                session: Arc::new(session),
                code: code.map(|(redirect_uri, pkce)| CodeBinding { redirect_uri, pkce }),
            },
        )
}

fn pkce() -> impl Strategy<Value = Pkce> {
    (text(), any::<bool>()).prop_map(|(challenge, s256)| Pkce {
        challenge,
        method: if s256 {
            PkceMethod::S256
        } else {
            PkceMethod::Plain
        },
    })
}

/// A response type: any non-empty combination of `code`, `token` and `id_token`.
fn response_type() -> impl Strategy<Value = ResponseType> {
    (any::<bool>(), any::<bool>(), any::<bool>())
        .prop_filter("a response type names something", |(c, t, i)| {
            *c || *t || *i
        })
        .prop_map(|(code, token, id_token)| ResponseType {
            code,
            token,
            id_token,
        })
}

fn authorization_request() -> impl Strategy<Value = AuthorizationRequest> {
    (
        (text(), text(), any::<bool>(), response_type()),
        prop_oneof![
            Just(ResponseMode::Query),
            Just(ResponseMode::Fragment),
            Just(ResponseMode::FormPost)
        ],
        (
            scope(),
            proptest::collection::vec(text(), 0..3),
            proptest::collection::vec((text(), text()), 0..4),
        ),
        (
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(pkce()),
        ),
        (any::<[bool; 4]>(), proptest::option::of(any::<i64>())),
        (
            [(); 3].map(|()| proptest::collection::vec(text(), 0..3)),
            proptest::option::of(text()),
            proptest::option::of(claims()),
            proptest::option::of(text()),
        ),
    )
        .prop_map(
            |(
                (client_id, redirect_uri, redirect_uri_given, response_type),
                response_mode,
                (scope, audience, pairs),
                (state, nonce, pkce),
                ([none, login, consent, select_account], max_age),
                (
                    [acr_values, ui_locales, claims_locales],
                    display,
                    id_token_hint_claims,
                    login_hint,
                ),
            )| AuthorizationRequest {
                client_id,
                redirect_uri,
                redirect_uri_given,
                response_type,
                response_mode,
                scope,
                audience,
                state,
                nonce,
                pkce,
                prompt: Prompt {
                    none,
                    login,
                    consent,
                    select_account,
                },
                max_age,
                oidc_context: OidcContext {
                    acr_values,
                    display,
                    id_token_hint_claims,
                    login_hint,
                    ui_locales,
                    claims_locales,
                },
                params: Params::from_pairs(pairs),
            },
        )
}

fn rejection() -> impl Strategy<Value = Rejection> {
    (
        text(),
        text(),
        proptest::option::of(text()),
        proptest::option::of(any::<u16>()),
    )
        .prop_map(
            |(error, error_description, error_hint, status_code)| Rejection {
                error,
                error_description,
                error_hint,
                status_code,
            },
        )
}

fn flow() -> impl Strategy<Value = Flow> {
    (
        (text(), any::<u64>(), 0..5usize),
        authorization_request(),
        (any::<i64>(), any::<i64>(), text()),
        (
            any::<bool>(),
            proptest::option::of(text()),
            proptest::option::of(any::<i64>()),
        ),
        proptest::option::of((
            text(),
            any::<bool>(),
            proptest::collection::vec(text(), 0..2),
        )),
        (
            proptest::option::of(any::<[u8; 16]>()),
            proptest::option::of(any::<[u8; 16]>()),
            any::<bool>(),
            proptest::option::of(any::<[u8; 16]>()),
        ),
        proptest::option::of((scope(), claims(), any::<bool>(), any::<i64>())),
        proptest::option::of(rejection()),
    )
        .prop_map(
            |(
                (id, version, state),
                request,
                (requested_at, expires_at, session_id),
                (login_skip, known_subject, auth_time),
                login,
                (login_verifier, consent_challenge, consent_skip, consent_verifier),
                consent,
                rejection,
            )| Flow {
                id: id.into(),
                version,
                state: [
                    FlowState::LoginRequested,
                    FlowState::LoginHandled,
                    FlowState::ConsentRequested,
                    FlowState::ConsentHandled,
                    FlowState::Done,
                ][state],
                request: Arc::new(request),
                requested_at,
                expires_at,
                session_id: session_id.into(),
                login_skip,
                known_subject: known_subject.map(Into::into),
                auth_time,
                login: login.map(|(subject, remember, amr)| {
                    Arc::new(AcceptLogin {
                        subject,
                        remember,
                        amr,
                        ..AcceptLogin::default()
                    })
                }),
                login_verifier: login_verifier.map(Secret::from),
                consent_challenge: consent_challenge.map(Secret::from),
                consent_skip,
                consent: consent.map(|(scope, claims, remember, remember_for)| {
                    Arc::new(AcceptConsent {
                        grant_scope: scope.into_vec(),
                        session: ConsentClaims {
                            id_token: claims,
                            ..ConsentClaims::default()
                        },
                        remember,
                        remember_for,
                        ..AcceptConsent::default()
                    })
                }),
                consent_verifier: consent_verifier.map(Secret::from),
                rejection: rejection.map(Arc::new),
            },
        )
}

fn logout_flow() -> impl Strategy<Value = LogoutFlow> {
    (
        (text(), any::<u64>(), 0..4usize),
        (text(), text(), proptest::option::of(text()), any::<bool>()),
        (
            proptest::option::of(text()),
            proptest::option::of(text()),
            text(),
            any::<i64>(),
            proptest::option::of(any::<[u8; 16]>()),
        ),
    )
        .prop_map(
            |(
                (id, version, state),
                (subject, sid, client_id, rp_initiated),
                (post_logout_redirect_uri, state_param, request_url, expires_at, verifier),
            )| LogoutFlow {
                id,
                version,
                state: [
                    LogoutState::Requested,
                    LogoutState::Accepted,
                    LogoutState::Rejected,
                    LogoutState::Done,
                ][state],
                subject,
                sid,
                client_id,
                rp_initiated,
                post_logout_redirect_uri,
                state_param,
                request_url,
                expires_at,
                verifier: verifier.map(Secret::from),
            },
        )
}

fn stored_key() -> impl Strategy<Value = StoredKey> {
    (
        text(),
        prop_oneof![Just("ES256"), Just("RS256")],
        prop_oneof![
            Just(KeyState::Next),
            Just(KeyState::Current),
            any::<i64>().prop_map(|until| KeyState::Retired { until }),
        ],
        proptest::collection::vec(any::<u8>(), 0..64),
        any::<i64>(),
    )
        .prop_map(
            |(kid, alg, state, sealed_private_key, created_at)| StoredKey {
                kid,
                alg: alg.into(),
                state,
                sealed_private_key,
                created_at,
            },
        )
}

fn json_round_trip<
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
>(
    v: &T,
) -> Result<(), TestCaseError> {
    let json = serde_json::to_vec(v).unwrap();
    let back: T = serde_json::from_slice(&json).unwrap();
    prop_assert_eq!(&back, v);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn token_records(r in record()) {
        json_round_trip(&r)?;
    }

    #[test]
    fn scopes_parse_their_display(s in scope()) {
        prop_assert_eq!(Scope::parse(&s.to_string()).unwrap(), s.clone());
        json_round_trip(&s)?;
    }

    #[test]
    fn lifespans(secs in 0i64..10_000_000) {
        let l = Lifespan(time::Duration::seconds(secs));
        prop_assert_eq!(Lifespan::parse(&l.to_string()), Some(l));
        json_round_trip(&l)?;
    }

    #[test]
    fn clients(name in text(), owner in text(), uris in proptest::collection::vec("https://[a-z]{1,8}\\.example/[a-z]{0,8}", 0..3), s in scope(), secs in proptest::option::of(0i64..100_000), meta in claims(), created in 0i64..4_000_000_000) {
        let at = time::OffsetDateTime::from_unix_timestamp(created).unwrap();
        let c = Client {
            client_id: name.clone(),
            client_name: name,
            owner,
            redirect_uris: uris,
            scope: s,
            lifespans: ClientLifespans {
                client_credentials_grant_access_token_lifespan: secs.map(|s| Lifespan(time::Duration::seconds(s))),
                ..Default::default()
            },
            metadata: serde_json::Value::Object(meta),
            created_at: at,
            updated_at: at,
            ..Client::default()
        };
        json_round_trip(&c)?;
    }

    #[test]
    fn trusted_issuers(issuer in text(), subject in text(), any_subject in any::<bool>(), s in scope(), kid in text(), expires in 0i64..4_000_000_000, nanos in 0u32..1_000_000_000, created in 0i64..4_000_000_000) {
        let at = |secs: i64| time::OffsetDateTime::from_unix_timestamp(secs).unwrap();
        let t = TrustedIssuer {
            id: kid.clone(),
            public_key: TrustedKey { set: issuer.clone(), kid: kid.clone() },
            issuer,
            subject,
            allow_any_subject: any_subject,
            scope: s.into_vec(),
            jwk: serde_json::json!({"kty": "EC", "crv": "P-256", "kid": kid}),
            expires_at: at(expires).replace_nanosecond(nanos).unwrap(),
            created_at: at(created),
        };
        json_round_trip(&t)?;
        // The admin API's shape reads back too, without the key.
        let public = t.to_public_json();
        prop_assert!(public.get("jwk").is_none());
        prop_assert_eq!(&public["public_key"]["kid"], &serde_json::json!(t.public_key.kid));
    }

    #[test]
    fn sessions_and_consents(sid in text(), subject in text(), at in any::<i64>(), remember in any::<bool>(), s in scope(), c1 in claims(), c2 in claims()) {
        json_round_trip(&LoginSession { sid: sid.as_str().into(), subject: subject.clone(), authenticated_at: at, expires_at: at / 2, remember })?;
        json_round_trip(&ConsentSession {
            id: sid.as_str().into(), subject, client_id: sid.clone(), sid: sid.into(), granted_scope: s.clone(),
            granted_audience: vec![], claims: ConsentClaims { access_token: c1.clone(), id_token: c2 },
            remember, remember_until: Some(at), handled_at: at,
        })?;
        json_round_trip(&AcceptConsent { grant_scope: s.into_vec(), session: ConsentClaims { access_token: c1, ..Default::default() }, remember, ..Default::default() })?;
    }

    #[test]
    fn accept_login(subject in text(), remember in any::<bool>(), remember_for in any::<i64>(), amr in proptest::collection::vec(text(), 0..3)) {
        json_round_trip(&AcceptLogin { subject, remember, remember_for, amr, ..Default::default() })?;
    }

    #[test]
    fn flows(f in flow()) {
        json_round_trip(&f)?;
    }

    #[test]
    fn logout_flows(f in logout_flow()) {
        json_round_trip(&f)?;
    }

    #[test]
    fn stored_keys(k in stored_key()) {
        json_round_trip(&k)?;
    }

    #[test]
    fn rejections(r in rejection()) {
        json_round_trip(&r)?;
    }

    #[test]
    fn response_types_parse_their_name(rt in response_type()) {
        prop_assert_eq!(ResponseType::parse(&rt.name()), Some(rt));
        json_round_trip(&rt)?;
    }

    #[test]
    fn token_responses(at in text(), rt in proptest::option::of(text()), s in proptest::option::of(text()), exp in any::<i64>()) {
        json_round_trip(&TokenResponse { access_token: at, token_type: "bearer".into(), expires_in: exp, refresh_token: rt, scope: s, id_token: None })?;
    }

    #[test]
    fn forms(pairs in proptest::collection::vec(("[a-z_]{1,10}", ".{1,20}"), 0..6)) {
        let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&pairs).finish();
        let parsed = Params::parse(body.as_bytes());
        let expected = Params::from_pairs(pairs.clone());
        prop_assert_eq!(parsed, expected);
    }
}

/// A record stored before `rotated_at` existed reads as never rotated; one never rotated
/// is written without the field, as before.
#[test]
fn token_records_without_a_rotation_time() {
    let stored = r#"{"signature":"s","kind":"refresh_token","status":"rotated","grant_id":"g","client_id":"c","scope":"offline_access","granted_scope":"offline_access","audience":[],"issued_at":1,"expires_at":2,"session":{"subject":"alice"}}"#;
    let record: TokenRecord = serde_json::from_str(stored).expect("an older record decodes");
    assert_eq!((record.rotated_at, record.reuses), (None, 0));
    assert_eq!(record.status, TokenStatus::Rotated);
    let written = serde_json::to_string(&record).unwrap();
    assert!(
        !written.contains("rotated_at") && !written.contains("reuses"),
        "{written}"
    );
}
