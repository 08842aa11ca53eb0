//! Redirect URIs (RFC 6749 §3.1.2, RFC 8252, RFC 9700 §4.1.3): what a client may register, and
//! how an authorization request's `redirect_uri` is matched against them: by exact string
//! equality, never by prefix, pattern or normalisation.
//!
//! Registrable: `https` to any host; `http` only to a loopback IP literal (`127.0.0.1`,
//! `[::1]`: RFC 8252 §7.3 and §8.3, which advise against the name `localhost`); and a native
//! app's private-use scheme named after a domain it owns (`com.example.app:/callback`, RFC 8252
//! §7.1). Never a fragment, a wildcard, user information, or a character outside RFC 3986's.

use super::{Client, ClientRuleError, GrantType};

/// The longest redirect URI a client may register.
pub const MAX_REDIRECT_URI: usize = 1024;
/// The most redirect URIs one client may register (each list).
pub const MAX_REDIRECT_URIS: usize = 20;

/// Why a redirect URI cannot be registered; the admin CLI prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("a redirect URI is at most {MAX_REDIRECT_URI} characters")]
    TooLong,
    #[error(
        "a redirect URI may hold only the characters of RFC 3986 (percent-encode others, no spaces)"
    )]
    Characters,
    #[error("a redirect URI must not have a fragment (#)")]
    Fragment,
    #[error("a redirect URI must not have a wildcard (*): register each URI exactly")]
    Wildcard,
    #[error(
        "a redirect URI must be https, http to 127.0.0.1 or [::1], or a private-use scheme such as com.example.app:/callback"
    )]
    Scheme,
    #[error("http is allowed only to the loopback addresses 127.0.0.1 and [::1]")]
    NotLoopback,
    #[error("a redirect URI needs a host, and must not carry a user name or password")]
    Authority,
}

/// Whether `uri` may be registered as a redirect URI.
pub fn check(uri: &str) -> Result<(), RedirectUriError> {
    if uri.len() > MAX_REDIRECT_URI {
        return Err(RedirectUriError::TooLong);
    }
    if uri.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    if uri.contains('*') {
        return Err(RedirectUriError::Wildcard);
    }
    if !uri.bytes().all(is_uri_byte) || !percent_escapes_are_whole(uri) {
        return Err(RedirectUriError::Characters);
    }
    let (scheme, rest) = uri.split_once(':').ok_or(RedirectUriError::Scheme)?;
    if !is_scheme(scheme) {
        return Err(RedirectUriError::Scheme);
    }
    match scheme {
        "https" => authority(rest).map(|_| ()),
        "http" => {
            let host = authority(rest)?;
            if matches!(host, "127.0.0.1" | "[::1]") {
                Ok(())
            } else {
                Err(RedirectUriError::NotLoopback)
            }
        }
        // RFC 8252 §7.1: a reverse domain name, so a scheme no other app claims by accident.
        s if s.contains('.') && !rest.is_empty() => Ok(()),
        _ => Err(RedirectUriError::Scheme),
    }
}

/// The host of `//host[:port]/...` (the part after the scheme's colon), refusing user
/// information, an empty host and a port that is not digits.
fn authority(rest: &str) -> Result<&str, RedirectUriError> {
    let rest = rest.strip_prefix("//").ok_or(RedirectUriError::Authority)?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    if authority.contains('@') || authority.is_empty() {
        return Err(RedirectUriError::Authority);
    }
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    };
    if !is_host(host)
        || port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(RedirectUriError::Authority);
    }
    Ok(host)
}

/// A DNS name (letters, digits, `-`, `.`; an IDN in its `xn--` form) or an IP literal: what a
/// browser origin and a `Content-Security-Policy` source can carry as they are.
fn is_host(host: &str) -> bool {
    if let Some(ip) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return !ip.is_empty()
            && ip
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    }
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// Where a registered redirect URI points, as a `Content-Security-Policy` source: the origin
/// (`https://app.example.com:8443`) of an `http(s)` URI, the scheme (`com.example.app:`) of a
/// private-use one. The sign-in page's `form-action` must allow it, or the browser stops the
/// redirect that follows the form's post.
pub fn csp_source(uri: &str) -> Option<String> {
    check(uri).ok()?;
    let (scheme, rest) = uri.split_once(':')?;
    if !matches!(scheme, "https" | "http") {
        return Some(format!("{scheme}:"));
    }
    let rest = rest.strip_prefix("//")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    Some(format!("{scheme}://{}", &rest[..end]))
}

