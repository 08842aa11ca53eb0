//! The admin CLI writes one `admin_change` audit line per change, with its actor.

#[tokio::test]
async fn every_change_the_admin_cli_makes_is_audited_with_its_actor_and_no_secret() {
    let db = tollgate_tests::dynamo().await;
    let t = tollgate_tests::create_tables(&db).await;
    let id = tollgate_tests::unique("obs-admin");
    let run = |args: &[&str]| {
        let out = tollgate_tests::admin::admin(&t.clients, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let mut steps = vec![run(&["create-client", "--id", &id, "--scopes", "profile"])];
    steps.push(run(&["update-client", "--id", &id, "--name", "Renamed"]));
    steps.push(run(&["rotate-client-secret", "--id", &id]));
    steps.push(run(&["disable-client", "--id", &id]));
    steps.push(run(&["delete-client", "--id", &id]));
    let mut seen = Vec::new();
    for (stdout, stderr) in &steps {
        // A printed secret never reaches the audit line.
        for secret in stdout
            .lines()
            .filter_map(|l| l.strip_prefix("client_secret:"))
        {
            assert!(!stderr.contains(secret.trim()), "{stderr}");
        }
        let lines: Vec<serde_json::Value> = stderr
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect();
        assert_eq!(lines.len(), 1, "one audit line per change: {stderr}");
        let l = &lines[0];
        assert_eq!(
            (l["audit"].as_u64(), l["event"].as_str()),
            (Some(1), Some("admin_change"))
        );
        assert_eq!(l["actor"], "local", "DynamoDB Local is a loopback endpoint");
        assert_eq!(l["target"], id.as_str());
        seen.push((
            l["action"].as_str().unwrap().to_owned(),
            l["changes"].clone(),
        ));
    }
    let expected = serde_json::json!([
        ["create_client", ["scopes", "secret"]],
        ["update_client", ["name"]],
        // A rotation without --keep-old also drops any kept previous secret.
        ["rotate_client_secret", ["secret", "previous_secret"]],
        ["disable_client", ["enabled"]],
        ["delete_client", []],
    ]);
    assert_eq!(serde_json::to_value(&seen).unwrap(), expected);
}
