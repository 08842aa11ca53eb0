//! The auth endpoint over HTTPS under a private CA (tests/fixtures/tls): trusted only through
//! `EXTRA_CA_CERTS`'s bundle or the one in `EXTRA_CA_CERTS_SECRET_ARN`'s secret (read from
//! moto's Secrets Manager as the token function reads it), never by the compiled-in roots alone.

use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tollgate_oauth::secret::Secret;
use tollgate_service::adapters::http::auth_endpoint::{AuthEndpointConfig, HttpPasswordVerifier};
use tollgate_service::adapters::http::tls::{TlsSetupError, add_pem, https_connector, root_store};
use tollgate_service::password::{AuthEndpointError, PasswordCheck, PasswordVerifier};

fn fixture(name: &str) -> String {
    format!("{}/fixtures/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// An HTTPS server with the private CA's `localhost` certificate that answers every request
/// with one user record; returns its URL.
async fn private_ca_endpoint() -> String {
    let certs = CertificateDer::pem_file_iter(fixture("server.pem"))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(fixture("server.key")).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A handshake the client refuses ends here; that is the refusal under test.
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut seen = Vec::new();
                let mut buf = [0u8; 4096];
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let body = br#"{"sub":"tls-user","email":"tls@example.com"}"#;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = tls.write_all(head.as_bytes()).await;
                let _ = tls.write_all(body).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    format!("https://localhost:{port}/")
}

fn verifier(url: String, extra_ca: Option<&str>) -> HttpPasswordVerifier {
    let cfg = AuthEndpointConfig {
        url,
        connect_timeout: Duration::from_millis(500),
        timeout: Duration::from_millis(2000),
        credential: None,
    };
    let https = https_connector(root_store(extra_ca).unwrap(), cfg.connect_timeout).unwrap();
    HttpPasswordVerifier::with_connector(&cfg, https).unwrap()
}

#[tokio::test]
async fn a_private_ca_named_in_extra_ca_certs_is_trusted() {
    let url = private_ca_endpoint().await;
    let v = verifier(url, Some(&fixture("ca.pem")));
    let check = v.verify("demo", &Secret::new("pw"), "client-1").await;
    let Ok(PasswordCheck::Valid(user)) = check else {
        panic!("expected the user over TLS, got {check:?}")
    };
    assert_eq!(user.sub, "tls-user");
}

#[tokio::test]
async fn the_compiled_in_roots_alone_refuse_a_private_ca() {
    let url = private_ca_endpoint().await;
    let v = verifier(url, None);
    let check = v.verify("demo", &Secret::new("pw"), "client-1").await;
    assert!(
        matches!(check, Err(AuthEndpointError::Unreachable(_))),
        "{check:?}"
    );
}

/// `AuthEndpointCaSecretArn` in AWS: the CA's PEM in a secret, read at cold start and added to
/// the compiled-in roots, with no file and no layer.
#[tokio::test]
async fn a_private_ca_read_from_a_secret_is_trusted() {
    let (sm, _) = tollgate_tests::moto::secrets().await;
    let pem = std::fs::read_to_string(fixture("ca.pem")).unwrap();
    let name = tollgate_tests::unique("auth-endpoint-ca");
    let arn = sm
        .create(&name, &Secret::new(&pem), "private CA")
        .await
        .unwrap();
    let bundle = sm.read(&arn).await.unwrap();
    let mut roots = root_store(None).unwrap();
    let before = roots.len();
    add_pem(
        &mut roots,
        bundle.expose().as_bytes(),
        "EXTRA_CA_CERTS_SECRET_ARN",
    )
    .unwrap();
    assert_eq!(roots.len(), before + 1);
    let cfg = AuthEndpointConfig {
        url: private_ca_endpoint().await,
        connect_timeout: Duration::from_millis(500),
        timeout: Duration::from_millis(2000),
        credential: None,
    };
    let https = https_connector(roots, cfg.connect_timeout).unwrap();
    let v = HttpPasswordVerifier::with_connector(&cfg, https).unwrap();
    let check = v.verify("demo", &Secret::new("pw"), "client-1").await;
    assert!(matches!(check, Ok(PasswordCheck::Valid(_))), "{check:?}");

    // A secret that holds no certificate stops the cold start, naming the variable.
    let mut roots = root_store(None).unwrap();
    let err = add_pem(
        &mut roots,
        b"not a certificate",
        "EXTRA_CA_CERTS_SECRET_ARN",
    )
    .unwrap_err();
    assert!(
        matches!(err, TlsSetupError::NoCertificate { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("EXTRA_CA_CERTS_SECRET_ARN"),
        "{err}"
    );
}
