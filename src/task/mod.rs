//! Tasks: a spawned future, its state word, its hand-built waker and its `JoinHandle`.
//!
//! **What this teaches.** How one future goes from `spawn` to completion. Read the files
//! in this order: `state.rs` (the state word and its transition table), `raw.rs` (the one
//! allocation), `waker.rs` (the `RawWakerVTable`), `harness.rs` (poll and complete),
//! `join.rs` (the output's way back), `owned.rs` (how shutdown finds every task),
//! `yield_now.rs` and `coop.rs` (taking turns).
//!
//! ## Who holds a reference
//!
//! A task is freed when its reference count (in the state word) reaches zero. References
//! are held by: the owned-tasks list (until the task completes), a run queue entry
//! (`Notified`, while the task is `NOTIFIED`), the [`JoinHandle`] (until dropped), and
//! each [`Waker`](std::task::Waker) clone. A new task starts with three: list, queue,
//! handle. The waker handed to `poll` borrows the queue's reference instead of taking one.
//!
//! ## Who may touch which field, and when
//!
//! 1. The **future** (stage `Running`) is touched only by the thread that set `RUNNING`.
//! 2. The **output** (stage `Finished`) is written by that thread just before it sets
//!    `COMPLETE`; after `COMPLETE`, only the `JoinHandle` may take it (if `JOIN_INTEREST`),
//!    or else the completing thread drops it.
//! 3. While `JOIN_WAKER` is clear, the **join waker slot** belongs to the `JoinHandle`
//!    alone: it may write it, then set `JOIN_WAKER` to publish it.
//! 4. While `JOIN_WAKER` is set, the slot is read-only for everyone; the completing
//!    thread reads it to wake the handle's task.
//! 5. The `JoinHandle` takes the slot back by clearing `JOIN_WAKER`, which it can only do
//!    before `COMPLETE` (a CAS); dropping the handle before completion clears it too.
//! 6. After waking the join waker, the completing thread clears `JOIN_WAKER`; if
//!    `JOIN_INTEREST` was already gone by then, it must drop the waker itself.
//!
//! Next to read: `src/task/state.rs`.

mod builder;
pub(crate) mod coop;
mod harness;
mod join;
mod owned;
pub(crate) mod raw;
mod state;
mod waker;
mod yield_now;

#[cfg(test)]
mod loom_tests;
#[cfg(test)]
mod tests;

pub use builder::Builder;
pub use coop::{unconstrained, Unconstrained};
pub use join::{JoinError, JoinHandle};
pub use yield_now::yield_now;

pub(crate) use owned::OwnedTasks;
pub(crate) use raw::{Notified, Task};
#[cfg(not(loom))] // the reactor, its only user, is not built under loom
pub(crate) use waker::task_waker_finished;

use std::future::Future;

/// Futures (and `spawn_blocking` closures) larger than this many bytes are boxed by every
/// public entry point (`spawn`, `Runtime`/`Handle::{spawn, spawn_blocking, block_on}`,
/// `block_on`, `task::Builder`) before going any further. 2 KiB in debug builds, 16 KiB
/// in release ones, the numbers tokio uses (its `BOX_FUTURE_THRESHOLD`).
///
/// Why: a future is a plain value, and between the caller and its heap cell (`raw.rs`)
/// it is moved by value through half a dozen frames (`spawn`, `spawn_named`, a closure,
/// `bind`, `Cell::allocate`, the `Box::new` temporary). An unoptimised build keeps a copy
/// in each, so a 256 KiB future took more than a worker's 2 MiB stack and the process
/// aborted ("has overflowed its stack"); release builds elide most copies, hence the
/// larger number there. Boxed, what travels down is a pointer, and the only large move
/// left is the caller's own `Box::new`.
///
/// Rejected alternatives: boxing every future costs a second allocation (and a pointer
/// chase per poll) on every spawn, for the rare large one; never boxing aborts the process
/// on a large future; forcing every inner layer to `#[inline(always)]` does not stop an
/// unoptimised build from keeping a copy per frame.
pub(crate) const BOX_FUTURE_THRESHOLD: usize = if cfg!(debug_assertions) { 2 * 1024 } else { 16 * 1024 };

