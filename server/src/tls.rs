//! Native TLS (`--tls-cert`, `--tls-key`): `https://` and `wss://` on the listening port, with
//! certificates re-read without a restart.
//!
//! [`CertStore`] holds the current certificate chain and key (PEM files) behind a lock that a
//! handshake reads for a pointer copy; [`CertStore::reload`] swaps in a freshly read pair, or keeps
//! the old one (and logs why) when the new files are missing or do not match. Connections already
//! open keep the session they negotiated. Reloads happen on `SIGHUP` and when either file's
//! modification time changes (checked every `--tls-watch-interval`).
//!
//! The accept loop ([`crate::serve`]) runs each handshake in its own task, bounded by
//! `--tls-handshake-timeout` and by the first-request deadline (`--http-header-timeout` from
//! accept), so a slow or silent client never holds up the next one, nor its socket for long. Only
//! HTTP/1.1 is offered through ALPN, since WebSocket upgrades are HTTP/1.1.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use tokio_util::sync::CancellationToken;

/// Why the certificate or key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the TLS certificate {path}: {source}")]
    Cert {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("the TLS certificate file {0} holds no certificate (expected PEM `CERTIFICATE`)")]
    NoCert(PathBuf),
    #[error("cannot read the TLS key {path}: {source}")]
    Key {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("the TLS key {key} does not fit the certificate {cert}: {source}")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
}

/// The current certificate and key, re-readable from their files. See the module docs.
#[derive(Debug)]
pub struct CertStore {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertStore {
    /// Reads both files; fails with a message naming the file and the problem.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<Self>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = read_pair(cert_path, key_path, &provider)?;
        Ok(Arc::new(CertStore {
            cert_path: cert_path.to_owned(),
            key_path: key_path.to_owned(),
            provider,
            current: RwLock::new(Arc::new(key)),
        }))
    }

    /// Re-reads both files and uses them for new handshakes; on error keeps the current pair.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = read_pair(&self.cert_path, &self.key_path, &self.provider)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
        Ok(())
    }

    /// The rustls server configuration that resolves every handshake through this store.
    pub fn server_config(self: &Arc<Self>) -> Result<rustls::ServerConfig, rustls::Error> {
        let mut cfg = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(cfg)
    }

    fn modified(&self) -> (Option<SystemTime>, Option<SystemTime>) {
        let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        (m(&self.cert_path), m(&self.key_path))
    }

    fn reload_logged(&self, why: &str) {
        match self.reload() {
            Ok(()) => {
                tracing::info!(cert = %self.cert_path.display(), why, "TLS certificate reloaded")
            }
            Err(e) => {
                tracing::error!("TLS certificate not reloaded ({why}), keeping the old one: {e}")
            }
        }
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        )
    }
}

fn read_pair(
    cert_path: &Path,
    key_path: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let certs = CertificateDer::pem_file_iter(cert_path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|source| TlsError::Cert {
            path: cert_path.to_owned(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TlsError::NoCert(cert_path.to_owned()));
    }
    let key = PrivateKeyDer::from_pem_file(key_path).map_err(|source| TlsError::Key {
        path: key_path.to_owned(),
        source,
    })?;
    let mismatch = |source| TlsError::Mismatch {
        cert: cert_path.to_owned(),
        key: key_path.to_owned(),
        source,
    };
    let signer = provider
        .key_provider
        .load_private_key(key)
        .map_err(mismatch)?;
    let certified = CertifiedKey::new(certs, signer);
    certified.keys_match().map_err(mismatch)?;
    Ok(certified)
}

/// Reloads `store` on `SIGHUP`, and when a file's modification time changes (checked every
/// `watch`; zero turns the check off), until `stop`.
pub fn spawn_reloader(store: Arc<CertStore>, watch: Duration, stop: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut seen = store.modified();
        let period = if watch.is_zero() {
            Duration::from_secs(3600 * 24 * 365)
        } else {
            watch
        };
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            #[cfg(unix)]
            let hangup = async {
                match hup.as_mut() {
                    Some(s) => s.recv().await,
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let hangup = std::future::pending::<Option<()>>();
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = hangup => {
                    store.reload_logged("SIGHUP");
                    seen = store.modified();
                }
                _ = ticks.tick(), if !watch.is_zero() => {
                    let now = store.modified();
                    if now != seen {
                        seen = now;
                        store.reload_logged("the files changed");
                    }
                }
            }
        }
    });
}
