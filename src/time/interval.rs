//! `Interval`: ticks at a fixed period, built from one reusable `Sleep`.
//!
//! **What this teaches.** A periodic timer is a sleep that is *reset* after each tick. The
//! design question is what to do when ticks are missed (the task was busy for three
//! periods): fire the missed ticks at once ("burst"), or restart the schedule from now
//! ("delay")?
//!
//! This interval **bursts**, like tokio's default: every tick is scheduled at
//! `start + k · period`, so missed ticks complete immediately, one per `tick()` call, until
//! the interval has caught up; the long-run rate stays exactly one tick per period and
//! code ported from tokio behaves the same. The cost is a quick run of ticks after a
//! stall; a caller who would rather skip them can check the returned `Instant`s.
//!
//! Next to read: `src/driver.rs`, where the runtime parks until the next timer.

use super::sleep::Sleep;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Ticks every `period`; the first tick completes at once.
///
/// # Panics
///
/// Panics if `period` is zero (an interval that ticks forever without waiting would spin).
///
/// ```
/// use std::time::Duration;
/// clockwork::block_on(async {
///     let mut every = clockwork::time::interval(Duration::from_millis(2));
///     let first = every.tick().await; // at once
///     let second = every.tick().await;
///     assert_eq!(second - first, Duration::from_millis(2));
/// });
/// ```
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    assert!(!period.is_zero(), "clockwork::time::interval: `period` must be non-zero");
    let start = Instant::now();
    Interval { period, next: Some(start), sleep: Sleep::new(Some(start)) }
}

/// The stream of ticks returned by [`interval`]. Also a `futures_core::Stream`.
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    /// The scheduled instant of the next tick (`None`: past the end of `Instant`).
    next: Option<Instant>,
    /// Sleeps until `next`; reset after every tick rather than re-created.
    sleep: Sleep,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    pub async fn tick(&mut self) -> Instant {
        std::future::poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// The poll-based form of [`Interval::tick`].
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        // The sleep only completes when it has a deadline, which is `self.next`.
        let scheduled = self.next.expect("a sleep without a deadline never completes");
        // Burst: the next tick is one period after this tick's *scheduled* time, not
        // after now, so ticks missed while the task was busy complete one after another.
        self.next = scheduled.checked_add(self.period);
        self.sleep.reset_to(self.next);
        Poll::Ready(scheduled)
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }
}

impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.get_mut().poll_tick(cx).map(Some)
    }
}
