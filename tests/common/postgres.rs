//! A fresh PostgreSQL schema per test or benchmark fixture, so runs at once do not meet.
//! Shared by `tests/common` and `benches/common` (included by path).

/// The URL of a fresh, empty schema on the server the URL `url` names.
pub async fn fresh_schema(url: &str) -> String {
    let mut rnd = [0u8; 8];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut rnd);
    let schema = format!("portcullis_test_{:016x}", u64::from_le_bytes(rnd));
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {url}: {e}"));
    let connection = tokio::spawn(connection);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("a fresh schema");
    drop(client);
    let _ = connection.await;
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-csearch_path%3D{schema}")
}
