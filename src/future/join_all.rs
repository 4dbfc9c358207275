//! `join_all(futures)`: run many futures concurrently, collect their outputs in order.
//!
//! **What this file teaches: per-child wakers and a ready queue.** `join` polls every
//! unfinished child on every wake-up; with `n` children that each wake once, that is `n²`
//! polls. Here each child gets its *own* waker, which puts the child's index on a queue
//! shared with the parent and then wakes the parent. A poll of the parent takes the queue
//! and polls exactly the children on it, so a wake-up costs O(1) plus the poll it causes,
//! whatever `n` is. The parent's waker sits in an [`AtomicWaker`], following its rule:
//! register, then check (the queue).
//!
//! ```text
//!  child i's waker:  if !queued[i].swap(true) { ready.lock().push(i); parent.wake() }
//!  JoinAll::poll:    parent.register(cx.waker()); batch = everything in `ready`
//!                    for each i in batch, round robin: queued[i] = false; poll child i
//!                    remaining == 0  =>  Ready(outputs in input order)
//! ```
//!
//! `queued[i]` makes a second wake before the child's next poll free: no second entry, so
//! the queue holds at most `n` indexes, and a child is polled once per wake-up that found
//! it not queued. Every child starts out queued, so the first poll polls them all.
//!
//! **Fairness: round robin.** Under the cooperative budget (`src/task/coop.rs`) the child
//! polled first may spend the whole budget of the task's poll; the children after it then
//! return `Pending` at once and wake themselves. So the woken children are polled in index
//! order *starting just after the child that went first last time*, wrapping around.
//! Rejected: polling the batch in wake order (no sort needed). Under the budget that order
//! repeats itself: the child that ran first used up the budget and woke itself first, so
//! it heads the next batch too, and the others starve as they did with the old flag scan.
//!
//! Costs admitted: one allocation per child for its waker (made once, on the first poll);
//! a lock per wake-up and per poll, held for one `push` or one swap of two `Vec`s, never
//! around user code (so no waker can re-enter it, and a waker waits at most that long);
//! sorting each batch of `k` woken indexes (`O(k log k)`, usually `k` = 1) for the round
//! robin. Rejected alternatives: (1) the previous design, a flag per child and a scan of
//! all `n` flags per poll: lock-free and simple, but a chain of `n` children, each waking
//! the next, cost `n²` flag loads (2.5 s at `n` = 40,000, against 12.5 ms for futures'
//! `join_all`); (2) FuturesUnordered's intrusive lock-free ready-to-run queue: no lock,
//! but raw pointers, `unsafe` and a model of its own; (3) `crate::loom::queue::Injector`
//! (lock-free): a channel allocation for every `JoinAll`, even one whose children are all
//! ready at once.
//!
//! Next to read: `select.rs`.

use super::maybe_done::MaybeDone;
use crate::loom::sync::atomic::AtomicBool;
use crate::loom::sync::atomic::Ordering::AcqRel;
use crate::loom::sync::Mutex;
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
        shared: None,
        batch: Vec::new(),
        next_start: 0,
        remaining,
        completed: false,
        #[cfg(test)]
        examined: 0,
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
    shared: Option<Arc<Shared>>,
    /// The woken indexes this poll works through. Kept between polls only to reuse its
    /// buffer: it is swapped with the shared queue's, so neither side allocates again.
    batch: Vec<usize>,
    /// Round robin: a poll starts with the first woken child at or after this index.
    next_start: usize,
    /// Children that have not finished yet.
    remaining: usize,
    /// The outputs were returned; polling again is a bug.
    completed: bool,
    /// How many times a poll looked at a child: the work the old flag scan did `n` of
    /// per poll. Tests check that it stays linear.
    #[cfg(test)]
    examined: usize,
}

/// What the child wakers share with the parent.
struct Shared {
    /// `queued[i]`: child `i` is in `ready` (or is about to be), or was taken from it and
    /// not polled yet, so another wake of it has nothing to add.
    queued: Box<[AtomicBool]>,
    /// The ready queue: indexes of children woken since the parent last took it.
    ready: Mutex<Vec<usize>>,
    /// The task awaiting the `JoinAll`.
    parent: AtomicWaker,
}

/// Puts the children of a batch that were not polled yet back into the ready queue when
/// dropped (only a panic leaves any).
struct Requeue<'a> {
    shared: &'a Shared,
    /// The batch in polling order: these two slices, one after the other.
    parts: [&'a [usize]; 2],
    /// How many of them were taken for polling.
    done: usize,
}

impl Drop for Requeue<'_> {
    fn drop(&mut self) {
        let [first, second] = self.parts;
        if self.done >= first.len() + second.len() {
            return; // the normal way out: every child of the batch was polled
        }
        let rest = first.iter().chain(second).skip(self.done);
        self.shared.ready.lock().extend(rest);
    }
}

/// The waker handed to one child.
struct ChildWaker {
    index: usize,
    shared: Arc<Shared>,
}

impl Wake for ChildWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // Only the wake that finds the child not queued enqueues it (`AcqRel`: it pairs
        // with the parent's clearing swap). Publish the index, then wake (the producer's
        // half of the protocol); the lock guard is gone before `wake` runs user code.
        if !self.shared.queued[self.index].swap(true, AcqRel) {
            self.shared.ready.lock().push(self.index);
            self.shared.parent.wake();
        }
    }
}

impl<F: Future> JoinAll<F> {
    /// Builds the child wakers, with every child queued: the first poll is an ordinary
    /// one whose batch is every child, in order, so a wake before then has nothing to add.
    fn make_wakers(&mut self) -> Arc<Shared> {
        let n = self.children.len();
        let shared = Arc::new(Shared {
            queued: (0..n).map(|_| AtomicBool::new(true)).collect(),
            ready: Mutex::new((0..n).collect()),
            parent: AtomicWaker::new(),
        });
        self.wakers =
            (0..n).map(|index| Waker::from(Arc::new(ChildWaker { index, shared: shared.clone() }))).collect();
        self.shared = Some(shared.clone());
        shared
    }

