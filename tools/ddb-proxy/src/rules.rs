//! Fault rules: which requests lose, hold back or delay their answer. A rule matches by
//! operation (`X-Amz-Target`) and by a substring of the request body, so a test can aim at its
//! own items while other tests use the same proxy; it fires for the next `count` matches, or
//! until it is removed.

use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// A rule as the control API takes it (`POST /rules`). Unknown fields are refused: a misspelt
/// `body_contains` must not turn into a rule that matches every request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// What happens to the answer of a matching request.
    pub action: Action,
    /// The operation: the whole `X-Amz-Target` (`DynamoDB_20120810.TransactWriteItems`) or
    /// the part after its dot (`TransactWriteItems`). Absent: every operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// A substring the request body must contain (a client id, an item key). Absent: any body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    /// How many matching requests the rule takes; absent: every one until the rule is removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// What becomes of the answer of a request a rule takes. The request itself is always
/// forwarded, and DynamoDB applies it: only its answer is lost or late.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Once DynamoDB has answered, close the client's connection without a byte of answer.
    Drop,
    /// Never answer: the connection stays open until the client gives up and closes it.
    Swallow,
    /// Answer, `ms` milliseconds late.
    Delay { ms: u64 },
    /// Start a stall of `ms` milliseconds (`crate::stall`) that holds this request too: DynamoDB
    /// freezes just as this request reaches it.
    Stall { ms: u64 },
}

/// A rule with what it has done so far (`GET /rules`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleState {
    pub id: u64,
    #[serde(flatten)]
    pub spec: RuleSpec,
    /// Requests it has taken.
    pub hits: u64,
}

impl RuleState {
    fn exhausted(&self) -> bool {
        self.spec.count.is_some_and(|c| self.hits >= c)
    }
}

