//! Dynamic client registration (RFC 7591, RFC 7592).

mod common;

use common::*;
use portcullis::{ClientRequest, ErrorCode};

fn dcr_request() -> ClientRequest {
    ClientRequest {
        client_name: Some("self-registered".into()),
        redirect_uris: Some(vec![
            "https://rp.example.com/cb".into(),
            "http://127.0.0.1/native".into(),
        ]),
        grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
        scope: Some("openid offline_access".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn registration_is_off_by_default() {
    let f = fixture().await;
    let e = f.provider.register_client(dcr_request()).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::RegistrationNotSupported);
    assert!(f
        .provider
        .discovery()
        .get("registration_endpoint")
        .is_none());
    let on = fixture_with(|c| c.dynamic_registration = true).await;
    assert_eq!(
        on.provider.discovery()["registration_endpoint"],
        format!("{ISSUER}/oauth2/register")
    );
}

#[tokio::test]
async fn register_read_update_delete_with_the_registration_token() {
    let f = fixture_with(|c| c.dynamic_registration = true).await;
    let reg = f.provider.register_client(dcr_request()).await.unwrap();
    let id = reg.client.client_id.clone();
    let token = reg.registration_access_token.clone().unwrap();
    let secret = reg.client_secret.clone().unwrap();
    let json = reg.to_json();
    assert_eq!(json["client_id"], id.as_str());
    assert_eq!(json["client_secret"], secret.as_str());
    assert_eq!(json["registration_access_token"], token.as_str());
    assert_eq!(
        json["registration_client_uri"],
        format!("{ISSUER}/oauth2/register/{id}")
    );
    assert!(json.get("registration_access_token_hash").is_none());
    assert!(json.get("client_secret_hash").is_none());

    // The secret works at the token endpoint.
    let stored = f.provider.get_client(&id).await.unwrap();
    assert!(stored.client_secret_hash.as_ref().unwrap().verify(&secret));
    assert!(!stored
        .registration_access_token_hash
        .as_ref()
        .unwrap()
        .as_str()
        .contains(&token));

    let read = f.provider.get_registration(&id, &token).await.unwrap();
    assert!(read.client_secret.is_none() && read.registration_access_token.is_none());
    for bad in ["", "wrong", &secret] {
        assert_eq!(
            f.provider
                .get_registration(&id, bad)
                .await
                .unwrap_err()
                .code(),
            ErrorCode::InvalidToken
        );
    }
    assert_eq!(
        f.provider
            .get_registration("nobody", &token)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidToken
    );

    let mut update = dcr_request();
    update.client_name = Some("renamed".into());
    update.client_secret = Some(secret.clone());
    let updated = f
        .provider
        .update_registration(&id, &token, update)
        .await
        .unwrap();
    assert_eq!(updated.client.client_name, "renamed");
    let mut wrong_secret = dcr_request();
    wrong_secret.client_secret = Some("guess".into());
    assert!(f
        .provider
        .update_registration(&id, &token, wrong_secret)
        .await
        .is_err());
    assert_eq!(
        f.provider
            .update_registration(&id, "wrong", dcr_request())
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidToken
    );

    assert_eq!(
        f.provider
            .delete_registration(&id, "wrong")
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidToken
    );
    f.provider.delete_registration(&id, &token).await.unwrap();
    assert!(f.provider.get_client(&id).await.is_err());
}

#[tokio::test]
async fn metadata_is_validated_and_privileges_refused() {
    let f = fixture_with(|c| c.dynamic_registration = true).await;
    let cases: Vec<(ClientRequest, ErrorCode)> = vec![
        (
            ClientRequest {
                redirect_uris: Some(vec!["http://rp.example.com/cb".into()]),
                ..dcr_request()
            },
            ErrorCode::InvalidRedirectUri,
        ),
        (
            ClientRequest {
                redirect_uris: Some(vec!["https://rp.example.com/cb#x".into()]),
                ..dcr_request()
            },
            ErrorCode::InvalidRedirectUri,
        ),
        (
            ClientRequest {
                redirect_uris: Some(vec!["cb".into()]),
                ..dcr_request()
            },
            ErrorCode::InvalidRedirectUri,
        ),
        (
            ClientRequest {
                skip_consent: Some(true),
                ..dcr_request()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientRequest {
                client_id: Some("mine".into()),
                ..dcr_request()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientRequest {
                client_secret: Some("mine".into()),
                ..dcr_request()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientRequest {
                metadata: Some(serde_json::json!({"admin": true})),
                ..dcr_request()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientRequest {
                response_types: Some(vec!["token".into()]),
                ..dcr_request()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientRequest {
                grant_types: Some(vec!["client_credentials".into()]),
                ..dcr_request()
            },
            ErrorCode::InvalidClientMetadata,
        ),
    ];
    for (req, want) in cases {
        assert_eq!(
            f.provider
                .register_client(req.clone())
                .await
                .unwrap_err()
                .code(),
            want,
            "{req:?}"
        );
    }
    let mut lifespans = dcr_request();
    lifespans.lifespans.implicit_grant_access_token_lifespan =
        portcullis::model::Lifespan::parse("999h");
    assert_eq!(
        f.provider
            .register_client(lifespans)
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidClientMetadata
    );
}
