//! The cooperative budget: why a task that is always ready must still take turns.
//!
//! **What this teaches.** A scheduler can only switch tasks when a task returns from
//! `poll`. A task returns when it awaits something that is not ready, so a task whose
//! socket always has data (a fast peer on loopback) or whose channel is never empty never
//! returns, and every other task on its thread starves, timers included. Async Rust has
//! no preemption: the fix is a *budget*. Each poll of a task starts with [`BUDGET`] units;
//! every socket operation, channel `send`/`recv` and timer (`Sleep`, hence `Interval`)
//! that completes spends one; once the budget is spent, the next such operation wakes its own task and returns `Pending`, as
//! [`yield_now`](super::yield_now) does, so the task goes to the back of the run queue.
//!
//! ```text
//! poll starts ── budget = 128 ── recv Ready (127) ── recv Ready (126) ── … ── recv Ready (0)
//!                                 ── recv: budget spent → wake_by_ref, Pending ── others run
//! ```
//!
//! Only completed operations spend: an operation that returns `Pending` for a real reason
//! costs nothing, and one that returns `Pending` because of the budget has done nothing,
//! so cancelling it (a losing `select!` branch) loses nothing. Every runtime poll has a
//! budget: a task's, and a `block_on` future's (on a multi-thread runtime too, where no
//! task shares that thread, so that the branches of a `join!` in it take turns). Outside
//! them (another executor polling our sockets) there is none: nobody to take turns with.
//! A `spawn_blocking` job runs without one too, although its task is polled like any
//! other: the job is not a poll, and may drive many operations itself
//! (`runtime/blocking.rs`).
//!
//! Rejected alternative: leaving fairness to the user (`yield_now` in their loops). Every
//! production runtime found that users do not; tokio's coop budget (also 128) is the
//! model here. A smaller budget costs throughput on busy sockets (more trips through
//! the queue); a larger one lets one task hold its worker longer.
//!
//! Next to read: `src/runtime/current_thread.rs`, where the yielded task lands behind the
//! others.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Operations one poll of a task may complete before the next one makes it yield.
pub(crate) const BUDGET: u8 = 128;

// Not `const { }`-initialised: loom's `thread_local!` lacks that form (as in
// `runtime/context.rs`).
#[allow(clippy::missing_const_for_thread_local)]
mod remaining {
    use super::Cell;
    crate::loom::thread_local! {
        /// Units left in the current poll; `None` when no task is being polled here
        /// (no limit).
        pub(super) static REMAINING: Cell<Option<u8>> = Cell::new(None);
    }
}
use remaining::REMAINING;

/// Runs `poll` (one poll of a task, or of `block_on`'s future) with a fresh budget, and
/// puts the previous budget back afterwards, even if `poll` panics.
pub(crate) fn budgeted<R>(poll: impl FnOnce() -> R) -> R {
    with_budget(Some(BUDGET), poll)
}

/// Runs `poll` with `budget` (`None`: unlimited), restoring the previous one afterwards.
fn with_budget<R>(budget: Option<u8>, poll: impl FnOnce() -> R) -> R {
    struct Restore(Option<u8>);
    impl Drop for Restore {
        fn drop(&mut self) {
            REMAINING.with(|remaining| remaining.set(self.0));
        }
    }
    let _restore = Restore(REMAINING.with(|remaining| remaining.replace(budget)));
    poll()
}

/// Turns the cooperative budget off for `future`: its socket and channel operations never
/// yield for the budget (tokio's `task::unconstrained`).
///
/// Use it sparingly: an unconstrained future that always finds its operations ready keeps
/// its thread until it finishes, starving every other task there (the `budget` example
/// shows exactly that).
///
/// ```
/// let sum = clockwork::block_on(clockwork::task::unconstrained(async {
///     let (tx, mut rx) = clockwork::sync::mpsc::channel(1000);
///     for i in 0..1000u64 {
///         tx.send(i).await.unwrap(); // 1000 completed sends in one poll: no yield
///     }
///     drop(tx);
///     let mut sum = 0;
///     while let Some(i) = rx.recv().await {
///         sum += i;
///     }
///     sum
/// }));
/// assert_eq!(sum, 499_500);
/// ```
pub fn unconstrained<F: Future>(future: F) -> Unconstrained<F> {
    Unconstrained { future }
}

