//! `admin_change` audit events (docs/audit.md): one JSON line on standard error per change to a
//! client or a key, naming who ran the command. Standard output stays what the command prints.

use std::time::Duration;

use tollgate_service::adapters::aws::sdk::sdk_config;
use tollgate_service::client::ClientUpdate;
use tollgate_telemetry::audit::{self, Event, Origin};
use tollgate_telemetry::metrics::now_ms;

/// Who runs this CLI: `local` against DynamoDB Local, else the caller's ARN from STS, else
/// `unknown`.
pub async fn actor() -> String {
    if std::env::var("AWS_ENDPOINT_URL_DYNAMODB").is_ok_and(|u| is_loopback(&u)) {
        return "local".into();
    }
    let sts = aws_sdk_sts::Client::new(&sdk_config(Duration::from_secs(5)).await);
    match sts.get_caller_identity().send().await {
        Ok(id) => id.arn().unwrap_or("unknown").to_owned(),
        Err(_) => "unknown".into(),
    }
}

/// Whether a URL's host is a loopback address.
pub fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The names of the fields an update sets (`secret` for a new secret hash).
pub fn update_fields(u: &ClientUpdate) -> Vec<&'static str> {
    [
        ("name", u.name.is_some()),
        ("secret", u.secret_hash.is_some()),
        ("previous_secret", u.previous_secret.is_some()),
        ("enabled", u.enabled.is_some()),
        ("grant_types", u.grant_types.is_some()),
        ("scopes", u.allowed_scopes.is_some()),
        ("default_scopes", u.default_scopes.is_some()),
        ("access_token_ttl", u.access_token_ttl.is_some()),
        ("refresh_token_ttl", u.refresh_token_ttl.is_some()),
        ("refresh_family_ttl", u.refresh_family_ttl.is_some()),
        ("rate_limit", u.rate_limit.is_some()),
        ("password_grant_sunset", u.password_grant_sunset.is_some()),
        ("response_profile", u.response_profile.is_some()),
        ("introspect_any", u.introspect_any.is_some()),
        ("refresh_reuse_grace", u.refresh_reuse_grace.is_some()),
    ]
    .into_iter()
    .filter_map(|(name, set)| set.then_some(name))
    .collect()
}

/// Writes one `admin_change` line. `changes` names the fields set, never their values.
pub async fn record(action: &str, target: &str, changes: &[&str]) {
    record_as(&actor().await, action, target, changes);
}

/// [`record`] with the actor already known, for a command that changes many things.
pub fn record_as(actor: &str, action: &str, target: &str, changes: &[&str]) {
    let event = Event::AdminChange {
        actor,
        action,
        target,
        changes,
    };
    eprintln!("{}", audit::render(&event, &Origin::default(), now_ms()));
}

#[cfg(test)]
mod tests {
    use super::is_loopback;

    #[test]
    fn only_loopback_endpoints_are_local() {
        for url in [
            "http://127.0.0.1:8000",
            "http://localhost:8000/",
            "http://[::1]:8000",
            "http://127.9.9.9",
        ] {
            assert!(is_loopback(url), "{url}");
        }
        for url in [
            "https://dynamodb.eu-west-1.amazonaws.com",
            "http://10.0.0.5:8000",
            "http://localhost.evil.example:8000",
            "http://127.0.0.1.nip.io",
            "http://127.0.0.1@example.com:8000/",
        ] {
            assert!(!is_loopback(url), "{url}");
        }
    }
}
