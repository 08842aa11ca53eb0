//! Brute-force limits through the real parts: the token service on DynamoDB Local, asking the
//! dev auth endpoint over HTTP, which counts the password checks it receives.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Barrier;
use tollgate_oauth::ErrorCode;
use tollgate_oauth::secret::Secret;
use tollgate_service::adapters::http::auth_endpoint::{AuthEndpointConfig, HttpPasswordVerifier};
use tollgate_service::client::ClientCredentials;
use tollgate_service::endpoint::{TokenRequest, TokenService};
use tollgate_tests::{
    ClientSpec, create_tables, dynamo, dynamo_service, start_counted_auth_endpoint,
};

const MAX_FAILURES: u32 = 5;

struct Rig {
    service: Arc<TokenService>,
    calls: Arc<AtomicU64>,
    client: (String, String),
}

async fn rig() -> Rig {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let client = ClientSpec::default().create(&db, &t.clients).await;
    let (url, calls) = start_counted_auth_endpoint(None).await;
    let verifier = HttpPasswordVerifier::new(&AuthEndpointConfig {
        url,
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(5),
        credential: None,
    })
    .unwrap();
    let mut service = dynamo_service(&db, &t, Arc::new(verifier));
    service.policy.lockout.window_secs = 300;
    service.policy.lockout.lockout_secs = 300;
    assert_eq!(service.policy.lockout.max_failures, MAX_FAILURES);
    let service = Arc::new(service);
    Rig {
        service,
        calls,
        client,
    }
}

fn password_request(client: &(String, String), username: &str, password: &str) -> TokenRequest {
    TokenRequest::new(
        Some(ClientCredentials {
            client_id: client.0.clone(),
            secret: Some(Secret::new(client.1.clone())),
        }),
        [
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect(),
    )
}

/// 32 wrong guesses for one username released at the same moment on many threads: at most
/// LOCKOUT_MAX_FAILURES of them reach the auth endpoint, and every one is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn parallel_wrong_guesses_never_outrun_the_limit() {
    let r = rig().await;
    let barrier = Arc::new(Barrier::new(32));
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let (service, barrier) = (r.service.clone(), barrier.clone());
            let req = password_request(&r.client, "alice", &format!("guess-{i}"));
            tokio::spawn(async move {
                barrier.wait().await;
                service.token(&req).await
            })
        })
        .collect();
    let (mut wrong, mut locked, mut deferred) = (0, 0, 0);
    for t in tasks {
        let err = t.await.unwrap().unwrap_err();
        match err.code {
            ErrorCode::InvalidGrant if err.description.contains("too many failed attempts") => {
                locked += 1
            }
            ErrorCode::InvalidGrant => wrong += 1,
            // Refused while the window's attempts were still being checked: retry later.
            ErrorCode::TemporarilyUnavailable => deferred += 1,
            _ => panic!("{err:?}"),
        }
    }
    assert_eq!(wrong + locked + deferred, 32);
    let calls = r.calls.load(Ordering::SeqCst);
    assert!(
        calls <= u64::from(MAX_FAILURES),
        "{calls} guesses reached the auth endpoint; the limit is {MAX_FAILURES}"
    );
    assert!(calls >= 1, "the first guesses must be checked");
    assert!(
        locked + deferred >= 32 - MAX_FAILURES as usize,
        "{locked} locked, {deferred} deferred"
    );
    eprintln!(
        "32 parallel guesses: {calls} checked, {wrong} wrong, {locked} locked, {deferred} deferred"
    );
    // The right password is refused too now, without a check.
    let right = password_request(&r.client, "alice", "alice-password");
    let err = r.service.token(&right).await.unwrap_err();
    assert!(
        err.description.contains("too many failed attempts"),
        "{err:?}"
    );
    assert_eq!(r.calls.load(Ordering::SeqCst), calls);
}

/// Case, width and surrounding whitespace do not buy extra guesses.
#[tokio::test]
async fn username_variants_share_one_lock() {
    let r = rig().await;
    for variant in ["alice", "ALICE", "alice ", " Alice", "ａｌｉｃｅ"] {
        let err = r
            .service
            .token(&password_request(&r.client, variant, "wrong"))
            .await
            .unwrap_err();
        assert_eq!(err.code, ErrorCode::InvalidGrant, "{variant:?}");
    }
    assert_eq!(r.calls.load(Ordering::SeqCst), u64::from(MAX_FAILURES));
    for variant in ["alice\t", "\u{3000}alice", "Ａlice", "alice"] {
        let err = r
            .service
            .token(&password_request(&r.client, variant, "alice-password"))
            .await
            .unwrap_err();
        assert!(
            err.description.contains("too many failed attempts"),
            "{variant:?}: {err:?}"
        );
    }
    assert_eq!(
        r.calls.load(Ordering::SeqCst),
        u64::from(MAX_FAILURES),
        "a locked username never reaches the auth endpoint"
    );
    // Another user is not affected.
    let demo = password_request(&r.client, "demo", "demo-password");
    assert!(r.service.token(&demo).await.is_ok());
}
