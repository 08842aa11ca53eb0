//! The token service, one file per endpoint: `token` (`POST /token`: grant dispatch, then one
//! file per grant), `revoke` (RFC 7009), `introspect` (RFC 7662) and `sessions` (ending sessions
//! by user or client). This file holds what every endpoint shares: the ports wired together,
//! client authentication, the deadline every outbound call keeps, and signing.

pub mod authorize;
pub mod end_session;
pub mod introspect;
mod policy;
pub mod revoke;
pub mod sessions;
pub mod token;
pub mod userinfo;

use std::sync::Arc;

use tollgate_oauth::access_token::{AccessTokenClaims, AccessTokenIssuer, IssuedAccessToken};
use tollgate_oauth::clock::{Clock, Deadline};
use tollgate_oauth::error::OAuthError;
use tollgate_oauth::id_token::IdTokenClaims;
use tollgate_oauth::scope::Scopes;
use tollgate_oauth::secret::{Secret, SecretHasher, hash_str, random_token};
use tracing::warn;

use crate::client::{self, AuthenticateError, ClientCredentials, ClientRejection, ClientStore};
use crate::code::CodeStore;
use crate::error::{Internal, TokenError, Unavailable};
use crate::lockout::LockoutStore;
use crate::password::PasswordVerifier;
use crate::rate_limit::RateLimitStore;
use crate::rate_limit::known::KnownLimits;
use crate::refresh::{
    NewFamily, RefreshGrant, RefreshStore, RefreshStoreError, StoredFamily, in_family,
};
use crate::revocation::{self, Entry, RevocationStore};
use crate::user_status::UserDirectory;

pub use policy::{GrantPolicy, Lifetimes};
pub use token::{Answer, RequestedGrant, TokenRequest, TokenResponse};

/// Wires the ports together; built once at cold start.
pub struct TokenService {
    pub clients: Arc<dyn ClientStore>,
    pub refresh: Arc<dyn RefreshStore>,
    /// Authorization codes (the refresh-token table in AWS: the same adapter).
    pub codes: Arc<dyn CodeStore>,
    pub lockout: Arc<dyn LockoutStore>,
    /// Per-client request counters (the lockouts table in AWS).
    pub rate_limits: Arc<dyn RateLimitStore>,
    pub verifier: Arc<dyn PasswordVerifier>,
    /// The organisation's user-status endpoint, asked on every refresh when configured.
    pub directory: Option<Arc<dyn UserDirectory>>,
    /// The organisation's legacy refresh endpoint and the markers of the legacy tokens it
    /// vouched for (`LEGACY_REFRESH_URL`): a refresh token Tollgate did not issue is asked there.
    pub legacy: Option<crate::legacy::LegacyPorts>,
    /// Where ended sessions, cut-offs and revoked access tokens are recorded for the
    /// authorizers (and read back by `/introspect`).
    pub revocations: Arc<dyn RevocationStore>,
    pub issuer: AccessTokenIssuer,
    pub policy: GrantPolicy,
    pub clock: Arc<dyn Clock>,
    /// Hashes and checks client secrets (with the deployment's pepper, when it has one).
    pub secrets: SecretHasher,
    /// Each client's rate limit as this instance last read it: whether to count a request up
    /// front (`rate_limit::known`). Never used to authenticate.
    pub known_limits: KnownLimits,
}

/// What a request came to, and which client it authenticated as (if it got that far): only an
/// authenticated client_id may be logged as it is.
#[derive(Debug)]
pub struct Handled<T> {
    pub client_id: Option<String>,
    /// How the answer is shaped: the authenticated client's choice, RFC 6749 before that.
    pub answer: Answer,
    pub result: Result<T, TokenError>,
}

impl<T> Handled<T> {
    /// A request refused before its client authenticated: no client to name, RFC 6749's shape.
    pub(crate) fn unauthenticated(e: TokenError) -> Self {
        Self {
            client_id: None,
            answer: Answer::default(),
            result: Err(e),
        }
    }
}

