//! Who waits on one direction of a socket, and how they leave.
//!
//! **What this teaches.** Waiting is easy to register and hard to *unregister*: a future
//! may be dropped while it waits (a read that lost a `select!`), and nothing tells the
//! socket. This file keeps two kinds of waiter per direction. An `async` socket call's
//! future holds a key to its own slot (`source.rs`, `Waiter`) and gives it back when it is
//! dropped, so those are exact. A `poll_read` / `poll_write` has nowhere to keep a key, so
//! it leaves only a waker, and stale ones are pruned ([`MAX_WAITERS`]).
//!
//! Next to read: `src/reactor/mod.rs`, the reactor that sets the readiness.

use crate::util::slab::{Key, Slab};
use std::task::Waker;

/// How many *unkeyed* wakers (see [`DirectionState`]) one direction keeps before it looks
/// for stale ones: a `poll_read` abandoned while it waited leaves its waker behind until
/// the next event, and an idle socket may see none for a long time, while each stale
/// waker keeps its finished task's memory alive. At this length, and then whenever the
/// list doubles again, it is pruned: the wakers of finished tasks are dropped without
/// waking anyone (`task::task_waker_finished`); live tasks' wakers are kept; other wakers
/// (another executor's, a `block_on` root's), whose liveness cannot be read, are woken and
/// dropped if more than this many of them are left (a spurious wake-up for any that still
/// wait). The `async` operations do not need this: their waiters are keyed, and leave when
/// their future is dropped. Rejected: (this file's first bound) waking the whole list at
/// 64, which made 65 live tasks waiting on one direction wake each other for ever: 100 %
/// CPU on an idle socket.
pub(crate) const MAX_WAITERS: usize = 64;

/// The state of one direction of one source.
#[derive(Debug)]
pub(super) struct DirectionState {
    /// The last operation may not have drained the kernel's buffer: try it before waiting.
    /// Starts `true` (optimistic): the first read is attempted at once, and a `WouldBlock`
    /// answer is what teaches us to wait.
    pub(super) ready: bool,
    /// How many readiness events this direction has received; see the module docs.
    pub(super) tick: u64,
    /// The waiters of the `async` operations ([`Registration::io`]): one slot per waiting
    /// future, whose key the future keeps ([`Waiter`]). A future polled again replaces its
    /// own waker; a future dropped takes its slot out. So the slab holds exactly the
    /// futures that wait, however many there are and whatever their wakers are. Drained
    /// (memory kept) at each event, which makes every key stale: a future still waiting
    /// after that registers again.
    pub(super) waiters: Slab<Waker>,
    /// The waiters of `poll_read` / `poll_write` (the `futures-io` traits), which have no
    /// per-call state to keep a key in: wakers only, deduplicated with `will_wake`. A
    /// waker whose poll was abandoned stays until the next event (one spurious wake-up,
    /// never a hang) or until pruned (see [`MAX_WAITERS`]). Drained like `waiters`.
    pub(super) wakers: Vec<Waker>,
    /// The length at which `wakers` is next pruned: [`MAX_WAITERS`], or twice what the
    /// last pruning kept (so live waiters beyond it cost one scan per doubling).
    pub(super) prune_at: usize,
}

impl DirectionState {
    /// A direction nobody waits on yet, optimistically ready: the first operation is
    /// attempted at once, and a `WouldBlock` answer is what teaches us to wait.
    pub(super) fn new() -> DirectionState {
        DirectionState {
            ready: true,
            tick: 0,
            waiters: Slab::new(),
            wakers: Vec::new(),
            prune_at: MAX_WAITERS,
        }
    }

    /// Takes out the wakers of finished tasks (to be dropped outside the lock) and, if more
    /// than [`MAX_WAITERS`] of them are not task wakers, those too (to be woken outside the
    /// lock); sets the next pruning length from what is left.
    pub(super) fn prune(&mut self) -> (Vec<Waker>, Vec<Waker>) {
        let mut finished = Vec::new();
        let mut others = Vec::new();
        let mut kept = Vec::new();
        for waker in std::mem::take(&mut self.wakers) {
            match crate::task::task_waker_finished(&waker) {
                Some(true) => finished.push(waker),
                Some(false) => kept.push(waker),
                None => others.push(waker),
            }
        }
        if others.len() <= MAX_WAITERS {
            kept.append(&mut others);
        }
        self.wakers = kept;
        self.prune_at = (2 * self.wakers.len()).max(MAX_WAITERS);
        (finished, others)
    }

    /// Moves every waiter into `wake_list` (an event, or shutdown).
    pub(super) fn release_waiters(&mut self, wake_list: &mut Vec<Waker>) {
        self.waiters.drain_into(wake_list);
        wake_list.append(&mut self.wakers);
        self.prune_at = MAX_WAITERS;
    }

    /// Whether a waker that wakes `waker`'s task is already stored: in the slot `key`
    /// names (a keyed waiter), or in the unkeyed list. `will_wake` only compares pointers,
    /// so this may run under the lock.
    pub(super) fn has_waker(&self, key: Option<Option<Key>>, waker: &Waker) -> bool {
        match key {
            Some(key) => key.and_then(|key| self.waiters.get(key)).is_some_and(|w| w.will_wake(waker)),
            None => self.wakers.iter().any(|w| w.will_wake(waker)),
        }
    }

    /// Stores `waker` for the waiting future whose slot is `*key` (a new slot if it has
    /// none, or if an event made its key stale). Returns the waker it replaced, to be
    /// dropped outside the lock.
    pub(super) fn store_keyed(&mut self, key: &mut Option<Key>, waker: Waker) -> Option<Waker> {
        if let Some(stored) = key.and_then(|key| self.waiters.get_mut(key)) {
            return Some(std::mem::replace(stored, waker));
        }
        *key = Some(self.waiters.insert(waker));
        None
    }
}
