//! `Timeout`: a future raced against a `Sleep`.
//!
//! **What this teaches.** Combining two futures into one is just polling both from one
//! `poll`. The inner future goes first, so a future that is ready at once wins even if the
//! timeout is zero, and because `Sleep` registers lazily its timer is never created then.
//!
//! The budget (`task/coop.rs`) adds one rule: if the inner future spent the task's whole
//! budget in this poll, the timer is polled without the budget, because it would otherwise
//! yield for the budget on every poll and the timeout could never fire.
//!
//! The one subtle part is *pin projection*: `Timeout` is pinned, and the inner future may
//! not be `Unpin`, so reaching it needs one `unsafe` line whose argument is spelled out
//! below. Rejected alternative: `Box::pin` the inner future (safe, but an allocation per
//! timeout on a hot path).
//!
//! Next to read: `interval.rs`.

use super::error::Elapsed;
use super::sleep::Sleep;
use crate::task::coop;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Runs `future` for at most `duration`: `Ok(output)` if it finishes first, otherwise
/// `Err(Elapsed)` (and `future` is dropped with the `Timeout`).
///
/// ```
/// use std::time::Duration;
/// use clockwork::time::{sleep, timeout};
/// clockwork::block_on(async {
///     assert_eq!(timeout(Duration::from_secs(5), async { 7 }).await, Ok(7));
///     let slow = timeout(Duration::from_millis(1), sleep(Duration::from_secs(60)));
///     assert!(slow.await.is_err());
/// });
/// ```
///
/// # A zero timeout, or one already past
///
/// The inner future is polled first, so one that is ready at once gives `Ok` whatever the
/// duration (tokio promises the same). Otherwise a timeout whose deadline has passed by
/// its first poll, such as `Duration::ZERO`, is `Err(Elapsed)` at once: the inner future
/// gets exactly that one poll.
///
/// ```
/// use clockwork::{task::yield_now, time::timeout};
/// use std::time::Duration;
/// clockwork::block_on(async {
///     assert_eq!(timeout(Duration::ZERO, async { 1 }).await, Ok(1));
///     let yields_once = async { yield_now().await; 1 };
///     assert!(timeout(Duration::ZERO, yields_once).await.is_err()); // tokio: Ok(1)
/// });
/// ```
///
/// tokio answers `Ok(1)` there: it rounds every deadline up to the next millisecond and
/// fires timers only when its driver turns, so a zero timeout lasts until then, and a
/// future that becomes ready first still wins. That grace is not part of tokio's
/// documented behaviour, and how much it allows depends on when the driver turns. Here a
/// deadline that has passed has passed, the same on every run (a timer fires at its
/// deadline, never early, as the contract says); code that means "a little while" should
/// give a duration. Rejected alternative: tokio's grace, registering a timer even for a
/// deadline already past, which costs every zero timeout a wheel insert and a cancel, and
/// makes its answer depend on scheduling.
#[track_caller]
pub fn timeout<F: Future>(duration: Duration, future: F) -> Timeout<F> {
    Timeout { future, delay: Sleep::after(duration) }
}

/// The future returned by [`timeout`]. Dropping it cancels its timer.
#[derive(Debug)]
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Timeout<F> {
    /// Structurally pinned: never moved out of a pinned `Timeout` (see `poll`).
    future: F,
    /// Not pinned (it is `Unpin`).
    delay: Sleep,
}

impl<F> Timeout<F> {
    /// The inner future.
    pub fn get_ref(&self) -> &F {
        &self.future
    }

    /// Gives the inner future back, cancelling the timer.
    pub fn into_inner(self) -> F {
        self.future
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Result<F::Output, Elapsed>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: we never move out of `this`: `future` is only ever used through the
        // `Pin` made below, `Timeout` has no `Drop` impl that could move it, and `Timeout`
        // is `Unpin` only when `F` is (auto trait), so pinning `Timeout` pins `future`.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: `future` is structurally pinned, as argued above.
        let future = unsafe { Pin::new_unchecked(&mut this.future) };
        let had_budget = !coop::budget_spent();
        if let Poll::Ready(output) = future.poll(cx) {
            return Poll::Ready(Ok(output));
        }
        let delay = Pin::new(&mut this.delay);
        if had_budget && coop::budget_spent() {
            // The future spent the whole budget in this very poll (a stream that is always
            // ready): the timer is still looked at, or a timeout around a busy future
            // could never fire, since the future is polled first every time. As in tokio.
            coop::without_budget(|| delay.poll(cx)).map(|()| Err(Elapsed::new()))
        } else {
            delay.poll(cx).map(|()| Err(Elapsed::new()))
        }
    }
}
