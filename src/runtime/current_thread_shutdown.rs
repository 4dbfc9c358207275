//! Shutting a current-thread runtime down (a part of `current_thread.rs`, kept apart so
//! that each file stays readable): take the core back from whoever drives the runtime,
//! close the queue, cancel every task, shut the drivers down. The hand-back protocol is
//! the table in DESIGN.md §4.5; its loom model is in `current_thread_tests.rs`.
//!
//! Next to read: `src/runtime/multi_thread/mod.rs`.

use super::{context, scheduler, Core, Shared};
use crate::loom::sync::atomic::Ordering::SeqCst;
use crate::park::Parker;

/// Shuts the runtime down: cancels every task, then the drivers. Runs at `Runtime` drop.
pub(crate) fn shutdown(handle: &scheduler::Handle, shared: &Shared) {
    // 0. Take the core. If another thread runs the tasks (in `Handle::block_on`), it hands
    //    the core back between two polls, so no task is in the middle of a poll below and
    //    every future is dropped before `drop` returns, as on the multi-thread runtime.
    let core = take_core_for_shutdown(shared);
    // Futures are dropped on this thread below: mark it as inside the runtime, so that a
    // destructor calling `block_on` gets its clear panic instead of waiting for a core
    // and drivers that nobody will run again.
    let _enter = context::enter_for_shutdown(handle);
    // 1. Close the queue: from now on a wake-up (even from a destructor below) just drops
    //    its queue entry instead of queueing.
    let queued = shared.queue.lock().take();
    drop(queued);
    // 2. Close the owned list and cancel every task, with no lock held.
    for task in shared.owned.close_and_drain() {
        task.shutdown();
    }
    // 3. Tell the drivers, so resources still registered see the runtime is gone.
    if let Some(mut core) = core {
        core.driver.shutdown(&shared.driver);
        shared.return_core(core);
    }
    shared.blocking.shutdown();
}

/// Asks whoever holds the core to give it back, and waits for it. `None` only if this
/// very thread is inside the runtime without the core being free: the runtime dropped
/// while a panic unwinds out of one of its tasks or `block_on` futures (`Runtime::drop`
/// refuses otherwise). Waiting would deadlock, so the shutdown goes on without the core,
/// and a task being polled is dropped when its poll returns.
fn take_core_for_shutdown(shared: &Shared) -> Option<Core> {
    shared.shutting_down.store(true, SeqCst);
    shared.unpark_if_parked(); // a parked core holder must wake up to see the flag
    let runs_here = context::is_in_runtime()
        && context::with_current(
            |h| matches!(h, scheduler::Handle::CurrentThread(s) if std::ptr::eq(&**s, shared)),
        )
        .unwrap_or(false);
    let mut parker = Parker::new();
    loop {
        if let Some(core) = shared.take_core() {
            return Some(core);
        }
        if runs_here {
            return None;
        }
        if shared.wait_for_core(parker.unparker()) {
            continue; // it came back between our two looks
        }
        parker.park();
    }
}
