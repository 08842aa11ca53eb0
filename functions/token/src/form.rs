//! Reading a token request off the wire: the form body (RFC 6749 Appendix B) and client
//! credentials from `Authorization: Basic` (RFC 6749 §2.3.1) or the body.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use percent_encoding::percent_decode;
use tollgate_oauth::OAuthError;
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
    Invalid(String),
    /// 413 `invalid_request`.
    TooLarge,
    /// 401 `invalid_client`; `basic` says whether Basic was attempted.
    BadClient {
        description: &'static str,
        basic: bool,
    },
}

impl FormError {
    fn invalid(d: impl Into<String>) -> Self {
        Self::Invalid(d.into())
    }
    pub fn to_oauth(&self) -> OAuthError {
        match self {
            Self::Invalid(d) => OAuthError::invalid_request(d.clone()),
            Self::TooLarge => OAuthError::invalid_request(format!(
                "the body is larger than {MAX_BODY_BYTES} bytes"
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
            return Err(FormError::invalid(format!("{k} was sent more than once")));
        }
        seen.insert(k, v);
    }
    seen.retain(|_, v: &mut String| !v.is_empty());
    Ok(seen)
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
                secret: basic_secret,
            })
        }
        (None, Some(id), Some(secret)) => Some(ClientCredentials {
            client_id: id,
            secret,
        }),
        (None, Some(_), None) => {
            return Err(FormError::BadClient {
                description: "client_secret is required",
                basic: false,
            });
        }
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
        assert_eq!((c.client_id.as_str(), c.secret.expose()), ("a", "s"));
        assert!(!r.params.contains_key("client_secret"));
    }
}
