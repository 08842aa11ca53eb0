//! What each way of ending access at the token endpoint records for the authorizers
//! (`crate::revocation`), and in which order: the entry before the family's revocation, so a
//! request told `503` between the two finishes the job when it is tried again.

use base64::Engine;
use tollgate_revocation::entry::EXPIRY_MARGIN_SECONDS;

use super::*;
use crate::client::ClientUpdate;
use crate::revocation::{Entry, Key};

fn revoking(client: (&str, &str), token: &str) -> RevocationRequest {
    RevocationRequest {
        credentials: Some(ClientCredentials {
            client_id: client.0.into(),
            secret: Some(Secret::new(client.1)),
        }),
        token: Some(Secret::new(token)),
    }
}

fn claims(token: &str) -> serde_json::Value {
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

fn text(v: &serde_json::Value) -> String {
    v.as_str().unwrap().to_owned()
}

fn recorded(f: &Fixture) -> Vec<Entry> {
    f.revocations.inner.recorded()
}

#[tokio::test]
async fn revoking_an_access_token_ends_its_session_for_refresh_and_for_the_authorizers() {
    let f = fixture().await;
    let t = login(&f, None).await;
    let c = claims(&t.access_token);
    f.service
        .revoke(&f.keys, &revoking(APP, &t.access_token))
        .await
        .unwrap();
    let exp = c["exp"].as_u64().unwrap();
    assert_eq!(
        recorded(&f),
        [Entry::session(&text(&c["sid"]), exp)],
        "kept until the session's newest token has expired"
    );
    assert_eq!(recorded(&f)[0].expires_at, exp + EXPIRY_MARGIN_SECONDS);
    let refresh_token = t.refresh_token.as_ref().unwrap();
    let err = refresh(&f, APP, refresh_token, None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidGrant, "its refresh token too");
    // Revoking again is harmless, and records again.
    f.service
        .revoke(&f.keys, &revoking(APP, &t.access_token))
        .await
        .unwrap();
    assert_eq!(recorded(&f).len(), 2);
}

#[tokio::test]
async fn a_client_credentials_token_is_revoked_alone_by_its_jti() {
    let f = fixture().await;
    let cc = [("grant_type", "client_credentials")];
    let t = f
        .service
        .token(&req("svc", "svc-secret", &cc))
        .await
        .unwrap();
    let c = claims(&t.access_token);
    assert!(c.get("sid").is_none());
    f.service
        .revoke(&f.keys, &revoking(("svc", "svc-secret"), &t.access_token))
        .await
        .unwrap();
    let exp = c["exp"].as_u64().unwrap();
    assert_eq!(recorded(&f), [Entry::token(&text(&c["jti"]), exp)]);
}

#[tokio::test]
async fn foreign_forged_and_expired_access_tokens_end_nothing() {
    let f = fixture().await;
    let t = login(&f, None).await;
    // Another client's token: ignored, as for refresh tokens (RFC 7009 §2.1).
    let other = ("other", "other-secret");
    f.service
        .revoke(&f.keys, &revoking(other, &t.access_token))
        .await
        .unwrap();
    // A forged one: the payload changed under the signature.
    let mut parts: Vec<String> = t.access_token.split('.').map(str::to_owned).collect();
    let mut c = claims(&t.access_token);
    c["client_id"] = "app".into();
    c["sid"] = "someone-elses-session".into();
    parts[1] = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(c.to_string());
    f.service
        .revoke(&f.keys, &revoking(APP, &parts.join(".")))
        .await
        .unwrap();
    assert_eq!(recorded(&f), [], "nothing recorded");
    // An expired one: nothing left to end through it.
    f.clock.advance(900 + 1);
    f.service
        .revoke(&f.keys, &revoking(APP, &t.access_token))
        .await
        .unwrap();
    assert_eq!(recorded(&f), []);
    let refresh_token = t.refresh_token.as_ref().unwrap();
    assert!(refresh(&f, APP, refresh_token, None).await.is_ok());
}

#[tokio::test]
async fn reuse_records_the_sessions_end_before_revoking_its_family() {
    let f = fixture().await;
    let first = login(&f, None).await;
    let sid = text(&claims(&first.access_token)["sid"]);
    let old = first.refresh_token.as_ref().unwrap();
    let second = refresh(&f, APP, old, None).await.unwrap();
    // The store that tells the authorizers is down: the reuse is a 503, and the family is
    // left active, so the same reuse tried again does it all.
    f.revocations.fail("record");
    let r = req(
        APP.0,
        APP.1,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", old.expose()),
        ],
    );
    let e = f.service.handle_token(&r, Deadline::none()).await.result;
    assert!(
        matches!(
            e,
            Err(TokenError::Unavailable(Unavailable::RevocationStore(_)))
        ),
        "{e:?}"
    );
    let families = f.refresh.families.lock().unwrap().clone();
    assert!(!families[&sid].revoked);
    f.revocations.heal();
    let err = refresh(&f, APP, old, None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::InvalidGrant);
    assert_eq!(
        recorded(&f)
            .iter()
            .map(|e| e.key.clone())
            .collect::<Vec<_>>(),
        [Key::Session(sid.clone())]
    );
    assert!(f.refresh.families.lock().unwrap()[&sid].revoked);
    let newest = second.refresh_token.as_ref().unwrap();
    assert!(refresh(&f, APP, newest, None).await.is_err());
    // The entry outlives both access tokens, the second one's included.
    let latest = claims(&second.access_token)["exp"].as_u64().unwrap();
    assert!(recorded(&f)[0].expires_at >= latest + EXPIRY_MARGIN_SECONDS);
}

#[tokio::test]
async fn access_tokens_never_outlive_their_session_and_the_family_keeps_the_latest_expiry() {
    let f = fixture().await;
    let first = login(&f, None).await;
    let sid = text(&claims(&first.access_token)["sid"]);
    let family = |f: &Fixture| f.refresh.families.lock().unwrap()[&sid].clone();
    assert_eq!(family(&f).access_until, Some(1_000_000 + 900));
    // The client's lifetime is cut to 60 s: the 900 s token issued before still lives, so the
    // family keeps its expiry rather than the new token's.
    let shorter = ClientUpdate {
        access_token_ttl: Some(Some(60)),
        ..ClientUpdate::default()
    };
    f.service.clients.update("app", &shorter).await.unwrap();
    f.clock.advance(100);
    let second = refresh(&f, APP, first.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap();
    assert_eq!(second.expires_in, 60);
    assert_eq!(family(&f).access_until, Some(1_000_000 + 900));
    // Near the session's absolute end (7,200 s), a token lives only until it.
    let longer = ClientUpdate {
        access_token_ttl: Some(None),
        ..ClientUpdate::default()
    };
    f.service.clients.update("app", &longer).await.unwrap();
    f.clock.advance(3_400);
    let third = refresh(&f, APP, second.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap();
    f.clock.advance(3_590);
    let last = refresh(&f, APP, third.refresh_token.as_ref().unwrap(), None)
        .await
        .unwrap();
    assert_eq!(last.expires_in, 110, "the session ends at 7,200 s");
    let exp = claims(&last.access_token)["exp"].as_u64().unwrap();
    assert_eq!(exp, 1_000_000 + 7_200);
    assert_eq!(family(&f).access_until, Some(exp));
}
