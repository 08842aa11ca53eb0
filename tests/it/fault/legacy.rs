//! A legacy refresh token's first use whose `TransactWriteItems` (its marker and its new session)
//! lands but whose answer is lost (the proxy drops every answer to it, found by the marker's
//! key): the client gets `503` with `Retry-After`, and its retry with the same legacy token, as
//! told, gets `200` and the very session that landed, never "legacy token used twice"
//! (issues 21 and 25). The session then lives on: its refresh token rotates.

use tollgate_oauth::secret::{Secret, random_token};
use tollgate_service::store::dynamo::legacy_key;
use tollgate_tests::fault::{FaultServed, retry_after};
use tollgate_tests::{ClientSpec, dynamo, post_token};

use super::{PROXY_USE, audit_events, log_lines};

#[tokio::test]
async fn a_lost_take_over_answer_retried_as_told_gets_the_session_that_landed() {
    let _shared = PROXY_USE.read().await;
    let f = FaultServed::from_env();
    let (id, secret) = ClientSpec::default()
        .create(&dynamo().await, &f.clients_table)
        .await;
    let legacy = format!("ok.{id}.{}", random_token(12));
    let token_url = f.token_url();
    let refresh = |token: String| {
        let (url, id, secret) = (token_url.clone(), id.clone(), secret.clone());
        async move {
            post_token(
                &url,
                Some((&id, &secret)),
                &[("grant_type", "refresh_token"), ("refresh_token", &token)],
            )
            .await
        }
    };
    let marker = legacy_key(&Secret::new(legacy.clone()).hash());
    let rule = f.proxy.drop_answers("TransactWriteItems", &marker).await;
    let lost = refresh(legacy.clone()).await;
    let hits = f.proxy.rule(rule.id).await.hits;
    f.proxy.remove_rule(rule.id).await;
    lost.assert_error(503, "temporarily_unavailable");
    assert!(
        hits >= 2,
        "the take-over was sent again after its answer was lost ({hits})"
    );
    tokio::time::sleep(retry_after(&lost)).await;
    let retry = refresh(legacy.clone()).await;
    assert_eq!(
        retry.status, 200,
        "the retry after a lost answer: {retry:?}"
    );
    let events = audit_events(&f.log_path, &id);
    assert!(
        !events.iter().any(|e| e == "legacy_refresh_reuse"),
        "{events:?}"
    );
    let issued: Vec<_> = log_lines(&f.log_path)
        .into_iter()
        .filter(|v| v["event"] == "token_issued" && v["client_id"] == id.as_str())
        .collect();
    assert_eq!(issued.len(), 1, "answered once, by the retry: {issued:?}");
    let rt = retry.refresh_token();
    let refreshed = refresh(rt).await;
    assert_eq!(refreshed.status, 200, "the session lives on: {refreshed:?}");
    // Once that session moved on, the legacy token is a second use.
    refresh(legacy).await.assert_error(400, "invalid_grant");
}
