//! TLS to PostgreSQL for the reference server: rustls (ring) through
//! `tokio-postgres-rustls`, trusting the web PKI's roots and, for a managed database's
//! own CA (RDS, Cloud SQL, …), the certificates of a PEM file (`PGSSLROOTCERT`, libpq's
//! name for it). The URL's `sslmode` decides whether TLS is used: `prefer` (libpq's
//! default) tries it and falls back to plain, `require` insists. The server's certificate
//! is always verified, name included, whatever the mode.

use std::sync::Arc;

use tokio_postgres_rustls::MakeRustlsConnect;
use tokio_rustls::rustls;

/// A connector trusting the web PKI's roots and the certificates of `extra_pem`.
pub fn connector(extra_pem: Option<&[u8]>) -> Result<MakeRustlsConnect, String> {
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    if let Some(pem) = extra_pem {
        let mut found = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("not a PEM certificate file: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("an unusable CA certificate: {e}"))?;
            found += 1;
        }
        if found == 0 {
            return Err("no certificate in the file".into());
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(MakeRustlsConnect::new(config))
}
