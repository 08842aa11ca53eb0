//! Brute-force protection for the password grant (RFC 6749 §4.3.2). Every guess reserves an
//! attempt *before* the auth endpoint is asked, with one conditional write, so parallel guesses
//! cannot outrun the count; the failure that reaches the limit locks the username for a while.

use async_trait::async_trait;
use icu_normalizer::ComposingNormalizerBorrowed;
use icu_properties::CodePointSetData;
use icu_properties::props::DefaultIgnorableCodePoint;
use tollgate_oauth::error::{Description, Fact};
use tollgate_oauth::secret::hash_str;
use tollgate_telemetry::audit::UsernameHash;

/// Thresholds, from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures within `window` that lock the username; also the most guesses that may be
    /// in flight at once. 0 turns the protection off.
    pub max_failures: u32,
    pub window_secs: u64,
    pub lockout_secs: u64,
}

/// Why a username cannot be used at all (`invalid_request`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("username is empty")]
    Empty,
    #[error("username contains control characters")]
    ControlCharacter,
    #[error("username contains a line separator or a text-direction control")]
    DirectionControl,
    #[error("username is longer than {MAX_USERNAME_BYTES} bytes")]
    TooLong,
}

impl UsernameError {
    /// The `error_description` of the `invalid_request` it becomes.
    pub fn description(self) -> Description {
        match self {
            Self::Empty => "username is empty".into(),
            Self::ControlCharacter => "username contains control characters".into(),
            Self::DirectionControl => {
                "username contains a line separator or a text-direction control".into()
            }
            Self::TooLong => Description::with(
                "username is longer than {} bytes",
                &[Fact::Number(MAX_USERNAME_BYTES as u64)],
            ),
        }
    }
}

/// Longer usernames are refused: no directory has them, and they only cost hashing.
pub const MAX_USERNAME_BYTES: usize = 512;

/// Whether `c` breaks a line or steers the direction text is shown in: the line and paragraph
/// separators (U+2028, U+2029), the bidi embeddings and overrides (U+202A–U+202E), isolates
/// (U+2066–U+2069) and marks (U+200E, U+200F, U+061C). None is part of anyone's name; each
/// can make a name, a log line or an admin screen read as something else (Trojan Source,
/// CVE-2021-42574). Right-to-left letters are letters and pass.
pub fn is_direction_control(c: char) -> bool {
    matches!(
        c,
        '\u{2028}'
            | '\u{2029}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2066}'..='\u{2069}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{061C}'
    )
}

/// The username as Tollgate passes it on: surrounding whitespace removed (directories ignore
/// it), and refused when it holds a control character, a line separator or a text-direction
/// control (it could become a token's `sub`).
pub fn clean_username(raw: &str) -> Result<&str, UsernameError> {
    let u = raw.trim();
    if u.is_empty() {
        return Err(UsernameError::Empty);
    }
    if u.len() > MAX_USERNAME_BYTES {
        return Err(UsernameError::TooLong);
    }
    if u.chars().any(char::is_control) {
        return Err(UsernameError::ControlCharacter);
    }
    if u.chars().any(is_direction_control) {
        return Err(UsernameError::DirectionControl);
    }
    Ok(u)
}

/// The one form every variant of a username is counted under: NFKC (full-width and other
/// compatibility forms fold to their plain letters), invisible default-ignorable code points
/// dropped, Unicode case folding, NFKC again, surrounding whitespace trimmed.
pub fn canonical_username(username: &str) -> String {
    let nfkc = ComposingNormalizerBorrowed::new_nfkc();
    let ignorable = CodePointSetData::new::<DefaultIgnorableCodePoint>();
    let visible: String = nfkc
        .normalize(username)
        .chars()
        .filter(|c| !ignorable.contains(*c))
        .collect();
    let mut folded = String::with_capacity(visible.len());
    for c in visible.chars() {
        // Lowercase is case folding except for these (the rest of the differences are
        // compatibility characters that NFKC has already replaced).
        match c {
            'ß' | 'ẞ' => folded.push_str("ss"),
            'ς' => folded.push('σ'),
            '\u{345}' => folded.push('ι'),
            c => folded.extend(c.to_lowercase()),
        }
    }
    nfkc.normalize(&folded).trim().to_owned()
}

