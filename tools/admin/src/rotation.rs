//! The steps `rotate-key` prints. In AWS each deploy reads its parameters from a file
//! (`sam deploy --parameter-overrides file://...`), so no JSON is ever pasted through a shell,
//! and each deploy follows a `sam build`, so it never uploads the unbuilt source. SAM reads
//! parameter files only as `.yaml` or `.toml`: the files are JSON, which is YAML, named `.yaml`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// One deploy: what it does, the parameters it changes, and the command that applies them.
#[derive(Debug)]
pub struct Step {
    pub what: String,
    pub params_file: PathBuf,
    pub params: Map<String, Value>,
    /// Printed after the command: what to do once this deploy is done.
    pub then: Option<String>,
}

impl Step {
    /// The one command line to paste: build, then deploy with this step's parameter file.
    pub fn command(&self) -> String {
        let url = format!("file://{}", self.params_file.display());
        format!(
            "sam build && sam deploy --parameter-overrides {}",
            shell_quote(&url)
        )
    }
}

/// What the rotation needs to know about the keys, in AWS.
#[derive(Debug)]
pub struct AwsRotation<'a> {
    pub both_jwks: &'a str,
    pub next_jwks: &'a str,
    pub next_kid: &'a str,
    pub next_arn: &'a str,
    pub alg: &'a str,
    pub old_secret: Option<&'a str>,
}

/// The three deploys of a rotation in AWS; their parameter files go into `dir`.
pub fn aws_steps(r: &AwsRotation<'_>, dir: &Path) -> Vec<Step> {
    let file = |n: &str| {
        dir.join(format!(
            "tollgate-rotate-{}-{n}.yaml",
            file_safe(r.next_kid)
        ))
    };
    let drop_old = match r.old_secret {
        Some(old) => format!(
            "then delete the old key's secret:\n   aws secretsmanager delete-secret --secret-id {}",
            shell_quote(old)
        ),
        None => "then delete the old key's secret (aws secretsmanager delete-secret).".into(),
    };
    vec![
        Step {
            what: "Publish both public keys (signing does not change yet):".into(),
            params_file: file("1-publish-both"),
            params: params(&[("PublicJwks", r.both_jwks)]),
            then: None,
        },
        Step {
            what: "Then sign with the new key:".into(),
            params_file: file("2-sign-with-new"),
            params: params(&[("SigningKeySecretArn", r.next_arn), ("SigningAlg", r.alg)]),
            then: None,
        },
        Step {
            what:
                "After the longest access-token lifetime plus AuthorizerCacheTtl, drop the old key:"
                    .into(),
            params_file: file("3-drop-old"),
            params: params(&[("PublicJwks", r.next_jwks)]),
            then: Some(drop_old),
        },
    ]
}

fn params(pairs: &[(&str, &str)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
        .collect()
}

/// Writes each step's parameter file (never overwriting one).
pub fn write_params(steps: &[Step]) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::Write;
    for s in steps {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&s.params_file)
            .with_context(|| format!("failed to create {}", s.params_file.display()))?;
        let text = serde_json::to_string_pretty(&s.params)?;
        writeln!(f, "{text}")
            .with_context(|| format!("failed to write {}", s.params_file.display()))?;
    }
    Ok(())
}

/// The text printed for the operator: each step, its parameter file and its command.
pub fn render(steps: &[Step]) -> String {
    let mut out = String::new();
    for (i, s) in steps.iter().enumerate() {
        let names: Vec<&str> = s.params.keys().map(String::as_str).collect();
        let _ = writeln!(out, "{}. {}", i + 1, s.what);
        let _ = writeln!(
            out,
            "   ({} from {})",
            names.join(", "),
            s.params_file.display()
        );
        let _ = writeln!(out, "   {}", s.command());
        if let Some(then) = &s.then {
            let _ = writeln!(out, "   {then}");
        }
    }
    out.push_str(
        "Parameters a step does not name keep their deployed values. If samconfig.toml holds\n\
         parameter_overrides, update them there too: a plain `sam deploy` applies what it holds.\n",
    );
    out
}

/// The local steps: the values to give the token function and the authorizer, as shell
/// assignments that survive pasting.
pub fn local_steps(both_jwks: &str, next_jwks: &str, key_file: &Path, alg: &str) -> String {
    format!(
        "1. Publish both public keys: the authorizer's JWKS and the token function's ADDITIONAL_JWKS:\n   \
         JWKS={both} ADDITIONAL_JWKS={both}\n\
         2. Then sign with the new key:\n   \
         SIGNING_KEY_FILE={file} SIGNING_ALG={alg}\n\
         3. After the longest access-token lifetime, publish only the new key (and unset\n   \
         ADDITIONAL_JWKS):\n   \
         JWKS={next}\n",
        both = shell_quote(both_jwks),
        next = shell_quote(next_jwks),
        file = shell_quote(&key_file.display().to_string()),
        alg = shell_quote(alg),
    )
}

/// Quotes `s` for a POSIX shell: as is when it holds nothing special, else in single quotes.
pub fn shell_quote(s: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c);
    if !s.is_empty() && s.chars().all(plain) {
        return s.to_owned();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A kid as it may appear in a file name.
fn file_safe(kid: &str) -> String {
    kid.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
#[path = "rotation_tests.rs"]
mod tests;
