//! Rules of the domain modules pinned at their edges, found unpinned by the mutation check
//! (`make mutants`, docs/testing.md): each test names the rule, and would fail if the code
//! broke it.

use tollgate_oauth::scope::Scopes;
use tollgate_oauth::secret::{Secret, SecretHasher};
use tollgate_oauth::verify::{DEFAULT_MAX_LIFETIME, Rejection};

use crate::client::{
    self, Client, ClientCredentials, ClientRuleError, ClientStore, GrantType, PreviousSecret,
};
use crate::lockout::{LockoutGuard, LockoutPolicy, Reservation};
use crate::testkit::failing::Failing;
use crate::testkit::memory::{MemoryClients, MemoryLockout};

fn client(id: &str, secret: &str) -> Client {
    Client {
        grant_types: vec![GrantType::Password],
        allowed_scopes: Scopes::parse("read").unwrap(),
        ..Client::for_tests(id, secret)
    }
}

/// With `max_failures = 0` lockout is off: every attempt is granted and the store is never
/// asked (here every call to it would fail), so a DynamoDB outage cannot refuse logins.
#[tokio::test]
async fn lockout_off_never_touches_the_store() {
    let store = Failing::new(MemoryLockout::default());
    for m in [
        "reserve",
        "record_failure",
        "release",
        "reset",
        "locked_until",
    ] {
        store.fail(m);
    }
    let off = LockoutPolicy {
        max_failures: 0,
        window_secs: 60,
        lockout_secs: 60,
    };
    let guard = LockoutGuard::new(&store, &off, "alice");
    for now in 0..5 {
        assert!(matches!(guard.reserve(now).await, Ok(Reservation::Granted)));
        assert!(!guard.failed(now).await, "nothing is counted");
        guard.release().await;
        guard.succeeded().await;
    }
    assert_eq!(store.failed(), Vec::<&str>::new(), "the store was called");
    // The control: with lockout on, the same guard asks the store (and so sees it fail).
    let on = LockoutPolicy {
        max_failures: 1,
        ..off
    };
    let guard = LockoutGuard::new(&store, &on, "alice");
    assert!(guard.reserve(0).await.is_err());
    assert_eq!(store.failed(), vec!["reserve"]);
}

#[test]
fn scopes_collect_from_any_iterator_as_a_set() {
    let s: Scopes = ["write", "read", "write"].into_iter().collect();
    assert_eq!(s, Scopes::parse("read write").unwrap());
}

/// A username of exactly the limit is accepted; one byte more is not.
#[test]
fn a_username_of_exactly_the_limit_is_accepted() {
    use crate::lockout::{MAX_USERNAME_BYTES, UsernameError, clean_username};
    let at = "a".repeat(MAX_USERNAME_BYTES);
    assert_eq!(clean_username(&at), Ok(at.as_str()));
    let over = "a".repeat(MAX_USERNAME_BYTES + 1);
    assert_eq!(clean_username(&over), Err(UsernameError::TooLong));
}

#[test]
fn scopes_to_vec_lists_each_scope_once_in_order() {
    let s = Scopes::parse("write read read admin").unwrap();
    assert_eq!(s.to_vec(), ["admin", "read", "write"]);
    assert_eq!(Scopes::default().to_vec(), Vec::<String>::new());
}

