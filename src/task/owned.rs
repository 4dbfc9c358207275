//! The owned-tasks list: every live task of one runtime, so shutdown can find them all.
//!
//! **What this teaches.** Wakers can be anywhere (in a timer, a socket, a static), so the
//! runtime cannot find its tasks by following them. It keeps one reference to every task
//! in a slab from spawn until completion; at shutdown it *closes* the list (no new task can
//! join), takes every task out, and cancels each one with the lock released, because a
//! future's destructor may wake or spawn other tasks (reliability scenario 48).
//!
//! The list is split into **shards**, each a mutex around a slab, and a task lives in the
//! shard its id picks (`id % shards`). Every spawn and every completion takes one shard's
//! lock; with one lock for the whole list, a worker spawning tasks and a worker finishing
//! them fought over it on every task (`perf`, 100k spawns on 2 workers: 58 % of the time
//! in `bind`, `remove` and the contended lock), and consecutive ids now land in different
//! shards. Shutdown closes and drains the shards one by one; a spawn that races with it
//! finds its own shard either still open (its task is drained later) or closed (its task
//! is cancelled at once), as with one lock.
//!
//! Rejected alternative: tokio's intrusive doubly-linked list through the task headers.
//! It avoids the slab's `Vec`, but every link operation is `unsafe`; the slab costs one
//! short mutex hold per spawn and per completion.
//!
//! Next to read: `coop.rs` (how tasks take turns), then `src/runtime/mod.rs`.

use super::raw::{Cell, Notified, Task};
use super::{JoinHandle, Schedule};
use crate::loom::sync::Mutex;
use crate::util::slab::{Key, Slab};
use std::future::Future;

/// Every live task of one runtime.
pub(crate) struct OwnedTasks<S: 'static> {
    /// Task `id` lives in shard `id % shards.len()`.
    shards: Box<[Mutex<Inner<S>>]>,
}

struct Inner<S: 'static> {
    tasks: Slab<Task<S>>,
    /// Set once at shutdown: new tasks are cancelled at once instead of joining.
    closed: bool,
}

impl<S: Schedule> OwnedTasks<S> {
    /// A list in `shards` shards (at least one). Under loom there is always one: a task's
    /// shard follows its id, which comes from a process-wide counter, and loom needs every
    /// run of a model to take the same locks.
    pub(crate) fn new(shards: usize) -> Self {
        let shards = if cfg!(loom) { 1 } else { shards.max(1) };
        let shard = || Mutex::new(Inner { tasks: Slab::new(), closed: false });
        OwnedTasks { shards: (0..shards).map(|_| shard()).collect() }
    }

    /// The shard that holds (or will hold) task `id`.
    fn shard(&self, id: u64) -> &Mutex<Inner<S>> {
        &self.shards[(id % self.shards.len() as u64) as usize]
    }

    /// Allocates a task for `future`, adds it to the list and returns its handle plus its
    /// first queue entry. `None` means the runtime is shut down: the task was already
    /// cancelled, and its handle resolves to `Err(cancelled)`.
    pub(crate) fn bind<F>(&self, future: F, scheduler: S) -> (JoinHandle<F::Output>, Option<Notified<S>>)
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let id = super::next_id();
        let mut inner = self.shard(id).lock();
        if inner.closed {
            drop(inner);
            let ptr = Cell::allocate(future, scheduler, id, Key::INVALID);
            // SAFETY: a new task has three references: we take the list's, the queue's and
            // the handle's.
            let (task, notified) = unsafe { (Task::<S>::from_raw(ptr), Notified::<S>::from_raw(ptr)) };
            let join = JoinHandle::new(task.raw());
            task.shutdown(); // drops the future right here, on the spawning thread
            drop(notified);
            return (join, None);
        }
        let mut ptr = None;
        inner.tasks.insert_with(|key| {
            let raw = Cell::allocate(future, scheduler, id, key);
            ptr = Some(raw);
            // SAFETY: the list adopts the first of the three initial references.
            unsafe { Task::from_raw(raw) }
        });
        drop(inner);
        let ptr = ptr.expect("insert_with always calls its closure");
        // SAFETY: the second and third initial references: the queue's and the handle's.
        let notified = unsafe { Notified::from_raw(ptr) };
        (JoinHandle::new(super::raw::RawTask::from_raw(ptr)), Some(notified))
    }

    /// Takes `task` out of the list (on completion).
    pub(crate) fn remove(&self, task: &Task<S>) -> Option<Task<S>> {
        let header = task.header();
        let removed = self.shard(header.id).lock().tasks.remove(header.owner_key);
        debug_assert!(removed.as_ref().is_none_or(|t| t.raw() == task.raw()));
        removed
    }

    /// Closes the list and returns every task in it; the caller shuts them down.
    pub(crate) fn close_and_drain(&self) -> Vec<Task<S>> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let mut inner = shard.lock();
            inner.closed = true;
            all.extend(inner.tasks.drain());
        }
        all
    }

    /// `true` once shutdown has begun closing the list (shard 0 is closed first).
    pub(crate) fn is_closed(&self) -> bool {
        self.shards[0].lock().closed
    }
}
