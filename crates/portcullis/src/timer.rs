//! A deadline timer for a connection that serves many requests in turn.
//!
//! `tokio::time::timeout` around every request registers a timer in the runtime's wheel and
//! removes it again, several hundred instructions per request (callgrind). A connection only
//! ever has one deadline running at a time, so it keeps one [`Sleep`] and moves it only when it
//! would fire later than the deadline asked for. When it fires early (the deadline moved on),
//! it is re-armed once. A keep-alive connection therefore touches the wheel about once per
//! timeout period rather than once per request.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// `t + d`, or a day after `t` when a configured duration is too large to add.
pub fn deadline(t: Instant, d: Duration) -> Instant {
    t.checked_add(d)
        .unwrap_or_else(|| t + Duration::from_secs(86_400))
}

/// One reusable deadline; see the module documentation.
#[derive(Debug)]
pub struct LazyTimer(Pin<Box<Sleep>>);

impl LazyTimer {
    /// A timer that first fires at `deadline`.
    pub fn new(deadline: Instant) -> Self {
        Self(Box::pin(tokio::time::sleep_until(deadline)))
    }

    /// Completes at `deadline` (not before).
    pub async fn until(&mut self, deadline: Instant) {
        poll_fn(|cx| self.poll_until(cx, deadline)).await;
    }

    /// Completes `limit` after it is first polled. As the losing branch of a biased
    /// `select!` whose operation is ready at once (most writes), it never reads the clock.
    pub async fn after(&mut self, limit: Duration) {
        self.until(deadline(Instant::now(), limit)).await;
    }

    /// Ready at `deadline` (not before), for code that polls by hand (a body read from the
    /// connection); registers `cx` to be woken then.
    pub fn poll_until(&mut self, cx: &mut Context<'_>, deadline: Instant) -> Poll<()> {
        loop {
            if self.0.deadline() > deadline {
                self.0.as_mut().reset(deadline);
            }
            if self.0.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            if Instant::now() >= deadline {
                return Poll::Ready(());
            }
            self.0.as_mut().reset(deadline);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn fires_at_each_deadline_asked_for() {
        let start = Instant::now();
        let mut t = LazyTimer::new(start + Duration::from_secs(10));
        // Earlier than the armed deadline: moved.
        t.until(start + Duration::from_secs(2)).await;
        assert_eq!(Instant::now(), start + Duration::from_secs(2));
        // Later: fires early internally, re-arms, and completes on time.
        t.until(start + Duration::from_secs(30)).await;
        assert_eq!(Instant::now(), start + Duration::from_secs(30));
        // Already past: at once.
        t.until(start).await;
        assert_eq!(Instant::now(), start + Duration::from_secs(30));
    }
}
