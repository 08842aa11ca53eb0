//! `/introspect` and the authorizer agree on every token: for random sequences of sign-ins,
//! refreshes, reuse, `/revoke` of refresh and access tokens, session revocations by user, by
//! client and by both, the user gone, machine tokens, and clients disabled and enabled again,
//! each access token issued so far is active at `/introspect` exactly when the authorizer allows
//! it on a route its scope covers, once the authorizer's state is past its freshness bound.
//!
//! The token service runs in this process on its DynamoDB adapters, the authorizer on its own
//! configuration and reader (the signed Query, no SDK), both on DynamoDB Local.

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{Map, json};
use tollgate_authorizer::config::State;
use tollgate_authorizer::handler::decide_json_with;
use tollgate_authorizer::revocation::Revocation;
use tollgate_oauth::access_token::AccessTokenIssuer;
use tollgate_oauth::clock::{Deadline, SystemClock};
use tollgate_oauth::keys::{SigningAlg, SigningKey, generate_pem, published_jwks};
use tollgate_oauth::secret::Secret;
use tollgate_oauth::verify::{AccessTokenVerifier, DEFAULT_MAX_LIFETIME, VerifierConfig};
use tollgate_revocation::dynamo::sigv4::Credentials;
use tollgate_revocation::dynamo::{DynamoReader, Endpoint, ReaderConfig};
use tollgate_revocation::feed::{Clock, Feed, Policy, Stamp, SystemClock as Wall, WhenUnreadable};
use tollgate_service::TokenService;
use tollgate_service::client::{ClientCredentials, ClientUpdate, GrantType};
use tollgate_service::endpoint::TokenRequest;
use tollgate_service::endpoint::introspect::{IntrospectionRequest, Introspector};
use tollgate_service::endpoint::revoke::RevocationRequest;
use tollgate_service::endpoint::sessions::revoke_sessions;
use tollgate_service::password::VerifiedUser;
use tollgate_service::refresh::SessionQuery;
use tollgate_service::revocation::{RevocationStore, client_cut_off};
use tollgate_service::store::dynamo::DynamoRevocationStore;
use tollgate_service::testkit::memory::{MemoryDirectory, MemoryVerifier};
use tollgate_service::user_status::UserStatus;
use tollgate_tests::{ClientSpec, TestTables, create_tables, dynamo, dynamo_service};

const USERS: usize = 3;
const CLIENTS: usize = 2;
const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/request";

