//! `join(a, b)`: run two futures concurrently, finish when both have.
//!
//! **What this file teaches.** Concurrency without threads: one `poll` of the join polls
//! each unfinished child once, with the *same* waker. Whichever child's event fires wakes
//! the whole join, which then polls the children again; a finished child is not polled
//! again, its output waits in its `MaybeDone`.
//!
//! ```text
//!   (Pending, Pending) --a ready--> (Done, Pending) --b ready--+
//!          |                                                   v
//!          +--------b ready-----> (Pending, Done) --a ready--> (Done, Done) => Ready((a, b))
//! ```
//!
//! **Fairness: the first child changes on every poll.** Under the cooperative budget
//! (`src/task/coop.rs`) the child polled first may spend the whole budget of the task's
//! poll, and the other then returns `Pending` at once (and wakes the task). If `a` always
//! went first, a busy `a` (a channel that is never empty) would get every budget and `b`
//! would wait until `a` finished. So `b_first` flips on every poll, as tokio's `join!`
//! rotates its start; the outputs stay in argument order. Rejected: a random start (what
//! `select.rs` does). A select loop makes a *new* select every time, so state inside one
//! cannot rotate; a join lives until both children are done, so its own toggle is enough,
//! and it is deterministic.
//!
//! Shortcut admitted: on every wake-up both unfinished children are polled, even if only one
//! of them was woken. With two children that costs one extra poll; `join_all.rs` shows the
//! per-child-waker trick that avoids it for many children.
//!
//! Next to read: `join_all.rs`.

use super::maybe_done::MaybeDone;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Polls `a` and `b` concurrently; resolves to both outputs once both are done.
///
/// ```
/// # clockwork::block_on(async {
/// let (x, y) = clockwork::future::join(async { 1 }, async { "two" }).await;
/// assert_eq!((x, y), (1, "two"));
/// # });
/// ```
pub fn join<A: Future, B: Future>(a: A, b: B) -> Join<A, B> {
    Join { a: MaybeDone::new(a), b: MaybeDone::new(b), b_first: false }
}

/// The future returned by [`join`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Join<A: Future, B: Future> {
    a: MaybeDone<A>,
    b: MaybeDone<B>,
    /// Poll `b` before `a` this time; flips on every poll (fairness, module doc).
    b_first: bool,
}

impl<A: Future, B: Future> Future for Join<A, B> {
    type Output = (A::Output, B::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // SAFETY: pin projection. Both children are structurally pinned and `Join` keeps the
        // promise listed in `maybe_done.rs`: no `Drop`, no moves, no `repr(packed)`.
        // `b_first` is a plain `bool`, never pinned.
        let this = unsafe { self.get_unchecked_mut() };
        // SAFETY: as above; `this` is not used to move either field.
        let (mut a, mut b) = unsafe { (Pin::new_unchecked(&mut this.a), Pin::new_unchecked(&mut this.b)) };
        // Poll both (no short-circuit `&&`): each needs the chance to register its waker.
        let (a_done, b_done) = if this.b_first {
            let b_done = b.as_mut().poll_done(cx);
            (a.as_mut().poll_done(cx), b_done)
        } else {
            let a_done = a.as_mut().poll_done(cx);
            (a_done, b.as_mut().poll_done(cx))
        };
        this.b_first = !this.b_first;
        if !(a_done && b_done) {
            return Poll::Pending;
        }
        let a = a.take_output().expect("checked done");
        let b = b.take_output().expect("checked done");
        Poll::Ready((a, b))
    }
}

impl<A: Future, B: Future> fmt::Debug for Join<A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Join").finish_non_exhaustive()
    }
}
