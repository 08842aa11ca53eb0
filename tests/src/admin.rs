//! The built `tollgate-admin`, run as an operator runs it (`scripts/test.sh` builds it and names
//! it in `TOLLGATE_ADMIN_BIN`).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// The admin CLI, with no table and no pepper from this process's environment.
pub fn admin_command() -> Command {
    let bin = std::env::var("TOLLGATE_ADMIN_BIN").unwrap_or_else(|_| {
        panic!("TOLLGATE_ADMIN_BIN is not set: these tests run the built tollgate-admin; run them with `make test`")
    });
    let mut cmd = Command::new(bin);
    cmd.env_remove("CLIENTS_TABLE")
        .env_remove("CLIENT_SECRET_PEPPER")
        .env_remove("CLIENT_SECRET_PEPPER_SECRET_ARN");
    cmd
}

/// Runs the admin CLI on the clients table `table`.
pub fn admin(table: &str, args: &[&str]) -> Output {
    admin_command()
        .args(args)
        .env("CLIENTS_TABLE", table)
        .output()
        .expect("run tollgate-admin")
}

/// Runs the admin CLI on `table` with this pepper (or none), writing `stdin` to it.
pub fn admin_with(table: &str, pepper: Option<&str>, args: &[&str], stdin: &str) -> Output {
    let mut cmd = admin_command();
    cmd.args(args)
        .env("CLIENTS_TABLE", table)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = pepper {
        cmd.env("CLIENT_SECRET_PEPPER", p);
    }
    let mut child = cmd.spawn().expect("run tollgate-admin");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// What a command printed; asserts it succeeded.
pub fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "tollgate-admin failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The secret a `create-client` or `rotate-client-secret` printed.
pub fn printed_secret(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .expect("a client_secret line")
        .trim()
        .to_owned()
}