/// Stored scopes are read back through the same parser: a list, in any order, is the set; a
/// stored value that breaks RFC 6749 §3.3 is refused rather than trusted.
#[test]
fn stored_scopes_read_back_through_the_parser() {
    let s: Scopes = serde_json::from_str(r#"["write","read"]"#).unwrap();
    assert_eq!(s, Scopes::parse("read write").unwrap());
    assert_eq!(serde_json::to_string(&s).unwrap(), r#"["read","write"]"#);
    for bad in [
        r#"["quote\""]"#,
        r#"["é"]"#,
        r#"["back\\slash"]"#,
        r#""read""#,
    ] {
        assert!(serde_json::from_str::<Scopes>(bad).is_err(), "{bad}");
    }
}

/// The lifetime caps are a day, 90 days and a year, inclusive.
#[test]
fn lifetime_caps_are_a_day_ninety_days_and_a_year() {
    let cases = [
        (24 * 3600, "access-token"),
        (90 * 24 * 3600, "refresh-token"),
        (365 * 24 * 3600, "refresh-family"),
    ];
    for (i, (cap, name)) in cases.into_iter().enumerate() {
        let mut c = client("app", "s");
        let set = |c: &mut Client, v| match i {
            0 => c.access_token_ttl = Some(v),
            1 => c.refresh_token_ttl = Some(v),
            _ => c.refresh_family_ttl = Some(v),
        };
        set(&mut c, cap);
        assert_eq!(c.check(), Ok(()), "{name} at its cap");
        set(&mut c, cap + 1);
        assert_eq!(
            c.check(),
            Err(ClientRuleError::LifetimeTooLong(name, cap)),
            "{name} past its cap"
        );
    }
    assert_eq!(client::MAX_ACCESS_TOKEN_TTL, 86_400);
}

/// A record whose previous secret is the current one (an operator rotated to the same
/// secret, or edited the record by hand) still accepts that secret: either match is enough.
#[tokio::test]
async fn a_secret_that_is_both_current_and_previous_is_accepted() {
    let store = MemoryClients::default();
    let mut c = client("app", "same-secret");
    c.previous_secret = Some(PreviousSecret {
        hash: c.secret_hash.clone(),
        retire_at: None,
    });
    store.create(&c).await.unwrap();
    let creds = ClientCredentials {
        client_id: "app".into(),
        secret: Some(Secret::new("same-secret")),
    };
    let hasher = SecretHasher::default();
    let got = client::authenticate_at(&store, &hasher, &creds, 0).await;
    assert_eq!(got.unwrap().client_id, "app");
}

/// Client credentials in a log show who (a short hash of the id), never the secret. (How they
/// came, Basic or the body, is an HTTP fact the token crate keeps.)
#[test]
fn client_credentials_debug_names_the_client_and_hides_the_secret() {
    let creds = ClientCredentials {
        client_id: "app".into(),
        secret: Some(Secret::new("very-secret-value")),
    };
    let shown = format!("{creds:?}");
    assert!(shown.starts_with("ClientCredentials"), "{shown}");
    assert!(
        shown.contains(&tollgate_telemetry::hash::short_hash("app")),
        "{shown}"
    );
    assert!(!shown.contains("very-secret-value"), "{shown}");
}

/// A short hash correlates log lines: the first 12 characters of the value's stored SHA-256
/// (after its `sha256:` prefix), the same for the same value, different for another.
#[test]
fn short_hash_is_the_start_of_the_sha256() {
    use tollgate_telemetry::hash::short_hash;
    let a = short_hash("app");
    assert_eq!(a.len(), 12, "{a}");
    let full = tollgate_oauth::secret::hash_str("app");
    assert_eq!(
        full.strip_prefix("sha256:").map(|h| &h[..12]),
        Some(a.as_str())
    );
    assert_eq!(a, short_hash("app"));
    assert_ne!(a, short_hash("apq"));
    assert!(!a.contains("app"));
}

/// The reasons are the `Reason` dimension of the authorizer's metric and its log field:
/// dashboards and alarms key on these exact strings, one per reason.
#[test]
fn each_rejection_has_its_own_documented_reason() {
    let all = [
        (Rejection::Missing, "no bearer token"),
        (Rejection::Malformed, "token is malformed"),
        (Rejection::TooLarge, "token is too large"),
        (Rejection::WrongType, "token typ is not at+jwt"),
        (Rejection::AlgorithmNotAllowed, "algorithm not allowed"),
        (Rejection::UnknownKey, "unknown kid"),
        (Rejection::BadSignature, "bad signature"),
        (Rejection::HighS, "signature not in low-S form"),
        (Rejection::Expired, "token expired"),
        (Rejection::NotYetValid, "token not yet valid"),
        (Rejection::IssuedInFuture, "token issued in the future"),
        (Rejection::LifetimeTooLong, "token lifetime too long"),
        (Rejection::WrongIssuer, "wrong issuer"),
        (Rejection::WrongAudience, "wrong audience"),
        (
            Rejection::MissingClaim,
            "required claim missing or mistyped",
        ),
        (Rejection::CriticalHeader, "token has a crit header"),
        (Rejection::ApiNotAllowed, "API or stage not in ALLOWED_APIS"),
        (Rejection::RefusedPath, "request path is a refused spelling"),
    ];
    for (r, text) in all {
        assert_eq!(r.as_str(), text, "{r:?}");
        assert_eq!(r.to_string(), text, "{r:?}");
    }
}

#[test]
fn grant_type_names_are_the_rfc_names_of_every_grant() {
    assert_eq!(
        GrantType::names(),
        [
            "authorization_code",
            "password",
            "refresh_token",
            "client_credentials"
        ]
    );
}

/// A JWKS key's `alg` is what the verifier holds it to, over what its key type suggests: a key
/// labelled for another algorithm never verifies a token signed the way its type would. Since
/// keys are parsed once at cold start, such a key is refused there, naming it, so a mislabelled
/// JWKS fails loudly instead of refusing every token it signed.
#[test]
fn a_keys_declared_alg_wins_over_its_type() {
    use jsonwebtoken::Algorithm;
    use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem};
    use tollgate_oauth::verify::{AccessTokenVerifier, VerifierConfig};

    let cfg = VerifierConfig {
        issuer: "https://i".into(),
        audience: "api".into(),
        leeway: 0,
        algorithms: vec![Algorithm::ES256, Algorithm::RS256, Algorithm::EdDSA],
        max_lifetime: DEFAULT_MAX_LIFETIME,
    };
    let now = jsonwebtoken::get_current_timestamp();
    let claims = serde_json::json!({"iss": "https://i", "aud": "api", "sub": "u",
        "client_id": "c", "scope": "a", "iat": now, "exp": now + 60});
    for (kind, label) in [
        (SigningAlg::Rs256, None),
        (SigningAlg::Rs256, Some("ES256")),
        (SigningAlg::Rs256, Some("EdDSA")),
        (SigningAlg::Es256, None),
        (SigningAlg::Es256, Some("RS256")),
        (SigningAlg::EdDsa, None),
        (SigningAlg::EdDsa, Some("ES256")),
    ] {
        let pem = generate_pem(kind).unwrap();
        let key = SigningKey::from_pem(&pem, kind, Some("k1".into())).unwrap();
        let mut jwk = serde_json::to_value(key.public_jwk()).unwrap();
        match label {
            Some(l) => jwk["alg"] = l.into(),
            None => {
                jwk.as_object_mut().unwrap().remove("alg");
            }
        }
        let jwks = serde_json::json!({ "keys": [jwk] }).to_string();
        let v = match (label, AccessTokenVerifier::new(&jwks, &cfg)) {
            (None, Ok(v)) => v,
            (Some(_), Err(tollgate_oauth::verify::VerifierSetupError::BadKey { kid, .. })) => {
                assert_eq!(kid, "k1");
                continue;
            }
            (label, other) => panic!("{kind:?} labelled {label:?}: {other:?}"),
        };
        let mut header = jsonwebtoken::Header::new(kind.algorithm());
        header.kid = Some("k1".into());
        header.typ = Some("at+jwt".into());
        let t = tollgate_oauth::keys::low_s::encode(&header, &claims, key.encoding_key()).unwrap();
        let got = v.verify(&t);
        assert!(got.is_ok(), "{kind:?} unlabelled: {got:?}");
    }
}

/// A token response in a log shows its lifetime and scope, never either token.
#[test]
fn token_response_debug_hides_both_tokens() {
    let r = crate::endpoint::TokenResponse {
        access_token: "eyJ.access.token-value".into(),
        expires_in: 900,
        issued_at: 1_000,
        refresh_token_expires_in: Some(3_600),
        refresh_token: Some(Secret::new("refresh-token-value")),
        scope: Scopes::parse("read").unwrap(),
        id_token: Some("id-token-value".into()),
    };
    let shown = format!("{r:?}");
    assert!(shown.starts_with("TokenResponse"), "{shown}");
    assert!(shown.contains("expires_in: 900"), "{shown}");
    assert!(shown.contains("access_token: \"<redacted>\""), "{shown}");
    assert!(!shown.contains("token-value"), "{shown}");
}

/// Only a disabled client may be deleted: an operator disables first, and can still change
/// their mind.
#[test]
fn only_a_disabled_client_may_be_deleted() {
    let mut c = client("app", "s");
    assert!(!c.may_be_deleted());
    c.enabled = false;
    assert!(c.may_be_deleted());
}

/// The stored `status` of a refresh token: the DynamoDB adapter's conditions and its reader
/// spell these same words.
#[test]
fn token_statuses_are_stored_as_active_and_rotated() {
    use crate::refresh::TokenStatus;
    assert_eq!(TokenStatus::Active.as_str(), "active");
    assert_eq!(TokenStatus::Rotated.as_str(), "rotated");
}

/// `ALLOWED_ALGORITHMS` names: the three Tollgate signs with, surrounding spaces ignored;
/// anything else (HMAC, `none`, another case) stops the cold start.
#[test]
fn algorithm_names_parse_to_the_three_signing_algorithms_only() {
    use jsonwebtoken::Algorithm;
    use tollgate_oauth::verify::parse_algorithm;
    assert_eq!(parse_algorithm("ES256").ok(), Some(Algorithm::ES256));
    assert_eq!(parse_algorithm(" RS256 ").ok(), Some(Algorithm::RS256));
    assert_eq!(parse_algorithm("EdDSA").ok(), Some(Algorithm::EdDSA));
    for bad in ["HS256", "none", "es256", "", "PS256"] {
        assert!(parse_algorithm(bad).is_err(), "{bad:?}");
    }
}

/// A token of exactly 8 KiB is parsed (and refused for what it is); one byte more is refused
/// as too large before any parsing.
#[test]
fn tokens_up_to_eight_kib_are_parsed() {
    use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem};
    use tollgate_oauth::verify::{AccessTokenVerifier, MAX_TOKEN_BYTES, VerifierConfig};
    let pem = generate_pem(SigningAlg::Es256).unwrap();
    let key = SigningKey::from_pem(&pem, SigningAlg::Es256, Some("k1".into())).unwrap();
    let jwks = serde_json::json!({ "keys": [key.public_jwk()] }).to_string();
    let cfg = VerifierConfig {
        issuer: "https://i".into(),
        audience: "api".into(),
        leeway: 0,
        algorithms: vec![jsonwebtoken::Algorithm::ES256],
        max_lifetime: DEFAULT_MAX_LIFETIME,
    };
    let v = AccessTokenVerifier::new(&jwks, &cfg).unwrap();
    assert_eq!(MAX_TOKEN_BYTES, 8192);
    assert_eq!(
        v.verify(&"a".repeat(8192)).err(),
        Some(Rejection::Malformed)
    );
    assert_eq!(v.verify(&"a".repeat(8193)).err(), Some(Rejection::TooLarge));
}

