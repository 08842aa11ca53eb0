use serde_json::Value;

use super::*;

const T: u64 = 1_764_000_000_000;

fn origin() -> Origin {
    Origin::new(Some("203.0.113.7"), Some("curl/8.5 \"quoted\"\n"))
}

fn every_event() -> Vec<Event<'static>> {
    vec![
        Event::TokenIssued {
            grant_type: "password",
            client_id: "app",
            subject: "user-42",
            scope: "profile orders:read",
            family: Some("fam-1"),
            password_grant_sunset: Some("2026-03-31T00:00:00Z".into()),
        },
        Event::TokenRefused {
            grant_type: Some("password"),
            client: Client::Authenticated("app"),
            reason: "invalid_grant",
            status: 400,
            username_hash: Some(UsernameHash::of_canonical("alice")),
        },
        Event::RefreshRotated {
            grant_type: "refresh_token",
            client_id: "app",
            subject: "user-42",
            family: "fam-1",
        },
        Event::RefreshReuseDetected {
            client_id: "app",
            family: "fam-1",
            cause: "reused",
            family_revoked: true,
        },
        Event::TokenRevoked {
            client_id: "app",
            family: "fam-1",
        },
        Event::AccessTokenRevoked {
            client_id: "app",
            jti: "jti-1",
        },
        Event::LockoutStarted {
            client_id: "app",
            username_hash: UsernameHash::of_canonical("alice"),
            locked_for_seconds: 900,
        },
        Event::SessionRevoked {
            actor: "local",
            subject: Some("user-42"),
            client_id: Some("app"),
            sessions: 2,
        },
        Event::AdminChange {
            actor: "arn:aws:iam::123456789012:user/ops",
            action: "update_client",
            target: "app",
            changes: &["scopes", "enabled"],
        },
        Event::RateLimited {
            client_id: "app",
            limit: 5,
            window_start: 1_764_000_000,
        },
        Event::RefreshReplayed {
            client_id: "app",
            subject: "user-42",
            family: "fam-1",
        },
        Event::SessionEnded {
            client_id: "app",
            subject: "user-42",
            family: "fam-1",
            cause: "user_disabled",
        },
        Event::CodeIssued {
            client_id: "spa",
            subject: "user-42",
            scope: "openid profile",
        },
        Event::SignInRefused {
            client_id: "spa",
            reason: "wrong_credentials",
            username_hash: Some(UsernameHash::of_canonical("alice")),
        },
        Event::CodeReuseDetected {
            client_id: "spa",
            family: "fam-2",
            family_revoked: true,
        },
        Event::LegacyRefreshAccepted {
            client_id: "app",
            subject: "user-42",
            family: "fam-3",
            token_hash: "oXLO3K5HR0th",
        },
        Event::LegacyRefreshReuse {
            client_id: "app",
            family: "fam-3",
            token_hash: "oXLO3K5HR0th",
        },
    ]
}

fn parse(line: &str) -> serde_json::Map<String, Value> {
    assert!(!line.contains('\n'), "one line: {line}");
    match serde_json::from_str(line).unwrap() {
        Value::Object(m) => m,
        other => panic!("{other}"),
    }
}

#[test]
fn every_event_is_one_versioned_json_line_with_only_its_documented_fields() {
    let events = every_event();
    let names: Vec<&str> = SCHEMA.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        events.iter().map(Event::name).collect::<Vec<_>>(),
        names,
        "one example per event, in SCHEMA's order"
    );
    for e in &events {
        let line = parse(&render(e, &origin(), T));
        assert_eq!(line["audit"], 1);
        assert_eq!(line["event"], e.name());
        assert_eq!(line["time"], T);
        assert_eq!(line["source_ip"], "203.0.113.7");
        let own = SCHEMA.iter().find(|(n, _)| *n == e.name()).unwrap().1;
        for key in line.keys() {
            assert!(
                COMMON_FIELDS.contains(&key.as_str()) || own.contains(&key.as_str()),
                "{}: undocumented member {key}",
                e.name()
            );
        }
        for (key, value) in &line {
            assert!(
                value.is_string() || value.is_number() || value.is_boolean() || value.is_array(),
                "{}: {key} is {value}",
                e.name()
            );
        }
    }
}

#[test]
fn usernames_never_appear_only_their_hash() {
    for e in every_event() {
        let text = render(&e, &origin(), T);
        assert!(!text.contains("alice"), "{text}");
    }
    let refused = parse(&render(&every_event()[1], &origin(), T));
    assert_eq!(refused["username_hash"], short_hash("alice"));
    let locked = parse(&render(&every_event()[6], &origin(), T));
    assert_eq!(locked["username_hash"], short_hash("alice"));
    assert_eq!(locked["locked_for_seconds"], 900);
}

#[test]
fn an_unauthenticated_client_and_its_user_agent_are_kept_only_as_hashes() {
    let canary = "pasted-secret-in-the-client-id-field";
    let e = Event::TokenRefused {
        grant_type: None,
        client: Client::Unauthenticated(canary),
        reason: "invalid_client",
        status: 401,
        username_hash: None,
    };
    let text = render(&e, &origin(), T);
    assert!(!text.contains(canary), "{text}");
    assert!(!text.contains("curl"), "{text}");
    let line = parse(&text);
    assert_eq!(line["client_id_hash"], short_hash(canary));
    assert_eq!(line["user_agent_hash"], short_hash("curl/8.5 \"quoted\"\n"));
    assert!(line.get("client_id").is_none() && line.get("user_agent").is_none());
    assert!(line.get("grant_type").is_none());
}

#[test]
fn an_authenticated_request_keeps_its_user_agent_escaped_and_bounded() {
    let line = parse(&render(&every_event()[0], &origin(), T));
    assert_eq!(line["user_agent"], "curl/8.5 \"quoted\"\n");
    assert_eq!(line["subject"], "user-42");
    assert_eq!(line["family"], "fam-1");
    let long = "x".repeat(5000);
    let o = Origin::new(None, Some(&long));
    let line = parse(&render(&every_event()[0], &o, T));
    assert_eq!(
        line["user_agent"].as_str().unwrap().chars().count(),
        MAX_USER_AGENT
    );
    assert!(line.get("source_ip").is_none(), "no origin, no member");
}

#[test]
fn reuse_always_says_the_family_was_revoked_and_admin_changes_name_fields_only() {
    let reuse = parse(&render(&every_event()[3], &Origin::default(), T));
    assert_eq!(reuse["family_revoked"], true);
    assert_eq!(reuse["cause"], "reused");
    let admin = parse(&render(&every_event()[8], &Origin::default(), T));
    assert_eq!(admin["changes"], serde_json::json!(["scopes", "enabled"]));
    assert_eq!(admin["actor"], "arn:aws:iam::123456789012:user/ops");
}

#[test]
fn a_named_client_with_a_wrong_secret_is_named_but_its_user_agent_is_hashed() {
    let e = Event::TokenRefused {
        grant_type: Some("password"),
        client: Client::Named("app"),
        reason: "invalid_client",
        status: 401,
        username_hash: None,
    };
    let line = parse(&render(&e, &origin(), T));
    assert_eq!(line["client_id"], "app");
    assert!(line.get("client_id_hash").is_none());
    assert!(line.get("user_agent").is_none() && line.get("user_agent_hash").is_some());
}
