//! `tollgate-admin rotate-key` as an operator runs it (the binary `scripts/test.sh` built): the
//! printed values survive bash as printed, and a bad --params-dir is refused before any key
//! is made. (The AWS steps, `sam build && sam deploy --parameter-overrides file://...`, are
//! run through bash with a stub `sam` by the CLI's own unit tests in tools/admin.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use jsonwebtoken::jwk::JwkSet;
use tollgate_tests::admin::{admin_command, stdout};
use tollgate_tests::unique;

fn admin(args: &[&str]) -> Output {
    admin_command()
        .args(args)
        .output()
        .expect("run tollgate-admin")
}

/// A scratch directory whose name a shell would mangle if it were not quoted.
fn scratch() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tollgate rot'ation $x {}", unique("d")));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn kids(jwks: &str) -> Vec<String> {
    let set: JwkSet = serde_json::from_str(jwks).expect("a JWKS");
    set.keys
        .into_iter()
        .map(|k| k.common.key_id.expect("kid"))
        .collect()
}

fn kid_of(dir: &Path, key: &str) -> String {
    let path = dir.join(key);
    let out = stdout(&admin(&[
        "public-jwks",
        "--key",
        path.to_str().expect("path"),
    ]));
    kids(out.trim()).remove(0)
}

#[test]
fn local_rotation_prints_assignments_that_survive_bash() {
    let dir = scratch();
    let (old, new) = (dir.join("old.pem"), dir.join("new key.pem"));
    stdout(&admin(&[
        "generate-key",
        "--out",
        old.to_str().expect("path"),
    ]));
    let out = stdout(&admin(&[
        "rotate-key",
        "--current-key",
        old.to_str().expect("path"),
        "--out",
        new.to_str().expect("path"),
        "--alg",
        "EdDSA",
    ]));
    let assignments: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("   ") && l.contains('='))
        .collect();
    assert_eq!(assignments.len(), 3, "{out}");
    let script = format!(
        "{}\nprintf '%s\\n' \"$JWKS\" \"$ADDITIONAL_JWKS\"\n{}\nprintf '%s\\n' \"$SIGNING_KEY_FILE\" \"$SIGNING_ALG\"\n{}\nprintf '%s\\n' \"$JWKS\"",
        assignments[0], assignments[1], assignments[2]
    );
    let run = Command::new("bash")
        .args(["-euc", &script])
        .output()
        .expect("bash");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let run = String::from_utf8(run.stdout).expect("utf-8");
    let got: Vec<&str> = run.lines().collect();
    assert_eq!(got.len(), 5, "{run}");
    let (old_kid, new_kid) = (kid_of(&dir, "old.pem"), kid_of(&dir, "new key.pem"));
    assert_eq!(kids(got[0]), [old_kid.clone(), new_kid.clone()]);
    assert_eq!(
        got[0], got[1],
        "the authorizer and the token function publish the same keys"
    );
    assert_eq!(got[2], new.to_str().expect("path"));
    assert_eq!(got[3], "EdDSA");
    assert_eq!(kids(got[4]), [new_kid]);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

#[test]
fn a_bad_params_dir_is_refused_before_any_key_is_made() {
    let dir = scratch();
    let (old, new) = (dir.join("old.pem"), dir.join("new.pem"));
    stdout(&admin(&[
        "generate-key",
        "--out",
        old.to_str().expect("path"),
    ]));
    let o = admin(&[
        "rotate-key",
        "--current-key",
        old.to_str().expect("path"),
        "--out",
        new.to_str().expect("path"),
        "--params-dir",
        dir.join("missing").to_str().expect("path"),
    ]);
    assert!(!o.status.success());
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("--params-dir") && e.contains("is not a directory"),
        "{e}"
    );
    assert!(!new.exists(), "no key was made");
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
