//! One release number everywhere (issue 21): the workspace's version, the template's metadata
//! and `Version` output, the newest CHANGELOG.md entry (with its Breaking section), the
//! UPGRADING.md section that leads to it, and the served function's cold-start line.

use tollgate_tests::Served;

fn read(rel: &str) -> String {
    tollgate_tests::repo::read(rel)
}

/// `version` under `[workspace.package]` in Cargo.toml.
fn workspace_version() -> String {
    let cargo = read("Cargo.toml");
    let package = cargo
        .split("[workspace.package]")
        .nth(1)
        .expect("[workspace.package]");
    let line = package
        .lines()
        .take_while(|l| !l.starts_with('['))
        .find_map(|l| l.strip_prefix("version = "))
        .expect("[workspace.package] version");
    line.trim_matches('"').to_owned()
}

#[test]
fn the_release_is_one_number_in_cargo_the_template_and_the_changelog() {
    let version = workspace_version();
    let template: serde_yaml::Value = serde_yaml::from_str(&read("template.yaml")).unwrap();
    let meta = &template["Metadata"]["Tollgate"]["Version"];
    assert_eq!(meta.as_str(), Some(version.as_str()), "template Metadata");
    let output = &template["Outputs"]["Version"]["Value"];
    assert_eq!(
        output.as_str(),
        Some(version.as_str()),
        "template output Version"
    );

    let changelog = read("CHANGELOG.md");
    let releases: Vec<&str> = changelog.split("\n## ").skip(1).collect();
    // An `Unreleased` entry may lead (what the next release will say); the release after it is
    // this one.
    let released = match releases.first() {
        Some(r) if r.starts_with("Unreleased\n") => &releases[1..],
        _ => &releases[..],
    };
    let newest = released.first().expect("a release in CHANGELOG.md");
    assert!(
        newest.starts_with(&format!("{version}\n")),
        "newest: {newest:.40}"
    );
    for r in &releases {
        assert!(
            r.contains("\n### Breaking\n"),
            "no Breaking section: {r:.40}"
        );
    }
    let upgrading = read("UPGRADING.md");
    assert!(
        upgrading.contains(&format!("\n## To {version} ")),
        "UPGRADING.md has no `## To {version}` section"
    );
    // Every one-off step the docs call for after upgrading is in UPGRADING.md.
    assert!(upgrading.contains("tollgate-admin index-sessions"));
}

#[tokio::test]
async fn the_functions_say_their_release_at_cold_start() {
    let served = Served::from_env();
    let version = workspace_version();
    // The served function has started (make test waits for it); its log is text locally.
    let log = std::fs::read_to_string(&served.log_path).unwrap();
    let ready: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("token function ready"))
        .collect();
    assert!(!ready.is_empty(), "no `token function ready` line");
    for line in ready {
        assert!(
            line.contains(&format!("version={version}"))
                || line.contains(&format!("version=\"{version}\"")),
            "{line}"
        );
    }
}