impl RuleSpec {
    /// Whether a request with this `X-Amz-Target` and body falls under the rule.
    pub fn matches(&self, target: Option<&str>, body: &[u8]) -> bool {
        let target_ok = match (&self.target, target) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(want), Some(got)) => {
                got == want || got.rsplit_once('.').is_some_and(|(_, op)| op == want)
            }
        };
        let body_ok = self
            .body_contains
            .as_deref()
            .is_none_or(|needle| contains(body, needle.as_bytes()));
        target_ok && body_ok
    }

    /// Refuses a rule that could never fire or would fire by mistake.
    pub fn check(&self) -> Result<(), String> {
        if self.count == Some(0) {
            return Err(
                "count 0 would never fire: leave count out for a rule until removed".into(),
            );
        }
        if self.body_contains.as_deref() == Some("") || self.target.as_deref() == Some("") {
            return Err("an empty target or body_contains matches everything: leave it out".into());
        }
        Ok(())
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// The rules in force, in the order they were added: the first that matches and is not used
/// up takes the request.
#[derive(Debug, Default)]
pub struct Rules {
    inner: Mutex<RuleList>,
}

#[derive(Debug, Default)]
struct RuleList {
    next_id: u64,
    rules: Vec<RuleState>,
}

impl Rules {
    fn list(&self) -> std::sync::MutexGuard<'_, RuleList> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add(&self, spec: RuleSpec) -> Result<RuleState, String> {
        spec.check()?;
        let mut list = self.list();
        list.next_id += 1;
        let rule = RuleState {
            id: list.next_id,
            spec,
            hits: 0,
        };
        list.rules.push(rule.clone());
        Ok(rule)
    }

    /// The rule that takes this request, counted as a hit; none: the request passes through.
    pub fn take(&self, target: Option<&str>, body: &[u8]) -> Option<(u64, Action)> {
        let mut list = self.list();
        let rule = list
            .rules
            .iter_mut()
            .find(|r| !r.exhausted() && r.spec.matches(target, body))?;
        rule.hits += 1;
        Some((rule.id, rule.spec.action))
    }

    pub fn all(&self) -> Vec<RuleState> {
        self.list().rules.clone()
    }

    pub fn get(&self, id: u64) -> Option<RuleState> {
        self.list().rules.iter().find(|r| r.id == id).cloned()
    }

    /// Removes one rule; whether it was there.
    pub fn remove(&self, id: u64) -> bool {
        let mut list = self.list();
        let before = list.rules.len();
        list.rules.retain(|r| r.id != id);
        list.rules.len() != before
    }

    pub fn clear(&self) {
        self.list().rules.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWI: &str = "DynamoDB_20120810.TransactWriteItems";

    fn spec(target: Option<&str>, body: Option<&str>, count: Option<u64>) -> RuleSpec {
        RuleSpec {
            action: Action::Drop,
            target: target.map(Into::into),
            body_contains: body.map(Into::into),
            count,
        }
    }

    #[test]
    fn a_target_matches_whole_or_by_operation_name_only() {
        let r = spec(Some("TransactWriteItems"), None, None);
        assert!(r.matches(Some(TWI), b"{}"));
        assert!(!r.matches(Some("DynamoDB_20120810.TransactGetItems"), b"{}"));
        assert!(!r.matches(None, b"{}"));
        let whole = spec(Some(TWI), None, None);
        assert!(whole.matches(Some(TWI), b"{}"));
        assert!(!whole.matches(Some("DynamoDB_20120810.PutItem"), b"{}"));
        let part = spec(Some("WriteItems"), None, None);
        assert!(
            !part.matches(Some(TWI), b"{}"),
            "no partial operation names"
        );
    }

    #[test]
    fn a_body_substring_narrows_a_rule_to_its_own_items() {
        let r = spec(None, Some("client-abc"), None);
        assert!(r.matches(Some(TWI), br#"{"x":"client-abc"}"#));
        assert!(!r.matches(Some(TWI), br#"{"x":"client-abd"}"#));
        assert!(spec(None, None, None).matches(None, b""));
    }

    #[test]
    fn a_counted_rule_takes_exactly_its_count_then_lets_requests_pass() {
        let rules = Rules::default();
        let id = rules.add(spec(None, Some("mine"), Some(2))).unwrap().id;
        assert_eq!(rules.take(None, b"theirs"), None);
        assert_eq!(rules.take(None, b"mine"), Some((id, Action::Drop)));
        assert_eq!(rules.take(None, b"mine"), Some((id, Action::Drop)));
        assert_eq!(rules.take(None, b"mine"), None);
        assert_eq!(rules.get(id).unwrap().hits, 2);
    }

    #[test]
    fn the_first_live_rule_wins_and_removed_rules_stop() {
        let rules = Rules::default();
        let first = rules.add(spec(None, None, Some(1))).unwrap().id;
        let mut swallow = spec(None, None, None);
        swallow.action = Action::Swallow;
        let second = rules.add(swallow).unwrap().id;
        assert_eq!(rules.take(None, b""), Some((first, Action::Drop)));
        assert_eq!(rules.take(None, b""), Some((second, Action::Swallow)));
        assert!(rules.remove(second));
        assert!(!rules.remove(second));
        assert_eq!(rules.take(None, b""), None);
        rules.clear();
        assert!(rules.all().is_empty());
    }

    #[test]
    fn rules_that_could_not_fire_or_would_match_everything_by_mistake_are_refused() {
        assert!(spec(None, None, Some(0)).check().is_err());
        assert!(spec(None, Some(""), None).check().is_err());
        assert!(spec(Some(""), None, None).check().is_err());
        let typo = r#"{"action":{"kind":"drop"},"body_contain":"x"}"#;
        assert!(serde_json::from_str::<RuleSpec>(typo).is_err());
        let ok = r#"{"action":{"kind":"delay","ms":5},"target":"GetItem","count":1}"#;
        let parsed: RuleSpec = serde_json::from_str(ok).unwrap();
        assert_eq!(parsed.action, Action::Delay { ms: 5 });
        let stall = r#"{"action":{"kind":"stall","ms":5000},"body_contains":"token#ab"}"#;
        let parsed: RuleSpec = serde_json::from_str(stall).unwrap();
        assert_eq!(parsed.action, Action::Stall { ms: 5000 });
    }
}