/// The key a username is counted under: its canonical form, hashed, so the table holds no
/// usernames.
pub fn lockout_key(username: &str) -> String {
    hash_str(&canonical_username(username))
}

/// The short hash audit events carry for a username: of its canonical form, so every variant of
/// one username (`Alice`, ` alice`, full-width) correlates, as the lockout counts them.
pub fn username_hash(username: &str) -> UsernameHash {
    UsernameHash::of_canonical(&canonical_username(username.trim()))
}

/// The answer to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// This attempt may ask the auth endpoint.
    Granted,
    /// The username is locked: refuse without asking the auth endpoint.
    Locked,
    /// Not locked, but the window's attempts are all taken by checks still in flight: refuse
    /// for now (a retry shortly after finds them finished: counted or reset by a success).
    Busy,
}

#[derive(Debug, thiserror::Error)]
pub enum LockoutStoreError {
    #[error("failed to read or write login-failure counter")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[async_trait]
pub trait LockoutStore: Send + Sync {
    /// Atomically takes one of the window's `max_failures` attempts, unless the key is locked
    /// or none is left. A window opens at the first attempt and lasts `window_secs`.
    async fn reserve(
        &self,
        key: &str,
        now: u64,
        policy: &LockoutPolicy,
    ) -> Result<Reservation, LockoutStoreError>;
    /// A reserved attempt failed: counts the failure in the open window (or as the first of a
    /// new one); returns `Some(until)` if this failure locked the key. Locking clears the
    /// counts, so after the lock the user has a fresh set.
    async fn record_failure(
        &self,
        key: &str,
        now: u64,
        policy: &LockoutPolicy,
    ) -> Result<Option<u64>, LockoutStoreError>;
    /// Gives a reserved attempt back: the auth endpoint gave no answer, so nobody learnt
    /// anything from it.
    async fn release(&self, key: &str) -> Result<(), LockoutStoreError>;
    /// `Some(until)` when the key is locked at `now` (for operators and tests; the grant relies
    /// on `reserve` alone).
    async fn locked_until(&self, key: &str, now: u64) -> Result<Option<u64>, LockoutStoreError>;
    /// Forgets attempts and failures after a successful login.
    async fn reset(&self, key: &str) -> Result<(), LockoutStoreError>;
}

/// The lockout policy applied to one username's attempt: the only place that knows whether
/// lockout is on (`max_failures > 0`). With it off, every attempt is granted and nothing is
/// counted.
pub struct LockoutGuard<'a> {
    store: &'a dyn LockoutStore,
    policy: &'a LockoutPolicy,
    key: String,
}

impl<'a> LockoutGuard<'a> {
    /// The guard for a username already cleaned by [`clean_username`].
    pub fn new(store: &'a dyn LockoutStore, policy: &'a LockoutPolicy, username: &str) -> Self {
        Self {
            store,
            policy,
            key: lockout_key(username),
        }
    }

    fn on(&self) -> bool {
        self.policy.max_failures > 0
    }

    /// Takes one of the username's attempts before its password is checked, so that parallel
    /// guesses are all counted.
    pub async fn reserve(&self, now: u64) -> Result<Reservation, LockoutStoreError> {
        if !self.on() {
            return Ok(Reservation::Granted);
        }
        self.store.reserve(&self.key, now, self.policy).await
    }

    /// The auth endpoint gave no answer: nobody learnt anything, so the attempt is given back.
    pub async fn release(&self) {
        if self.on()
            && let Err(e) = self.store.release(&self.key).await
        {
            tracing::warn!(error = %e, "failed to give back a login attempt");
        }
    }

