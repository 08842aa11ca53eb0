//! The audit events the grants record inside a served request, one JSON line each: who got
//! tokens, which family rotated, which reuse revoked a family, which username got locked.

use std::future::Future;
use std::sync::Mutex;

use tollgate_telemetry::audit::Origin;
use tollgate_telemetry::metrics::{Metrics, Sink};
use tollgate_telemetry::observe::{self, Scope};

use super::*;

/// Runs `f` as one served request; its output and the audit lines it wrote.
pub(super) async fn audited<F: Future>(f: F) -> (F::Output, Vec<serde_json::Value>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let scope = Scope::new(
        Origin::new(Some("192.0.2.1"), Some("test-agent")),
        Metrics::with_sink("fn", Sink::Memory(lines.clone())),
    );
    let out = observe::serve(scope, f).await;
    let events = lines
        .lock()
        .unwrap()
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v.get("audit").is_some())
        .collect();
    (out, events)
}

fn refresh_params(token: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "refresh_token".into()),
        ("refresh_token", token.into()),
    ]
}

#[tokio::test]
async fn issue_rotate_and_reuse_each_write_their_events() {
    let f = fixture().await;
    let p = password("alice", "pw");
    let (resp, events) = audited(f.service.token(&req("app", "app-secret", &to_params(&p)))).await;
    let first = resp.unwrap().refresh_token.unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let issued = &events[0];
    assert_eq!(issued["event"], "token_issued");
    assert_eq!(issued["grant_type"], "password");
    assert_eq!(issued["client_id"], "app");
    assert_eq!(issued["subject"], "u-1");
    assert_eq!(issued["scope"], "read");
    let family = issued["family"].as_str().unwrap().to_owned();
    assert!(!family.is_empty());

    let r = refresh_params(first.expose());
    let (resp, events) = audited(f.service.token(&req("app", "app-secret", &to_params(&r)))).await;
    let second = resp.unwrap().refresh_token.unwrap();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["refresh_rotated", "token_issued"], "{events:?}");
    for e in &events {
        assert_eq!(e["client_id"], "app");
        assert_eq!(e["subject"], "u-1");
        assert_eq!(e["family"], family.as_str());
        assert_eq!(e["grant_type"], "refresh_token");
    }
    assert_eq!(events[1]["scope"], "read");

    // The first token again: reuse, and the family is revoked.
    let (resp, events) = audited(f.service.token(&req("app", "app-secret", &to_params(&r)))).await;
    assert_eq!(resp.err().map(|e| e.code), Some(ErrorCode::InvalidGrant));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "refresh_reuse_detected");
    assert_eq!(events[0]["client_id"], "app");
    assert_eq!(events[0]["family"], family.as_str());
    assert_eq!(events[0]["cause"], "reused");
    assert_eq!(events[0]["family_revoked"], true);
    // And the successor died with its family: no event, since nothing new was learnt.
    let r2 = refresh_params(second.expose());
    let (resp, events) = audited(f.service.token(&req("app", "app-secret", &to_params(&r2)))).await;
    assert_eq!(resp.err().map(|e| e.code), Some(ErrorCode::InvalidGrant));
    assert!(events.is_empty(), "{events:?}");
}

/// A session that ended (logged out through `/revoke`, or past its absolute lifetime) refuses
/// its refresh tokens, current and rotated alike, quietly: `invalid_grant`, no reuse event (so
/// no `RefreshTokenReuse` alarm), and nothing asked of the directory or signed first.
#[tokio::test]
async fn a_refresh_in_an_ended_session_is_refused_without_a_theft_alarm() {
    let mut f = fixture().await;
    let directory = Arc::new(crate::testkit::memory::MemoryDirectory::default());
    f.service.directory = Some(directory.clone());
    let details = serde_json::Map::from_iter([("email".to_owned(), "a@b".into())]);
    directory.set("u-1", Some(crate::user_status::UserStatus::Active(details)));
    let first = login(&f, None).await;
    let second = refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap();
    assert_eq!(directory.calls(), 1);
    let logout = RevocationRequest {
        credentials: Some(client::ClientCredentials {
            client_id: "app".into(),
            secret: Some(Secret::new("app-secret")),
        }),
        token: second.refresh_token.clone(),
    };
    f.service.revoke(&f.keys, &logout).await.unwrap();
    for token in [&second, &first] {
        let r = refresh_params(token.refresh_token.as_ref().unwrap().expose());
        let (resp, events) =
            audited(f.service.token(&req("app", "app-secret", &to_params(&r)))).await;
        assert_eq!(resp.err().map(|e| e.code), Some(ErrorCode::InvalidGrant));
        assert!(events.is_empty(), "no reuse event: {events:?}");
    }
    assert_eq!(directory.calls(), 1, "the directory was not asked again");

    let expiring = login(&f, None).await;
    f.clock.advance(f.service.policy.refresh_family_ttl);
    let r = refresh_params(expiring.refresh_token.as_ref().unwrap().expose());
    let (resp, events) = audited(f.service.token(&req("app", "app-secret", &to_params(&r)))).await;
    assert_eq!(resp.err().map(|e| e.code), Some(ErrorCode::InvalidGrant));
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(directory.calls(), 1);
}

#[tokio::test]
async fn the_failure_that_locks_a_username_writes_lockout_started() {
    let f = fixture().await;
    let wrong = password("alice", "wrong");
    for n in 1..=3 {
        let (resp, events) = audited(f.service.token(&req(
            "app",
            "app-secret",
            &to_params(&wrong),
        )))
        .await;
        assert_eq!(resp.err().map(|e| e.code), Some(ErrorCode::InvalidGrant));
        if n < 3 {
            assert!(events.is_empty(), "failure {n}: {events:?}");
        } else {
            assert_eq!(events.len(), 1, "{events:?}");
            assert_eq!(events[0]["event"], "lockout_started");
            assert_eq!(events[0]["client_id"], "app");
            assert_eq!(events[0]["locked_for_seconds"], 300);
            let shown = events[0].to_string();
            assert!(!shown.contains("alice"), "the username is hashed: {shown}");
        }
    }
}
