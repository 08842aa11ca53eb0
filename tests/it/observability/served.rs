//! Under `make test`'s served stack: a password grant, a refresh, a reuse, a lockout and a
//! revocation each write their audit line and EMF metrics to the function's output; every EMF
//! line holds to the specification; and no secret reaches the output at DEBUG or at TRACE.

use serde_json::Value;
use tollgate_telemetry::hash::short_hash;
use tollgate_telemetry::metrics::spec::{Published, validate};
use tollgate_tests::logs::{log_len, log_since, wait_for};
use tollgate_tests::{
    Answer, ClientSpec, Served, dynamo, event_fixture, form, http, invoke_at, send, unique,
};

fn emf_lines(text: &str) -> Vec<(String, Vec<Published>)> {
    text.lines()
        .filter_map(|l| l.find("{\"_aws\"").map(|i| &l[i..]))
        .map(|l| {
            let p = validate(l).unwrap_or_else(|e| panic!("EMF line breaks the spec: {e}: {l}"));
            (l.to_owned(), p)
        })
        .collect()
}

fn audit_of<'a>(lines: &'a [Value], event: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["event"] == event).collect()
}

struct Caller {
    token_url: String,
    revoke_url: String,
    agent: String,
}

impl Caller {
    async fn post(&self, url: &str, basic: (&str, &str), pairs: &[(&str, &str)]) -> Answer {
        send(
            http()
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .header("user-agent", &self.agent)
                .header(
                    "authorization",
                    tollgate_tests::basic_header(basic.0, basic.1),
                )
                .body(form(pairs)),
        )
        .await
    }

    async fn login(&self, client: (&str, &str), username: &str, password: &str) -> Answer {
        let pairs = [
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ];
        self.post(&self.token_url, client, &pairs).await
    }

    async fn refresh(&self, client: (&str, &str), token: &str) -> Answer {
        let pairs = [("grant_type", "refresh_token"), ("refresh_token", token)];
        self.post(&self.token_url, client, &pairs).await
    }
}

