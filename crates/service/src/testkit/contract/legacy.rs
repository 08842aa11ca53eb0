//! The legacy-token marker store's behaviour (`crate::legacy::LegacyStore`), for every adapter:
//! a take-over writes the marker and creates the session in one write, which the same take-over
//! may repeat (a lost answer) while its session has not moved on, but no other take-over of the
//! same legacy token may.

use serde_json::Map;
use tollgate_oauth::scope::Scopes;

use crate::legacy::{LegacyStore, StoredMarker, TakeOver, TakenOver};
use crate::refresh::{NewFamily, RefreshGrant, RefreshStore, Rotation, Successor, TokenStatus};

fn family(id: &str, token: &str, now: u64) -> NewFamily {
    let mut details = Map::new();
    details.insert("email".into(), "u@example.com".into());
    NewFamily {
        family_id: id.to_owned(),
        token_hash: token.to_owned(),
        grant: RefreshGrant {
            client_id: "contract-app".into(),
            sub: "u-legacy".into(),
            scope: Scopes::parse("read").expect("scopes"),
            details,
            auth_time: now,
        },
        issued_at: now,
        token_expires_at: now + 600,
        family_expires_at: now + 3_600,
        access_expires_at: now + 300,
        tag_hash: None,
    }
}

fn take_over<'a>(hash: &'a str, family: &'a NewFamily, now: u64, resent: bool) -> TakeOver<'a> {
    TakeOver {
        token_hash: hash,
        family,
        unconfirmed: resent,
        sealed_refresh: resent.then(|| "sealed-refresh".to_owned()),
        now,
    }
}

pub async fn legacy<S: LegacyStore + RefreshStore>(store: &S) {
    let now = 30_000;
    let hash = "sha256:contract-legacy-1";
    assert_eq!(store.get_marker(hash).await.expect("get"), None);
    let f1 = family("contract-lf1", "contract-lt1", now);
    let first = store.take_over(&take_over(hash, &f1, now, false)).await;
    assert_eq!(first.expect("take over"), TakenOver::Done);
    assert_eq!(
        store.get_marker(hash).await.expect("get"),
        Some(StoredMarker {
            family_id: "contract-lf1".into(),
            client_id: "contract-app".into(),
            at: now,
            unconfirmed: false,
            sealed_refresh: None,
        }),
        "the marker names the session it started"
    );
    let t1 = store
        .get_token("contract-lt1")
        .await
        .expect("get")
        .expect("first token");
    assert_eq!((t1.status, &t1.grant), (TokenStatus::Active, &f1.grant));
    let fam = store
        .get_family("contract-lf1")
        .await
        .expect("get")
        .expect("family");
    assert_eq!(
        (fam.current_token.as_str(), fam.revoked, fam.access_until),
        ("contract-lt1", false, Some(f1.access_expires_at))
    );
    // The same take-over sent again (its answer was lost): done, and the marker now says so.
    let again = store.take_over(&take_over(hash, &f1, now, true)).await;
    assert_eq!(again.expect("re-send"), TakenOver::Done);
    let marker = store.get_marker(hash).await.expect("get").expect("marker");
    assert_eq!(marker.family_id, "contract-lf1");
    assert!(marker.unconfirmed && marker.sealed_refresh.as_deref() == Some("sealed-refresh"));
    // Another take-over of the same legacy token: refused, nothing of it written.
    let f2 = family("contract-lf2", "contract-lt2", now + 1);
    let other = store.take_over(&take_over(hash, &f2, now + 1, false)).await;
    assert_eq!(other.expect("take over"), TakenOver::Refused);
    let marker = store.get_marker(hash).await.expect("get").expect("marker");
    assert_eq!(marker.family_id, "contract-lf1", "the marker is not moved");
    assert_eq!(store.get_family("contract-lf2").await.expect("get"), None);
    assert_eq!(store.get_token("contract-lt2").await.expect("get"), None);
    // Once the session moved on, the old take-over repeated is refused and sets nothing back.
    let next = Successor {
        token_hash: "contract-lt1b".into(),
        issued_at: now + 2,
        expires_at: now + 600,
        details: Map::new(),
        sealed: None,
        unconfirmed: false,
        access_until: now + 2 + 300,
    };
    assert_eq!(
        store.rotate(&t1, &next, now + 2).await.expect("rotate"),
        Rotation::Rotated
    );
    let late = store.take_over(&take_over(hash, &f1, now, true)).await;
    assert_eq!(late.expect("take over"), TakenOver::Refused);
    let fam = store
        .get_family("contract-lf1")
        .await
        .expect("get")
        .expect("family");
    assert_eq!(
        fam.current_token, "contract-lt1b",
        "the session is not set back"
    );
    // Another legacy token is its own: its take-over is done beside the first.
    let other_hash = "sha256:contract-legacy-2";
    let f3 = family("contract-lf3", "contract-lt3", now + 3);
    let third = store
        .take_over(&take_over(other_hash, &f3, now + 3, false))
        .await;
    assert_eq!(third.expect("take over"), TakenOver::Done);
    let m3 = store
        .get_marker(other_hash)
        .await
        .expect("get")
        .expect("marker");
    assert_eq!((m3.family_id.as_str(), m3.at), ("contract-lf3", now + 3));
}
