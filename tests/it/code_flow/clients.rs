//! Client libraries nobody here wrote complete the flow against the served function: Python's
//! authlib (`OAuth2Session` with S256 PKCE, RFC 9207's `iss`, its OpenID Connect ID-token
//! validation once the scope asks for one, a refresh), run from `tests/clients/authlib_flow.py`
//! with the test venv's Python (`make test` installs authlib there).

use tokio::process::Command;

use super::Flow;

/// The test venv's Python: `TOLLGATE_PYTHON`, set by `make test`. Missing is a failure.
fn python() -> String {
    std::env::var("TOLLGATE_PYTHON").unwrap_or_else(|_| {
        panic!("TOLLGATE_PYTHON is not set: run these tests with `make test` (it installs authlib into .venv)")
    })
}

/// Runs the authlib flow for `scope`; what it found.
async fn authlib(f: &Flow, scope: &str) -> serde_json::Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/clients/authlib_flow.py");
    let out = Command::new(python())
        .arg(script)
        .args([
            &f.served.issuer,
            &f.id,
            &f.callback.uri,
            &f.username,
            &f.password,
            scope,
        ])
        .output()
        .await
        .expect("run the authlib client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "authlib flow failed: {}\n{stdout}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test]
async fn authlib_completes_the_code_flow_with_pkce_and_refreshes() {
    let f = Flow::public().await;
    let found = authlib(&f, "profile").await;
    assert_eq!(found["token_type"], "Bearer");
    assert_eq!(found["scope"], "profile");
    assert_eq!(found["has_refresh_token"], true);
    assert_eq!(found["refreshed"], true);
    let claims = f
        .served
        .verify(found["access_token"].as_str().unwrap())
        .await;
    assert_eq!(claims["sub"], f.sub.as_str());
    assert_eq!(claims["client_id"], f.id.as_str());
}

#[tokio::test]
async fn authlib_validates_the_id_token_of_the_openid_scope() {
    let f = Flow::public().await;
    let found = authlib(&f, "openid profile").await;
    // The script ran authlib's `CodeIDToken` rules (signature, iss, aud, exp, iat, nonce,
    // at_hash) before printing the claims.
    let claims = &found["id_token_claims"];
    assert_eq!(claims["sub"], f.sub.as_str());
    assert_eq!(claims["aud"], f.id.as_str());
    assert_eq!(claims["iss"], f.served.issuer.as_str());
    assert!(
        claims["at_hash"].is_string() && claims["nonce"].is_string(),
        "{claims}"
    );
    assert_eq!(found["refreshed"], true);
}
