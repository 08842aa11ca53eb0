//! The printed rotation commands run through bash as printed, with `sam` replaced by a stub
//! that records its arguments; every parameter it would deploy is then read back and parsed.

use std::path::{Path, PathBuf};
use std::process::Command;

use jsonwebtoken::jwk::JwkSet;
use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem};

use super::*;

const ARN: &str =
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tollgate/signing-key-2-AbCdEf";
const OLD_ARN: &str =
    "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tollgate/signing-key-1-XyZ012";

fn key(alg: SigningAlg) -> SigningKey {
    SigningKey::from_pem(&generate_pem(alg).expect("key"), alg, None).expect("pem")
}

fn jwks(keys: &[&SigningKey]) -> String {
    let set = JwkSet {
        keys: keys.iter().map(|k| k.public_jwk().clone()).collect(),
    };
    serde_json::to_string(&set).expect("jwks")
}

/// A fresh directory whose name holds a space, a quote and a `$`, as a shell would see them.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tollgate rotation '{name}' $HOME-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Runs `script` in bash with a `sam` stub first on PATH; returns each call's arguments.
fn run_with_sam_stub(dir: &Path, script: &str) -> Vec<Vec<String>> {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let log = dir.join("sam-calls");
    let stub = "#!/usr/bin/env bash\n\
                for a in \"$@\"; do printf '%s\\037' \"$a\"; done >>\"$SAM_STUB_LOG\"\n\
                printf '\\n' >>\"$SAM_STUB_LOG\"\n";
    std::fs::write(bin.join("sam"), stub).expect("stub");
    std::fs::set_permissions(
        bin.join("sam"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .env("PATH", path)
        .env("SAM_STUB_LOG", &log)
        .current_dir(std::env::temp_dir())
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "bash failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(&log)
        .expect("sam was called")
        .lines()
        .map(|l| {
            l.split('\u{1f}')
                .filter(|a| !a.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .collect()
}

fn kids(jwks: &str) -> Vec<String> {
    let set: JwkSet = serde_json::from_str(jwks).expect("PublicJwks is a JWKS");
    set.keys
        .iter()
        .map(|k| k.common.key_id.clone().expect("kid"))
        .collect()
}

#[test]
fn printed_rotation_commands_deploy_the_exact_parameters_through_bash() {
    let (old, next) = (key(SigningAlg::Es256), key(SigningAlg::Es256));
    let (both, only_next) = (jwks(&[&old, &next]), jwks(&[&next]));
    let dir = scratch("aws");
    let rotation = AwsRotation {
        both_jwks: &both,
        next_jwks: &only_next,
        next_kid: &next.kid,
        next_arn: ARN,
        alg: "ES256",
        old_secret: Some(OLD_ARN),
    };
    let steps = aws_steps(&rotation, &dir);
    write_params(&steps).expect("parameter files");
    let printed = render(&steps);
    // Exactly the printed lines, nothing reassembled: each command is a line of the output.
    let commands: Vec<&str> = printed
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("sam ") || l.starts_with("aws "))
        .collect();
    assert_eq!(commands.len(), 4, "{printed}");
    assert!(
        !printed.contains("PublicJwks='"),
        "no JSON inside shell quotes: {printed}"
    );
    let script = commands
        .iter()
        .filter(|c| c.starts_with("sam "))
        .copied()
        .collect::<Vec<_>>()
        .join("\n");
    let calls = run_with_sam_stub(&dir, &script);

    let verbs: Vec<&str> = calls.iter().map(|c| c[0].as_str()).collect();
    assert_eq!(
        verbs,
        ["build", "deploy", "build", "deploy", "build", "deploy"]
    );
    let deployed: Vec<serde_json::Map<String, serde_json::Value>> = calls
        .iter()
        .filter(|c| c[0] == "deploy")
        .map(|c| {
            assert_eq!(c.len(), 3, "{c:?}");
            assert_eq!(c[1], "--parameter-overrides");
            let file = c[2].strip_prefix("file://").expect("a parameter file");
            let text = std::fs::read_to_string(file).expect("the parameter file exists");
            serde_json::from_str(&text).expect("the parameter file is JSON")
        })
        .collect();
    let str_of = |m: &serde_json::Map<String, serde_json::Value>, k: &str| {
        m[k].as_str().expect("string").to_owned()
    };
    assert_eq!(deployed[0].keys().collect::<Vec<_>>(), ["PublicJwks"]);
    assert_eq!(
        kids(&str_of(&deployed[0], "PublicJwks")),
        [old.kid.clone(), next.kid.clone()]
    );
    assert_eq!(str_of(&deployed[1], "SigningKeySecretArn"), ARN);
    assert_eq!(str_of(&deployed[1], "SigningAlg"), "ES256");
    assert_eq!(deployed[1].len(), 2);
    assert_eq!(
        kids(&str_of(&deployed[2], "PublicJwks")),
        [next.kid.as_str()]
    );
    assert_eq!(deployed[2].len(), 1);
    assert!(
        commands[3].ends_with(&format!("--secret-id {OLD_ARN}")),
        "{printed}"
    );
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn parameter_files_are_never_overwritten() {
    let k = key(SigningAlg::EdDsa);
    let set = jwks(&[&k]);
    let dir = scratch("twice");
    let rotation = AwsRotation {
        both_jwks: &set,
        next_jwks: &set,
        next_kid: &k.kid,
        next_arn: ARN,
        alg: "EdDSA",
        old_secret: None,
    };
    write_params(&aws_steps(&rotation, &dir)).expect("first time");
    let again = write_params(&aws_steps(&rotation, &dir)).expect_err("second time refused");
    assert!(again.to_string().contains("failed to create"), "{again}");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn printed_local_assignments_survive_bash() {
    let (old, next) = (key(SigningAlg::Es256), key(SigningAlg::Rs256));
    let (both, only_next) = (jwks(&[&old, &next]), jwks(&[&next]));
    let file = Path::new("/tmp/a key's file.pem");
    let printed = local_steps(&both, &only_next, file, "RS256");
    let lines: Vec<&str> = printed
        .lines()
        .filter(|l| l.starts_with("   ") && l.contains('='))
        .collect();
    assert_eq!(lines.len(), 3, "{printed}");
    let script = format!(
        "{}\nprintf '%s\\n' \"$JWKS\" \"$ADDITIONAL_JWKS\"\n{}\nprintf '%s\\n' \"$SIGNING_KEY_FILE\" \"$SIGNING_ALG\"\n{}\nprintf '%s\\n' \"$JWKS\"",
        lines[0], lines[1], lines[2]
    );
    let out = Command::new("bash")
        .args(["-euc", &script])
        .output()
        .expect("bash");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = String::from_utf8(out.stdout).expect("utf-8");
    let got: Vec<&str> = out.lines().collect();
    assert_eq!(
        got,
        [
            both.as_str(),
            both.as_str(),
            "/tmp/a key's file.pem",
            "RS256",
            only_next.as_str()
        ]
    );
}

#[test]
fn shell_quote_leaves_plain_words_and_quotes_the_rest() {
    assert_eq!(shell_quote("file:///tmp/x-1.json"), "file:///tmp/x-1.json");
    assert_eq!(shell_quote(""), "''");
    assert_eq!(shell_quote(r#"{"a":[1]}"#), r#"'{"a":[1]}'"#);
    assert_eq!(shell_quote("it's $x"), r"'it'\''s $x'");
}
