//! Families that hold their tokens: one item per session, no record per refresh token.
//!
//! A refresh token issued now reads `<family id>~<tag>~<secret>`: the family it belongs to, the
//! family's tag (16 random bytes drawn at sign-in, the same in every token of the family, only
//! its hash stored) and 32 random bytes of its own. The family item records what its live
//! token stands for ([`LiveToken`]) beside the live token's hash and the token its latest
//! rotation retired, so a refresh reads one item (the family, by the id the token carries) and
//! rotates with one conditional write of it.
//!
//! The tag is what tells an old token of the family from a guess. The family id is no secret
//! (every access token carries it as `sid`), and a family keeps only its live and its latest
//! retired token's hashes; without the tag, a string that names a family and matches neither
//! could be a token two rotations old (reuse: revoke the family) or anyone's guess at a `sid`
//! they saw (refuse it, revoke nothing). Only a holder of one of the family's tokens knows the
//! tag, so a presented token with the right tag and an unknown secret is an older token of the
//! family: reuse, as for a retired token's own record.
//!
//! `~`, not `.`: it is not in base64url and is URL-safe, and a string with dots is a JWT to
//! `/revoke` and `/introspect` (an access token).
//!
//! Tokens issued before (43 characters, no separator) are found by their own record
//! (`token#<sha256>`) as they always were, and their families rotate as they always did, until
//! they end.

use tollgate_oauth::secret::{Secret, hash_str, random_token};

use super::{RefreshGrant, StoredFamily, StoredToken, TokenStatus};

/// What separates the family id, the tag and the secret.
const SEP: char = '~';
/// Characters of the family id and of the tag: 16 bytes, base64url without padding.
const ID_CHARS: usize = 22;
/// Characters of a token's own secret: 32 bytes, base64url without padding.
const SECRET_CHARS: usize = 43;

/// What a family that holds its tokens records of its live token: what the token stands for
/// and its own lifetime, and the hash of the family's tag.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveToken {
    pub tag_hash: String,
    pub grant: RefreshGrant,
    pub issued_at: u64,
    pub expires_at: u64,
}

/// A new family's tag, drawn at sign-in: 128 bits from the operating system's CSPRNG.
pub fn new_tag() -> String {
    random_token(16)
}

/// A refresh token of family `family_id` with tag `tag` and a fresh secret of its own.
pub fn mint(family_id: &str, tag: &str) -> Secret {
    Secret::new(format!(
        "{family_id}{SEP}{tag}{SEP}{}",
        Secret::generate().expose()
    ))
}

/// The family id and tag a token of the current shape carries; `None` for any other string
/// (a token issued before, a legacy token, a guess).
pub fn parts(token: &str) -> Option<(&str, &str)> {
    let mut it = token.split(SEP);
    let (family_id, tag, secret) = (it.next()?, it.next()?, it.next()?);
    let shaped = |s: &str, n: usize| s.len() == n && s.bytes().all(base64url);
    (it.next().is_none()
        && shaped(family_id, ID_CHARS)
        && shaped(tag, ID_CHARS)
        && shaped(secret, SECRET_CHARS))
    .then_some((family_id, tag))
}

fn base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// How a store finds a presented refresh token: its hash, and for a token of the current shape
/// the family it names with the hash of the tag it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRef {
    pub token_hash: String,
    /// `(family id, tag hash)`; `None` for a token found by its own record.
    pub family: Option<(String, String)>,
}

impl TokenRef {
    pub fn of(presented: &Secret) -> Self {
        Self {
            token_hash: presented.hash(),
            family: parts(presented.expose())
                .map(|(family_id, tag)| (family_id.to_owned(), hash_str(tag))),
        }
    }

    /// A token found by its own record, by hash.
    pub fn by_record(token_hash: &str) -> Self {
        Self {
            token_hash: token_hash.to_owned(),
            family: None,
        }
    }
}

/// The successor of `presented`: a token of the same family and tag when `presented` has the
/// current shape. A token issued before gets a successor of the shape it had: its family has
/// no tag and keeps its records to the end.
pub fn successor_of(presented: &Secret) -> Secret {
    match parts(presented.expose()) {
        Some((family_id, tag)) => mint(family_id, tag),
        None => Secret::generate(),
    }
}

