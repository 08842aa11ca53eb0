//! One person, one subject (issue 21): when the auth endpoint names no `sub`, the token's subject
//! is the canonical username, so `Casey` and `CASEY` (one person to a directory that matches
//! names whatever their case, and one to lockout) are one subject to sessions and backends.
//! Through the served token function and the dev auth endpoint.

use base64::Engine;
use serde_json::{Value, json};
use tollgate_tests::{Answer, ClientSpec, Served, dynamo, http, post_token, unique};

const PASSWORD: &str = "pw-of-the-subject-test";

fn sub_of(a: &Answer) -> String {
    let token = a.json["access_token"].as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: Value = serde_json::from_slice(&bytes).unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_user_without_a_sub_is_one_subject_however_the_name_is_typed() {
    let served = Served::from_env();
    let (id, secret) = ClientSpec::default()
        .create(&dynamo().await, &served.clients_table)
        .await;
    // The directory knows the person under the name as typed, in either case, and returns no
    // `sub` (a directory that matches names case-insensitively answers both).
    let name = format!("Casey-{}", unique("subj"));
    let canonical = name.to_lowercase();
    let typed = [name.clone(), name.to_uppercase(), format!(" {name}\t")];
    for username in &typed[..2] {
        let put = http()
            .put(format!("{}/users/{username}", served.auth_url))
            .json(&json!({"password": PASSWORD, "claims": {"email": "casey@example.com"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(put.status().as_u16(), 200, "{put:?}");
    }
    let mut refresh_tokens = Vec::new();
    for username in &typed {
        let form = [
            ("grant_type", "password"),
            ("username", username.as_str()),
            ("password", PASSWORD),
        ];
        let a = post_token(&served.token_url(), Some((&id, &secret)), &form).await;
        assert_eq!(a.status, 200, "{username:?}: {a:?}");
        assert_eq!(sub_of(&a), canonical, "{username:?}");
        refresh_tokens.push(a.json["refresh_token"].as_str().unwrap().to_owned());
    }

    // A refresh asks the user-status endpoint about the canonical name, and the user is found.
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_tokens[1].as_str()),
    ];
    let refreshed = post_token(&served.token_url(), Some((&id, &secret)), &form).await;
    assert_eq!(refreshed.status, 200, "{refreshed:?}");
    assert_eq!(sub_of(&refreshed), canonical);

    // The three sign-ins are one user's three sessions to the operator.
    let out = tollgate_tests::admin::admin(
        &served.clients_table,
        &[
            "list-sessions",
            "--sub",
            &canonical,
            "--json",
            "--tokens-table",
            &served.tokens_table,
        ],
    );
    assert!(out.status.success(), "{out:?}");
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 3, "{listed}");
}
