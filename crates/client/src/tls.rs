//! TLS for `https://` and `wss://` servers: rustls (ring), trusting the system's certificate
//! store (or the PEM file named by `SSL_CERT_FILE`), plus an optional extra CA file for servers
//! with a private or self-signed certificate.

use std::path::Path;
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use crate::ClientError;

/// The client TLS configuration: system roots, plus every certificate in `ca_file`.
pub fn client_config(ca_file: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, ClientError> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = ca_file {
        let certs = CertificateDer::pem_file_iter(path)
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .map_err(|e| ClientError::Tls(format!("cannot read {}: {e}", path.display())))?;
        let (added, _) = roots.add_parsable_certificates(certs);
        if added == 0 {
            return Err(ClientError::Tls(format!(
                "no usable certificate in {}",
                path.display()
            )));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}