impl TokenService {
    /// Runs one outbound call with at most the time left before the deadline (its own timeout
    /// may be shorter); running out is `503 temporarily_unavailable`.
    pub(crate) async fn within<T>(
        &self,
        deadline: Deadline,
        what: &'static str,
        call: impl Future<Output = T>,
    ) -> Result<T, TokenError> {
        let left = deadline.remaining(self.clock.as_ref());
        tokio::time::timeout(left, call)
            .await
            .map_err(|_| Unavailable::Deadline { dependency: what }.into())
    }

    /// Authenticates a client by the credentials of any client-authenticated request
    /// (`/token`, `/revoke`, `/introspect`).
    pub(crate) async fn authenticate(
        &self,
        credentials: Option<&ClientCredentials>,
        deadline: Deadline,
    ) -> Result<client::Client, TokenError> {
        let Some(creds) = credentials else {
            return Err(OAuthError::invalid_client("client authentication is required").into());
        };
        let lookup = client::authenticate_at(
            self.clients.as_ref(),
            &self.secrets,
            creds,
            self.clock.now(),
        );
        let client = self
            .within(deadline, "client store", lookup)
            .await?
            .map_err(|e| {
                // A client_id that names no client may be anything (even a secret sent in the
                // wrong field): only a short hash of it is logged, which still lets repeated
                // probes be correlated. An id that names a client is ours, not the caller's.
                match e {
                    AuthenticateError::Store(e) => {
                        return TokenError::Unavailable(Unavailable::ClientStore(Box::new(e)));
                    }
                    AuthenticateError::Rejected(ClientRejection::WrongSecret)
                    | AuthenticateError::Rejected(ClientRejection::Disabled) => {
                        warn!(client_id = %creds.client_id, reason = %e, "client authentication failed")
                    }
                    AuthenticateError::Rejected(_) => {
                        warn!(client_id_hash = creds.id_hash(), reason = %e, "client authentication failed")
                    }
                }
                e.to_oauth().into()
            })?;
        // Every later line of the request names the client: the edge opens a `request` span
        // with this field (a span without it ignores the call).
        tracing::Span::current().record("client_id", client.client_id.as_str());
        Ok(client)
    }

    /// One family, read consistently within the deadline.
    pub(crate) async fn family(
        &self,
        family_id: &str,
        deadline: Deadline,
    ) -> Result<Option<StoredFamily>, TokenError> {
        let read = self.refresh.get_family(family_id);
        self.within(deadline, "refresh-token store", read)
            .await?
            .map_err(store_unavailable)
    }

    /// Ends the session `family_id` of `client` within the deadline (reuse, a lost rotation,
    /// `/revoke`, the user gone): records its end for the authorizers, then revokes its family,
    /// so it refreshes no more. In that order: a request told `503` between the two finds the
    /// family still active when it tries again, and does both again (each is idempotent); the
    /// other order would leave a revoked family whose end no authorizer ever hears of. The entry
    /// outlives the family's newest access token and any a request in flight may sign now.
    pub(crate) async fn end_session(
        &self,
        client: &client::Client,
        family_id: &str,
        now: u64,
        deadline: Deadline,
    ) -> Result<(), TokenError> {
        let family = self.family(family_id, deadline).await?;
        self.end_session_as_read(client, family_id, family.as_ref(), now, deadline)
            .await
    }

    /// [`Self::end_session`] with its family already read, strongly consistent, by the
    /// caller (`None`: gone): one read less.
    pub(crate) async fn end_session_as_read(
        &self,
        client: &client::Client,
        family_id: &str,
        family: Option<&StoredFamily>,
        now: u64,
        deadline: Deadline,
    ) -> Result<(), TokenError> {
        let lifetime = self.lifetimes(client).access_token;
        let ended = revocation::session_ended(family_id, family, lifetime, now);
        self.record(&ended, deadline).await?;
        let call = self.refresh.revoke_family(family_id, now);
        self.within(deadline, "refresh-token store", call)
            .await?
            .map_err(store_unavailable)
    }

    /// Records a revocation within the deadline.
    pub(crate) async fn record(&self, entry: &Entry, deadline: Deadline) -> Result<(), TokenError> {
        let call = self.revocations.record(entry);
        self.within(deadline, "revocation store", call)
            .await?
            .map_err(|e| Unavailable::RevocationStore(Box::new(e)).into())
    }

