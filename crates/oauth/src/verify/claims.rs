//! The claims' checks, behind a good signature: the registered claims present and typed, the
//! issuer and the audience, the times (`exp`, `nbf`, `iat`) with the leeway, and the lifetime.

use super::jws::{Claims, Member, names};
use super::{AccessTokenVerifier, Rejection, VerifiedToken};
use crate::scope::Scopes;

impl AccessTokenVerifier {
    /// The claims' checks, in the order the reasons are given: `exp`, `iss`, `aud` and `sub`
    /// present, the issuer (a text, never a list), the audience (a text or a list holding it),
    /// the times, then `client_id`, `scope`, `iat` and a non-empty `sub` (RFC 9068 §2.2), then
    /// `iat` not ahead of now and the lifetime `exp − iat` within the largest accepted.
    pub(super) fn check_claims(&self, c: Claims<'_>, now: u64) -> Result<VerifiedToken, Rejection> {
        let missing = Rejection::MissingClaim;
        // RFC 7519 §4.1.1: `iss` is one StringOrURI, never a list (a list is mistyped).
        let (Some(Member::Whole(exp)), Some(Member::Text(iss)), Some(aud), Some(Member::Text(sub))) =
            (c.exp, c.iss, &c.aud, c.sub)
        else {
            return Err(missing);
        };
        if iss != self.issuer.as_str() {
            return Err(Rejection::WrongIssuer);
        }
        if !names(aud, &self.audience).ok_or(missing)? {
            return Err(Rejection::WrongAudience);
        }
        let nbf = match c.nbf {
            None => None,
            Some(Member::Whole(n)) => Some(n),
            Some(_) => return Err(Rejection::Malformed),
        };
        check_times(exp, nbf, now, self.leeway)?;
        let (Some(Member::Text(client_id)), Some(Member::Text(scope)), Some(Member::Whole(iat))) =
            (c.client_id, c.scope, c.iat)
        else {
            return Err(missing);
        };
        let scope = Scopes::parse(&scope).map_err(|_| missing)?;
        if sub.is_empty() {
            return Err(missing);
        }
        check_issued(exp, iat, now, self.leeway, self.max_lifetime)?;
        Ok(VerifiedToken {
            iss: iss.into_owned(),
            sub: sub.into_owned(),
            client_id: client_id.into_owned(),
            scope,
            exp,
            nbf,
            iat,
            jti: text(c.jti),
            sid: text(c.sid),
            details: c.details,
        })
    }
}

/// An optional claim's value when it is a text; any other type reads as absent.
fn text(m: Option<Member<'_>>) -> Option<String> {
    match m {
        Some(Member::Text(t)) => Some(t.into_owned()),
        _ => None,
    }
}

/// RFC 7519 §4.1.4–5 with `leeway` seconds of skew: a token is expired once `now` is past
/// `exp + leeway`, and not yet valid while `now + leeway` is before `nbf`. (An `nbf` that is not
/// a whole number of seconds is refused as malformed before this.)
fn check_times(exp: u64, nbf: Option<u64>, now: u64, leeway: u64) -> Result<(), Rejection> {
    if exp.saturating_add(leeway) < now {
        return Err(Rejection::Expired);
    }
    if nbf.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
        return Err(Rejection::NotYetValid);
    }
    Ok(())
}

/// `iat` at most `leeway` seconds ahead of `now` (a token from the future was not issued by a
/// clock this verifier trusts), and `exp − iat` at most `max_lifetime` (so a leaked key or a
/// bug cannot mint a token that outlives every lifetime Tollgate gives).
fn check_issued(
    exp: u64,
    iat: u64,
    now: u64,
    leeway: u64,
    max_lifetime: u64,
) -> Result<(), Rejection> {
    if iat > now.saturating_add(leeway) {
        return Err(Rejection::IssuedInFuture);
    }
    if exp.saturating_sub(iat) > max_lifetime {
        return Err(Rejection::LifetimeTooLong);
    }
    Ok(())
}
