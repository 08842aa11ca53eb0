use proptest::prelude::*;

use super::*;

fn branding() -> Branding {
    Branding {
        title: "Example Corp".into(),
        logo_url: Some("https://cdn.example.com/logo.svg".into()),
    }
}

fn page<'a>(b: &'a Branding, name: &'a str, username: &'a str) -> SignIn<'a> {
    SignIn {
        branding: b,
        client_name: name,
        action: "https://auth.example.com/prod/authorize",
        request: "sealed-request-AbC_-123",
        username,
        notice: Some(Notice::WrongCredentials),
    }
}

/// The tags of a page, in order, with their attribute names: what a text must never change.
fn tags(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').map_or(rest.len(), |e| start + e);
        let inside = &rest[start + 1..end];
        // The tag name and the names of its attributes, not their (escaped) values.
        let mut shape = String::new();
        let mut quoted = false;
        for c in inside.chars() {
            match c {
                '"' => quoted = !quoted,
                _ if quoted => {}
                c => shape.push(c),
            }
        }
        out.push(shape);
        rest = &rest[(end + 1).min(rest.len())..];
    }
    out
}

#[test]
fn the_style_hash_is_the_hash_of_the_style() {
    let h = tollgate_oauth::secret::hash_str(STYLE);
    let url_safe = h.trim_start_matches("sha256:");
    let mut standard: String = url_safe
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while !standard.len().is_multiple_of(4) {
        standard.push('=');
    }
    assert_eq!(STYLE_HASH, format!("'sha256-{standard}'"));
}

#[test]
fn the_sign_in_page_has_labelled_fields_for_password_managers_and_no_script() {
    let b = branding();
    let html = sign_in(&page(&b, "Orders App", "")).into_string();
    for needle in [
        "<label for=\"username\">Username</label>",
        "<input id=\"username\" name=\"username\" autocomplete=\"username\"",
        "<label for=\"password\">Password</label>",
        "type=\"password\" autocomplete=\"current-password\" required>",
        "<form method=\"post\" action=\"https://auth.example.com/prod/authorize\">",
        "<input type=\"hidden\" name=\"request\" value=\"sealed-request-AbC_-123\">",
        "<bdi>Orders App</bdi>",
        "<img src=\"https://cdn.example.com/logo.svg\" alt=\"\">",
        "<h1>Example Corp</h1>",
        "The username or password is incorrect.",
    ] {
        assert!(html.contains(needle), "{needle} missing from {html}");
    }
    let lower = html.to_ascii_lowercase();
    assert!(!lower.contains("<script") && !lower.contains("javascript:") && !lower.contains(" on"));
    assert!(html.len() <= 10 * 1024, "{} bytes", html.len());
}

#[test]
fn a_page_at_every_input_limit_stays_within_ten_kilobytes() {
    // The largest request the authorize endpoint seals (every parameter at its limit) and the
    // longest name and username the page shows.
    let b = Branding {
        title: "T".repeat(100),
        logo_url: Some(format!("https://cdn.example.com/{}", "l".repeat(200))),
    };
    let request = "r".repeat(4096);
    let name = "n".repeat(200);
    let username = "u".repeat(512);
    let mut p = page(&b, &name, &username);
    p.request = &request;
    let html = sign_in(&p).into_string();
    assert!(html.len() <= 10 * 1024, "{} bytes", html.len());
}

#[test]
fn the_focus_goes_to_the_field_to_fill() {
    let b = branding();
    let first = sign_in(&page(&b, "A", "")).into_string();
    assert!(first.contains("autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" required value=\"\" autofocus>"));
    let again = sign_in(&page(&b, "A", "alice")).into_string();
    assert!(again.contains("value=\"alice\">"));
    assert!(again.contains("autocomplete=\"current-password\" required autofocus>"));
}

#[test]
fn hostile_names_usernames_and_titles_are_text() {
    let evil = "\"><script>alert(1)</script><img src=x onerror=alert(2)>'&";
    let b = Branding {
        title: evil.into(),
        logo_url: Some(format!("https://x.example/{evil}")),
    };
    let html = sign_in(&page(&b, evil, evil)).into_string();
    assert!(!html.contains("<script>") && !html.contains("<img src=x"));
    assert!(html.contains("&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"));
    let benign = sign_in(&page(&branding(), "name", "user")).into_string();
    assert_eq!(tags(&html), tags(&benign));
}

#[test]
fn the_error_page_shows_its_problem_and_no_form() {
    for p in [
        Problem::UnknownClient,
        Problem::UnregisteredRedirect,
        Problem::MissingRedirect,
        Problem::Malformed,
        Problem::FormExpired,
        Problem::Forged,
        Problem::Unavailable,
        Problem::InvalidLogout,
    ] {
        let html = error(&branding(), p).into_string();
        assert!(html.contains(p.text()), "{p:?}");
        assert!(!html.contains("<form"), "{p:?}");
    }
}

#[test]
fn the_signed_out_page_says_so_and_has_no_form() {
    let html = signed_out(&branding()).into_string();
    assert!(html.contains("You are signed out."));
    assert!(!html.contains("<form"));
}

proptest! {
    /// Whatever the texts, the page's tags and attributes are the template's: no text opens,
    /// closes or changes one.
    #[test]
    fn no_text_changes_the_pages_markup(
        title in any::<String>(),
        name in any::<String>(),
        username in any::<String>(),
        request in any::<String>(),
        logo in proptest::option::of(any::<String>()),
    ) {
        let reference = branding();
        let b = Branding { title, logo_url: logo.map(|l| format!("https://x.example/{l}")) };
        let mut p = page(&b, &name, &username);
        p.request = &request;
        let html = sign_in(&p).into_string();
        let mut r = page(&reference, "n", if username.is_empty() { "" } else { "u" });
        r.request = "r";
        let expected = if b.logo_url.is_some() {
            tags(&sign_in(&r).into_string())
        } else {
            let no_logo = Branding { logo_url: None, ..reference.clone() };
            tags(&sign_in(&SignIn { branding: &no_logo, ..r }).into_string())
        };
        prop_assert_eq!(tags(&html), expected);
    }
}