    /// The lifetimes `client` gets: resolved here only, from its record and the deployment's.
    pub(crate) fn lifetimes(&self, client: &client::Client) -> Lifetimes {
        Lifetimes::of(client, &self.policy)
    }

    /// The reuse grace window `client` gets (seconds, 0 = off): its override, else the
    /// deployment's, never more than the maximum.
    pub(crate) fn grace(&self, client: &client::Client) -> u64 {
        client
            .refresh_reuse_grace
            .unwrap_or(self.policy.refresh_reuse_grace)
            .min(client::MAX_GRACE_SECONDS)
    }

    /// An OpenID Connect ID token beside `access_token` when the granted scope has `openid`:
    /// for the client, the session `sid`, and the authorization request's `nonce`.
    pub(crate) fn id_token(
        &self,
        grant: &RefreshGrant,
        sid: &str,
        nonce: Option<&str>,
        access: &IssuedAccessToken,
        now: u64,
    ) -> Result<Option<String>, TokenError> {
        if !grant.scope.contains(OPENID) {
            return Ok(None);
        }
        self.issuer
            .issue_id_token(&IdTokenClaims {
                sub: &grant.sub,
                client_id: &grant.client_id,
                sid,
                nonce,
                access_token: &access.token,
                details: &grant.details,
                auth_time: grant.auth_time,
                now,
                ttl: access.expires_in,
            })
            .map(Some)
            .map_err(|e| TokenError::Internal(Internal::Signing(Box::new(e))))
    }

    /// A new session for `grant`: the refresh-token family (its id the access token's `sid`),
    /// its first refresh token and an access token for `scope` signed in it, not yet written.
    /// What the password grant, the code exchange and a legacy take-over each write.
    pub(crate) fn start_session(
        &self,
        grant: RefreshGrant,
        scope: &Scopes,
        lifetimes: Lifetimes,
        now: u64,
    ) -> Result<(NewFamily, IssuedAccessToken, Secret), TokenError> {
        let family_id = random_token(16);
        let family_expires_at = now.saturating_add(lifetimes.refresh_family);
        let session = (family_id.as_str(), family_expires_at);
        let access = self.sign(&grant, session, scope, lifetimes, now)?;
        // The family holds its tokens: each names it and carries its tag (`in_family`).
        let tag = in_family::new_tag();
        let refresh = in_family::mint(&family_id, &tag);
        let family = NewFamily {
            family_id,
            token_hash: refresh.hash(),
            grant,
            issued_at: now,
            token_expires_at: now.saturating_add(lifetimes.refresh_token),
            family_expires_at,
            access_expires_at: now.saturating_add(access.expires_in),
            tag_hash: Some(hash_str(&tag)),
        };
        Ok((family, access, refresh))
    }

    /// Signs an access token for `grant` in the session (refresh-token family) `sid`, which
    /// ends at `session_end`: the token never outlives its session, so `/introspect` (which asks
    /// whether the session stands) and the authorizer (which asks whether it was revoked) agree
    /// on it to the end.
    pub(crate) fn sign(
        &self,
        grant: &RefreshGrant,
        (sid, session_end): (&str, u64),
        scope: &Scopes,
        lifetimes: Lifetimes,
        now: u64,
    ) -> Result<IssuedAccessToken, TokenError> {
        let ttl = lifetimes
            .access_token
            .min(session_end.saturating_sub(now))
            .max(1);
        self.issuer
            .issue(&AccessTokenClaims {
                sub: &grant.sub,
                client_id: &grant.client_id,
                sid: Some(sid),
                scope,
                details: &grant.details,
                auth_time: grant.auth_time,
                now,
                ttl,
            })
            .map_err(|e| TokenError::Internal(Internal::Signing(Box::new(e))))
    }
}

/// The scope that asks for OpenID Connect: an ID token, `/userinfo`.
pub const OPENID: &str = "openid";

/// The refresh-token store failed: a 503, its cause logged by the edge.
pub(crate) fn store_unavailable(e: RefreshStoreError) -> TokenError {
    Unavailable::RefreshStore(Box::new(e)).into()
}
