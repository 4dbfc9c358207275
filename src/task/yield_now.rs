//! `yield_now`: the smallest useful future, and a lesson in fairness.
//!
//! Next to read: `src/runtime/current_thread.rs`, where the re-queued task lands behind the
//! others (`Schedule::schedule_after_poll`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Lets every other ready task run before this one continues.
///
/// It wakes its own task and returns `Pending` once. The scheduler sees that the task was
/// woken *during* its own poll and queues it at the back of the run queue, behind every
/// task that is already ready (not in a "run next" slot), so a task that loops on
/// `yield_now` can never starve the others. The future passed to `block_on` is treated
/// the same way on a current-thread runtime. On a multi-thread runtime that future runs on
/// the calling thread, not on a worker, so it hands its turn to the workers instead: it
/// sends a marker task through the runtime's queue and continues when that task has run
/// (the tasks queued before it have then been started by a worker, though on other
/// workers they may still be running).
///
/// On a multi-thread runtime with more than one worker, an idle sibling may have stolen
/// some of the ready tasks: before this task continues, its worker brings the tasks still
/// queued on the siblings (and in the runtime's injection queue) in front of it. Tasks a
/// sibling is *running* at that moment are not waited for, so this `yield_now`, like
/// tokio's, is a fairness tool, not a way to order tasks: to wait for a task, await its
/// `JoinHandle`.
///
/// ```
/// clockwork::block_on(async {
///     let other = clockwork::spawn(async { "the other task ran" });
///     clockwork::task::yield_now().await; // `other` runs here
///     assert!(other.is_finished());
/// });
/// ```
pub async fn yield_now() {
    YieldNow { yielded: false }.await
}

/// A future that is `Pending` once (after waking itself), then `Ready`.
struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        if !crate::runtime::multi_thread::pass_the_turn_of_block_on(cx.waker()) {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}