/// Why a client was refused, as the token function logs it (the client only hears
/// `invalid_client`).
#[test]
fn client_rejections_name_their_reason() {
    use crate::client::ClientRejection as R;
    for (r, text) in [
        (R::Malformed, "malformed client_id"),
        (R::Unknown, "unknown client"),
        (R::WrongSecret, "wrong client secret"),
        (R::Disabled, "client disabled"),
    ] {
        assert_eq!(r.to_string(), text);
    }
}

/// The verifier in a log lists its key ids, nothing of the keys.
#[test]
fn verifier_debug_lists_its_key_ids() {
    use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem};
    use tollgate_oauth::verify::{AccessTokenVerifier, VerifierConfig};
    let pem = generate_pem(SigningAlg::Es256).unwrap();
    let key = SigningKey::from_pem(&pem, SigningAlg::Es256, Some("kid-one".into())).unwrap();
    let jwks = serde_json::json!({ "keys": [key.public_jwk()] }).to_string();
    let cfg = VerifierConfig {
        issuer: "https://i".into(),
        audience: "api".into(),
        leeway: 0,
        algorithms: vec![jsonwebtoken::Algorithm::ES256],
        max_lifetime: DEFAULT_MAX_LIFETIME,
    };
    let shown = format!("{:?}", AccessTokenVerifier::new(&jwks, &cfg).unwrap());
    assert_eq!(shown, r#"AccessTokenVerifier { kids: ["kid-one"] }"#);
}