    /// Counts a wrong password; `true` when this failure locked the username.
    pub async fn failed(&self, now: u64) -> bool {
        if !self.on() {
            return false;
        }
        match self.store.record_failure(&self.key, now, self.policy).await {
            Ok(locked) => locked.is_some(),
            // The attempt stays reserved, so the limit still holds.
            Err(e) => {
                tracing::warn!(error = %e, "failed to count login failure");
                false
            }
        }
    }

    /// A successful login forgets the count. A failed reset only leaves an older count that
    /// expires by TTL; the login stands.
    pub async fn succeeded(&self) {
        if self.on()
            && let Err(e) = self.store.reset(&self.key).await
        {
            tracing::warn!(error = %e, "failed to reset login-failure counter");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_of_a_username_share_one_key() {
        let base = lockout_key("alice");
        for v in [
            "Alice",
            "ALICE",
            " alice",
            "alice ",
            "alice\t",
            "\u{3000}alice",
            "ａｌｉｃｅ",
            "ＡＬＩＣＥ",
            "al\u{200b}ice",
            "\u{feff}alice",
        ] {
            assert_eq!(lockout_key(v), base, "{v:?}");
        }
        assert_ne!(lockout_key("alicia"), base);
        assert_eq!(canonical_username("Straße"), "strasse");
        assert_eq!(canonical_username("ΟΔΟΣ"), canonical_username("οδος"));
    }

    #[test]
    fn an_audited_username_is_the_short_hash_of_its_canonical_form() {
        use tollgate_telemetry::audit::{Event, Origin, render};
        use tollgate_telemetry::hash::short_hash;
        assert_eq!(username_hash(" ALICE "), username_hash("alice"));
        assert_eq!(username_hash("ａｌｉｃｅ"), username_hash("Alice"));
        let event = Event::LockoutStarted {
            client_id: "app",
            username_hash: username_hash("Alice"),
            locked_for_seconds: 900,
        };
        let line = render(&event, &Origin::default(), 0);
        assert!(!line.contains("Alice") && !line.contains("alice"), "{line}");
        let line: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
        assert_eq!(line["username_hash"], short_hash("alice"));
    }

    #[test]
    fn usernames_are_trimmed_and_control_characters_refused() {
        assert_eq!(clean_username("  alice\t"), Ok("alice"));
        assert_eq!(clean_username(" \t "), Err(UsernameError::Empty));
        for bad in ["al\nice", "alice\u{0}x", "a\u{7f}b", "a\u{85}b"] {
            assert_eq!(
                clean_username(bad),
                Err(UsernameError::ControlCharacter),
                "{bad:?}"
            );
        }
        assert_eq!(
            clean_username(&"a".repeat(MAX_USERNAME_BYTES + 1)),
            Err(UsernameError::TooLong)
        );
    }

    #[test]
    fn line_separators_and_direction_controls_are_refused_and_right_to_left_letters_pass() {
        let controls = [
            '\u{2028}', '\u{2029}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}',
            '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ];
        for c in controls {
            let inside = format!("ali{c}ce");
            assert_eq!(
                clean_username(&inside),
                Err(UsernameError::DirectionControl),
                "U+{:04X} in {inside:?}",
                u32::from(c)
            );
            for edge in [format!("{c}alice"), format!("alice{c}")] {
                // The separators are white space: around a name they are trimmed, as a
                // trailing newline is; the direction controls are not, and are refused.
                let want = if c.is_whitespace() {
                    Ok("alice")
                } else {
                    Err(UsernameError::DirectionControl)
                };
                assert_eq!(clean_username(&edge), want, "U+{:04X}", u32::from(c));
            }
        }
        // The neighbours of each range are not controls.
        for c in [
            '\u{2027}', '\u{202F}', '\u{2065}', '\u{206A}', '\u{200D}', '\u{061B}',
        ] {
            assert!(!is_direction_control(c), "U+{:04X}", u32::from(c));
        }
        for name in [
            "مريم",
            "שרה",
            "ناصر.الدين",
            "דוד-כהן",
            "user-مريم",
            "Σωκράτης",
        ] {
            assert_eq!(clean_username(name), Ok(name), "{name}");
        }
    }
}
