//! The code store's behaviour (`crate::code::CodeStore`), for every adapter: a code reads back
//! as written and is never overwritten; its exchange consumes it and creates the session in one
//! write, which the same exchange may repeat (a lost answer) but no other exchange may.

use serde_json::Map;
use tollgate_oauth::pkce::CodeChallenge;
use tollgate_oauth::scope::Scopes;

use crate::code::{CodeRequest, CodeStore, Exchange, ExchangeWrite, NewCode};
use crate::refresh::{NewFamily, RefreshGrant, RefreshStore, Rotation, Successor, TokenStatus};

fn new_code(hash: &str, now: u64) -> NewCode {
    let mut details = Map::new();
    details.insert("email".into(), "u@example.com".into());
    NewCode {
        code_hash: hash.to_owned(),
        request: CodeRequest {
            grant: RefreshGrant {
                client_id: "contract-spa".into(),
                sub: "u-1".into(),
                scope: Scopes::parse("openid read").expect("scopes"),
                details,
                auth_time: now,
            },
            redirect_uri: "https://app.example.com/cb?x=1".into(),
            redirect_uri_sent: true,
            code_challenge: CodeChallenge::of("contract-verifier-0123456789-0123456789-0123"),
            nonce: Some("n-0S6_WzA2Mj".into()),
        },
        issued_at: now,
    }
}

fn family_of(code: &NewCode, id: &str, token: &str, now: u64) -> NewFamily {
    NewFamily {
        family_id: id.to_owned(),
        token_hash: token.to_owned(),
        grant: code.request.grant.clone(),
        issued_at: now,
        token_expires_at: now + 600,
        family_expires_at: now + 3_600,
        access_expires_at: now + 300,
        tag_hash: None,
    }
}

fn write<'a>(hash: &'a str, family: &'a NewFamily, now: u64, resent: bool) -> ExchangeWrite<'a> {
    ExchangeWrite {
        code_hash: hash,
        family,
        unconfirmed: resent,
        sealed_refresh: resent.then(|| "sealed-refresh".to_owned()),
        now,
    }
}

pub async fn codes<S: CodeStore + RefreshStore>(store: &S) {
    let now = 20_000;
    let code = new_code("contract-code-1", now);
    store.put_code(&code).await.expect("put code");
    let read = store
        .get_code("contract-code-1")
        .await
        .expect("get")
        .expect("stored");
    assert_eq!(read, code.stored(), "a code reads back as written");
    assert!(
        store.put_code(&code).await.is_err(),
        "a code is never overwritten"
    );
    assert_eq!(store.get_code("contract-none").await.expect("get"), None);
    let f1 = family_of(&code, "contract-cf1", "contract-ct1", now + 1);
    let first = store
        .exchange(&write("contract-code-1", &f1, now + 1, false))
        .await;
    assert_eq!(first.expect("exchange"), Exchange::Done);
    let used = store
        .get_code("contract-code-1")
        .await
        .expect("get")
        .expect("stored");
    let ex = used.exchange.expect("used");
    assert_eq!((ex.family_id.as_str(), ex.at), ("contract-cf1", now + 1));
    assert!(!ex.unconfirmed && ex.sealed_refresh.is_none());
    let t1 = store
        .get_token("contract-ct1")
        .await
        .expect("get")
        .expect("first token");
    assert_eq!(
        (t1.status, &t1.grant),
        (TokenStatus::Active, &code.request.grant)
    );
    let fam = store
        .get_family("contract-cf1")
        .await
        .expect("get")
        .expect("family");
    assert_eq!(
        (fam.current_token.as_str(), fam.revoked, fam.access_until),
        ("contract-ct1", false, Some(f1.access_expires_at))
    );
    // The same exchange sent again (its answer was lost): done, and now marked.
    let again = store
        .exchange(&write("contract-code-1", &f1, now + 1, true))
        .await;
    assert_eq!(again.expect("re-send"), Exchange::Done);
    let ex = store
        .get_code("contract-code-1")
        .await
        .expect("get")
        .expect("stored")
        .exchange;
    let ex = ex.expect("used");
    assert!(ex.unconfirmed && ex.sealed_refresh.as_deref() == Some("sealed-refresh"));
    // Another exchange of the same code: refused, nothing of it written.
    let f2 = family_of(&code, "contract-cf2", "contract-ct2", now + 2);
    let other = store
        .exchange(&write("contract-code-1", &f2, now + 2, false))
        .await;
    assert_eq!(other.expect("exchange"), Exchange::Refused);
    assert_eq!(store.get_family("contract-cf2").await.expect("get"), None);
    assert_eq!(store.get_token("contract-ct2").await.expect("get"), None);
    // Once the session moved on, the old exchange repeated is refused too.
    let next = Successor {
        token_hash: "contract-ct1b".into(),
        issued_at: now + 3,
        expires_at: now + 600,
        details: Map::new(),
        sealed: None,
        unconfirmed: false,
        access_until: now + 3 + 300,
    };
    assert_eq!(
        store.rotate(&t1, &next, now + 3).await.expect("rotate"),
        Rotation::Rotated
    );
    let late = store
        .exchange(&write("contract-code-1", &f1, now + 1, true))
        .await;
    assert_eq!(late.expect("exchange"), Exchange::Refused);
    let fam = store
        .get_family("contract-cf1")
        .await
        .expect("get")
        .expect("family");
    assert_eq!(
        fam.current_token, "contract-ct1b",
        "the session is not set back"
    );
    // A code that does not exist is never exchanged.
    let f3 = family_of(&code, "contract-cf3", "contract-ct3", now);
    let none = store
        .exchange(&write("contract-none", &f3, now, false))
        .await;
    assert_eq!(none.expect("exchange"), Exchange::Refused);
    assert_eq!(store.get_family("contract-cf3").await.expect("get"), None);
}
