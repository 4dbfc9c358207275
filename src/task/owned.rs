//! The owned-tasks list: every live task of one runtime, so shutdown can find them all.
//!
//! **What this teaches.** Wakers can be anywhere (in a timer, a socket, a static), so the
//! runtime cannot find its tasks by following them. It keeps one reference to every task
//! in a slab from spawn until completion; at shutdown it *closes* the list (no new task can
//! join), takes every task out, and cancels each one with the lock released, because a
//! future's destructor may wake or spawn other tasks (reliability scenario 48).
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
    inner: Mutex<Inner<S>>,
}

struct Inner<S: 'static> {
    tasks: Slab<Task<S>>,
    /// Set once at shutdown: new tasks are cancelled at once instead of joining.
    closed: bool,
}

impl<S: Schedule> OwnedTasks<S> {
    pub(crate) fn new() -> Self {
        OwnedTasks { inner: Mutex::new(Inner { tasks: Slab::new(), closed: false }) }
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
        let mut inner = self.inner.lock();
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
        let key = task.header().owner_key;
        let removed = self.inner.lock().tasks.remove(key);
        debug_assert!(removed.as_ref().is_none_or(|t| t.raw() == task.raw()));
        removed
    }

    /// Closes the list and returns every task in it; the caller shuts them down.
    pub(crate) fn close_and_drain(&self) -> Vec<Task<S>> {
        let mut inner = self.inner.lock();
        inner.closed = true;
        inner.tasks.drain()
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.inner.lock().closed
    }
}
