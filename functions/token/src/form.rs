//! Reading a token request off the wire: the form body (RFC 6749 Appendix B) and client
//! credentials from `Authorization: Basic` (RFC 6749 §2.3.1) or the body.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode;
use tollgate_oauth::OAuthError;
use tollgate_oauth::error::{Description, Fact};
use tollgate_oauth::secret::Secret;
use tollgate_service::client::ClientCredentials;
use tollgate_service::endpoint::TokenRequest;
use tollgate_service::endpoint::introspect::{IntrospectionRequest, TokenTypeHint};
use tollgate_service::endpoint::revoke::RevocationRequest;

/// Bodies larger than this are refused before parsing.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// Why a request could not be read; each becomes an RFC 6749 §5.2 error.
#[derive(Debug, PartialEq)]
pub enum FormError {
    /// 400 `invalid_request`.
    Invalid(Description),
    /// 413 `invalid_request`.
    TooLarge,
    /// 401 `invalid_client`; `basic` says whether Basic was attempted.
    BadClient {
        description: &'static str,
        basic: bool,
    },
}

impl FormError {
    fn invalid(d: impl Into<Description>) -> Self {
        Self::Invalid(d.into())
    }
    pub fn to_oauth(&self) -> OAuthError {
        match self {
            Self::Invalid(d) => OAuthError::invalid_request(d.clone()),
            Self::TooLarge => OAuthError::invalid_request(Description::with(
                "the body is larger than {} bytes",
                &[Fact::Number(MAX_BODY_BYTES as u64)],
            )),
            Self::BadClient { description, .. } => OAuthError::invalid_client(*description),
        }
    }
}

/// `true` for `application/x-www-form-urlencoded`, with or without parameters such as charset.
pub fn is_form(content_type: Option<&str>) -> bool {
    content_type
        .and_then(|ct| ct.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The parameters Tollgate reads, by the name an error may give them. A parameter of any other
/// name is never named back to the caller: its name is the caller's text.
const NAMED: [&str; 17] = [
    "grant_type",
    "code",
    "code_verifier",
    "redirect_uri",
    "request",
    "id_token_hint",
    "post_logout_redirect_uri",
    "state",
    "access_token",
    "username",
    "password",
    "scope",
    "refresh_token",
    "client_id",
    "client_secret",
    "token",
    "token_type_hint",
];

/// Parses a form body. A parameter sent twice is an error (RFC 6749 §3.2); one sent without a
/// value counts as omitted (§3.1). Bytes that are not UTF-8 after decoding are an error, never
/// silently replaced.
pub fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, FormError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(FormError::TooLarge);
    }
    let mut seen = HashMap::new();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (k, v) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &b""[..]),
        };
        let k = decode(k)?;
        let v = decode(v)?;
        if k.is_empty() {
            return Err(FormError::invalid(
                "the form has a parameter without a name",
            ));
        }
        if seen.contains_key(&k) {
            return Err(FormError::invalid(sent_twice(&k)));
        }
        seen.insert(k, v);
    }
    seen.retain(|_, v: &mut String| !v.is_empty());
    Ok(seen)
}

/// The error for a parameter sent twice: it names one Tollgate reads, never another.
fn sent_twice(name: &str) -> Description {
    match NAMED.iter().find(|n| **n == name) {
        Some(n) => Description::with("{} was sent more than once", &[Fact::Name(n)]),
        None => "a parameter was sent more than once".into(),
    }
}

fn decode(raw: &[u8]) -> Result<String, FormError> {
    let plus: Vec<u8> = raw
        .iter()
        .map(|&b| if b == b'+' { b' ' } else { b })
        .collect();
    percent_decode(&plus)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| FormError::invalid("the form is not valid UTF-8"))
}

