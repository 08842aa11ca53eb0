//! The key commands: generate a signing key, publish public keys, and plan a rotation.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use jsonwebtoken::jwk::JwkSet;
use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem};
use tollgate_oauth::secret::Secret;

use crate::audit;
use crate::{KeyDestination, error_chain, rotation, secrets_manager};

/// `generate-key`.
pub(crate) async fn generate_key(alg: String, to: KeyDestination) -> anyhow::Result<()> {
    let alg: SigningAlg = alg.parse()?;
    let (key, stored) = new_key(alg, &to).await?;
    audit::record("generate_key", &key.kid, &["key"]).await;
    println!("kid: {}", key.kid);
    println!("jwk: {}", serde_json::to_string(key.public_jwk())?);
    println!("{stored}");
    Ok(())
}

/// `public-jwks`: the JWKS of the named keys.
pub(crate) async fn public_jwks(
    key: Vec<PathBuf>,
    secret_id: Vec<String>,
    alg: Option<String>,
    kid: Option<String>,
) -> anyhow::Result<()> {
    if key.len() + secret_id.len() == 0 {
        bail!("name at least one key: --key FILE or --secret-id ARN");
    }
    if kid.is_some() && key.len() + secret_id.len() > 1 {
        bail!("--kid names one key; give one --key or --secret-id with it");
    }
    let alg = alg.map(|a| a.parse::<SigningAlg>()).transpose()?;
    let mut keys = Vec::new();
    for path in &key {
        keys.push(load_key(&read_file(path)?, alg, kid.clone())?);
    }
    if !secret_id.is_empty() {
        let sm = secrets_manager().await;
        for id in &secret_id {
            let pem = sm
                .read(id)
                .await
                .map_err(|e| anyhow::anyhow!("{}", error_chain(&e)))?;
            keys.push(load_key(pem.expose(), alg, kid.clone())?);
        }
    }
    println!("{}", jwks(&keys.iter().collect::<Vec<_>>())?);
    Ok(())
}

/// `rotate-key`: a new key, then the steps that publish it, sign with it and retire the old.
pub(crate) async fn rotate_key(
    current_key: Option<PathBuf>,
    current_secret: Option<String>,
    alg: String,
    to: KeyDestination,
    params_dir: PathBuf,
) -> anyhow::Result<()> {
    // Checked before the new key exists, so a bad directory cannot strand a new secret.
    let params_dir = std::fs::canonicalize(&params_dir)
        .ok()
        .filter(|d| d.is_dir())
        .with_context(|| format!("--params-dir {} is not a directory", params_dir.display()))?;
    let current_pem = match (&current_key, &current_secret) {
        (Some(path), _) => Secret::new(read_file(path)?),
        (None, Some(id)) => secrets_manager()
            .await
            .read(id)
            .await
            .map_err(|e| anyhow::anyhow!("{}", error_chain(&e)))?,
        (None, None) => bail!("name the current key: --current-key or --current-secret"),
    };
    let current = load_key(current_pem.expose(), None, None)?;
    let (next, stored) = new_key(alg.parse()?, &to).await?;
    audit::record("rotate_key", &next.kid, &["key"]).await;
    println!("{stored}");
    println!("new kid: {} (current kid: {})\n", next.kid, current.kid);
    let both = jwks(&[&current, &next])?;
    let only_next = jwks(&[&next])?;
    let alg = next.alg.as_str();
    match &stored {
        Stored::Secret(arn) => {
            let steps = rotation::aws_steps(
                &rotation::AwsRotation {
                    both_jwks: &both,
                    next_jwks: &only_next,
                    next_kid: &next.kid,
                    next_arn: arn,
                    alg,
                    old_secret: current_secret.as_deref(),
                },
                &params_dir,
            );
            rotation::write_params(&steps)?;
            print!("{}", rotation::render(&steps));
        }
        Stored::File(path) => {
            print!("{}", rotation::local_steps(&both, &only_next, path, alg));
        }
    }
    Ok(())
}

/// Where a new private key went.
enum Stored {
    File(PathBuf),
    Secret(String),
}

impl std::fmt::Display for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File(path) => write!(f, "private key written to {}", path.display()),
            Self::Secret(arn) => write!(f, "private key stored in Secrets Manager: {arn}"),
        }
    }
}

/// Generates a key and stores it where `to` says.
async fn new_key(alg: SigningAlg, to: &KeyDestination) -> anyhow::Result<(SigningKey, Stored)> {
    let pem = Secret::new(generate_pem(alg)?);
    let key = SigningKey::from_pem(pem.expose(), alg, None)?;
    let stored = match (&to.out, &to.secret_name) {
        (Some(path), _) => {
            write_private(path, pem.expose())?;
            Stored::File(path.clone())
        }
        (None, Some(name)) => {
            let description = format!("Tollgate signing key {} ({})", key.kid, alg.as_str());
            let arn = secrets_manager()
                .await
                .create(name, &pem, &description)
                .await
                .map_err(|e| anyhow::anyhow!("{}", error_chain(&e)))?;
            Stored::Secret(arn)
        }
        (None, None) => bail!("say where the key goes: --out FILE or --secret-name NAME"),
    };
    Ok((key, stored))
}

/// Reads a private key, detecting its algorithm unless one is given.
fn load_key(pem: &str, alg: Option<SigningAlg>, kid: Option<String>) -> anyhow::Result<SigningKey> {
    let candidates = match alg {
        Some(a) => vec![a],
        None => vec![SigningAlg::Es256, SigningAlg::EdDsa, SigningAlg::Rs256],
    };
    for alg in candidates {
        if let Ok(key) = SigningKey::from_pem(pem, alg, kid.clone()) {
            return Ok(key);
        }
    }
    match alg {
        Some(a) => bail!("not a PKCS#8 PEM private key for {}", a.as_str()),
        None => bail!("not a PKCS#8 PEM private key for ES256, RS256 or EdDSA"),
    }
}

fn read_file(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("failed to read {}", path.display()))
}

fn jwks(keys: &[&SigningKey]) -> anyhow::Result<String> {
    let set = JwkSet {
        keys: keys.iter().map(|k| k.public_jwk().clone()).collect(),
    };
    Ok(serde_json::to_string(&set)?)
}

fn write_private(path: &Path, pem: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| {
            format!(
                "failed to create {} (it must not exist yet)",
                path.display()
            )
        })?;
    f.write_all(pem.as_bytes())?;
    Ok(())
}
