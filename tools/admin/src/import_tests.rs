#![allow(clippy::unwrap_used)]

use super::*;

const NOW_MS: u64 = 1_750_000_000_000;

fn sample() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/apigee-apps.json"
    ))
    .unwrap()
}

fn summary(p: &[Parsed]) -> Vec<String> {
    p.iter()
        .map(|p| match p {
            Parsed::Entry(e) => format!(
                "entry {} {:?} {} / {}",
                e.id,
                e.name,
                e.update.allowed_scopes.as_ref().unwrap(),
                e.update.default_scopes.as_ref().unwrap()
            ),
            Parsed::Skip(id, why) => format!("skip {id} {why}"),
            Parsed::Refuse(id, why) => format!("refuse {id} {why}"),
        })
        .collect()
}

#[test]
fn an_apigee_export_gives_one_client_per_live_credential() {
    let parsed = parse(&sample(), NOW_MS, &Defaults::default()).unwrap();
    assert_eq!(
        summary(&parsed),
        [
            "entry Gk7TqLm2ZxRw9PbVn4HsYc1JdQe8UfAo \"Orders mobile app\" profile / profile",
            "skip Rv5NcWq8TzLb3KmYx6PdFh2JsAe9GuQo not approved in Apigee (app approved, key revoked)",
            "entry Pm3WsKv7BxNq2TfYc9LhZr5JdGa8EuXo \"partner-portal\" orders:read profile / orders:read profile",
            "skip Ex4MbTq9WzKc6NvYs2LpHr7JdFa3GuQo expired in Apigee",
        ]
    );
    let Parsed::Entry(e) = &parsed[0] else {
        panic!()
    };
    assert_eq!(e.secret.expose(), "Xk3hG9aQ2mZp7LwR");
    // A bare array of apps reads the same.
    let doc: Value = serde_json::from_str(&sample()).unwrap();
    let bare = serde_json::to_string(&doc["app"]).unwrap();
    assert_eq!(
        summary(&parse(&bare, NOW_MS, &Defaults::default()).unwrap()),
        summary(&parsed)
    );
    // Before the expiry, the expiring key is imported.
    let early = parse(&sample(), 1_500_000_000_000, &Defaults::default()).unwrap();
    assert!(matches!(&early[3], Parsed::Entry(e) if e.id == "Ex4MbTq9WzKc6NvYs2LpHr7JdFa3GuQo"));
}

#[test]
fn the_simple_format_and_its_errors() {
    let text = r#"{"clients": [
        {"id": "a", "name": "A", "secret": "s1", "scopes": "x y", "default_scopes": ["x"], "grant_types": "password"},
        {"id": "b", "secret": "s2"},
        {"name": "no id", "secret": "s3"},
        {"id": "d"},
        {"id": "e", "secret": "s5", "grant_types": ["implicit"]},
        {"id": "f", "secret": "s6", "scopes": "bad\"scope"}
    ]}"#;
    let parsed = parse(text, NOW_MS, &Defaults::default()).unwrap();
    let s = summary(&parsed);
    assert_eq!(s[0], "entry a \"A\" x y / x");
    assert_eq!(s[1], "entry b \"b\"  / ");
    assert_eq!(s[2], "refuse entry 3 no \"id\"");
    assert_eq!(s[3], "refuse d no \"secret\"");
    assert!(s[4].starts_with("refuse e unknown grant type"), "{}", s[4]);
    assert!(s[5].starts_with("refuse f scopes:"), "{}", s[5]);
    let Parsed::Entry(a) = &parsed[0] else {
        panic!()
    };
    assert_eq!(a.update.grant_types, Some(vec![GrantType::Password]));
    assert_eq!(a.update.default_scopes.as_ref().unwrap().to_string(), "x");
    for bad in ["", "[1", "{\"apps\": []}", "42"] {
        assert!(parse(bad, NOW_MS, &Defaults::default()).is_err(), "{bad:?}");
    }
}

#[test]
fn weak_secrets_and_broken_rules_are_refused_without_echoing_the_secret() {
    let hasher = SecretHasher::default();
    let text = r#"{"clients": [{"id": "w", "secret": "hunter2"}, {"id": "bad id", "secret": "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6"}]}"#;
    let parsed = parse(text, NOW_MS, &Defaults::default()).unwrap();
    for (p, expected) in parsed
        .iter()
        .zip(["too easy to guess", "client_id is 1 to 128"])
    {
        let Parsed::Entry(e) = p else { panic!("{p:?}") };
        let err = outcome(e, &hasher, 0).unwrap_err();
        assert!(err.contains(expected), "{err}");
        assert!(!err.contains("hunter2"));
    }
}

/// Apigee grants an app every scope it has when a request names none, so an imported client's
/// default scopes are its allowed scopes: a request without `scope` is never empty-scoped.
/// Grant types are the user grants unless the operator names others.
#[test]
fn imported_clients_get_their_scopes_as_defaults_and_the_user_grants() {
    let parsed = parse(&sample(), NOW_MS, &Defaults::default()).unwrap();
    let Parsed::Entry(e) = &parsed[2] else {
        panic!("{:?}", parsed[2])
    };
    assert_eq!(e.update.default_scopes, e.update.allowed_scopes);
    let client = outcome(e, &SecretHasher::default(), 0).unwrap();
    assert_eq!(client.grant_types, GrantType::DEFAULT);
    assert_eq!(client.default_scopes.to_string(), "orders:read profile");

    // Flags apply where the file says nothing; an entry's own values win.
    let flags = Defaults {
        grant_types: Some(vec![GrantType::ClientCredentials]),
        default_scopes: Some("profile".into()),
    };
    let parsed = parse(&sample(), NOW_MS, &flags).unwrap();
    let Parsed::Entry(e) = &parsed[2] else {
        panic!()
    };
    assert_eq!(
        e.update.grant_types,
        Some(vec![GrantType::ClientCredentials])
    );
    assert_eq!(
        e.update.default_scopes.as_ref().unwrap().to_string(),
        "profile"
    );
    let text = r#"{"clients": [
        {"id": "a", "secret": "s", "scopes": "x y", "grant_types": "password"},
        {"id": "b", "secret": "s", "scopes": "x y", "default_scopes": ""},
        {"id": "c", "secret": "s", "scopes": "x y"}
    ]}"#;
    let s = summary(&parse(text, NOW_MS, &flags).unwrap());
    assert_eq!(
        s,
        [
            "entry a \"a\" x y / profile",
            "entry b \"b\" x y / ",
            "entry c \"c\" x y / profile"
        ]
    );
    let parsed = parse(text, NOW_MS, &Defaults::default()).unwrap();
    assert_eq!(summary(&parsed)[2], "entry c \"c\" x y / x y");
    let Parsed::Entry(a) = &parsed[0] else {
        panic!()
    };
    assert_eq!(a.update.grant_types, Some(vec![GrantType::Password]));
}
