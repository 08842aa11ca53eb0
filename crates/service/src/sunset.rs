//! The dates of a password-grant sunset: read from the admin CLI (RFC 3339 date or date-time),
//! and written into the `Deprecation` (RFC 9745) and `Sunset` (RFC 8594) headers and the audit
//! trail.

use chrono::{DateTime, NaiveDate, Utc};

use crate::client::PasswordGrantSunset;

/// Reads `2026-03-31` (midnight UTC, the start of that day) or an RFC 3339 date-time such as
/// `2026-03-31T12:00:00Z` or `2026-03-31T14:00:00+02:00`, as seconds since the epoch.
pub fn parse_date(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let secs = if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp())
    } else {
        DateTime::parse_from_rfc3339(s).ok().map(|t| t.timestamp())
    };
    match secs {
        Some(t) if t >= 0 => Ok(t.unsigned_abs()),
        Some(_) => Err("a date after 1970".into()),
        None => Err(
            "an RFC 3339 date (2026-03-31) or date-time (2026-03-31T12:00:00Z), or `none`".into(),
        ),
    }
}

fn utc(secs: u64) -> DateTime<Utc> {
    i64::try_from(secs)
        .ok()
        .and_then(|s| DateTime::from_timestamp(s, 0))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// RFC 3339 in UTC, whole seconds: `2026-03-31T00:00:00Z` (audit events, messages): the token
/// format's one writer of it, which error descriptions use too.
pub fn rfc3339(secs: u64) -> String {
    tollgate_oauth::clock::rfc3339(secs)
}

/// An HTTP date (IMF-fixdate, RFC 9110 §5.6.7): `Tue, 31 Mar 2026 00:00:00 GMT`. The `Sunset`
/// header's value (RFC 8594 §3).
pub fn http_date(secs: u64) -> String {
    utc(secs).format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

/// A Structured Field Date (RFC 9651 §3.3.7): `@1774915200`. The `Deprecation` header's value
/// (RFC 9745 §2.1).
pub fn structured_date(secs: u64) -> String {
    format!("@{secs}")
}

/// The two headers a password-grant answer carries before the sunset.
pub fn headers(s: &PasswordGrantSunset) -> [(&'static str, String); 2] {
    [
        ("deprecation", structured_date(s.deprecated_at)),
        ("sunset", http_date(s.sunset_at)),
    ]
}

#[cfg(test)]
mod tests {
    use chrono::SecondsFormat;

    use super::*;

    #[test]
    fn dates_and_date_times_are_read_in_utc() {
        assert_eq!(parse_date("2026-03-31"), Ok(1_774_915_200));
        assert_eq!(parse_date("2026-03-31T00:00:00Z"), Ok(1_774_915_200));
        assert_eq!(parse_date("2026-03-31T02:00:00+02:00"), Ok(1_774_915_200));
        assert_eq!(parse_date(" 1970-01-01 "), Ok(0));
        for bad in [
            "",
            "tomorrow",
            "2026-02-30",
            "2026-3-1x",
            "31/03/2026",
            "1969-12-31",
            "2026-03-31 12:00",
        ] {
            assert!(parse_date(bad).is_err(), "{bad:?}");
        }
    }

    /// RFC 8594 §3's `Sunset: <IMF-fixdate>` (its example's weekday is off; 31 Dec 2018 was a
    /// Monday) and RFC 9745 §2.1's `Deprecation: @1688169599`.
    #[test]
    fn headers_are_written_in_the_rfcs_formats() {
        assert_eq!(http_date(1_546_300_799), "Mon, 31 Dec 2018 23:59:59 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(structured_date(1_688_169_599), "@1688169599");
        assert_eq!(rfc3339(1_774_915_200), "2026-03-31T00:00:00Z");
        let h = headers(&PasswordGrantSunset {
            sunset_at: 1_774_915_200,
            deprecated_at: 1_764_000_000,
        });
        assert_eq!(h[0], ("deprecation", "@1764000000".to_owned()));
        assert_eq!(h[1], ("sunset", "Tue, 31 Mar 2026 00:00:00 GMT".to_owned()));
        // Out of range never panics.
        assert!(http_date(u64::MAX).ends_with("GMT"));
    }

    /// The token format's writer (no chrono) writes what chrono does, over 4-digit years.
    #[test]
    fn rfc3339_is_chronos_rfc3339() {
        let mut secs = 0u64;
        while secs <= 253_402_300_799 {
            let chrono = utc(secs).to_rfc3339_opts(SecondsFormat::Secs, true);
            assert_eq!(rfc3339(secs), chrono, "{secs}");
            secs += 7_654_321;
        }
        for secs in [
            951_782_399,
            951_782_400,
            4_107_542_399,
            4_107_542_400,
            253_402_300_799,
        ] {
            let chrono = utc(secs).to_rfc3339_opts(SecondsFormat::Secs, true);
            assert_eq!(rfc3339(secs), chrono, "{secs}");
        }
    }
}