/// One step of a sequence.
#[derive(Debug, Clone)]
enum Op {
    Login {
        user: usize,
        client: usize,
    },
    Refresh {
        session: usize,
    },
    /// The session's first refresh token again, once rotated: reuse.
    Reuse {
        session: usize,
    },
    RevokeRefresh {
        session: usize,
    },
    RevokeAccess {
        token: usize,
    },
    BySubject {
        user: usize,
    },
    ByClient {
        client: usize,
    },
    BySubjectAndClient {
        user: usize,
        client: usize,
    },
    Gone {
        user: usize,
    },
    Machine,
    Disable {
        client: usize,
    },
    Enable {
        client: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let user = 0..USERS;
    let client = 0..CLIENTS;
    prop_oneof![
        3 => (user.clone(), client.clone()).prop_map(|(user, client)| Op::Login { user, client }),
        3 => (0..8usize).prop_map(|session| Op::Refresh { session }),
        1 => (0..8usize).prop_map(|session| Op::Reuse { session }),
        1 => (0..8usize).prop_map(|session| Op::RevokeRefresh { session }),
        1 => (0..16usize).prop_map(|token| Op::RevokeAccess { token }),
        1 => user.clone().prop_map(|user| Op::BySubject { user }),
        1 => client.clone().prop_map(|client| Op::ByClient { client }),
        1 => (user.clone(), client.clone())
            .prop_map(|(user, client)| Op::BySubjectAndClient { user, client }),
        1 => user.prop_map(|user| Op::Gone { user }),
        1 => Just(Op::Machine),
        1 => client.clone().prop_map(|client| Op::Disable { client }),
        1 => client.prop_map(|client| Op::Enable { client }),
    ]
}

/// The wall clock, with a monotonic one a test moves on: each comparison ages the authorizer's
/// state past its bound, so it reads first, while entries and DynamoDB keep the real time.
#[derive(Clone, Default)]
struct Aging {
    wall: Wall,
    extra_ms: Arc<std::sync::atomic::AtomicU64>,
}

impl Clock for Aging {
    fn now(&self) -> Stamp {
        let real = self.wall.now();
        let extra = self.extra_ms.load(std::sync::atomic::Ordering::SeqCst);
        Stamp {
            wall_ms: real.wall_ms,
            mono_ms: real.mono_ms + extra,
        }
    }
}

struct World {
    service: TokenService,
    keys: Introspector,
    authorizer: State,
    clock: Aging,
    clients: Vec<(String, String)>,
    machine: (String, String),
    rs: (String, String),
    directory: Arc<MemoryDirectory>,
    /// Each session: its client, its refresh tokens in order.
    sessions: Vec<(usize, Vec<String>)>,
    /// Every access token issued, with the client it was issued to.
    access: Vec<(String, (String, String))>,
    /// The revocation store, as the admin CLI writes it.
    revocations: Arc<DynamoRevocationStore>,
}

fn creds((id, secret): &(String, String)) -> Option<ClientCredentials> {
    Some(ClientCredentials {
        client_id: id.clone(),
        secret: Some(Secret::new(secret.as_str())),
    })
}

async fn world(case: &str) -> World {
    let db = dynamo().await;
    let t = create_tables(&db).await;
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(ClientSpec::default().create(&db, &t.clients).await);
    }
    let machine_spec = ClientSpec {
        grant_types: vec![GrantType::ClientCredentials],
        ..ClientSpec::default()
    };
    let machine = machine_spec.clone().create(&db, &t.clients).await;
    let rs_spec = ClientSpec {
        introspect_any: true,
        ..machine_spec
    };
    let rs = rs_spec.create(&db, &t.clients).await;
    let directory = Arc::new(MemoryDirectory::default());
    let mut verifier = MemoryVerifier::default();
    for u in 0..USERS {
        let sub = format!("{case}-sub-{u}");
        directory.set(&sub, Some(UserStatus::Active(Map::new())));
        let user = VerifiedUser {
            sub,
            details: Map::new(),
        };
        verifier = verifier.with_user(&format!("user{u}"), "pw", user);
    }
    let key = SigningKey::from_pem(
        &generate_pem(SigningAlg::Es256).unwrap(),
        SigningAlg::Es256,
        None,
    )
    .unwrap();
    let jwks = serde_json::to_string(&published_jwks(&key, None).unwrap()).unwrap();
    let revocations = Arc::new(DynamoRevocationStore::new(db.clone(), &t.revocations));
    let service = service(
        &db,
        &t,
        key,
        verifier,
        directory.clone(),
        revocations.clone(),
    );
    let keys = Introspector {
        verifier: AccessTokenVerifier::new(
            &jwks,
            &VerifierConfig {
                issuer: "iss".into(),
                audience: "aud".into(),
                leeway: 5,
                algorithms: vec![jsonwebtoken::Algorithm::ES256],
                max_lifetime: DEFAULT_MAX_LIFETIME,
            },
        )
        .unwrap(),
        issuer: "iss".into(),
    };
    let clock = Aging::default();
    let authorizer = authorizer(&jwks, &t, clock.clone()).await;
    World {
        service,
        keys,
        authorizer,
        clock,
        clients,
        machine,
        rs,
        directory,
        sessions: Vec::new(),
        access: Vec::new(),
        revocations,
    }
}

