//! The token service wired in the test process on DynamoDB Local, for the tests that drive the
//! domain directly (races of 32 requests on one store, counted password checks).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::sync::Arc;

use tollgate_oauth::access_token::AccessTokenIssuer;
use tollgate_oauth::clock::SystemClock;
use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem};
use tollgate_service::endpoint::{GrantPolicy, TokenService};
use tollgate_service::lockout::LockoutPolicy;
use tollgate_service::password::{PasswordVerifier, VerifiedUser};
use tollgate_service::store::dynamo::{
    DynamoClientStore, DynamoLockoutStore, DynamoRateLimitStore, DynamoRefreshStore,
    DynamoRevocationStore,
};
use tollgate_service::testkit::memory::MemoryVerifier;

use crate::TestTables;

/// An in-memory password check that knows one user: alice, password `pw`, sub `u1`.
pub fn alice_only() -> Arc<dyn PasswordVerifier> {
    let user = VerifiedUser {
        sub: "u1".into(),
        details: Default::default(),
    };
    Arc::new(MemoryVerifier::default().with_user("alice", "pw", user))
}

/// The token service on one test's tables, asking `verifier`, with a fresh ES256 key and short
/// lifetimes (a lockout after 5 failures within a minute).
pub fn dynamo_service(
    db: &aws_sdk_dynamodb::Client,
    t: &TestTables,
    verifier: Arc<dyn PasswordVerifier>,
) -> TokenService {
    let key = SigningKey::from_pem(
        &generate_pem(SigningAlg::Es256).unwrap(),
        SigningAlg::Es256,
        None,
    )
    .unwrap();
    TokenService {
        clients: Arc::new(DynamoClientStore::new(db.clone(), &t.clients)),
        refresh: Arc::new(DynamoRefreshStore::new(db.clone(), &t.tokens)),
        codes: Arc::new(DynamoRefreshStore::new(db.clone(), &t.tokens)),
        lockout: Arc::new(DynamoLockoutStore::new(db.clone(), &t.lockouts)),
        rate_limits: Arc::new(DynamoRateLimitStore::new(db.clone(), &t.lockouts)),
        revocations: Arc::new(DynamoRevocationStore::new(db.clone(), &t.revocations)),
        verifier,
        directory: None,
        legacy: None,
        issuer: AccessTokenIssuer::new("iss".into(), "aud".into(), Arc::new(key)),
        policy: GrantPolicy {
            access_token_ttl: 60,
            refresh_token_ttl: 600,
            refresh_family_ttl: 3600,
            lockout: LockoutPolicy {
                max_failures: 5,
                window_secs: 60,
                lockout_secs: 60,
            },
            user_claims: vec![],
            rate_limit: 0,
            refresh_reuse_grace: 0,
            lost_answer_window: 30,
            max_claims_age: None,
        },
        clock: Arc::new(SystemClock),
        secrets: Default::default(),
        known_limits: Default::default(),
    }
}
