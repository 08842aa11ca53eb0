//! Sending a write whose answer may be lost: the refresh rotation, the code exchange and the
//! legacy take-over each write idempotently (the same write sent again finds its own work done),
//! so a write that got no answer is sent again, marked so its retry can be recognised, until
//! an answer comes or the function's time runs out.

use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::time::Duration;

use tollgate_oauth::clock::Deadline;

use crate::endpoint::{TokenService, store_unavailable};
use crate::error::TokenError;
use crate::refresh::RefreshStoreError;

/// How often a write whose answer was lost is sent again, and the pauses between sends
/// (doubling from the first, at most the longest); the function's deadline ends it sooner.
pub(super) const RESENDS: u32 = 8;
pub(super) const FIRST_RESEND_PAUSE: Duration = Duration::from_millis(50);
pub(super) const LONGEST_RESEND_PAUSE: Duration = Duration::from_secs(1);

/// A store call, borrowing the write it sends (what an `async_trait` port method returns).
pub(super) type Sent<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, RefreshStoreError>> + Send + 'a>>;

/// Says that `'c` (what the sending closure borrows: the service, the ports, the old token)
/// outlives `'a` (one send's borrow of the write), so the send's future may hold both.
pub(super) type Outlives<'a, 'c> = PhantomData<&'a &'c ()>;

impl TokenService {
    /// Sends `write` with `send`. The first send gets at most half the time left, so a lost
    /// answer leaves time to send it again. While the outcome is unknown (no answer came: it
    /// may have landed), `mark`s the write once (unconfirmed, its secret sealed for the retry)
    /// and sends it again, until an answer comes or the time runs out. A store that answers
    /// with an error wrote nothing: `503` at once.
    pub(super) async fn send_until_answered<'c, W, T>(
        &self,
        write: &mut W,
        send: impl for<'a> Fn(&'a W, Outlives<'a, 'c>) -> Sent<'a, T>,
        mark: impl FnOnce(&mut W),
        deadline: Deadline,
    ) -> Result<T, TokenError> {
        let halfway = deadline.halfway(self.clock.as_ref());
        let first = send(write, PhantomData);
        let mut last = match self.within(halfway, "refresh-token store", first).await {
            Ok(Ok(answer)) => return Ok(answer),
            Ok(Err(e @ RefreshStoreError::OutcomeUnknown(_))) => store_unavailable(e),
            Ok(Err(e)) => return Err(store_unavailable(e)),
            Err(no_answer) => no_answer,
        };
        mark(write);
        let mut pause = FIRST_RESEND_PAUSE;
        for _ in 0..RESENDS {
            let nap = tokio::time::sleep(pause);
            self.within(deadline, "refresh-token store", nap).await?;
            pause = (pause * 2).min(LONGEST_RESEND_PAUSE);
            let again = send(write, PhantomData);
            match self.within(deadline, "refresh-token store", again).await? {
                Ok(answer) => return Ok(answer),
                Err(e) => last = store_unavailable(e),
            }
        }
        Err(last)
    }
}