fn service(
    db: &aws_sdk_dynamodb::Client,
    t: &TestTables,
    key: SigningKey,
    verifier: MemoryVerifier,
    directory: Arc<MemoryDirectory>,
    revocations: Arc<DynamoRevocationStore>,
) -> TokenService {
    let mut service = dynamo_service(db, t, Arc::new(verifier));
    service.revocations = revocations;
    service.directory = Some(directory);
    service.issuer = AccessTokenIssuer::new("iss".into(), "aud".into(), Arc::new(key));
    let policy = &mut service.policy;
    (policy.access_token_ttl, policy.refresh_token_ttl) = (900, 3600);
    policy.refresh_family_ttl = 7200;
    policy.lockout.max_failures = 50;
    service
}

/// The authorizer on its own configuration, reading the test's revocations table.
async fn authorizer(jwks: &str, t: &TestTables, clock: Aging) -> State {
    let state = State::from_lookup(|k| match k {
        "JWKS" => Some(jwks.to_owned()),
        "ISSUER" => Some("iss".into()),
        "AUDIENCE" => Some("aud".into()),
        "ROUTE_SCOPES" => Some("GET /request=profile".into()),
        _ => None,
    })
    .unwrap();
    let reader = DynamoReader::new(ReaderConfig {
        table: t.revocations.clone(),
        region: "us-east-1".into(),
        endpoint: Endpoint::parse(&std::env::var("AWS_ENDPOINT_URL_DYNAMODB").unwrap()).unwrap(),
        credentials: Credentials {
            access_key_id: "local".into(),
            secret_access_key: "local".into(),
            session_token: None,
        },
    })
    .unwrap();
    let policy = Policy {
        max_staleness_ms: 5_000,
        when_unreadable: WhenUnreadable::Deny,
        wait_ms: 5_000,
    };
    let feed = Feed::start(reader, policy, Arc::new(clock));
    assert!(feed.ready(std::time::Duration::from_secs(10)).await);
    state.with_revocation(Some(Revocation { feed }))
}

impl World {
    async fn token(
        &mut self,
        client: &(String, String),
        params: &[(&str, &str)],
    ) -> Option<(String, Option<String>)> {
        let req = TokenRequest::new(
            creds(client),
            params
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        );
        let r = self.service.token(&req).await.ok()?;
        self.access.push((r.access_token.clone(), client.clone()));
        Some((
            r.access_token,
            r.refresh_token.map(|t| t.expose().to_owned()),
        ))
    }

    async fn revoke(&self, client: &(String, String), token: &str) {
        let req = RevocationRequest {
            credentials: creds(client),
            token: Some(Secret::new(token)),
        };
        // A disabled client may not revoke: that is its answer, not a failure of the test.
        let _ = self.service.revoke(&self.keys, &req).await;
    }