impl StoredFamily {
    /// The token of this family hashed `token_hash`, presented with a tag hashed `tag_hash`, as
    /// it stands: active when it is the live token, rotated otherwise (with what the family
    /// recorded of its retirement when it is the latest retired). `None` when the family does
    /// not hold its tokens or the tag is not its own: a token nobody issued.
    pub fn token(&self, token_hash: &str, tag_hash: &str) -> Option<StoredToken> {
        let live = self.live.as_ref().filter(|l| l.tag_hash == tag_hash)?;
        let token = StoredToken {
            token_hash: token_hash.to_owned(),
            family_id: self.family_id.clone(),
            grant: live.grant.clone(),
            status: TokenStatus::Active,
            issued_at: live.issued_at,
            expires_at: live.expires_at,
            family_expires_at: self.expires_at,
            rotated_at: None,
            sealed_successor: None,
            successor_hash: None,
            unconfirmed: false,
            in_family: true,
        };
        Some(token.as_of(Some(self)))
    }

    /// The live token, when the family holds its tokens.
    pub fn live_token(&self) -> Option<StoredToken> {
        let live = self.live.as_ref()?;
        self.token(&self.current_token, &live.tag_hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::refresh::RetiredToken;

    fn family() -> StoredFamily {
        let first = crate::refresh::retired::test_token("h2", TokenStatus::Active);
        StoredFamily {
            family_id: "f".into(),
            client_id: "app".into(),
            sub: "u".into(),
            revoked: false,
            current_token: "h2".into(),
            created_at: 0,
            refreshed_at: Some(50),
            access_until: None,
            expires_at: 2_000,
            retired: Some(RetiredToken {
                token_hash: "h1".into(),
                rotated_at: 50,
                successor_hash: "h2".into(),
                sealed_successor: Some("sealed".into()),
                unconfirmed: false,
            }),
            live: Some(LiveToken {
                tag_hash: "tag".into(),
                grant: first.grant,
                issued_at: 50,
                expires_at: 1_050,
            }),
        }
    }

    #[test]
    fn a_minted_token_names_its_family_and_tag() {
        let tag = new_tag();
        let t = mint("AAAAAAAAAAAAAAAAAAAAAA", &tag);
        assert_eq!(t.expose().len(), 89);
        assert_eq!(
            parts(t.expose()),
            Some(("AAAAAAAAAAAAAAAAAAAAAA", tag.as_str()))
        );
        let next = successor_of(&t);
        assert_eq!(parts(next.expose()), parts(t.expose()));
        assert_ne!(next, t);
        let r = TokenRef::of(&t);
        assert_eq!(r.token_hash, t.hash());
        assert_eq!(
            r.family,
            Some(("AAAAAAAAAAAAAAAAAAAAAA".into(), hash_str(&tag)))
        );
    }

    #[test]
    fn other_strings_have_no_parts() {
        let old = Secret::generate();
        assert_eq!(parts(old.expose()), None);
        assert_eq!(TokenRef::of(&old).family, None);
        assert_eq!(parts(successor_of(&old).expose()), None);
        let good = mint("AAAAAAAAAAAAAAAAAAAAAA", &new_tag());
        let g = good.expose();
        for bad in [
            format!("{g}~x"),
            g.replacen('~', "", 1),
            g.replace('~', "."),
            g.replacen('A', "+", 1),
            g[1..].to_owned(),
            format!("{g}A"),
            "~~".to_owned(),
            String::new(),
        ] {
            assert_eq!(parts(&bad), None, "{bad}");
        }
    }

    #[test]
    fn the_live_token_is_active_with_the_familys_record_of_it() {
        let t = family().token("h2", "tag").unwrap();
        assert_eq!(t.status, TokenStatus::Active);
        assert!(t.in_family);
        assert_eq!(
            (t.issued_at, t.expires_at, t.family_expires_at),
            (50, 1_050, 2_000)
        );
        assert_eq!(family().live_token(), Some(t));
    }

    #[test]
    fn the_latest_retired_token_reads_its_retirement() {
        let t = family().token("h1", "tag").unwrap();
        assert_eq!(t.status, TokenStatus::Rotated);
        assert_eq!(t.sealed_successor.as_deref(), Some("sealed"));
        assert_eq!(t.successor_hash.as_deref(), Some("h2"));
    }

    #[test]
    fn an_older_token_with_the_tag_is_rotated_and_a_guess_is_nobodys() {
        let older = family().token("h0", "tag").unwrap();
        assert_eq!(older.status, TokenStatus::Rotated);
        assert_eq!((older.rotated_at, older.sealed_successor), (None, None));
        assert_eq!(family().token("h2", "other tag"), None);
        assert_eq!(family().token("h0", "other tag"), None);
        let mut records = family();
        records.live = None;
        assert_eq!(records.token("h2", "tag"), None);
        assert_eq!(records.live_token(), None);
    }
}