    /// A poll: the children woken since the last one (at first, all of them), round robin.
    fn poll_woken(&mut self, shared: &Shared) {
        let mut batch = std::mem::take(&mut self.batch);
        batch.clear();
        // Swap buffers: the lock is held for one swap, and both `Vec`s keep their capacity.
        std::mem::swap(&mut batch, &mut *shared.ready.lock());
        batch.sort_unstable();
        // Index order from `next_start`, wrapping around: `[split..]`, then `[..split]`.
        let split = batch.partition_point(|&index| index < self.next_start);
        let (wrapped, from_start) = batch.split_at(split);
        // If a child panics, the children after it in this batch were taken from the
        // queue but not polled: the guard puts them back, so that a caller who catches the
        // panic and polls again does not strand them (their `queued` flags are still set,
        // so no wake would queue them again).
        let mut unpolled = Requeue { shared, parts: [from_start, wrapped], done: 0 };
        let mut first = None;
        for &index in from_start.iter().chain(wrapped) {
            unpolled.done += 1;
            if self.poll_child(shared, index) && first.is_none() {
                first = Some(index);
            }
        }
        drop(unpolled);
        if let Some(first) = first {
            self.next_start = first + 1; // `n` is fine: `partition_point` then wraps to 0
        }
        self.batch = batch;
    }

    /// Polls child `index` with its own waker. Returns `false`, without polling, if the
    /// child had already finished (a late wake-up).
    fn poll_child(&mut self, shared: &Shared, index: usize) -> bool {
        #[cfg(test)]
        {
            self.examined += 1;
        }
        // Clear *before* polling: a wake during or after this poll must queue the child
        // again. A swap, not a store, to acquire what the last waker published.
        shared.queued[index].swap(false, AcqRel);
        // SAFETY: the slice is pinned, so each element is; we hand out only a
        // `Pin<&mut _>` to it and never move it (the promise in `maybe_done.rs`).
        let child = unsafe { self.children.as_mut().map_unchecked_mut(|slice| &mut slice[index]) };
        if !matches!(*child, MaybeDone::Pending(_)) {
            return false;
        }
        if child.poll_done(&mut Context::from_waker(&self.wakers[index])) {
            self.remaining -= 1;
        }
        true
    }

    /// How many times a poll looked at a child (see the field).
    #[cfg(all(test, not(loom)))] // as `future::tests`, its only user
    pub(super) fn children_examined(&self) -> usize {
        self.examined
    }
}

impl<F: Future> Unpin for JoinAll<F> {} // the children are behind `Pin<Box<_>>`

impl<F: Future> Future for JoinAll<F> {
    type Output = Vec<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        assert!(!this.completed, "JoinAll polled after it completed");
        if this.remaining > 0 {
            let shared = match &this.shared {
                Some(shared) => shared.clone(),
                None => this.make_wakers(),
            };
            shared.parent.register(cx.waker()); // register, then check (take the queue)
            this.poll_woken(&shared);
            if this.remaining > 0 {
                return Poll::Pending;
            }
        }
        this.completed = true;
        // SAFETY: as in `poll_child`, for every element: pinned in place, never moved.
        let slice = unsafe { this.children.as_mut().get_unchecked_mut() };
        // SAFETY: as above, element by element; `take_output` moves only the output.
        let outputs = slice.iter_mut().map(|child| unsafe { Pin::new_unchecked(child) }.take_output());
        Poll::Ready(outputs.map(|output| output.expect("finished")).collect())
    }
}

impl<F: Future> Drop for JoinAll<F> {
    fn drop(&mut self) {
        // Child wakers may outlive us inside the resources the children waited on; each
        // holds the shared part, which holds the parent's waker. Release that waker now
        // rather than when the last child waker goes. A late wake then pushes an index
        // nobody reads: at most `n` of them, thanks to `queued`. (The children themselves
        // are dropped in place after this, as pinning requires.)
        if let Some(shared) = &self.shared {
            drop(shared.parent.take());
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
    use crate::loom::sync::atomic::AtomicUsize;
    use crate::loom::sync::atomic::Ordering::{Acquire, Release};
    use crate::loom::sync::Arc;
    use crate::loom::{model, thread};
    use crate::sync::atomic_waker::AtomicWaker;
    use crate::sync::oneshot;
    use crate::sync::test_waker::block_on;
    use std::task::Poll;

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

    /// One child woken from two threads while the parent polls it: the two wakes race
    /// each other on `queued` and the parent's clearing swap. Whichever wake finds the
    /// child queued adds nothing, so the other's entry (or the poll in progress) must
    /// cover it, or the child's last event is lost and `block_on` deadlocks.
    #[test]
    fn loom_one_child_woken_twice_from_two_threads() {
        model(|| {
            let events = Arc::new((AtomicUsize::new(0), AtomicWaker::new()));
            let wakers: Vec<_> = (0..2)
                .map(|_| {
                    let events = events.clone();
                    thread::spawn(move || {
                        events.0.fetch_add(1, Release); // publish, then wake
                        events.1.wake();
                    })
                })
                .collect();
            let child = crate::future::poll_fn(|cx| {
                events.1.register(cx.waker()); // register, then check
                if events.0.load(Acquire) == 2 {
                    Poll::Ready(())
                } else {
                    Poll::Pending
                }
            });
            assert_eq!(block_on(join_all([child])), vec![()]);
            for waker in wakers {
                waker.join().unwrap();
            }
        });
    }
}
