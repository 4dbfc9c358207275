//! `poll_fn`: turn a closure into a future.
//!
//! **What this file teaches.** A future is nothing but a `poll` function plus the state it
//! keeps between calls. `poll_fn` makes that literal: the closure *is* `poll`, and whatever
//! it captures is the state. It is the quickest way to write a leaf future by hand, and the
//! macros in `macros.rs` are built on it.
//!
//! Next to read: `maybe_done.rs`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Creates a future whose `poll` calls `f`.
///
/// ```
/// use std::task::Poll;
/// # clockwork::block_on(async {
/// let mut polls = 0;
/// let ready_on_third_poll = clockwork::future::poll_fn(|cx| {
///     polls += 1;
///     if polls < 3 {
///         cx.waker().wake_by_ref(); // "poll me again"; a real future would register
///         Poll::Pending
///     } else {
///         Poll::Ready(polls)
///     }
/// });
/// assert_eq!(ready_on_third_poll.await, 3);
/// # });
/// ```
pub fn poll_fn<T, F>(f: F) -> PollFn<F>
where
    F: FnMut(&mut Context<'_>) -> Poll<T>,
{
    PollFn { f }
}

/// The future returned by [`poll_fn`]. It has exactly one state: the closure.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct PollFn<F> {
    f: F,
}

// The closure is only ever called through `&mut`, never pinned in place, so pinning a
// `PollFn` does not pin `F`: it is `Unpin` whatever `F` captures.
impl<F> Unpin for PollFn<F> {}

impl<T, F> Future for PollFn<F>
where
    F: FnMut(&mut Context<'_>) -> Poll<T>,
{
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        (self.get_mut().f)(cx)
    }
}

impl<F> fmt::Debug for PollFn<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PollFn").finish_non_exhaustive()
    }
}
