//! Client administration: validation, secrets, listing, replacing.

mod common;

use common::*;
use portcullis::storage::ClientQuery;
use portcullis::{ClientRequest, ErrorCode};

#[tokio::test]
async fn created_clients_get_ids_secrets_and_defaults() {
    let f = fixture().await;
    let c = f
        .provider
        .create_client(ClientRequest::default())
        .await
        .unwrap();
    assert_eq!(c.client.client_id.len(), 36, "a UUID");
    let secret = c.client_secret.clone().unwrap();
    assert!(secret.len() >= 43, "256 bits");
    let stored = f.provider.get_client(&c.client.client_id).await.unwrap();
    assert!(stored.client_secret_hash.as_ref().unwrap().verify(&secret));
    assert!(!serde_json::to_string(&*stored).unwrap().contains(&secret));
    assert_eq!(stored.scope.to_string(), "openid offline_access offline");
    assert_eq!(
        stored.token_endpoint_auth_method.as_str(),
        "client_secret_basic"
    );
    assert_eq!(stored.created_at, f.provider.now());
}

#[tokio::test]
async fn invalid_metadata_is_refused() {
    let f = fixture().await;
    let cases: Vec<(ClientRequest, ErrorCode)> = vec![
        (
            ClientRequest {
                redirect_uris: Some(vec!["/relative".into()]),
                ..Default::default()
            },
            ErrorCode::InvalidRedirectUri,
        ),
        (
            ClientRequest {
                redirect_uris: Some(vec!["https://a/cb#frag".into()]),
                ..Default::default()
            },
            ErrorCode::InvalidRedirectUri,
        ),
        (
            ClientRequest {
                grant_types: Some(vec!["password".into()]),
                ..Default::default()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientRequest {
                token_endpoint_auth_method: Some("magic".into()),
                ..Default::default()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientRequest {
                response_types: Some(vec!["code".into()]),
                grant_types: Some(vec!["client_credentials".into()]),
                ..Default::default()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientRequest {
                response_types: Some(vec!["token".into()]),
                ..Default::default()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientRequest {
                scope: Some("a\"b".into()),
                ..Default::default()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientRequest {
                subject_type: Some("secret".into()),
                ..Default::default()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientRequest {
                id_token_signed_response_alg: Some("none".into()),
                ..Default::default()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientRequest {
                metadata: Some(serde_json::json!([1])),
                ..Default::default()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientRequest {
                client_id: Some("has space".into()),
                ..Default::default()
            },
            ErrorCode::InvalidClientMetadata,
        ),
        (
            ClientRequest {
                token_endpoint_auth_method: Some("none".into()),
                client_secret: Some("x".into()),
                ..Default::default()
            },
            ErrorCode::InvalidClientMetadata,
        ),
    ];
    for (req, want) in cases {
        let e = f.provider.create_client(req.clone()).await.unwrap_err();
        assert_eq!(e.code(), want, "{req:?}");
    }
}

#[tokio::test]
async fn duplicate_ids_conflict() {
    let f = fixture().await;
    let req = ClientRequest {
        client_id: Some("fixed".into()),
        ..Default::default()
    };
    f.provider.create_client(req.clone()).await.unwrap();
    assert_eq!(
        f.provider.create_client(req).await.unwrap_err().code(),
        ErrorCode::Conflict
    );
}

#[tokio::test]
async fn set_client_keeps_secret_and_created_at_unless_told() {
    let f = fixture().await;
    let c = f.client(web_client()).await;
    f.clock.advance(time::Duration::seconds(5));
    let updated = f
        .provider
        .set_client(
            &c.client.client_id,
            ClientRequest {
                client_name: Some("renamed".into()),
                ..web_client()
            },
        )
        .await
        .unwrap();
    assert!(updated.client_secret.is_none());
    assert_eq!(updated.client.client_name, "renamed");
    assert_eq!(updated.client.created_at, c.client.created_at);
    assert!(updated.client.updated_at > c.client.updated_at);
    // The old secret still authenticates.
    assert!(f
        .token("grant_type=client_credentials", Some(&c))
        .await
        .is_ok());
    let rotated = f
        .provider
        .set_client(
            &c.client.client_id,
            ClientRequest {
                client_secret: Some("new secret".into()),
                ..web_client()
            },
        )
        .await
        .unwrap();
    assert_eq!(rotated.client_secret.as_deref(), Some("new secret"));
    assert_eq!(
        f.token("grant_type=client_credentials", Some(&c))
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidClient
    );
    assert_eq!(
        f.provider
            .set_client("missing", web_client())
            .await
            .unwrap_err()
            .code(),
        ErrorCode::NotFound
    );
}

#[tokio::test]
async fn list_pages_and_filters() {
    let f = fixture().await;
    for i in 0..5 {
        f.provider
            .create_client(ClientRequest {
                client_id: Some(format!("c{i}")),
                client_name: Some(if i % 2 == 0 { "even" } else { "odd" }.into()),
                owner: Some("team".into()),
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut q = ClientQuery {
        page_size: 2,
        ..Default::default()
    };
    loop {
        let page = f.provider.list_clients(&q).await.unwrap();
        seen.extend(page.clients.iter().map(|c| c.client_id.clone()));
        match page.next_page_token {
            Some(t) => q.page_token = Some(t),
            None => break,
        }
    }
    assert_eq!(seen, vec!["c0", "c1", "c2", "c3", "c4"]);
    let even = f
        .provider
        .list_clients(&ClientQuery {
            client_name: Some("even".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(even.clients.len(), 3);
    let nobody = f
        .provider
        .list_clients(&ClientQuery {
            owner: Some("other".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(nobody.clients.is_empty());
}
