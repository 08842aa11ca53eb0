//! The one HTTP/TLS stack of the token function: hyper over rustls (aws-lc), trusting the
//! Mozilla roots compiled into the binary plus an optional PEM bundle (`EXTRA_CA_CERTS`, a file,
//! or `EXTRA_CA_CERTS_SECRET_ARN`, a secret: [`add_pem`]), built once at cold start and shared by the AWS SDK (`sdk_http`) and the auth endpoint (`auth_http`).
//!
//! Compiled-in roots rather than the system store: reading `/etc/ssl/certs` cost the cold start
//! tens of milliseconds (and was done once per TLS stack); the compiled-in anchors are parsed
//! already, so building the configuration does no I/O.

use std::sync::Arc;
use std::time::Duration;

use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
pub use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// The connector every outbound HTTP call of the token function goes through.
pub type Https = HttpsConnector<HttpConnector>;

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("failed to read EXTRA_CA_CERTS {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// `bundle` names where the bundle came from: `EXTRA_CA_CERTS <path>` or the secret's
    /// variable.
    #[error("{bundle} holds no usable PEM certificate")]
    NoCertificate { bundle: String },
    #[error("{bundle}: certificate {index} is not a usable CA certificate")]
    BadCertificate { bundle: String, index: usize },
    #[error("TLS configuration refused")]
    Config(#[source] rustls::Error),
}

/// The trusted roots: Mozilla's (compiled in), plus each certificate of the PEM file `extra`.
pub fn root_store(extra: Option<&str>) -> Result<RootCertStore, TlsSetupError> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let Some(path) = extra else {
        return Ok(roots);
    };
    let pem = std::fs::read(path).map_err(|source| TlsSetupError::Read {
        path: path.to_owned(),
        source,
    })?;
    add_pem(&mut roots, &pem, &format!("EXTRA_CA_CERTS {path}"))?;
    Ok(roots)
}

/// Adds every certificate of the PEM bundle `pem` to `roots`; `source` names the bundle in
/// errors. A bundle with no certificate, or one that is not a usable CA, is an error: a private
/// CA that silently failed to load would only show as every auth-endpoint call failing.
pub fn add_pem(roots: &mut RootCertStore, pem: &[u8], source: &str) -> Result<(), TlsSetupError> {
    let mut count = 0;
    for (index, cert) in CertificateDer::pem_slice_iter(pem).enumerate() {
        let bad = || TlsSetupError::BadCertificate {
            bundle: source.to_owned(),
            index: index + 1,
        };
        roots.add(cert.map_err(|_| bad())?).map_err(|_| bad())?;
        count += 1;
    }
    if count == 0 {
        return Err(TlsSetupError::NoCertificate {
            bundle: source.to_owned(),
        });
    }
    Ok(())
}

/// An HTTPS (and plain HTTP, for local endpoints) connector on `roots`, TLS 1.2+ with aws-lc,
/// HTTP/1.1 (no HTTP/2: nothing it talks to needs it), each TCP connect bounded by
/// `connect_timeout`.
pub fn https_connector(
    roots: RootCertStore,
    connect_timeout: Duration,
) -> Result<Https, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsSetupError::Config)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(connect_timeout));
    Ok(HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_in_roots_are_there_without_a_file() {
        assert!(root_store(None).unwrap().len() > 100);
    }

    #[test]
    fn an_extra_bundle_adds_its_ca_to_the_compiled_in_roots() {
        let ca = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/tls/ca.pem"
        );
        let base = root_store(None).unwrap().len();
        assert_eq!(root_store(Some(ca)).unwrap().len(), base + 1);
    }

    #[test]
    fn a_missing_or_empty_bundle_is_named() {
        let err = root_store(Some("/nonexistent/ca.pem")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
        let dir = std::env::temp_dir().join(format!("tollgate-ca-{}", std::process::id()));
        std::fs::write(&dir, "not a certificate\n").unwrap();
        let path = dir.to_string_lossy().into_owned();
        let err = root_store(Some(&path)).unwrap_err();
        std::fs::remove_file(&dir).unwrap();
        assert!(
            matches!(err, TlsSetupError::NoCertificate { .. }),
            "{err:?}"
        );
    }
}
