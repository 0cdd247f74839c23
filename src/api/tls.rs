//! TLS for the API from PEM files (`http.tls_cert`, `http.tls_key`), with rustls on
//! the ring provider only: naming the provider here means no second one compiled in
//! can ever make `ServerConfig::builder()` panic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("http.tls_cert {path}: {message}; give the PEM certificate chain (leaf first)")]
    Cert { path: PathBuf, message: String },
    #[error(
        "http.tls_key {path}: {message}; give the PEM private key (PKCS#8, PKCS#1 or SEC1) of the certificate"
    )]
    Key { path: PathBuf, message: String },
    #[error(
        "http.tls_cert and http.tls_key do not make a usable TLS setup ({0}); check the key belongs to the certificate"
    )]
    Config(#[from] rustls::Error),
}

pub fn acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, TlsError> {
    let cert_err = |message: String| TlsError::Cert { path: cert.to_path_buf(), message };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_err(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| cert_err(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_err("no CERTIFICATE block in the file".into()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| TlsError::Key { path: key.to_path_buf(), message: e.to_string() })?;
    // Deprecated only for lacking post-quantum key exchange, which ring does not
    // offer; the alternative provider (aws-lc-rs) is the large C build we avoid.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    // The server speaks HTTP/1.1 only (axum built with http1).
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}
