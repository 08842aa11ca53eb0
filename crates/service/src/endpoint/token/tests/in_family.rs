//! Refresh tokens that name their family (`crate::refresh::in_family`): the tag tells an old
//! token of the family from a guess at a `sid`.

use super::*;
use crate::refresh::in_family::parts;

/// A made-up token naming the session (its `sid` is in every access token) with another tag
/// is nobody's: `invalid_grant`, and the session lives on.
#[tokio::test]
async fn a_token_naming_the_session_without_its_tag_revokes_nothing() {
    let f = fixture().await;
    let first = login(&f, None).await;
    let (family_id, tag) = parts(rt(&first).expose()).unwrap();
    let other_tag =
        crate::refresh::in_family::mint(family_id, &crate::refresh::in_family::new_tag());
    let e = refresh(&f, APP, &other_tag, None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant);
    assert!(!revoked(&f), "a guess at the sid signs nobody out");
    let second = refresh(&f, APP, rt(&first), None).await;
    assert!(second.is_ok(), "the session lives on: {second:?}");
    // A token with the family's tag that is neither its live token nor its latest retired one
    // is an older token of the family: reuse.
    let old = crate::refresh::in_family::mint(family_id, tag);
    let e = refresh(&f, APP, &old, None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant);
    assert!(revoked(&f), "an old token of the family is reuse");
}

/// A token two rotations old (not the latest retired, whose hash the family keeps) is still
/// reuse: it carries the family's tag.
#[tokio::test]
async fn a_token_two_rotations_old_is_reuse() {
    let f = fixture().await;
    let first = login(&f, None).await;
    let second = refresh(&f, APP, rt(&first), None).await.unwrap();
    let third = refresh(&f, APP, rt(&second), None).await.unwrap();
    assert!(!revoked(&f));
    let e = refresh(&f, APP, rt(&first), None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::InvalidGrant);
    assert!(revoked(&f));
    let e = refresh(&f, APP, rt(&third), None).await.unwrap_err();
    assert_eq!(
        e.code,
        ErrorCode::InvalidGrant,
        "the newest token dies with it"
    );
}
