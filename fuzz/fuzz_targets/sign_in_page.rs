//! The page renderer (`functions/token/src/page/`): the sign-in page, every error page and the
//! signed-out page of `/end_session`, with arbitrary texts. Input: the title, the logo path, the
//! client's name, the username and the sealed request, separated by NUL bytes (missing ones are
//! empty; invalid UTF-8 is replaced).
//!
//! Whatever the texts, the page must have exactly the template's tags and attributes (no text
//! opens, closes or changes one), never a script, and the texts must come back out of the
//! escaping as they went in.
#![no_main]

#[path = "../../functions/token/src/page/mod.rs"]
#[allow(dead_code)]
mod page;

use libfuzzer_sys::fuzz_target;
use page::{Branding, Notice, Problem, SignIn};

/// The tags of a page, in order, each without its (quoted) attribute values.
fn tags(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    let mut quoted = false;
    let mut tag = String::new();
    for c in html.chars() {
        match (inside, c) {
            (false, '<') => inside = true,
            (false, _) => {}
            (true, '"') => quoted = !quoted,
            (true, _) if quoted => {}
            (true, '>') => {
                out.push(std::mem::take(&mut tag));
                inside = false;
            }
            (true, c) => tag.push(c),
        }
    }
    out
}

/// What escaping made of `text`, undone: the five references and the replacement character.
fn unescape(html: &str) -> String {
    html.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// A text as a page shows it: controls but tab, newline and CR replaced.
fn shown(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && !matches!(c, '\t' | '\n' | '\r') {
                '\u{FFFD}'
            } else {
                c
            }
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.split('\0');
    let mut next = || parts.next().unwrap_or("").to_owned();
    let (title, logo, name, username, request) = (next(), next(), next(), next(), next());
    let branding = Branding {
        title,
        logo_url: (!logo.is_empty()).then(|| format!("https://cdn.example/{logo}")),
    };
    let page = SignIn {
        branding: &branding,
        client_name: &name,
        action: "https://auth.example/authorize",
        request: &request,
        username: &username,
        notice: Some(Notice::WrongCredentials),
    };
    let html = page::sign_in(&page).into_string();
    let reference_branding = Branding {
        title: "t".into(),
        logo_url: branding
            .logo_url
            .as_ref()
            .map(|_| "https://cdn.example/l".into()),
    };
    let reference = SignIn {
        branding: &reference_branding,
        client_name: "n",
        request: "r",
        username: if username.is_empty() { "" } else { "u" },
        ..page
    };
    assert_eq!(tags(&html), tags(&page::sign_in(&reference).into_string()));
    assert!(!html.to_ascii_lowercase().contains("<script"));
    // The name comes back whole.
    assert!(unescape(&html).contains(&shown(&name)));
    // Every error page, and the page a sign-out ends on (`/end_session`), under the same texts.
    let problems = [
        Problem::UnknownClient,
        Problem::UnregisteredRedirect,
        Problem::MissingRedirect,
        Problem::Malformed,
        Problem::FormExpired,
        Problem::Forged,
        Problem::Unavailable,
        Problem::InvalidLogout,
    ];
    for problem in problems {
        let error = page::error(&branding, problem).into_string();
        let reference_error = page::error(&reference_branding, problem).into_string();
        assert_eq!(tags(&error), tags(&reference_error));
        assert!(unescape(&error).contains(&shown(&branding.title)));
    }
    let signed_out = page::signed_out(&branding).into_string();
    assert_eq!(
        tags(&signed_out),
        tags(&page::signed_out(&reference_branding).into_string())
    );
    assert!(!signed_out.to_ascii_lowercase().contains("<script"));
});
