//! The sign-in form's binding to its authorization request and to the browser that opened it.
//!
//! `GET /authorize` puts the checked request in the form's hidden `request` field, sealed
//! (AES-256-GCM) with a key only the token function has, together with when it expires and the
//! SHA-256 of a random value it sets in the browser's `__Host-` cookie (HttpOnly, Secure,
//! SameSite=Strict). The post is read only when the field opens, has not expired, and the cookie
//! it arrives with hashes to what the field holds: a post forged on another site (no cookie, or
//! a field taken from another browser's form) or a field altered by hand never reaches the
//! password check. Nothing is stored between the two requests.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tollgate_oauth::secret::random_token;

/// The cookie's name. `__Host-`: set only over a secure connection (Chromium and Firefox count
/// `http://127.0.0.1` as one), for the whole host, never by a subdomain.
pub const COOKIE: &str = "__Host-tollgate-signin";

/// How long a sign-in form may be left open before its post is refused (seconds).
pub const FORM_TTL: u64 = 600;

/// What the sealing key is derived for; a new version of the scheme gets a new label.
const LABEL: &[u8] = b"tollgate sign-in form v1";

/// The key forms are sealed with: derived at cold start from the signing key (HMAC-SHA256 keyed
/// by its PEM, over a label), so every instance of the function has the same one and nothing
/// new has to be configured or kept. A new signing key ends the forms open at that moment.
pub struct FormKey(LessSafeKey);

impl std::fmt::Debug for FormKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FormKey(<redacted>)")
    }
}

impl FormKey {
    pub fn derive(signing_key_pem: &str) -> Self {
        let k = hmac::Key::new(hmac::HMAC_SHA256, signing_key_pem.as_bytes());
        let tag = hmac::sign(&k, LABEL);
        // A 32-byte HMAC-SHA256 tag is always a valid AES-256 key.
        #[allow(clippy::expect_used)]
        let unbound = UnboundKey::new(&AES_256_GCM, tag.as_ref()).expect("32-byte AES-256 key");
        Self(LessSafeKey::new(unbound))
    }
}

/// The browser's sign-in cookie value: 256 random bits.
#[derive(Clone, PartialEq, Eq)]
pub struct BrowserKey(String);

impl std::fmt::Debug for BrowserKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BrowserKey(<redacted>)")
    }
}

impl BrowserKey {
    pub fn generate() -> Self {
        Self(random_token(32))
    }

    /// The value a request's cookie carried, if it is one Tollgate could have set.
    pub fn from_cookie(value: &str) -> Option<Self> {
        (value.len() == 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        .then(|| Self(value.to_owned()))
    }

    pub fn value(&self) -> &str {
        &self.0
    }

    fn hash(&self) -> String {
        URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, self.0.as_bytes()).as_ref())
    }
}

/// Why a posted form is not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsealed {
    /// The field does not open (altered, sealed by another key, not ours) or has expired.
    Expired,
    /// No cookie, or the cookie of another browser.
    Forged,
}

#[derive(Serialize, Deserialize)]
struct Sealed<T> {
    /// When the form stops being accepted (seconds since the epoch).
    exp: u64,
    /// The SHA-256 of the browser's cookie.
    csrf: String,
    req: T,
}

impl FormKey {
    /// `request`, bound to `browser` and expiring `FORM_TTL` after `now`, as the hidden field's
    /// value: a random nonce, then the ciphertext and its tag, base64url.
    pub fn seal<T: Serialize>(&self, request: &T, browser: &BrowserKey, now: u64) -> String {
        let sealed = Sealed {
            exp: now.saturating_add(FORM_TTL),
            csrf: browser.hash(),
            req: request,
        };
        // A request of plain fields always serialises.
        let mut data = serde_json::to_vec(&sealed).unwrap_or_default();
        let mut nonce = [0u8; NONCE_LEN];
        #[allow(clippy::expect_used)]
        aws_lc_rs::rand::fill(&mut nonce).expect("system random number generator failed");
        #[allow(clippy::expect_used)]
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(LABEL),
                &mut data,
            )
            .expect("AES-GCM sealing of a short value");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// The request sealed in `field`, if it opens, has not expired at `now`, and was bound to
    /// the browser whose cookie is `browser`.
    pub fn open<T: DeserializeOwned>(
        &self,
        field: &str,
        browser: Option<&BrowserKey>,
        now: u64,
    ) -> Result<T, Unsealed> {
        let raw = URL_SAFE_NO_PAD
            .decode(field)
            .map_err(|_| Unsealed::Expired)?;
        if raw.len() <= NONCE_LEN {
            return Err(Unsealed::Expired);
        }
        let (nonce, data) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| Unsealed::Expired)?;
        let mut data = data.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(LABEL), &mut data)
            .map_err(|_| Unsealed::Expired)?;
        let sealed: Sealed<T> = serde_json::from_slice(plain).map_err(|_| Unsealed::Expired)?;
        if now >= sealed.exp {
            return Err(Unsealed::Expired);
        }
        let bound =
            browser.is_some_and(|b| bool::from(b.hash().as_bytes().ct_eq(sealed.csrf.as_bytes())));
        if !bound {
            return Err(Unsealed::Forged);
        }
        Ok(sealed.req)
    }
}