/// Decodes `Authorization: Basic`: base64 of `urlencode(id):urlencode(secret)` (RFC 6749 §2.3.1).
pub fn parse_basic(header: &str) -> Result<(String, Secret), FormError> {
    let bad = |description| FormError::BadClient {
        description,
        basic: true,
    };
    let (scheme, rest) = header
        .trim()
        .split_once(' ')
        .ok_or(bad("malformed Authorization header"))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad("client authentication must use the Basic scheme"));
    }
    let raw = STANDARD
        .decode(rest.trim())
        .map_err(|_| bad("malformed Basic credentials"))?;
    let colon = raw
        .iter()
        .position(|&b| b == b':')
        .ok_or(bad("malformed Basic credentials"))?;
    let id = decode(&raw[..colon]).map_err(|_| bad("malformed Basic credentials"))?;
    let secret = decode(&raw[colon + 1..]).map_err(|_| bad("malformed Basic credentials"))?;
    if id.is_empty() || secret.is_empty() {
        return Err(bad("malformed Basic credentials"));
    }
    Ok((id, Secret::new(secret)))
}

/// Builds the domain request from a parsed form and the `Authorization` header.
pub fn token_request(
    mut params: HashMap<String, String>,
    authorization: Option<&str>,
) -> Result<TokenRequest, FormError> {
    let credentials = credentials(&mut params, authorization)?;
    Ok(TokenRequest::new(credentials, params))
}

/// Builds `POST /revoke`'s request (RFC 7009 §2.1): `token` and the client's credentials as at
/// `/token`. `token_type_hint` and other parameters are ignored.
pub fn revocation_request(
    mut params: HashMap<String, String>,
    authorization: Option<&str>,
) -> Result<RevocationRequest, FormError> {
    let credentials = credentials(&mut params, authorization)?;
    Ok(RevocationRequest {
        credentials,
        token: params.remove("token").map(Secret::new),
    })
}

/// Builds `POST /introspect`'s request (RFC 7662 §2.1): `token`, an optional
/// `token_type_hint`, and the client's credentials as at `/token`. Other parameters are ignored.
pub fn introspection_request(
    mut params: HashMap<String, String>,
    authorization: Option<&str>,
) -> Result<IntrospectionRequest, FormError> {
    let credentials = credentials(&mut params, authorization)?;
    Ok(IntrospectionRequest {
        credentials,
        token: params.remove("token").map(Secret::new),
        token_type_hint: params
            .get("token_type_hint")
            .and_then(|h| TokenTypeHint::parse(h)),
    })
}

