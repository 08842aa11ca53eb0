//! AWS Signature Version 4 for the reader's one kind of request, written out rather than taken
//! from the SDK (which the authorizer does not link): the canonical request, the string to sign,
//! the derived key and the `Authorization` header, as
//! <https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html>
//! describes them. Checked against AWS's published test suite and against the SDK's signer.

use std::fmt;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac;

/// The credentials a request is signed with: Lambda's, from its environment.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A signing time: `YYYYMMDD'T'HHMMSS'Z'` and its date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmzDate {
    pub stamp: String,
}

impl AmzDate {
    /// The UTC time `secs` seconds after the epoch.
    pub fn from_unix(secs: u64) -> Self {
        let days = secs / 86_400;
        let rem = secs % 86_400;
        let (y, m, d) = civil_from_days(days);
        Self {
            stamp: format!(
                "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
                rem / 3600,
                rem % 3600 / 60,
                rem % 60
            ),
        }
    }

    /// `YYYYMMDD`.
    pub fn date(&self) -> &str {
        self.stamp.get(..8).unwrap_or_default()
    }
}

/// Year, month, day of the day `days` after 1970-01-01 (proleptic Gregorian; Howard Hinnant's
/// `civil_from_days`).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

/// What is signed of one request. `path` and `query` are given already canonical (the reader
/// only ever sends `POST /` with no query); headers as sent, the signer canonicalises them.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a [(&'a str, &'a str)],
    pub payload: &'a [u8],
}

/// Where and as whom a request is signed.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    pub region: &'a str,
    pub service: &'a str,
    pub date: &'a AmzDate,
}

impl Scope<'_> {
    fn credential_scope(&self) -> String {
        format!(
            "{}/{}/{}/aws4_request",
            self.date.date(),
            self.region,
            self.service
        )
    }
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    s
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(digest(&SHA256, bytes).as_ref())
}

/// Header names lower-cased and sorted, values trimmed with inner runs of spaces made one, a
/// name given twice joined with commas: the canonical headers and the signed-header list.
fn canonical_headers(headers: &[(&str, &str)]) -> (String, String) {
    let mut list: Vec<(String, String)> = headers
        .iter()
        .map(|(n, v)| {
            let value = v.split_whitespace().collect::<Vec<_>>().join(" ");
            (n.to_ascii_lowercase(), value)
        })
        .collect();
    list.sort_by(|a, b| a.0.cmp(&b.0));
    let mut merged: Vec<(String, String)> = Vec::with_capacity(list.len());
    for (name, value) in list {
        match merged.last_mut() {
            Some((last, joined)) if *last == name => {
                joined.push(',');
                joined.push_str(&value);
            }
            _ => merged.push((name, value)),
        }
    }
    let canonical = merged.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let signed = merged
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (canonical, signed)
}

/// The canonical request and the list of signed headers.
pub fn canonical_request(req: &Request<'_>) -> (String, String) {
    let (headers, signed) = canonical_headers(req.headers);
    let text = format!(
        "{}\n{}\n{}\n{headers}\n{signed}\n{}",
        req.method,
        req.path,
        req.query,
        sha256_hex(req.payload)
    );
    (text, signed)
}

/// The string to sign for a canonical request.
pub fn string_to_sign(canonical: &str, scope: &Scope<'_>) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{}\n{}\n{}",
        scope.date.stamp,
        scope.credential_scope(),
        sha256_hex(canonical.as_bytes())
    )
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> Vec<u8> {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    hmac::sign(&key, data).as_ref().to_vec()
}

/// The key derived for one day, region and service.
pub fn signing_key(secret: &str, scope: &Scope<'_>) -> Vec<u8> {
    let k_date = hmac_sha256(
        format!("AWS4{secret}").as_bytes(),
        scope.date.date().as_bytes(),
    );
    let k_region = hmac_sha256(&k_date, scope.region.as_bytes());
    let k_service = hmac_sha256(&k_region, scope.service.as_bytes());
    hmac_sha256(&k_service, b"aws4_request")
}

/// The `Authorization` header of `req`. Every header in `req.headers` is signed; the caller
/// includes `host` and `x-amz-date` (and `x-amz-security-token` with temporary credentials).
pub fn authorization(creds: &Credentials, scope: &Scope<'_>, req: &Request<'_>) -> String {
    let (canonical, signed) = canonical_request(req);
    let to_sign = string_to_sign(&canonical, scope);
    let signature = hex(&hmac_sha256(
        &signing_key(&creds.secret_access_key, scope),
        to_sign.as_bytes(),
    ));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={signed}, Signature={signature}",
        creds.access_key_id,
        scope.credential_scope()
    )
}

#[cfg(test)]
mod tests;
