//! `join_all(futures)`: run many futures concurrently, collect their outputs in order.
//!
//! **What this file teaches: per-child wakers.** `join` polls every unfinished child on
//! every wake-up. With `n` children that each wake once, that is `n²` polls. Here each child
//! gets its *own* waker, which marks the child's flag and then wakes the parent. A poll of
//! the parent polls only the flagged children. The parent's waker sits in an
//! [`AtomicWaker`], following its rule: register, then check the flags.
//!
//! ```text
//!  child i's waker:  flags[i] = true; parent.wake()
//!  JoinAll::poll:    parent.register(cx.waker()); for each i with flags[i] set: clear, poll i
//!                    remaining == 0  =>  Ready(outputs in input order)
//! ```
//!
//! Cost admitted: one allocation per child for its waker (made once, on the first poll), plus
//! a scan of `n` flags per poll (cheap loads, not polls). Rejected alternative: a queue of
//! woken indices, which avoids the scan but needs a lock or a lock-free list.
//!
//! Next to read: `select.rs`.

use super::maybe_done::MaybeDone;
use crate::loom::sync::atomic::AtomicBool;
use crate::loom::sync::atomic::Ordering::{AcqRel, Relaxed, Release};
use crate::sync::atomic_waker::AtomicWaker;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc; // std's: `std::task::Wake` requires it
use std::task::{Context, Poll, Wake, Waker};

/// Polls every future concurrently; resolves to their outputs, in input order.
///
/// ```
/// # clockwork::block_on(async {
/// let doubled = clockwork::future::join_all((1..=3).map(|n| async move { n * 2 })).await;
/// assert_eq!(doubled, vec![2, 4, 6]);
/// # });
/// ```
pub fn join_all<I>(futures: I) -> JoinAll<I::Item>
where
    I: IntoIterator,
    I::Item: Future,
{
    let children: Box<[_]> = futures.into_iter().map(MaybeDone::new).collect();
    let remaining = children.len();
    JoinAll {
        children: Box::into_pin(children),
        wakers: Box::new([]),
        woken: None,
        remaining,
        completed: false,
    }
}

/// The future returned by [`join_all`].
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct JoinAll<F: Future> {
    /// Pinned once, on the heap, so `JoinAll` itself can move freely (it is `Unpin`).
    children: Pin<Box<[MaybeDone<F>]>>,
    /// `wakers[i]` is child `i`'s waker; empty until the first poll.
    wakers: Box<[Waker]>,
    /// Shared with the child wakers; `None` until the first poll.
    woken: Option<Arc<Woken>>,
    /// Children that have not finished yet.
    remaining: usize,
    /// The outputs were returned; polling again is a bug.
    completed: bool,
}

/// What the child wakers share with the parent.
struct Woken {
    /// `flags[i]`: child `i` was woken since it was last polled.
    flags: Box<[AtomicBool]>,
    /// The task awaiting the `JoinAll`.
    parent: AtomicWaker,
}

/// The waker handed to one child.
struct ChildWaker {
    index: usize,
    woken: Arc<Woken>,
}

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Publish "child i is ready", then wake (the producer's half of the protocol).
        self.woken.flags[self.index].store(true, Release);
        self.woken.parent.wake();
    }
}

impl<F: Future> JoinAll<F> {
    /// Builds the child wakers, with every flag set so each child gets its first poll.
    fn make_wakers(&mut self) -> Arc<Woken> {
        let n = self.children.len();
        let woken = Arc::new(Woken {
            flags: (0..n).map(|_| AtomicBool::new(true)).collect(),
            parent: AtomicWaker::new(),
        });
        self.wakers =
            (0..n).map(|index| Waker::from(Arc::new(ChildWaker { index, woken: woken.clone() }))).collect();
        self.woken = Some(woken.clone());
        woken
    }
}

/// The children of a pinned slice, each pinned.
fn pinned<F: Future>(
    children: &mut Pin<Box<[MaybeDone<F>]>>,
) -> impl Iterator<Item = Pin<&mut MaybeDone<F>>> {
    // SAFETY: the slice is pinned, so each element is; we only hand out `Pin<&mut _>` and
    // never move an element (the promise in `maybe_done.rs`).
    let slice = unsafe { children.as_mut().get_unchecked_mut() };
    // SAFETY: as above, element by element.
    slice.iter_mut().map(|child| unsafe { Pin::new_unchecked(child) })
}

impl<F: Future> Unpin for JoinAll<F> {} // the children are behind `Pin<Box<_>>`

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.completed, "JoinAll polled after it completed");
        if this.remaining > 0 {
            let woken = match &this.woken {
                Some(woken) => woken.clone(),
                None => this.make_wakers(),
            };
            woken.parent.register(cx.waker()); // register, ...
            for (index, child) in pinned(&mut this.children).enumerate() {
                // ... then check. The cheap load skips the RMW for children nobody woke.
                let flag = &woken.flags[index];
                if flag.load(Relaxed) && flag.swap(false, AcqRel) {
                    let was_pending = matches!(*child, MaybeDone::Pending(_));
                    let done = child.poll_done(&mut Context::from_waker(&this.wakers[index]));
                    this.remaining -= usize::from(was_pending && done);
                }
            }
            if this.remaining > 0 {
                return Poll::Pending;
            }
        }
        this.completed = true;
        let outputs = pinned(&mut this.children).map(|child| child.take_output().expect("finished"));
        Poll::Ready(outputs.collect())
    }
}

impl<F: Future> Drop for JoinAll<F> {
    fn drop(&mut self) {
        // Child wakers may outlive us inside the resources the children waited on; each
        // holds the shared part, which holds the parent's waker. Release that waker now
        // rather than when the last child waker goes. (The children themselves are dropped
        // in place after this, as pinning requires.)
        if let Some(woken) = &self.woken {
            drop(woken.parent.take());
        }
    }
}

impl<F: Future> fmt::Debug for JoinAll<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinAll").field("remaining", &self.remaining).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::join_all;
    use crate::loom::{model, thread};
    use crate::sync::oneshot;
    use crate::sync::test_waker::block_on;

    /// Two children completed from two other threads while the parent polls: every wake-up
    /// must reach the parent (a lost one deadlocks `block_on`, which loom reports).
    #[test]
    fn loom_children_woken_from_other_threads() {
        model(|| {
            let (tx0, rx0) = oneshot::channel();
            let (tx1, rx1) = oneshot::channel();
            let first = thread::spawn(move || tx0.send(0).unwrap());
            let second = thread::spawn(move || tx1.send(1).unwrap());
            let outputs = block_on(join_all([rx0, rx1]));
            assert_eq!(outputs, vec![Ok(0), Ok(1)]);
            first.join().unwrap();
            second.join().unwrap();
        });
    }
}
