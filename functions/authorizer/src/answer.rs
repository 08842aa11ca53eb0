//! The answer API Gateway reads, written straight to JSON from the verified token and the IAM
//! policy (`crate::policy`): no intermediate `Value`s. The policies already written are shared
//! by tokens of the same reach on the same stage (`Policies`).

use std::collections::HashMap;
use std::fmt::Display;
use std::sync::{Arc, Mutex, PoisonError};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use tollgate_oauth::access_token::{RESERVED_CLAIMS, is_gateway_context_key};
use tollgate_oauth::scope::Scopes;
use tollgate_oauth::verify::VerifiedToken;

use crate::policy::{Policy, RouteArn};
use crate::route::RouteRules;

/// What the authorizer returns for a valid token.
#[derive(Debug)]
pub enum Answer<'a> {
    /// `{isAuthorized, context}`: an HTTP API with simple responses.
    Simple { allowed: bool, context: Context<'a> },
    /// `{principalId, policyDocument, context}`, the policy as written by [`Policies`].
    Iam {
        principal: &'a str,
        policy: &'a RawValue,
        context: Context<'a>,
    },
}

impl Serialize for Answer<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        match self {
            Self::Simple { allowed, context } => {
                m.serialize_entry("isAuthorized", allowed)?;
                m.serialize_entry("context", context)?;
            }
            Self::Iam {
                principal,
                policy,
                context,
            } => {
                m.serialize_entry("principalId", principal)?;
                m.serialize_entry("policyDocument", policy)?;
                m.serialize_entry("context", context)?;
            }
        }
        m.end()
    }
}

/// The context API Gateway hands the backend: `sub`, `client_id`, `scope`, then the user
/// details, each a flat string, number or boolean. Arrays and objects become their JSON text
/// (`["staff","beta"]`); nulls are left out.
#[derive(Debug)]
pub struct Context<'a>(pub &'a VerifiedToken);

impl Serialize for Context<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let t = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("sub", &t.sub)?;
        m.serialize_entry("client_id", &t.client_id)?;
        m.serialize_entry("scope", &AsText(&t.scope))?;
        for (k, v) in &t.details {
            if RESERVED_CLAIMS.contains(&k.as_str()) || is_gateway_context_key(k) {
                continue;
            }
            match v {
                Value::Null => {}
                Value::String(_) | Value::Number(_) | Value::Bool(_) => m.serialize_entry(k, v)?,
                Value::Array(_) | Value::Object(_) => m.serialize_entry(k, &AsText(v))?,
            }
        }
        m.end()
    }
}

/// A value written as the JSON string of its `Display` text.
struct AsText<'a, T: Display>(&'a T);

impl<T: Display> Serialize for AsText<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self.0)
    }
}

/// Policy documents already written, by API-and-stage prefix and by which rules the token's
/// scopes satisfy: the document depends on nothing else (the rules are fixed at cold start), so
/// tokens with the same reach on the same stage share one. At most [`Policies::CAPACITY`] are
/// kept; when full, the set is emptied and refilled (the next decisions write them again).
#[derive(Debug, Default)]
pub struct Policies {
    written: Mutex<HashMap<(String, u64), Arc<RawValue>>>,
}

impl Policies {
    pub const CAPACITY: usize = 64;

    /// The policy of `scopes` at `arn`'s API and stage under `routes`.
    pub fn get(&self, routes: &RouteRules, scopes: &Scopes, arn: &RouteArn) -> Arc<RawValue> {
        let render = || {
            let policy = Policy {
                routes,
                scopes,
                arn,
            };
            // Plain strings and maps always serialise; `null` is never reached.
            serde_json::value::to_raw_value(&policy)
                .map(Arc::from)
                .unwrap_or_else(|_| Arc::from(RawValue::NULL.to_owned()))
        };
        // One bit per rule: whether the scopes satisfy it. Past 64 rules, no sharing.
        if routes.rules.len() > 64 {
            return render();
        }
        let mask = routes
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.scopes.is_subset_of(scopes))
            .fold(0u64, |m, (i, _)| m | 1 << i);
        let lock = || self.written.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (arn.prefix.clone(), mask);
        if let Some(hit) = lock().get(&key) {
            return hit.clone();
        }
        let written = render();
        let mut map = lock();
        if map.len() >= Self::CAPACITY {
            map.clear();
        }
        map.insert(key, written.clone());
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::policy_document;
    use crate::route::Unlisted;

    #[test]
    fn a_shared_policy_is_the_one_written_for_that_token_and_stage() {
        let routes = RouteRules::parse(
            "GET /orders/*=orders:read; POST /orders=orders:write; ANY /admin/*=admin",
            Unlisted::Deny,
        )
        .unwrap();
        let policies = Policies::default();
        for round in 0..2 {
            for stage in ["prod", "test"] {
                let arn =
                    RouteArn::parse(&format!("arn:aws:execute-api:r:1:api/{stage}/GET/x")).unwrap();
                for scopes in ["", "orders:read", "orders:read orders:write", "admin x"] {
                    let scopes = Scopes::parse(scopes).unwrap();
                    let shared: Value =
                        serde_json::from_str(policies.get(&routes, &scopes, &arn).get()).unwrap();
                    assert_eq!(
                        shared,
                        policy_document(&routes, &scopes, &arn),
                        "round {round}, {stage}, {scopes}"
                    );
                }
            }
        }
        assert_eq!(policies.written.lock().unwrap().len(), 8);
    }

    #[test]
    fn the_shared_policies_stay_bounded() {
        let routes = RouteRules::parse("GET /a=a", Unlisted::Deny).unwrap();
        let policies = Policies::default();
        let scopes = Scopes::parse("a").unwrap();
        for i in 0..500 {
            let arn = RouteArn::parse(&format!("arn:aws:execute-api:r:1:api{i}/s/GET/a")).unwrap();
            let doc: Value =
                serde_json::from_str(policies.get(&routes, &scopes, &arn).get()).unwrap();
            assert_eq!(doc, policy_document(&routes, &scopes, &arn));
            assert!(policies.written.lock().unwrap().len() <= Policies::CAPACITY);
        }
    }
}