/// The future returned by [`unconstrained`].
#[derive(Debug)]
#[must_use = "futures do nothing unless polled"]
pub struct Unconstrained<F> {
    future: F,
}

impl<F: Future> Future for Unconstrained<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        // SAFETY: structural pinning: `future` is never moved out of `self`, and
        // `Unconstrained` has no `Drop` impl and is not `Unpin` unless `F` is.
        let future = unsafe { self.map_unchecked_mut(|this| &mut this.future) };
        with_budget(None, || future.poll(cx))
    }
}

/// Whether the current poll has spent its budget (`false` outside a task's poll).
pub(crate) fn budget_spent() -> bool {
    REMAINING.with(Cell::get) == Some(0)
}

/// Runs `poll` with no limit, then puts the current budget back: for a timeout's timer,
/// polled after a future that spent the whole budget (see `time/timeout.rs`).
pub(crate) fn without_budget<R>(poll: impl FnOnce() -> R) -> R {
    with_budget(None, poll)
}

/// Runs a budgeted operation: `Pending` (with the task woken, so it is polled again after
/// the others) if the budget is spent; otherwise runs `op` and spends one unit if it
/// completed.
pub(crate) fn poll_budgeted<T>(
    cx: &mut Context<'_>,
    op: impl FnOnce(&mut Context<'_>) -> Poll<T>,
) -> Poll<T> {
    if REMAINING.with(Cell::get) == Some(0) {
        // The trace tells this forced yield from a task's own self-wake.
        crate::trace::waking(crate::trace::Cause::Budget, || cx.waker().wake_by_ref());
        return Poll::Pending;
    }
    let result = op(cx);
    if result.is_ready() {
        REMAINING.with(|remaining| remaining.set(remaining.get().map(|n| n.saturating_sub(1))));
    }
    result
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use futures_task::noop_waker_ref;

    fn ready_ops() -> (usize, bool) {
        let mut cx = Context::from_waker(noop_waker_ref());
        let mut completed = 0;
        for _ in 0..1000 {
            if poll_budgeted(&mut cx, |_| Poll::Ready(())).is_pending() {
                return (completed, true);
            }
            completed += 1;
        }
        (completed, false)
    }

    #[test]
    fn a_poll_completes_budget_operations_then_yields() {
        assert_eq!(budgeted(ready_ops), (BUDGET as usize, true));
    }

    #[test]
    fn outside_a_poll_there_is_no_limit() {
        assert_eq!(ready_ops(), (1000, false));
    }

    #[test]
    fn unconstrained_lifts_the_budget_for_its_future_only() {
        budgeted(|| {
            let mut cx = Context::from_waker(noop_waker_ref());
            let mut inner = std::pin::pin!(unconstrained(std::future::poll_fn(|_| Poll::Ready(ready_ops()))));
            assert_eq!(inner.as_mut().poll(&mut cx), Poll::Ready((1000, false)));
            assert_eq!(ready_ops(), (BUDGET as usize, true)); // the task's own budget is back
        });
    }

    #[test]
    fn pending_operations_cost_nothing_and_the_budget_is_restored() {
        budgeted(|| {
            let mut cx = Context::from_waker(noop_waker_ref());
            for _ in 0..1000 {
                assert!(poll_budgeted(&mut cx, |_| Poll::<()>::Pending).is_pending());
            }
            // A nested poll (a task polled from inside another's poll) gets its own budget
            // and gives the outer one back untouched.
            assert_eq!(budgeted(ready_ops), (BUDGET as usize, true));
            assert_eq!(ready_ops(), (BUDGET as usize, true));
        });
        assert_eq!(REMAINING.with(Cell::get), None);
    }
}
