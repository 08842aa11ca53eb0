//! A stall: DynamoDB frozen for a while, as when its process is stopped and then continued.
//! While it lasts, no request reaches DynamoDB and no answer leaves the proxy; when it ends,
//! every request that arrived meanwhile is forwarded and applied (also those whose caller has
//! given up and gone, as a stopped server reads them from its socket when it continues), and
//! the answers go to whoever still waits for them.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::time::Instant;

/// `GET /stall`: whether a stall is on, and for how much longer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StallState {
    pub stalled: bool,
    pub remaining_ms: u64,
}

#[derive(Debug)]
pub struct Stall {
    until: watch::Sender<Option<Instant>>,
}

impl Default for Stall {
    fn default() -> Self {
        Self {
            until: watch::Sender::new(None),
        }
    }
}

impl Stall {
    /// Stalls for `ms` from now (replacing a stall in progress).
    pub fn start(&self, ms: u64) {
        self.until
            .send_replace(Some(Instant::now() + Duration::from_millis(ms)));
    }

    /// Ends a stall now; whatever it held goes on at once.
    pub fn end(&self) {
        self.until.send_replace(None);
    }

    pub fn state(&self) -> StallState {
        let remaining = self.until.borrow().map_or(Duration::ZERO, |t| {
            t.saturating_duration_since(Instant::now())
        });
        StallState {
            stalled: !remaining.is_zero(),
            remaining_ms: u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX),
        }
    }

    /// Waits while a stall lasts (returns at once when there is none); whether it waited.
    pub async fn pass(&self) -> bool {
        let mut rx = self.until.subscribe();
        let mut waited = false;
        loop {
            let until = *rx.borrow_and_update();
            match until {
                Some(t) if t > Instant::now() => {
                    waited = true;
                    tokio::select! {
                        () = tokio::time::sleep_until(t) => {}
                        changed = rx.changed() => if changed.is_err() { return waited },
                    }
                }
                _ => return waited,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn no_stall_passes_at_once_and_an_ended_stall_releases_its_waiters() {
        let stall = std::sync::Arc::new(Stall::default());
        assert!(!stall.pass().await);
        assert!(!stall.state().stalled);
        stall.start(600_000);
        assert!(stall.state().stalled);
        let waiter = tokio::spawn({
            let stall = stall.clone();
            async move { stall.pass().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        stall.end();
        assert!(waiter.await.unwrap(), "it waited, and the end released it");
        assert_eq!(
            stall.state(),
            StallState {
                stalled: false,
                remaining_ms: 0
            }
        );
    }

    #[tokio::test]
    async fn a_stall_ends_by_itself_when_its_time_is_up() {
        let stall = Stall::default();
        stall.start(50);
        assert!(stall.pass().await, "it waited");
        assert!(
            !stall.state().stalled,
            "and returned once the stall was over"
        );
    }
}