#[tokio::test]
async fn each_security_decision_writes_its_audit_line_and_metrics_and_no_secret() {
    let served = Served::from_env();
    let (id, secret) = ClientSpec::default()
        .create(&dynamo().await, &served.clients_table)
        .await;
    let client = (id.as_str(), secret.as_str());
    let from = log_len(&served.log_path);
    let c = Caller {
        token_url: served.token_url(),
        revoke_url: served.revoke_url(),
        agent: unique("obs-agent/1.0"),
    };

    let login = c.login(client, "demo", "demo-password").await;
    assert_eq!(login.status, 200, "{login:?}");
    let first_refresh = login.json["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = c.refresh(client, &first_refresh).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    let reused = c.refresh(client, &first_refresh).await;
    reused.assert_error(400, "invalid_grant");

    // LOCKOUT_MAX_FAILURES is 3 under make test: the third wrong password locks.
    let victim = unique("obs-victim").to_lowercase();
    let wrong = unique("Obs-wrong-passw0rd-canary");
    for _ in 0..3 {
        c.login(client, &victim, &wrong)
            .await
            .assert_error(400, "invalid_grant");
    }

    let second = c.login(client, "alice", "alice-password").await;
    assert_eq!(second.status, 200, "{second:?}");
    let second_refresh = second.json["refresh_token"].as_str().unwrap().to_owned();
    let revoked = c
        .post(&c.revoke_url, client, &[("token", &second_refresh)])
        .await;
    assert_eq!(revoked.status, 200, "{revoked:?}");

    let stranger = unique("obs-stranger-client-id-canary");
    c.login(
        (&stranger, "some-secret-canary-xyz"),
        "demo",
        "demo-password",
    )
    .await
    .assert_error(401, "invalid_client");

    // token_issued ×3, refresh_rotated, refresh_reuse_detected, token_refused ×4 (reuse, three
    // wrong passwords), lockout_started, token_revoked: eleven lines name the client.
    let lines = wait_for(&served.log_path, from, 11, |v| {
        v["audit"] == 1 && v["client_id"] == id.as_str()
    })
    .await;
    check_audit(&lines, &c.agent, &victim);
    let hashed = wait_for(&served.log_path, from, 1, |v| {
        v["audit"] == 1 && v["client_id_hash"] == short_hash(&stranger)
    })
    .await;
    assert_eq!(hashed[0]["event"], "token_refused");
    assert_eq!(hashed[0]["reason"], "invalid_client");
    assert_eq!(hashed[0]["status"], 401);
    assert_eq!(hashed[0]["user_agent_hash"], short_hash(&c.agent));
    assert!(hashed[0].get("user_agent").is_none() && hashed[0].get("client_id").is_none());

    let text = log_since(&served.log_path, from);
    check_metrics(&emf_lines(&text), &id);
    // A line the domain logs inside the request names the request's route, grant and client
    // through the `request` span.
    let reuse_line = text
        .lines()
        .find(|l| l.contains("refresh token reused: revoking its family") && l.contains(&id))
        .expect("the reuse warning is logged");
    let span = format!(r#"request{{route="token" grant_type="refresh_token" client_id="{id}"}}:"#);
    assert!(reuse_line.contains(&span), "{reuse_line}");
    let secrets = [
        ("password", "demo-password"),
        ("wrong password", wrong.as_str()),
        ("client secret", secret.as_str()),
        ("locked username", victim.as_str()),
        ("unauthenticated client_id", stranger.as_str()),
        ("access token", login.json["access_token"].as_str().unwrap()),
        ("refresh token", first_refresh.as_str()),
        (
            "rotated refresh token",
            refreshed.json["refresh_token"].as_str().unwrap(),
        ),
        ("revoked refresh token", second_refresh.as_str()),
    ];
    for (what, value) in secrets {
        assert!(
            !text.contains(value),
            "the {what} appears in the DEBUG output"
        );
    }
}

fn check_audit(lines: &[Value], agent: &str, victim: &str) {
    for l in lines {
        assert_eq!(l["user_agent"], agent, "{l}");
        assert!(
            l["source_ip"].as_str().is_some_and(|ip| !ip.is_empty()),
            "{l}"
        );
        assert!(l["time"].as_u64().is_some(), "{l}");
    }
    let issued = audit_of(lines, "token_issued");
    assert_eq!(issued.len(), 3, "{issued:#?}");
    let password = issued.iter().find(|l| l["subject"] == "user-0001").unwrap();
    assert_eq!(password["grant_type"], "password");
    assert_eq!(password["scope"], "profile");
    let family = password["family"].as_str().unwrap();
    let rotated = audit_of(lines, "refresh_rotated");
    assert_eq!(rotated.len(), 1);
    assert_eq!(
        (
            rotated[0]["family"].as_str(),
            rotated[0]["subject"].as_str()
        ),
        (Some(family), Some("user-0001"))
    );
    assert!(
        issued
            .iter()
            .any(|l| l["grant_type"] == "refresh_token" && l["family"] == family)
    );
    let reuse = audit_of(lines, "refresh_reuse_detected");
    assert_eq!(reuse.len(), 1);
    assert_eq!(reuse[0]["family"], family);
    assert_eq!(reuse[0]["family_revoked"], true);
    let refused = audit_of(lines, "token_refused");
    assert_eq!(refused.len(), 4, "{refused:#?}");
    assert!(
        refused
            .iter()
            .all(|l| l["reason"] == "invalid_grant" && l["status"] == 400)
    );
    assert_eq!(
        refused
            .iter()
            .filter(|l| l["grant_type"] == "refresh_token")
            .count(),
        1
    );
    let by_victim = refused
        .iter()
        .filter(|l| l["username_hash"] == short_hash(victim))
        .count();
    assert_eq!(by_victim, 3);
    let locked = audit_of(lines, "lockout_started");
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0]["username_hash"], short_hash(victim));
    assert_eq!(locked[0]["locked_for_seconds"], 300);
    let revoked = audit_of(lines, "token_revoked");
    assert_eq!(revoked.len(), 1);
    let alice = issued.iter().find(|l| l["subject"] == "user-0002").unwrap();
    assert_eq!(revoked[0]["family"], alice["family"]);
}

