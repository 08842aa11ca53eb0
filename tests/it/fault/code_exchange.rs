//! A code exchange whose `TransactWriteItems` lands but whose answer is lost (the proxy drops
//! every answer to that exchange's transaction, found by the code's item key): the client gets
//! `503` with `Retry-After`, and its retry with the same code and verifier, as told, gets `200`
//! and the very session the landed write created, never "code used twice, revoke what it
//! issued" (issue 25). The session then lives on: its refresh token rotates.

use serde_json::json;
use tollgate_oauth::secret::Secret;
use tollgate_service::store::dynamo::code_key;
use tollgate_tests::code_flow::{Callback, Pkce, code_client, code_for, exchange, request_params};
use tollgate_tests::fault::{FaultServed, retry_after};
use tollgate_tests::{http, post_token, unique};

use super::{PROXY_USE, audit_events, log_lines};

#[tokio::test]
async fn a_lost_exchange_answer_retried_as_told_gets_the_session_that_landed() {
    let _shared = PROXY_USE.read().await;
    let f = FaultServed::from_env();
    let callback = Callback::start().await;
    let (id, _) = code_client(&f.clients_table, true, "test", &[&callback.uri]).await;
    let (username, password) = (unique("lost-code-user"), unique("pw"));
    let user = json!({"password": password, "claims": {"sub": unique("sub")}});
    let resp = http()
        .put(format!("{}/users/{username}", f.auth_url))
        .json(&user)
        .send()
        .await
        .expect("dev-auth");
    assert_eq!(resp.status().as_u16(), 200);
    let pkce = Pkce::new();
    let state = unique("state");
    let params = request_params(&id, &callback.uri, &pkce, &state);
    let code = code_for(&f.base, &params, &username, &password).await;
    let token_url = f.token_url();
    let rule = f
        .proxy
        .drop_answers(
            "TransactWriteItems",
            &code_key(&Secret::new(code.clone()).hash()),
        )
        .await;
    let lost = exchange(
        &token_url,
        (&id, ""),
        &code,
        &pkce.verifier,
        Some(&callback.uri),
    )
    .await;
    let hits = f.proxy.rule(rule.id).await.hits;
    f.proxy.remove_rule(rule.id).await;
    lost.assert_error(503, "temporarily_unavailable");
    assert!(
        hits >= 2,
        "the exchange was sent again after its answer was lost ({hits})"
    );
    tokio::time::sleep(retry_after(&lost)).await;
    let retry = exchange(
        &token_url,
        (&id, ""),
        &code,
        &pkce.verifier,
        Some(&callback.uri),
    )
    .await;
    assert_eq!(
        retry.status, 200,
        "the retry after a lost answer: {retry:?}"
    );
    // One session, alive: no reuse detected, nothing revoked.
    let events = audit_events(&f.log_path, &id);
    assert!(
        !events.iter().any(|e| e == "code_reuse_detected"),
        "{events:?}"
    );
    let issued: Vec<_> = log_lines(&f.log_path)
        .into_iter()
        .filter(|v| v["event"] == "token_issued" && v["client_id"] == id.as_str())
        .collect();
    assert_eq!(issued.len(), 1, "answered once, by the retry: {issued:?}");
    let rt = retry.json["refresh_token"].as_str().unwrap();
    let refreshed = post_token(
        &token_url,
        None,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", rt),
            ("client_id", &id),
        ],
    )
    .await;
    assert_eq!(refreshed.status, 200, "the session lives on: {refreshed:?}");
}