/// RFC 3986 §3.1, lowercase only: a scheme compared as a string must have one spelling.
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.')
        })
}

/// RFC 3986's unreserved, reserved and `%` characters (no space, quote, `<`, `>`, `\`, `^`,
/// `` ` ``, `{`, `|`, `}`, nor anything outside ASCII).
fn is_uri_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~:/?#[]@!$&'()*+,;=%".contains(&b)
}

fn percent_escapes_are_whole(uri: &str) -> bool {
    let b = uri.as_bytes();
    b.iter().enumerate().all(|(i, &c)| {
        c != b'%'
            || (b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
    })
}

/// The registered URI an authorization request names: `asked`, when it is exactly one of
/// `registered`; the only registered one when the request names none. `None` otherwise: the
/// request must not be sent anywhere.
pub fn select<'a>(registered: &'a [String], asked: Option<&str>) -> Option<&'a str> {
    match asked {
        Some(a) => registered
            .iter()
            .find(|r| r.as_str() == a)
            .map(String::as_str),
        None if registered.len() == 1 => registered.first().map(String::as_str),
        None => None,
    }
}

impl Client {
    /// The rules of the code flow: a public client uses only the code flow and refresh (and no
    /// introspection of others' tokens); a client of the code flow has a redirect URI; every
    /// registered URI is one [`check`] accepts.
    pub(super) fn check_sign_in(&self) -> Result<(), ClientRuleError> {
        let public_grants = [GrantType::AuthorizationCode, GrantType::RefreshToken];
        if self.public
            && (self.introspect_any || !self.grant_types.iter().all(|g| public_grants.contains(g)))
        {
            return Err(ClientRuleError::PublicGrant);
        }
        if self.allows(GrantType::AuthorizationCode) && self.redirect_uris.is_empty() {
            return Err(ClientRuleError::NoRedirectUri);
        }
        for list in [&self.redirect_uris, &self.post_logout_redirect_uris] {
            if list.len() > MAX_REDIRECT_URIS {
                return Err(ClientRuleError::TooManyRedirectUris(MAX_REDIRECT_URIS));
            }
            for uri in list {
                check(uri).map_err(|e| ClientRuleError::RedirectUri(uri.clone(), e))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_loopback_http_and_private_use_schemes_register() {
        for ok in [
            "https://app.example.com/callback",
            "https://app.example.com:8443/cb?tenant=a&x=%2F",
            "https://[2001:db8::1]/cb",
            "http://127.0.0.1:53682/callback",
            "http://127.0.0.1/callback",
            "http://[::1]:8080/",
            "com.example.app:/oauth2redirect",
            "com.example.app://callback",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn fragments_wildcards_and_remote_http_are_refused() {
        use RedirectUriError::*;
        for (bad, why) in [
            ("https://app.example.com/cb#x", Fragment),
            ("https://app.example.com/cb#", Fragment),
            ("https://*.example.com/cb", Wildcard),
            ("https://app.example.com/*", Wildcard),
            ("http://app.example.com/cb", NotLoopback),
            ("http://localhost:3000/cb", NotLoopback),
            ("http://127.0.0.2/cb", NotLoopback),
            ("http://127.0.0.1.evil.example/cb", NotLoopback),
            ("javascript:alert(1)", Scheme),
            ("data:text/html,x", Scheme),
            ("file:///etc/passwd", Scheme),
            ("myapp:/cb", Scheme),
            ("HTTPS://app.example.com/cb", Scheme),
            ("/relative/cb", Scheme),
            ("app.example.com/cb", Scheme),
            ("https:app.example.com", Authority),
            ("https://user:pw@app.example.com/cb", Authority),
            ("https://evil.example@app.example.com/cb", Authority),
            ("https:///cb", Authority),
            ("https://app.example.com:/cb", Authority),
            ("https://app.example.com:80x/cb", Authority),
            ("https://a;b.example.com/cb", Authority),
            ("https://a,b.example.com/cb", Authority),
            ("https://a'b.example.com/cb", Authority),
            ("https://[::1;x]/cb", Authority),
            ("https://app.example.com/a b", Characters),
            ("https://app.example.com/\\evil.example", Characters),
            ("https://app.example.com/é", Characters),
            ("https://app.example.com/%zz", Characters),
            ("https://app.example.com/<x>", Characters),
        ] {
            assert_eq!(check(bad), Err(why), "{bad}");
        }
        let long = format!("https://app.example.com/{}", "a".repeat(MAX_REDIRECT_URI));
        assert_eq!(check(&long), Err(TooLong));
    }

    #[test]
    fn the_csp_source_is_the_origin_or_the_private_scheme() {
        for (uri, source) in [
            ("https://app.example.com/cb?x=1", "https://app.example.com"),
            (
                "https://app.example.com:8443/cb",
                "https://app.example.com:8443",
            ),
            ("http://127.0.0.1:53682/callback", "http://127.0.0.1:53682"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            ("com.example.app:/oauth2redirect", "com.example.app:"),
        ] {
            assert_eq!(csp_source(uri).as_deref(), Some(source), "{uri}");
        }
        assert_eq!(csp_source("https://a;b.example.com/cb"), None);
    }

    #[test]
    fn a_request_gets_only_an_exact_match() {
        let one = vec!["https://app.example.com/cb".to_owned()];
        let two = vec![
            "https://app.example.com/cb".to_owned(),
            "http://127.0.0.1:8080/cb".to_owned(),
        ];
        assert_eq!(
            select(&one, Some("https://app.example.com/cb")),
            Some("https://app.example.com/cb")
        );
        for near in [
            "https://app.example.com/cb/",
            "https://app.example.com/cb/../evil",
            "https://app.example.com/cb?x=1",
            "https://app.example.com/c",
            "https://APP.example.com/cb",
            "https://app.example.com:443/cb",
            "https://app.example.com/cb#",
            "https://app.example.com/%63b",
            "https://app.example.com/cb.evil.example",
        ] {
            assert_eq!(select(&one, Some(near)), None, "{near}");
        }
        assert_eq!(select(&one, None), Some("https://app.example.com/cb"));
        assert_eq!(select(&two, None), None);
        assert_eq!(
            select(&two, Some("http://127.0.0.1:8080/cb")),
            Some("http://127.0.0.1:8080/cb")
        );
        assert_eq!(select(&[], None), None);
        assert_eq!(select(&[], Some("https://app.example.com/cb")), None);
    }

    fn spa() -> Client {
        Client {
            public: true,
            secret_hash: String::new(),
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            redirect_uris: vec!["http://127.0.0.1:8080/cb".into()],
            ..Client::for_tests("spa", "unused")
        }
    }

    #[test]
    fn a_public_client_has_only_the_code_flow_and_refresh() {
        assert_eq!(spa().check(), Ok(()));
        let mut c = spa();
        c.grant_types.push(GrantType::Password);
        assert_eq!(c.check(), Err(ClientRuleError::PublicGrant));
        c.grant_types = vec![GrantType::ClientCredentials];
        assert!(c.check().is_err());
        let c = Client {
            introspect_any: true,
            ..spa()
        };
        assert_eq!(c.check(), Err(ClientRuleError::PublicGrant));
    }

    #[test]
    fn the_code_flow_needs_registered_uris_that_pass_the_rules() {
        let c = Client {
            redirect_uris: vec![],
            ..spa()
        };
        assert_eq!(c.check(), Err(ClientRuleError::NoRedirectUri));
        let c = Client {
            redirect_uris: vec!["https://app.example.com/*".into()],
            ..spa()
        };
        assert!(matches!(
            c.check(),
            Err(ClientRuleError::RedirectUri(_, RedirectUriError::Wildcard))
        ));
        let c = Client {
            post_logout_redirect_uris: vec!["https://app.example.com/bye#x".into()],
            ..spa()
        };
        assert!(matches!(
            c.check(),
            Err(ClientRuleError::RedirectUri(_, RedirectUriError::Fragment))
        ));
        let many = (0..=MAX_REDIRECT_URIS)
            .map(|i| format!("https://app.example.com/{i}"))
            .collect();
        let c = Client {
            redirect_uris: many,
            ..spa()
        };
        assert_eq!(
            c.check(),
            Err(ClientRuleError::TooManyRedirectUris(MAX_REDIRECT_URIS))
        );
    }
}