/// The `Set-Cookie` value that gives the browser its key for the forms it opens: as long as a
/// form lives, only on this host, never to script, never on a request from another site.
pub fn set_cookie(browser: &BrowserKey) -> String {
    format!(
        "{COOKIE}={}; Path=/; Max-Age={FORM_TTL}; Secure; HttpOnly; SameSite=Strict",
        browser.value()
    )
}

/// The sign-in cookie among a request's `Cookie` headers (RFC 6265 §5.4: `name=value` pairs
/// separated by `; `). Two of that name count as none: which one the browser meant is unknown.
pub fn cookie_of<'a>(headers: impl Iterator<Item = &'a str>) -> Option<BrowserKey> {
    let mut found = headers
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value);
    let first = found.next()?;
    if found.next().is_some() {
        return None;
    }
    BrowserKey::from_cookie(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Req {
        client_id: String,
        state: Option<String>,
    }

    fn req() -> Req {
        Req {
            client_id: "spa".into(),
            state: Some("xyz".into()),
        }
    }

    #[test]
    fn a_form_opens_for_its_browser_until_it_expires() {
        let key = FormKey::derive("-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n");
        let browser = BrowserKey::generate();
        let field = key.seal(&req(), &browser, 1000);
        assert_eq!(
            key.open::<Req>(&field, Some(&browser), 1000 + FORM_TTL - 1),
            Ok(req())
        );
        assert_eq!(
            key.open::<Req>(&field, Some(&browser), 1000 + FORM_TTL),
            Err(Unsealed::Expired)
        );
        // Sealed twice, never the same text: the nonce is fresh.
        assert_ne!(field, key.seal(&req(), &browser, 1000));
        // Encrypted, not encoded: the request's text is not in the sealed bytes. (Not a
        // search of the base64 text for "spa": random base64 contains any three letters now
        // and then.)
        let sealed = URL_SAFE_NO_PAD.decode(&field).unwrap();
        let plain = serde_json::to_vec(&req()).unwrap();
        for part in [&plain[..], br#""client_id":"spa""#, br#""state":"xyz""#] {
            assert!(!sealed.windows(part.len()).any(|w| w == part));
        }
    }

    #[test]
    fn another_browser_no_cookie_or_another_key_is_refused() {
        let key = FormKey::derive("pem one");
        let browser = BrowserKey::generate();
        let field = key.seal(&req(), &browser, 1000);
        let other = BrowserKey::generate();
        assert_eq!(
            key.open::<Req>(&field, Some(&other), 1001),
            Err(Unsealed::Forged)
        );
        assert_eq!(key.open::<Req>(&field, None, 1001), Err(Unsealed::Forged));
        let rotated = FormKey::derive("pem two");
        assert_eq!(
            rotated.open::<Req>(&field, Some(&browser), 1001),
            Err(Unsealed::Expired)
        );
    }

    #[test]
    fn an_altered_or_foreign_field_does_not_open() {
        let key = FormKey::derive("pem");
        let browser = BrowserKey::generate();
        let field = key.seal(&req(), &browser, 1000);
        let mut bytes = URL_SAFE_NO_PAD.decode(&field).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let altered = URL_SAFE_NO_PAD.encode(bytes);
        for bad in [altered.as_str(), "", "AAAA", "not base64 !", &field[..20]] {
            assert_eq!(
                key.open::<Req>(bad, Some(&browser), 1001),
                Err(Unsealed::Expired),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_cookie_is_found_once_and_well_formed_or_not_at_all() {
        let b = BrowserKey::generate();
        let one = format!("a=1; {COOKIE}={}; b=2", b.value());
        assert_eq!(cookie_of([one.as_str()].into_iter()), Some(b.clone()));
        let split = format!("{COOKIE}={}", b.value());
        assert_eq!(
            cookie_of(["a=1", split.as_str()].into_iter()),
            Some(b.clone())
        );
        assert_eq!(cookie_of([one.as_str(), split.as_str()].into_iter()), None);
        assert_eq!(cookie_of(["a=1"].into_iter()), None);
        let short = format!("{COOKIE}=abc");
        assert_eq!(cookie_of([short.as_str()].into_iter()), None);
        let set = set_cookie(&b);
        assert!(set.starts_with(&format!("{COOKIE}={}; Path=/;", b.value())));
        for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Max-Age=600"] {
            assert!(set.contains(attr), "{set}");
        }
        assert!(!format!("{b:?}").contains(b.value()));
    }
}
