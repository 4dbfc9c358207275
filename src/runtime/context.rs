//! The thread-local context: which runtime (if any) this thread is working for.
//!
//! **What this teaches.** `clockwork::spawn(fut)` and `sleep(d)` take no runtime argument,
//! yet they must reach *a* runtime. The answer is a thread-local: `block_on` and every
//! worker thread set it on entry and restore it on exit (guards, so a panic restores it
//! too). Two separate facts live here:
//!
//! * **current handle**: the runtime that `spawn`, timers and sockets use on this thread;
//! * **inside a runtime**: this thread is driving a runtime right now (in `block_on` or as
//!   a worker). Blocking it with another `block_on` would stall every task of that
//!   runtime, or deadlock, so that is refused with a panic naming the problem.
//!
//! Next to read: `src/runtime/scheduler.rs`.

// The thread-local is not `const { }`-initialised: loom's `thread_local!` lacks that form.
#![allow(clippy::missing_const_for_thread_local)]

use super::scheduler;
use crate::loom::sync::Arc;
use std::cell::{Cell, RefCell};

struct Context {
    /// The runtime `spawn` and friends use on this thread.
    handle: RefCell<Option<scheduler::Handle>>,
    /// This thread is driving a runtime (block_on or worker loop).
    in_runtime: Cell<bool>,
    /// `(runtime id, worker index)` if this thread is a multi-thread worker: wakes from a
    /// worker go to its local queue.
    worker: Cell<Option<(usize, usize)>>,
}

crate::loom::thread_local! {
    static CONTEXT: Context = Context {
        handle: RefCell::new(None),
        in_runtime: Cell::new(false),
        worker: Cell::new(None),
    };
}

/// The thread-local is gone (thread teardown) or no runtime is set.
#[derive(Debug)]
pub(crate) struct NoRuntime;

/// Calls `f` with the current runtime's scheduler handle.
pub(crate) fn with_current<R>(f: impl FnOnce(&scheduler::Handle) -> R) -> Result<R, NoRuntime> {
    CONTEXT.try_with(|ctx| ctx.handle.borrow().as_ref().map(f)).ok().flatten().ok_or(NoRuntime)
}

/// The current runtime's scheduler handle, cloned.
pub(crate) fn current() -> Option<scheduler::Handle> {
    with_current(|h| h.clone()).ok()
}

/// The driver handle (timers, reactor, unpark) of the runtime whose context this thread is
/// in, if any. Timers and sockets call this once, on first use, and keep the `Arc`.
#[allow(dead_code)] // first used by timers and sockets
pub(crate) fn driver_handle() -> Option<Arc<crate::driver::Handle>> {
    with_current(|h| h.driver().clone()).ok()
}

/// Restores the previous current handle when dropped.
pub(crate) struct SetCurrentGuard {
    previous: Option<scheduler::Handle>,
}

/// Makes `handle` the current runtime of this thread until the guard is dropped.
pub(crate) fn set_current(handle: &scheduler::Handle) -> SetCurrentGuard {
    let previous = CONTEXT.with(|ctx| ctx.handle.replace(Some(handle.clone())));
    SetCurrentGuard { previous }
}

impl Drop for SetCurrentGuard {
    fn drop(&mut self) {
        let previous = self.previous.take();
        let _ = CONTEXT.try_with(|ctx| *ctx.handle.borrow_mut() = previous);
    }
}

/// Marks this thread as driving a runtime; see [`enter_runtime`].
pub(crate) struct EnterRuntimeGuard {
    _current: SetCurrentGuard,
    /// The mark to restore: `false`, unless [`enter_for_shutdown`] found one already.
    was_in_runtime: bool,
}

/// Marks this thread as driving `handle`'s runtime (and makes it current).
///
/// # Panics
///
/// Panics if the thread already drives a runtime: `block_on` inside `block_on` or inside
/// a task would block the thread that must run the tasks it waits for.
#[track_caller]
pub(crate) fn enter_runtime(handle: &scheduler::Handle) -> EnterRuntimeGuard {
    let nested = CONTEXT.with(|ctx| ctx.in_runtime.replace(true));
    if nested {
        panic!(
            "block_on called from inside a clockwork runtime (a task, another block_on, or a \
             destructor run by a runtime's shutdown): \
             this would block the thread that runs the tasks it waits for, and could \
             deadlock. Use `.await` instead, or run the blocking part with \
             `task::spawn_blocking`."
        );
    }
    EnterRuntimeGuard { _current: set_current(handle), was_in_runtime: false }
}

/// For a shutdown, which drops task futures on the calling thread: makes `handle` current
/// and marks the thread as driving it, like [`enter_runtime`], so that a destructor calling
/// `block_on` panics clearly instead of waiting for a runtime that is going away. Unlike
/// `enter_runtime`, it accepts a thread that is already marked (a runtime dropped while a
/// panic unwinds out of a task), and leaves the mark as it found it.
pub(crate) fn enter_for_shutdown(handle: &scheduler::Handle) -> EnterRuntimeGuard {
    let was_in_runtime = CONTEXT.with(|ctx| ctx.in_runtime.replace(true));
    EnterRuntimeGuard { _current: set_current(handle), was_in_runtime }
}

impl Drop for EnterRuntimeGuard {
    fn drop(&mut self) {
        let was = self.was_in_runtime;
        let _ = CONTEXT.try_with(|ctx| ctx.in_runtime.set(was));
    }
}

/// Whether this thread is driving a runtime right now.
pub(crate) fn is_in_runtime() -> bool {
    CONTEXT.try_with(|ctx| ctx.in_runtime.get()).unwrap_or(false)
}

/// `(runtime id, worker index)` if this thread is a multi-thread worker.
pub(crate) fn worker() -> Option<(usize, usize)> {
    CONTEXT.try_with(|ctx| ctx.worker.get()).ok().flatten()
}

/// Records that this thread is worker `index` of runtime `runtime_id` (for its whole life).
pub(crate) fn set_worker(worker: Option<(usize, usize)>) {
    CONTEXT.with(|ctx| ctx.worker.set(worker));
}