fn check_metrics(lines: &[(String, Vec<Published>)], id: &str) {
    let has = |name: &str, dims: &[(&str, &str)]| {
        lines.iter().flat_map(|(_, p)| p).any(|p| {
            p.name == name
                && dims
                    .iter()
                    .all(|(k, v)| p.dimensions.iter().any(|(dk, dv)| dk == k && dv == v))
        })
    };
    for (outcome, grant) in [
        ("issued", "password"),
        ("issued", "refresh_token"),
        ("invalid_grant", "refresh_token"),
        ("invalid_grant", "password"),
    ] {
        let dims = [("ClientId", id), ("GrantType", grant), ("Outcome", outcome)];
        assert!(has("Grants", &dims), "Grants {dims:?}");
    }
    let unauthenticated = [
        ("ClientId", "unauthenticated"),
        ("Outcome", "invalid_client"),
    ];
    assert!(has("Grants", &unauthenticated));
    assert!(has("RefreshTokenReuse", &[("ClientId", id)]));
    for name in [
        "Lockouts",
        "Revocations",
        "Requests",
        "Unavailable",
        "Latency",
    ] {
        assert!(has(name, &[("FunctionName", "token")]), "{name}");
    }
    for dep in ["auth_endpoint", "dynamodb"] {
        for name in ["DependencyCalls", "DependencyFailures", "DependencyLatency"] {
            assert!(has(name, &[("Dependency", dep)]), "{name} of {dep}");
        }
    }
}

#[tokio::test]
async fn at_trace_a_failing_dependency_is_audited_and_measured_and_no_secret_is_written() {
    let served = Served::from_env();
    let (id, secret) = ClientSpec::default()
        .create(&dynamo().await, &served.clients_table)
        .await;
    let from = log_len(&served.auth_down_log_path);
    let c = Caller {
        token_url: format!("{}/token", served.base_auth_down),
        revoke_url: format!("{}/revoke", served.base_auth_down),
        agent: unique("obs-trace-agent"),
    };
    let password = unique("Obs-trace-passw0rd-canary");
    c.login((&id, &secret), "demo", &password)
        .await
        .assert_error(503, "temporarily_unavailable");
    let refused = wait_for(&served.auth_down_log_path, from, 1, |v| {
        v["audit"] == 1 && v["client_id"] == id.as_str()
    })
    .await;
    assert_eq!(refused[0]["event"], "token_refused");
    assert_eq!(refused[0]["reason"], "temporarily_unavailable");
    assert_eq!(refused[0]["status"], 503);
    assert_eq!(refused[0]["username_hash"], short_hash("demo"));

    // The authorizer of the same instance, refusing a token: one EMF line per decision.
    let mut event = event_fixture("sam-rest-token.json");
    // Over 8 KiB: a reason no other test provokes on this instance.
    event["authorizationToken"] = format!("Bearer {}", "a".repeat(9000)).into();
    let (_, answer) = invoke_at(
        &served.auth_down_invoke,
        "authorizer",
        event.to_string().as_bytes(),
    )
    .await;
    assert_eq!(answer["errorMessage"], "Unauthorized", "{answer}");
    wait_for(&served.auth_down_log_path, from, 1, |v| {
        v["Decision"] == "unauthorized" && v["Reason"] == "token is too large"
    })
    .await;

    let text = log_since(&served.auth_down_log_path, from);
    assert!(
        text.contains("TRACE"),
        "the instance must log at TRACE for this test to mean anything"
    );
    let emf = emf_lines(&text);
    let failed = emf.iter().flat_map(|(_, p)| p).any(|p| {
        p.name == "DependencyFailures"
            && p.values == [1.0]
            && p.dimensions
                .contains(&("Dependency".into(), "auth_endpoint".into()))
    });
    assert!(failed, "an auth_endpoint failure is measured");
    let unavailable = emf
        .iter()
        .flat_map(|(_, p)| p)
        .any(|p| p.name == "Unavailable" && p.values == [1.0]);
    assert!(unavailable, "the 503 is counted");
    for (what, value) in [
        ("password", password.as_str()),
        ("client secret", secret.as_str()),
    ] {
        assert!(
            !text.contains(value),
            "the {what} appears in the TRACE output"
        );
    }
}
