//! Runtimes: what drives tasks. `Runtime`, `Builder`, `Handle`, and the two schedulers.
//!
//! **What this teaches.** A runtime is three things: a place where ready tasks wait (the
//! run queue), threads that take tasks from it and poll them, and a way to sleep when
//! there is nothing to do (the driver: timers and I/O). Two flavours share one task type:
//!
//! | flavour | threads | queues | read |
//! |---|---|---|---|
//! | current-thread | the one in `block_on` | one FIFO | `current_thread.rs` |
//! | multi-thread | N workers | per worker a run-next slot + a local FIFO; one injection queue | `multi_thread/` |
//!
//! Dropping a [`Runtime`] shuts it down: every unfinished task's future is dropped before
//! `drop` returns, worker threads are joined, and the blocking pool waits for running jobs.
//!
//! Next to read: `src/runtime/context.rs`.

mod blocking;
mod builder;
pub(crate) mod context;
pub(crate) mod current_thread;
mod handle;
pub(crate) mod multi_thread;
pub(crate) mod scheduler;

pub use builder::Builder;
pub use handle::{EnterGuard, Handle};

use crate::task::{is_large, JoinHandle};
use std::future::Future;
use std::io;

/// A clockwork runtime: a scheduler with its timers and I/O driver.
///
/// ```
/// let rt = clockwork::runtime::Builder::new_current_thread().build().unwrap();
/// let handle = rt.spawn(async { 1 + 1 });
/// assert_eq!(rt.block_on(handle).unwrap(), 2);
/// ```
pub struct Runtime {
    handle: Handle,
    flavor: Flavor,
}

enum Flavor {
    CurrentThread,
    MultiThread(multi_thread::Workers),
}

impl Runtime {
    /// A multi-thread runtime with one worker per CPU core.
    pub fn new() -> io::Result<Runtime> {
        Builder::new_multi_thread().build()
    }

    /// Runs `future` to completion on this thread, with this runtime as the context.
    ///
    /// On the current-thread runtime, this thread also runs the spawned tasks while it
    /// waits. On the multi-thread runtime the workers run them.
    ///
    /// # Panics
    ///
    /// Panics if called from inside a runtime (a task or another `block_on`).
    #[track_caller]
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        // Each public entry point boxes a large future itself, before its first by-value
        // move: see `BOX_FUTURE_THRESHOLD`.
        if const { is_large::<F>() } {
            self.handle.block_on(Box::pin(future))
        } else {
            self.handle.block_on(future)
        }
    }

    /// Spawns a task on this runtime (callable from any thread).
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        if const { is_large::<F>() } {
            self.handle.spawn(Box::pin(future))
        } else {
            self.handle.spawn(future)
        }
    }

    /// Runs a blocking function on this runtime's blocking pool.
    pub fn spawn_blocking<F, R>(&self, f: F) -> JoinHandle<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        if const { is_large::<F>() } {
            self.handle.inner.spawn_blocking(Box::new(f))
        } else {
            self.handle.inner.spawn_blocking(f)
        }
    }

    /// A snapshot of the events recorded so far, if the runtime was built with
    /// [`Builder::trace`] (or `CLOCKWORK_TRACE` was set); see [`crate::trace`].
    pub fn trace(&self) -> Option<crate::trace::Trace> {
        self.handle.inner.driver().trace.get().map(|recorder| recorder.snapshot())
    }

    /// The runtime lints (lost wakers, long polls, busy self-wakes, unresolved timers) for
    /// the run so far, with default thresholds; empty when the runtime is not traced.
    pub fn lints(&self) -> Vec<crate::trace::Lint> {
        self.trace().map(|t| t.lints(&Default::default())).unwrap_or_default()
    }

    /// Makes this runtime the current one on this thread until the guard is dropped, so
    /// that `spawn` and timers created outside `block_on` find it (as tokio's
    /// `Runtime::enter`). It does not drive the runtime: a current-thread runtime's tasks
    /// still run only inside `block_on`.
    ///
    /// ```
    /// let rt = clockwork::runtime::Builder::new_current_thread().build().unwrap();
    /// let task = {
    ///     let _guard = rt.enter();
    ///     clockwork::spawn(async { 7 })
    /// };
    /// assert_eq!(rt.block_on(task).unwrap(), 7);
    /// ```
    pub fn enter(&self) -> EnterGuard<'_> {
        self.handle.enter()
    }

    /// A handle to this runtime (it does not keep the runtime alive). Returned by value,
    /// as the contract specifies, so it can be moved to another thread at once; it is a
    /// reference-counted pointer, so this is cheap.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    pub(crate) fn from_parts(handle: scheduler::Handle, workers: Option<multi_thread::Workers>) -> Runtime {
        let flavor = match workers {
            Some(workers) => Flavor::MultiThread(workers),
            None => Flavor::CurrentThread,
        };
        Runtime { handle: Handle { inner: handle }, flavor }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if context::is_in_runtime() && !std::thread::panicking() {
            // Nothing is shut down first: a half shut-down runtime (its flag raised, its
            // drivers left running or not) would make a surviving `Handle::block_on` on
            // another thread wait for ever. Its tasks stay until the process ends.
            panic!(
                "a clockwork Runtime was dropped from inside a runtime (a task or block_on): \
                 shutting it down would block this thread. Drop it outside, or move it to \
                 another thread."
            );
        }
        crate::trace::before_shutdown(&self.handle.inner.driver().trace);
        match (&mut self.flavor, &self.handle.inner) {
            (Flavor::CurrentThread, scheduler::Handle::CurrentThread(shared)) => {
                current_thread::shutdown(&self.handle.inner, shared)
            }
            (Flavor::MultiThread(workers), scheduler::Handle::MultiThread(shared)) => {
                multi_thread::shutdown(&self.handle.inner, shared, workers)
            }
            _ => unreachable!("runtime flavour and handle always match"),
        }
    }
}

// A panic in user code is always caught (or passed on to the caller of `block_on`) with
// no lock of the runtime held, and leaves its state consistent, so a `&Runtime` may cross
// `catch_unwind` (as tokio's may).
impl std::panic::UnwindSafe for Runtime {}
impl std::panic::RefUnwindSafe for Runtime {}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let flavor = match self.flavor {
            Flavor::CurrentThread => "current_thread",
            Flavor::MultiThread(_) => "multi_thread",
        };
        f.debug_struct("Runtime").field("flavor", &flavor).finish()
    }
}