    async fn apply(&mut self, op: &Op, case: &str) {
        match *op {
            Op::Login { user, client } => {
                let c = self.clients[client].clone();
                let name = format!("user{user}");
                let p = [
                    ("grant_type", "password"),
                    ("username", name.as_str()),
                    ("password", "pw"),
                ];
                if let Some((_, Some(refresh))) = self.token(&c, &p).await {
                    self.sessions.push((client, vec![refresh]));
                }
            }
            Op::Refresh { session } | Op::Reuse { session } => {
                let Some((client, chain)) = self.sessions.get(session).cloned() else {
                    return;
                };
                let presented = match op {
                    Op::Reuse { .. } if chain.len() > 1 => chain[0].clone(),
                    Op::Reuse { .. } => return,
                    _ => chain.last().cloned().unwrap_or_default(),
                };
                let c = self.clients[client].clone();
                let p = [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", presented.as_str()),
                ];
                if let Some((_, Some(next))) = self.token(&c, &p).await {
                    self.sessions[session].1.push(next);
                }
            }
            Op::RevokeRefresh { session } => {
                let Some((client, chain)) = self.sessions.get(session).cloned() else {
                    return;
                };
                let c = self.clients[client].clone();
                self.revoke(&c, chain.last().unwrap()).await;
            }
            Op::RevokeAccess { token } => {
                let Some((t, c)) = self.access.get(token).cloned() else {
                    return;
                };
                self.revoke(&c, &t).await;
            }
            Op::BySubject { user } => self.sessions_of(Some(user), None, case).await,
            Op::ByClient { client } => self.sessions_of(None, Some(client), case).await,
            Op::BySubjectAndClient { user, client } => {
                self.sessions_of(Some(user), Some(client), case).await;
            }
            Op::Gone { user } => self
                .directory
                .set(&format!("{case}-sub-{user}"), Some(UserStatus::Gone)),
            Op::Machine => {
                let m = self.machine.clone();
                self.token(&m, &[("grant_type", "client_credentials")])
                    .await;
            }
            Op::Disable { client } | Op::Enable { client } => {
                let id = self.clients[client].0.clone();
                let enabled = matches!(op, Op::Enable { .. });
                let update = ClientUpdate {
                    enabled: Some(enabled),
                    ..ClientUpdate::default()
                };
                self.service.clients.update(&id, &update).await.unwrap();
                if !enabled {
                    // As `tollgate-admin disable-client`: then the cut-off.
                    let now = tollgate_oauth::clock::Clock::now(&SystemClock);
                    self.revocations
                        .record(&client_cut_off(&id, now))
                        .await
                        .unwrap();
                }
            }
        }
    }

    async fn sessions_of(&self, user: Option<usize>, client: Option<usize>, case: &str) {
        let sub = user.map(|u| format!("{case}-sub-{u}"));
        let client = client.map(|c| self.clients[c].0.clone());
        let query = SessionQuery::from_parts(sub.as_deref(), client.as_deref()).unwrap();
        let now = tollgate_oauth::clock::Clock::now(&SystemClock);
        revoke_sessions(
            self.service.refresh.as_ref(),
            self.revocations.as_ref(),
            &query,
            now,
        )
        .await
        .unwrap();
    }

    /// Whether `/introspect` (asked by a client that may see every token) says `token` is active.
    async fn introspected(&self, token: &str) -> bool {
        let req = IntrospectionRequest {
            credentials: creds(&self.rs),
            token: Some(Secret::new(token)),
            token_type_hint: None,
        };
        let h = self
            .service
            .handle_introspect(&self.keys, &req, Deadline::none())
            .await;
        h.result.unwrap().is_active()
    }

    /// Whether the authorizer, its state read after every write so far, allows `token`.
    async fn allowed(&self, token: &str) -> bool {
        let event = json!({
            "type": "TOKEN", "authorizationToken": format!("Bearer {token}"), "methodArn": ARN,
        });
        self.clock
            .extra_ms
            .fetch_add(5_000, std::sync::atomic::Ordering::SeqCst);
        let view = self.authorizer.revocation_view().await;
        assert!(
            matches!(view, Some(tollgate_revocation::feed::View::Current(_))),
            "{view:?}"
        );
        let answer = decide_json_with(
            &self.authorizer,
            view.as_ref(),
            event.to_string().as_bytes(),
        );
        answer.is_ok_and(|a| {
            let a: serde_json::Value = serde_json::from_str(a.get()).unwrap();
            tollgate_tests::iam_allows(&a["policyDocument"], ARN)
        })
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn introspection_and_the_authorizer_agree_on_every_token(ops in prop::collection::vec(op(), 1..12)) {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async {
            let case = tollgate_tests::unique("agree");
            let mut w = world(&case).await;
            for (i, op) in ops.iter().enumerate() {
                w.apply(op, &case).await;
                for (token, _) in w.access.clone() {
                    let (active, allowed) = (w.introspected(&token).await, w.allowed(&token).await);
                    assert_eq!(active, allowed, "after step {i} ({op:?}) of {ops:?}: token {token}");
                }
            }
        });
    }
}
