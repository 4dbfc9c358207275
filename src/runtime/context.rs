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
    /// How many [`SetCurrentGuard`]s are live on this thread; each remembers the depth it
    /// made, so that one dropped while a later one lives is caught (see its `Drop`).
    depth: Cell<usize>,
    /// How many guards this thread has made: each guard's serial number.
    made: Cell<u64>,
    /// Serial ranges `(after, up_to]` of guards cut off by an out-of-order drop: such a
    /// guard restores nothing when it drops later. Empty unless the misuse panic was
    /// caught, so it never allocates in a correct program.
    cut_off: RefCell<Vec<(u64, u64)>>,
    /// This thread is driving a runtime (block_on or worker loop).
    in_runtime: Cell<bool>,
    /// `(runtime id, worker index)` if this thread is a multi-thread worker: wakes from a
    /// worker go to its local queue.
    worker: Cell<Option<(usize, usize)>>,
}

crate::loom::thread_local! {
    static CONTEXT: Context = Context {
        handle: RefCell::new(None),
        depth: Cell::new(0),
        made: Cell::new(0),
        cut_off: RefCell::new(Vec::new()),
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

/// Restores the previous current handle when dropped. Guards must be dropped in the
/// reverse order of their creation (a stack), which `depth` checks.
pub(crate) struct SetCurrentGuard {
    previous: Option<scheduler::Handle>,
    /// The thread's guard depth this guard made (1 for the outermost).
    depth: usize,
    /// Its serial number on this thread (see `Context::cut_off`).
    serial: u64,
}

/// Makes `handle` the current runtime of this thread until the guard is dropped.
pub(crate) fn set_current(handle: &scheduler::Handle) -> SetCurrentGuard {
    CONTEXT.with(|ctx| {
        let depth = ctx.depth.get() + 1;
        ctx.depth.set(depth);
        let serial = ctx.made.get() + 1;
        ctx.made.set(serial);
        SetCurrentGuard { previous: ctx.handle.replace(Some(handle.clone())), depth, serial }
    })
}

impl Drop for SetCurrentGuard {
    /// Each guard restores what was current when it was made, so guards dropped out of
    /// order (`let a = rt1.enter(); let b = rt2.enter(); drop(a); drop(b);`) used to leave
    /// `rt1` current for ever: `b` put back what it had found. Now the depth catches it,
    /// and we panic, as tokio does. Unlike tokio, we first rewind the context to what it
    /// was before *this* guard (dropping every later guard's claim), and a later guard
    /// is marked cut off (by serial number, so that guards made after the rewind, at the
    /// same depths, are not mistaken for it) and restores nothing: after the unwinding,
    /// nothing stale stays current. Rejected alternative: tokio's, which panics without
    /// restoring, so the later guard, dropped by the unwinding, put `rt1` back for good.
    fn drop(&mut self) {
        let previous = self.previous.take();
        let found = CONTEXT.try_with(|ctx| {
            let found = ctx.depth.get();
            let serial = self.serial;
            if ctx.cut_off.borrow().iter().any(|&(after, up_to)| after < serial && serial <= up_to) {
                return (0, previous); // rewound past by an earlier guard: nothing to do
            }
            if found > self.depth {
                ctx.cut_off.borrow_mut().push((serial, ctx.made.get())); // the newer guards
            }
            ctx.depth.set(self.depth - 1);
            // Handed out and dropped below, outside the borrow: the last handle of a
            // runtime may run destructors that look at this context.
            (found, ctx.handle.replace(previous))
        });
        if let Ok((found, replaced)) = found {
            drop(replaced);
            if found > self.depth && !std::thread::panicking() {
                panic!(
                    "`EnterGuard` values dropped out of order: guards returned by \
                     `Runtime::enter()` / `Handle::enter()` must be dropped in the reverse order \
                     of their creation (the newest first), and may not outlive a `block_on` \
                     they were made in. The runtime that was current before this guard is \
                     current again."
                );
            }
        }
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
