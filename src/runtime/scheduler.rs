//! The scheduler handle: one type that every task carries, whatever the runtime flavour.
//!
//! **What this teaches.** A task must be able to re-queue itself (its `Schedule` hook)
//! without knowing whether it lives on the current-thread or the multi-thread runtime.
//! An `enum` of the two shared states does that with a `match` instead of a `dyn` call,
//! and keeps one task type (one vtable per future type) for both flavours.
//!
//! Next to read: `src/runtime/current_thread.rs`.

use super::{blocking, current_thread, multi_thread};
use crate::driver;
use crate::loom::sync::Arc;
use crate::task::{JoinHandle, Notified, OwnedTasks, Schedule, Task};
use crate::trace;
use std::future::Future;

/// A cheap, cloneable reference to a runtime's shared state.
#[derive(Clone)]
pub(crate) enum Handle {
    CurrentThread(Arc<current_thread::Shared>),
    MultiThread(Arc<multi_thread::Shared>),
}

impl Handle {
    pub(crate) fn owned(&self) -> &OwnedTasks<Handle> {
        match self {
            Handle::CurrentThread(s) => &s.owned,
            Handle::MultiThread(s) => &s.owned,
        }
    }

    pub(crate) fn driver(&self) -> &Arc<driver::Handle> {
        match self {
            Handle::CurrentThread(s) => &s.driver,
            Handle::MultiThread(s) => &s.driver,
        }
    }

    pub(crate) fn blocking(&self) -> &blocking::Spawner {
        match self {
            Handle::CurrentThread(s) => &s.blocking,
            Handle::MultiThread(s) => &s.blocking,
        }
    }

    /// Spawns `future` as a new task of this runtime, named after the caller's location.
    #[track_caller]
    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.spawn_named(future, trace::TaskName::caller())
    }

    /// Spawns `future` as a new task; `name` is only read when the runtime is traced.
    pub(crate) fn spawn_named<F>(&self, future: F, name: trace::TaskName<'_>) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = self.owned().bind(future, self.clone());
        let first = if notified.is_some() { trace::FirstEntry::RunQueue } else { trace::FirstEntry::Dropped };
        trace::spawned(&self.driver().trace, join.id(), name, first);
        if let Some(notified) = notified {
            self.schedule(notified);
        }
        join
    }

    /// Runs `f` on the blocking pool, as a task that a pool thread polls; the returned
    /// handle is a normal task's handle.
    #[track_caller]
    pub(crate) fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let name = trace::TaskName { name: Some("spawn_blocking"), ..trace::TaskName::caller() };
        self.spawn_blocking_named(f, name)
    }

    /// [`Handle::spawn_blocking`] with an explicit task name (for traces).
    pub(crate) fn spawn_blocking_named<F, R>(&self, f: F, name: trace::TaskName<'_>) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        // The job runs with this runtime as the thread's current one, as in tokio, so that
        // it may call `spawn`, `Handle::current` or `Handle::block_on`. (Not "inside the
        // runtime": a blocking thread drives no tasks, so `block_on` is allowed there.)
        let handle = self.clone();
        let future = blocking::BlockingFn::new(move || {
            let _current = crate::runtime::context::set_current(&handle);
            f()
        });
        let (join, notified) = self.owned().bind(future, self.clone());
        // Not a run queue: the pool's (the trace then shows it spawned here and polled on a
        // pool thread, and exempts that poll from the long-poll lint).
        trace::spawned(&self.driver().trace, join.id(), name, trace::FirstEntry::BlockingPool);
        // The task's first (and only) queue entry goes to the pool, whose thread polls it:
        // see `blocking.rs`, "A job is a task".
        if let Some(notified) = notified {
            if let Err(job) = self.blocking().submit(Box::new(move || notified.run())) {
                // The pool has shut down, and the owned list had not closed yet (a spawn
                // racing the runtime's drop): cancel the task here, so that its handle
                // resolves to `Err(cancelled)` at once; running the job only cancels it.
                join.abort();
                job();
            }
        }
        join
    }
}

impl Schedule for Handle {
    fn schedule(&self, task: Notified<Self>) {
        match self {
            Handle::CurrentThread(s) => s.schedule(task),
            Handle::MultiThread(s) => s.schedule(task, false),
        }
    }

    fn schedule_after_poll(&self, task: Notified<Self>) {
        match self {
            Handle::CurrentThread(s) => s.schedule_yielded(task),
            Handle::MultiThread(s) => s.schedule(task, true),
        }
    }

    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.owned().remove(task)
    }

    fn recorder(&self) -> Option<&crate::trace::Recorder> {
        self.driver().trace.get().map(|recorder| &**recorder)
    }
}
