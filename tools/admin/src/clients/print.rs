//! How the client commands show a record: the table and the JSON an operator reads, and a new
//! secret, printed once.

use tollgate_oauth::secret::Secret;
use tollgate_service::client::{Client, PasswordGrantSunset};

pub(super) fn print_secret(secret: &Secret, generated: bool) {
    if generated {
        println!("client_secret: {}", secret.expose());
        println!("The secret is shown once and stored only as a hash: keep it now.");
    } else {
        println!("client_secret: (as supplied)");
    }
}

pub(super) fn grant_list(c: &Client) -> String {
    c.grant_types
        .iter()
        .map(|g| g.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn lifetime(v: Option<u64>) -> String {
    v.map_or_else(|| "deployment default".into(), |s| format!("{s} s"))
}

pub(super) fn print_client(c: &Client) {
    println!("client_id:          {}", c.client_id);
    println!("name:               {}", c.name);
    println!(
        "state:              {}",
        if c.enabled { "enabled" } else { "disabled" }
    );
    println!("grant_types:        {}", grant_list(c));
    println!(
        "authentication:     {}",
        if c.public {
            "none (public client)"
        } else {
            "client secret"
        }
    );
    println!("redirect_uris:      {}", c.redirect_uris.join(" "));
    println!(
        "post_logout_uris:   {}",
        c.post_logout_redirect_uris.join(" ")
    );
    println!("scopes:             {}", c.allowed_scopes);
    println!("default_scopes:     {}", c.default_scopes);
    println!("access_token_ttl:   {}", lifetime(c.access_token_ttl));
    println!("refresh_token_ttl:  {}", lifetime(c.refresh_token_ttl));
    println!("refresh_family_ttl: {}", lifetime(c.refresh_family_ttl));
    println!("rate_limit:         {}", rate_limit(c.rate_limit));
    println!(
        "password_sunset:    {}",
        password_sunset(c.password_grant_sunset)
    );
    println!("response_profile:   {}", c.response_profile.as_str());
    println!("introspect_any:     {}", c.introspect_any);
    println!("refresh_reuse_grace: {}", lifetime(c.refresh_reuse_grace));
    println!("previous_secret:    {}", previous_secret(c));
    println!("created_at:         {}", c.created_at);
}

fn rate_limit(v: Option<u32>) -> String {
    match v {
        None => "deployment default".into(),
        Some(0) => "unlimited".into(),
        Some(n) => format!("{n} requests a minute"),
    }
}

fn password_sunset(v: Option<PasswordGrantSunset>) -> String {
    v.map_or_else(
        || "none".into(),
        |s| {
            format!(
                "{} (deprecated since {})",
                tollgate_service::sunset::rfc3339(s.sunset_at),
                tollgate_service::sunset::rfc3339(s.deprecated_at)
            )
        },
    )
}

fn previous_secret(c: &Client) -> String {
    match &c.previous_secret {
        None => "none".into(),
        Some(p) => match p.retire_at {
            Some(t) => format!("accepted until {t} (seconds since the epoch)"),
            None => "accepted until retire-client-secret".into(),
        },
    }
}

/// The record as stored (its serde mapping, so a new field shows up here by itself), with no
/// secret hash (the previous secret keeps only its `retire_at`), and with `allowed_scopes` under
/// the name of its flag, `scopes`. An unset lifetime is absent, as in the table.
pub(super) fn client_json(c: &Client) -> anyhow::Result<serde_json::Value> {
    let mut v = serde_json::to_value(c)?;
    if let Some(fields) = v.as_object_mut() {
        fields.retain(|k, _| !k.contains("secret") || k == "previous_secret");
        if let Some(previous) = fields
            .get_mut("previous_secret")
            .and_then(|p| p.as_object_mut())
        {
            previous.retain(|k, _| k == "retire_at");
        }
        if let Some(scopes) = fields.remove("allowed_scopes") {
            fields.insert("scopes".into(), scopes);
        }
    }
    Ok(v)
}