/// Takes the client's credentials out of the form or the `Authorization` header (RFC 6749
/// §2.3.1): Basic or the body, never both.
fn credentials(
    params: &mut HashMap<String, String>,
    authorization: Option<&str>,
) -> Result<Option<ClientCredentials>, FormError> {
    let body_id = params.remove("client_id");
    let body_secret = params.remove("client_secret").map(Secret::new);
    let credentials = match (authorization, body_id, body_secret) {
        (Some(h), id, secret) => {
            if secret.is_some() {
                return Err(FormError::invalid(
                    "use one client authentication method: Basic or the body, not both",
                ));
            }
            let (basic_id, basic_secret) = parse_basic(h)?;
            if id.is_some_and(|id| id != basic_id) {
                return Err(FormError::invalid(
                    "client_id in the body differs from the Basic credentials",
                ));
            }
            Some(ClientCredentials {
                client_id: basic_id,
                secret: Some(basic_secret),
            })
        }
        // The id alone: a public client (RFC 6749 §2.3.1), or one the domain refuses with
        // "client_secret is required".
        (None, Some(id), secret) => Some(ClientCredentials {
            client_id: id,
            secret,
        }),
        (None, None, Some(_)) => {
            return Err(FormError::invalid(
                "client_secret was sent without client_id",
            ));
        }
        (None, None, None) => None,
    };
    Ok(credentials)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    #[test]
    fn form_decodes_plus_and_percent() {
        let f = parse_form(b"username=a+b%40c&password=p%26w%3D").unwrap();
        assert_eq!(f["username"], "a b@c");
        assert_eq!(f["password"], "p&w=");
    }

    #[test]
    fn repeated_parameter_is_invalid_even_when_empty() {
        assert!(matches!(
            parse_form(b"grant_type=password&grant_type=password"),
            Err(FormError::Invalid(_))
        ));
        assert!(matches!(
            parse_form(b"scope=&scope=a"),
            Err(FormError::Invalid(_))
        ));
    }

    #[test]
    fn a_repeated_parameter_is_named_only_when_tollgate_reads_it() {
        let described = |body: &[u8]| match parse_form(body) {
            Err(e) => e.to_oauth().description.to_string(),
            Ok(_) => panic!("{body:?} was accepted"),
        };
        assert_eq!(
            described(b"grant_type=password&grant_type=password"),
            "grant_type was sent more than once"
        );
        for hostile in [
            &b"x%22%0A%E2%80%AEevil=1&x%22%0A%E2%80%AEevil=2"[..],
            b"%3Cscript%3E=1&%3Cscript%3E=2",
            b"grant_typ=1&grant_typ=2",
        ] {
            let d = described(hostile);
            assert_eq!(d, "a parameter was sent more than once", "{hostile:?}");
        }
    }

    #[test]
    fn empty_values_count_as_omitted() {
        let f = parse_form(b"scope=&grant_type=password&x").unwrap();
        assert!(!f.contains_key("scope"));
        assert!(!f.contains_key("x"));
    }

    #[test]
    fn invalid_utf8_is_refused() {
        assert!(matches!(
            parse_form(b"password=%ff%fe"),
            Err(FormError::Invalid(_))
        ));
        assert!(matches!(
            parse_form(b"pass\xffword=x"),
            Err(FormError::Invalid(_))
        ));
    }

    #[test]
    fn oversized_body_is_refused() {
        assert_eq!(
            parse_form(&vec![b'a'; MAX_BODY_BYTES + 1]),
            Err(FormError::TooLarge)
        );
    }

    #[test]
    fn content_type_may_carry_a_charset() {
        assert!(is_form(Some("application/x-www-form-urlencoded")));
        assert!(is_form(Some(
            "Application/X-WWW-Form-Urlencoded; charset=UTF-8"
        )));
        assert!(!is_form(Some("application/json")));
        assert!(!is_form(None));
    }

    #[test]
    fn basic_credentials_are_form_urlencoded_inside() {
        let (id, secret) = parse_basic(&basic("my%20app", "s%3Acret+x")).unwrap();
        assert_eq!(id, "my app");
        assert_eq!(secret.expose(), "s:cret x");
    }

    #[test]
    fn malformed_basic_is_invalid_client_with_basic_flag() {
        for h in [
            "Basic",
            "Basic !!!",
            &basic("", "x"),
            &format!("Basic {}", STANDARD.encode("nocolon")),
            "Bearer abc",
        ] {
            assert!(
                matches!(
                    parse_basic(h),
                    Err(FormError::BadClient { basic: true, .. })
                ),
                "{h}"
            );
        }
    }

    #[test]
    fn basic_and_body_secret_together_is_invalid_request() {
        let params = parse_form(b"grant_type=password&client_secret=s").unwrap();
        assert!(matches!(
            token_request(params, Some(&basic("a", "s"))),
            Err(FormError::Invalid(_))
        ));
    }

    #[test]
    fn an_introspection_request_is_typed_and_keeps_the_token_out_of_debug() {
        let params = parse_form(
            b"token=t0k.en&token_type_hint=refresh_token&client_id=a&client_secret=s&x=1",
        )
        .unwrap();
        let r = introspection_request(params, None).unwrap();
        assert_eq!(r.token.as_ref().map(Secret::expose), Some("t0k.en"));
        assert_eq!(r.token_type_hint, Some(TokenTypeHint::RefreshToken));
        assert_eq!(r.credentials.map(|c| c.client_id).as_deref(), Some("a"));
        let unknown_hint = parse_form(b"token=t&token_type_hint=id_token").unwrap();
        let r = introspection_request(unknown_hint, Some(&basic("a", "s"))).unwrap();
        assert_eq!(r.token_type_hint, None, "an unknown hint is ignored");
        assert!(!format!("{r:?}").contains("\"t\""), "{r:?}");
        let both = parse_form(b"token=t&client_secret=s").unwrap();
        assert!(matches!(
            introspection_request(both, Some(&basic("a", "s"))),
            Err(FormError::Invalid(_))
        ));
    }

    #[test]
    fn body_credentials_are_taken_out_of_the_params() {
        let params = parse_form(b"grant_type=password&client_id=a&client_secret=s").unwrap();
        let r = token_request(params, None).unwrap();
        let c = r.credentials.unwrap();
        let secret = c.secret.as_ref().map(|s| s.expose());
        assert_eq!((c.client_id.as_str(), secret), ("a", Some("s")));
        assert!(!r.params.contains_key("client_secret"));
    }

    #[test]
    fn a_client_id_alone_is_a_public_clients_identification() {
        let params = parse_form(b"grant_type=authorization_code&client_id=spa&code=c").unwrap();
        let r = token_request(params, None).unwrap();
        let c = r.credentials.unwrap();
        assert_eq!(c.client_id, "spa");
        assert!(c.secret.is_none());
        assert!(!r.params.contains_key("client_id"));
    }

    mod descriptions {
        use super::*;
        use proptest::prelude::*;
        use tollgate_oauth::error::is_description_text;

        /// Text a caller could send, hostile to an error body: quotes, backslashes, newlines,
        /// bidi controls, non-ASCII, percent signs; always with a marker no description holds.
        fn hostile() -> impl Strategy<Value = String> {
            let piece = prop_oneof![
                Just("\"".to_owned()),
                Just("\\".to_owned()),
                Just("\n".to_owned()),
                Just("\r\n".to_owned()),
                Just("\u{202e}".to_owned()),
                Just("\u{2066}".to_owned()),
                Just("\u{2028}".to_owned()),
                Just("é§".to_owned()),
                Just("<b>".to_owned()),
                Just("%".to_owned()),
                Just("grant_type".to_owned()),
                "[ -~]{0,4}",
                "\\PC{0,3}",
            ];
            proptest::collection::vec(piece, 0..4).prop_map(|p| format!("Zq9{}Zq9", p.concat()))
        }

        fn encode(s: &str) -> String {
            percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
        }

        const KNOWN: [&str; 6] = [
            "grant_type",
            "client_id",
            "client_secret",
            "token",
            "scope",
            "username",
        ];

        fn assert_clean(e: &FormError, sent: &[&str]) -> Result<(), TestCaseError> {
            let d = e.to_oauth().description;
            prop_assert!(is_description_text(&d), "{d:?}");
            prop_assert!(!d.contains("Zq9"), "{d:?} echoes what was sent: {sent:?}");
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Every refusal of the form or the credentials, whatever the names, values and
            /// `Authorization` header hold, is described in RFC 6749 §5.2's characters without
            /// a word of what was sent.
            #[test]
            fn no_refusal_echoes_the_request(
                name in hostile(),
                value in hostile(),
                known in proptest::sample::select(&KNOWN[..]),
                twice in any::<bool>(),
                basic in proptest::option::of(hostile()),
                raw_bytes in proptest::collection::vec(any::<u8>(), 0..24),
            ) {
                let (n, v) = (encode(&name), encode(&value));
                let mut body = format!("{n}={v}&{known}={v}");
                if twice {
                    body.push_str(&format!("&{n}=x&{known}={v}"));
                }
                let sent = [name.as_str(), value.as_str()];
                let header = basic.as_ref().map(|b| {
                    format!("Basic {}", STANDARD.encode(format!("{}:{b}", encode(b))))
                });
                for body in [body.into_bytes(), raw_bytes.clone()] {
                    match parse_form(&body) {
                        Err(e) => assert_clean(&e, &sent)?,
                        Ok(params) => {
                            for result in [
                                token_request(params.clone(), header.as_deref()).err(),
                                revocation_request(params.clone(), header.as_deref()).err(),
                                introspection_request(params, header.as_deref()).err(),
                            ]
                            .into_iter()
                            .flatten()
                            {
                                assert_clean(&result, &sent)?;
                            }
                        }
                    }
                }
                if let Some(Err(e)) = header.as_deref().map(parse_basic) {
                    assert_clean(&e, &sent)?;
                }
            }
        }
    }
}