/// Whether a `T` is boxed at the door: larger than [`BOX_FUTURE_THRESHOLD`].
///
/// Callers test it as `if const { is_large::<F>() }`, not as a plain `if`: a branch on a
/// constant is pruned when `F` is known, so only one of the two calls is compiled for each
/// future type. With a plain `if` both were (a task harness for `F` *and* one for
/// `Box<F>`), and an unoptimised build gave the entry point's frame a slot for the dead
/// branch's copy as well: two copies of a 1 MiB future in one frame, half a worker's stack.
pub(crate) const fn is_large<T>() -> bool {
    std::mem::size_of::<T>() > BOX_FUTURE_THRESHOLD
}

/// The scheduler hook every task carries: how to put it back in a run queue.
///
/// The task module knows nothing about queues or threads; each runtime flavour implements
/// this trait, and the task calls it from its wakers and after each poll.
pub(crate) trait Schedule: Sized + Send + Sync + 'static {
    /// A task was woken (or spawned, or aborted): queue it. Must never block or run the
    /// task inline, because the caller may hold locks of its own (a wake inside `poll`).
    fn schedule(&self, task: Notified<Self>);

    /// The task was woken while it was being polled (for example by `yield_now`) and its
    /// poll returned `Pending`: queue it *behind* every task that is already ready.
    fn schedule_after_poll(&self, task: Notified<Self>) {
        self.schedule(task)
    }

    /// The task completed: remove it from the owned-tasks list and return the list's
    /// reference, or `None` if shutdown already took it out.
    fn release(&self, task: &Task<Self>) -> Option<Task<Self>>;

    /// The runtime's event recorder, if it records (see `src/trace/`).
    fn recorder(&self) -> Option<&crate::trace::Recorder> {
        None
    }
}

/// Spawns a new task on the runtime of the current context and returns its handle.
///
/// The task starts running at the runtime's next chance, concurrently with the caller;
/// it keeps running even if the [`JoinHandle`] is dropped.
///
/// # Panics
///
/// Panics when called outside a runtime (outside `block_on`, a task, or a runtime thread),
/// with a message that says so.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let name = crate::trace::TaskName::caller(); // read only when tracing
    if const { is_large::<F>() } {
        spawn_inner(Box::pin(future), name)
    } else {
        spawn_inner(future, name)
    }
}

/// [`spawn`] after the size check: `future` is small here (or a box).
#[track_caller] // its panic names the caller of the public function
fn spawn_inner<F>(future: F, name: crate::trace::TaskName<'_>) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match crate::runtime::context::with_current(|handle| handle.spawn_named(future, name)) {
        Ok(join) => join,
        Err(_) => panic!(
            "clockwork::spawn called outside a runtime: there is no clockwork runtime on this \
             thread. Call it from inside `block_on` or a task, or use `Runtime::spawn` / \
             `Handle::spawn`."
        ),
    }
}

/// Runs the blocking function `f` on a separate thread pool and returns a handle to its
/// result, so that a blocking call does not stall the tasks on a runtime thread.
///
/// A panic in `f` is caught and reported as [`JoinError::is_panic`]. The handle resolves
/// as soon as `f` returns, on the pool thread, even if no runtime thread is free to run
/// anything. `abort` before `f` starts means `f` never runs (the handle gives
/// `Err(cancelled)`); once `f` runs nothing can stop it (a thread cannot be interrupted),
/// and the handle gives its result, as in tokio.
///
/// # Panics
///
/// Panics when called outside a runtime.
#[track_caller]
pub fn spawn_blocking<F, R>(f: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let name = crate::trace::TaskName { name: Some("spawn_blocking"), ..crate::trace::TaskName::caller() };
    // A closure is moved down the same frames as a future (into a `BlockingFn`, then the
    // task cell), so a large capture is boxed too; `Box<F>` is itself `FnOnce`.
    if const { is_large::<F>() } {
        spawn_blocking_inner(Box::new(f), name)
    } else {
        spawn_blocking_inner(f, name)
    }
}

/// [`spawn_blocking`] after the size check: `f` is small here (or a box).
#[track_caller] // its panic names the caller of the public function
fn spawn_blocking_inner<F, R>(f: F, name: crate::trace::TaskName<'_>) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    match crate::runtime::context::with_current(|handle| handle.spawn_blocking_named(f, name)) {
        Ok(join) => join,
        Err(_) => panic!(
            "clockwork::task::spawn_blocking called outside a runtime: there is no clockwork \
             runtime on this thread. Call it from inside `block_on` or a task."
        ),
    }
}

/// A process-unique task id (1, 2, 3, ...).
pub(crate) fn next_id() -> u64 {
    // A plain std atomic even under loom: ids take part in no protocol, only in messages.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}
