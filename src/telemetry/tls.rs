//! MQTT over TLS for telemetry and the frames handoff: rustls with the ring provider
//! (the one the API's listener uses; no second crypto library), trusting only the CA
//! certificates in `telemetry.ca_file`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rumqttc::{TlsConfiguration, Transport};
use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::TelemetryError;
use crate::config::TelemetryConfig;

/// Debian's (and most distributions') bundle of the system's trusted CAs.
const SYSTEM_CAS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The transport `cfg` asks for: plain TCP, or TLS checked against its CAs.
pub fn transport(cfg: &TelemetryConfig) -> Result<Transport, TelemetryError> {
    if !cfg.tls {
        return Ok(Transport::Tcp);
    }
    let file = cfg.ca_file.clone().unwrap_or_else(|| PathBuf::from(SYSTEM_CAS));
    let roots = roots(&file)?;
    let bad = |reason: String| TelemetryError::Tls { file: file.clone(), reason };
    // Deprecated only for lacking post-quantum key exchange (as in the API's listener).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Transport::tls_with_config(TlsConfiguration::Rustls(Arc::new(config))))
}

fn roots(file: &Path) -> Result<RootCertStore, TelemetryError> {
    let bad = |reason: String| TelemetryError::Tls { file: file.to_path_buf(), reason };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(file)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(e.to_string()))?;
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(certs);
    if added == 0 {
        return Err(bad("it holds no usable CA certificate".into()));
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_ca_file_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        for file in [dir.path().join("nope.pem"), empty] {
            let cfg =
                TelemetryConfig { tls: true, ca_file: Some(file.clone()), ..Default::default() };
            let e = transport(&cfg).err().expect("refused").to_string();
            assert!(
                e.contains(&file.display().to_string()) && e.contains("telemetry.ca_file"),
                "{e}"
            );
        }
        assert!(matches!(transport(&TelemetryConfig::default()), Ok(Transport::Tcp)));
    }
}
