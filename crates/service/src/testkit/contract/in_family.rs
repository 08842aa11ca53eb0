//! The refresh store's contract for families that hold their tokens
//! (`crate::refresh::in_family`): found by the family id and tag a token carries, rotated by
//! the family's write alone, with what the live token stands for kept on the family.

use serde_json::{Map, Value, json};
use tollgate_oauth::secret::{Secret, hash_str};

use super::{family, successor};
use crate::refresh::in_family::{mint, new_tag};
use crate::refresh::{RefreshStore, Rotation, TokenRef, TokenStatus};

/// A session started now: its first token is found through its family by the tag it carries,
/// and by nothing else; a rotation moves the family's live token (details and lifetime
/// included) and is refused a second time; the token retired and any older token of the family
/// read as rotated, a wrong tag as nobody's; the same rotation sent again is accepted; the
/// session ends as any other.
pub async fn in_family(store: &dyn RefreshStore) {
    let now = 20_000;
    let tag = new_tag();
    let fid = "contractInFamily000001";
    let t1 = mint(fid, &tag);
    let mut f = family(fid, &t1.hash(), now);
    f.tag_hash = Some(hash_str(&tag));
    store.create_family(&f).await.expect("create family");
    let found = |t: &Secret| {
        let r = TokenRef::of(t);
        async move { store.get_presented(&r).await.expect("read") }
    };
    let (first, fam) = found(&t1).await.expect("found through its family");
    assert!(first.in_family && fam.is_some());
    assert_eq!(
        (
            first.status,
            &first.grant,
            first.expires_at,
            first.family_expires_at
        ),
        (TokenStatus::Active, &f.grant, now + 600, now + 3_600)
    );
    assert_eq!(
        store.token_record(&t1.hash()).await.expect("read"),
        None,
        "no record of its own"
    );
    let forged = Secret::new(format!("{fid}~{}~{}", new_tag(), &t1.expose()[46..]));
    assert_eq!(found(&forged).await, None, "a wrong tag is nobody's token");

    let t2 = mint(fid, &tag);
    let mut s2 = successor(&t2.hash(), now + 1);
    s2.details = Map::from_iter([("email".to_owned(), json!("new@example.com"))]);
    s2.sealed = Some("sealed".into());
    assert_eq!(
        store.rotate(&first, &s2, now + 1).await.expect("rotate"),
        Rotation::Rotated
    );
    let s3 = successor(&mint(fid, &tag).hash(), now + 2);
    assert_eq!(
        store.rotate(&first, &s3, now + 2).await.expect("rotate"),
        Rotation::Refused
    );
    assert_eq!(
        store.rotate(&first, &s2, now + 1).await.expect("again"),
        Rotation::Rotated
    );
    let (second, _) = found(&t2).await.expect("the successor");
    assert_eq!(second.status, TokenStatus::Active);
    assert_eq!((second.issued_at, second.expires_at), (now + 1, now + 601));
    assert_eq!(
        second.grant.details.get("email"),
        Some(&Value::from("new@example.com"))
    );
    assert_eq!(
        (&second.grant.scope, second.grant.auth_time),
        (&f.grant.scope, now)
    );
    let (old, _) = found(&t1).await.expect("the retired token");
    assert_eq!(old.status, TokenStatus::Rotated);
    assert_eq!(old.sealed_successor.as_deref(), Some("sealed"));
    assert_eq!(old.successor_hash, Some(t2.hash()));
    let t3 = mint(fid, &tag);
    assert_eq!(
        store
            .rotate(&second, &successor(&t3.hash(), now + 3), now + 3)
            .await
            .expect("rotate"),
        Rotation::Rotated
    );
    let (older, _) = found(&t1).await.expect("two rotations back");
    assert_eq!(
        (older.status, older.sealed_successor),
        (TokenStatus::Rotated, None)
    );
    // Whose it is, for `/revoke`: its family, two rotations on.
    assert_eq!(older.family_id, fid);

    store.revoke_family(fid, now + 4).await.expect("revoke");
    let (live, fam) = found(&t3).await.expect("still found");
    assert!(fam.is_some_and(|f| f.revoked));
    let s4 = successor(&mint(fid, &tag).hash(), now + 5);
    assert_eq!(
        store.rotate(&live, &s4, now + 5).await.expect("rotate"),
        Rotation::Refused
    );
}
