//! The harness: the typed functions behind the task vtable — poll, complete, cancel, read
//! the output, clean up after the `JoinHandle`.
//!
//! **What this teaches.** This is where "a worker runs a task" happens, step by step:
//!
//! 1. take the `RUNNING` bit ([`State::transition_to_running`]);
//! 2. poll the future with a waker that points back at this task, inside `catch_unwind`;
//! 3. on `Pending`, give the bit back ([`State::transition_to_idle`]) and do what it says:
//!    nothing, re-queue (woken during the poll), or cancel (aborted during the poll);
//! 4. on `Ready` (or a panic, or a cancellation), store the result and *complete*: wake the
//!    `JoinHandle`'s waker, leave the owned-tasks list, drop our references.
//!
//! **Panic policy.** A panic in user code never unwinds into the runtime: a panic while
//! polling, or while dropping the future (after `Ready`, on abort, at shutdown) becomes
//! `JoinError::is_panic()`; a panic while dropping an output that nobody will read (the
//! `JoinHandle` is gone), or in the join waker's `wake`/`drop`, is caught and discarded.
//! Rejected alternative: async-task's policy of aborting the process on a panicking
//! destructor. It is simpler, but one bad `Drop` impl would kill every other task.
//!
//! Next to read: `src/task/join.rs`, the other side of the output.

use super::join::JoinError;
use super::raw::{Cell, Header, Stage, Task};
use super::state::{Snapshot, TransitionToIdle, TransitionToRunning};
use super::waker::WakerRef;
use super::{Notified, Schedule};
use crate::trace;
use crate::util::panic::{contain, discard};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll, Waker};

/// Recovers the typed cell from a header pointer.
///
/// # Safety
///
/// `ptr` must point to a live task that was allocated as a `Cell<F, S>` (the vtable that
/// called us was built for exactly this `F` and `S`).
unsafe fn cell<'a, F: Future, S>(ptr: NonNull<Header>) -> &'a Cell<F, S> {
    // SAFETY: `Cell` is `#[repr(C)]` with the header first, and the pointer carries the
    // provenance of the whole `Box<Cell<F, S>>` (see `Cell::allocate`).
    unsafe { ptr.cast::<Cell<F, S>>().as_ref() }
}

// ===== vtable entries =====

/// Runs the task once; consumes the queue reference the caller held.
///
/// # Safety
///
/// As for [`cell`], and the caller hands over one queue (`Notified`) reference.
pub(super) unsafe fn poll<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    match cell.header.state.transition_to_running() {
        TransitionToRunning::Success => {}
        TransitionToRunning::Cancelled => return finish::<F, S>(cancel_and_complete(cell, ptr), ptr),
        TransitionToRunning::Failed => return,
        // SAFETY: the last reference was ours.
        TransitionToRunning::Dealloc => return unsafe { dealloc::<F, S>(ptr) },
    }
    // SAFETY: we hold the queue reference for the whole poll, so the borrowed waker may
    // point at the task without a reference of its own.
    let waker = unsafe { WakerRef::new(ptr) };
    // The span lives until we return, so wakes made by `complete` count as this task's.
    let span = trace::poll_start(&cell.scheduler, cell.header.id);
    let polled = poll_future(cell, &waker);
    trace::poll_end(&cell.scheduler, &span, polled.is_ready());
    if polled.is_ready() {
        return finish::<F, S>(complete(cell, ptr), ptr);
    }
    match cell.header.state.transition_to_idle() {
        TransitionToIdle::Ok => {}
        TransitionToIdle::OkNotified => {
            // Woken while it ran (a yield, or a wake from elsewhere): back of the queue.
            // SAFETY: the reference we were polled with becomes the new queue reference.
            let notified = unsafe { Notified::from_raw(ptr) };
            trace::scheduled(&cell.scheduler, cell.header.id);
            cell.scheduler.schedule_after_poll(notified);
        }
        // SAFETY: the last reference was ours.
        TransitionToIdle::OkDealloc => unsafe { dealloc::<F, S>(ptr) },
        TransitionToIdle::Cancelled => finish::<F, S>(cancel_and_complete(cell, ptr), ptr),
    }
}

/// Frees the task if completion dropped the last reference.
///
/// Freeing happens here, in the vtable entry, and not inside `complete`: a function that
/// received `&Cell` as an argument must not free the cell while that borrow is live (Miri's
/// Stacked Borrows rejects it, and rightly: the compiler may assume the borrow stays valid
/// for the whole call).
fn finish<F: Future, S: Schedule>(dealloc_now: bool, ptr: NonNull<Header>) {
    if dealloc_now {
        // SAFETY: `complete` reported that it dropped the last reference.
        unsafe { dealloc::<F, S>(ptr) }
    }
}

/// Hands a queue reference (taken by a waker or `abort`) to the scheduler.
///
/// # Safety
///
/// As for [`cell`], and the caller hands over one queue reference of a `NOTIFIED` task.
pub(super) unsafe fn schedule<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    trace::scheduled(&cell.scheduler, cell.header.id);
    // SAFETY: forwarded from the caller: the reference becomes the `Notified`.
    cell.scheduler.schedule(unsafe { Notified::from_raw(ptr) });
}

/// Frees the allocation.
///
/// # Safety
///
/// As for [`cell`], and no reference to the task may remain.
pub(super) unsafe fn dealloc<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: the pointer came from `Box::leak` of this exact type in `Cell::allocate`,
    // and the reference count reached zero, so we are the only owner left.
    drop(unsafe { Box::from_raw(ptr.cast::<Cell<F, S>>().as_ptr()) });
}

/// Runtime shutdown: cancels the task if nobody is running it; consumes the owned-list
/// reference.
///
/// # Safety
///
/// As for [`cell`], and the caller hands over the owned-list reference.
pub(super) unsafe fn shutdown<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    if cell.header.state.transition_to_shutdown() {
        // We own RUNNING now; the owned-list reference plays the poller's reference.
        finish::<F, S>(cancel_and_complete(cell, ptr), ptr);
    } else {
        // Running on another thread (which will see CANCELLED) or already complete.
        // SAFETY: we own this reference.
        drop(unsafe { Task::<S>::from_raw(ptr) });
    }
}

/// Moves the output into `*dst` if the task is complete; otherwise registers `waker`.
///
/// # Safety
///
/// As for [`cell`]; `dst` must point to a `Poll<Result<F::Output, JoinError>>`, and the
/// caller must be the task's `JoinHandle` (it relies on the join-waker access rules).
pub(super) unsafe fn try_read_output<F: Future, S: Schedule>(
    ptr: NonNull<Header>,
    dst: *mut (),
    waker: &Waker,
) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    if !super::join::can_read_output(&cell.header, waker) {
        return;
    }
    // COMPLETE is set and we are the JoinHandle: the stage is ours alone (rule 2).
    let stage = cell.stage.with_mut(|stage| {
        // SAFETY: exclusive access per rule 2 in `task/mod.rs`.
        std::mem::replace(unsafe { &mut *stage }, Stage::Consumed)
    });
    let Stage::Finished(output) = stage else {
        panic!("JoinHandle polled after it already returned the task's output");
    };
    // SAFETY: the caller promised `dst` has this type.
    unsafe { *(dst as *mut Poll<Result<F::Output, JoinError>>) = Poll::Ready(output) };
}

/// The `JoinHandle` was dropped: drop what it owned, then its reference.
///
/// # Safety
///
/// As for [`cell`], and the caller hands over the `JoinHandle`'s reference.
pub(super) unsafe fn drop_join_handle<F: Future, S: Schedule>(ptr: NonNull<Header>) {
    // SAFETY: forwarded from the caller.
    let cell = unsafe { cell::<F, S>(ptr) };
    let transition = cell.header.state.transition_to_join_handle_dropped();
    if transition.drop_output {
        // The output is ours (COMPLETE, rule 2). A panic in its Drop is swallowed: the
        // thread dropping a handle has no way to receive it (tokio#4412).
        contain(|| set_stage(cell, Stage::Consumed));
    }
    if transition.drop_waker {
        // SAFETY: JOIN_WAKER is clear, so the slot is the handle's (rules 3 and 5).
        contain(|| unsafe { set_join_waker(&cell.header, None) });
    }
    // SAFETY: we own the JoinHandle's reference.
    drop(unsafe { Task::<S>::from_raw(ptr) });
}

// ===== the steps =====

/// Polls the future inside `catch_unwind`; on `Ready` or panic, stores the result.
fn poll_future<F: Future, S>(cell: &Cell<F, S>, waker: &Waker) -> Poll<()> {
    let mut cx = Context::from_waker(waker);
    let polled = catch_unwind(AssertUnwindSafe(|| {
        cell.stage.with_mut(|stage| {
            // SAFETY: we hold RUNNING, so nobody else touches the stage (rule 1). The future
            // is never moved: it stays in the heap cell until dropped in place.
            let Stage::Running(future) = (unsafe { &mut *stage }) else {
                unreachable!("a RUNNING task always holds its future")
            };
            // SAFETY: see above: pinned in the heap allocation for its whole life.
            let future = unsafe { Pin::new_unchecked(future) };
            super::coop::budgeted(|| future.poll(&mut cx))
        })
    }));
    let result = match polled {
        Ok(Poll::Pending) => return Poll::Pending,
        Ok(Poll::Ready(output)) => match drop_future(cell) {
            Ok(()) => Ok(output),
            Err(error) => Err(error), // the future's Drop panicked after Ready
        },
        Err(payload) => {
            // A second panic, from the future's Drop, is discarded, payload and all.
            if let Err(second) = drop_future(cell) {
                if let Ok(payload) = second.try_into_panic() {
                    discard(payload);
                }
            }
            Err(JoinError::panic(cell.header.id, payload))
        }
    };
    set_stage(cell, Stage::Finished(result));
    Poll::Ready(())
}

/// Drops the future in place, turning a panic in its `Drop` into a `JoinError`.
fn drop_future<F: Future, S>(cell: &Cell<F, S>) -> Result<(), JoinError> {
    catch_unwind(AssertUnwindSafe(|| set_stage(cell, Stage::Consumed)))
        .map_err(|payload| JoinError::panic(cell.header.id, payload))
}

/// Cancels (drops the future, stores "cancelled" or the drop's panic), then completes.
/// Returns `true` if the caller must free the task.
#[must_use]
fn cancel_and_complete<F: Future, S: Schedule>(cell: &Cell<F, S>, ptr: NonNull<Header>) -> bool {
    // Before the drop: the trace must tell a cancelled task from one whose wakers were all
    // lost, and the drop is what releases every waker clone the future still held.
    trace::cancelled(&cell.scheduler, cell.header.id);
    let error = match drop_future(cell) {
        Ok(()) => JoinError::cancelled(cell.header.id),
        Err(panic) => panic,
    };
    set_stage(cell, Stage::Finished(Err(error)));
    complete(cell, ptr)
}

/// `RUNNING` → `COMPLETE`: notify the `JoinHandle`, leave the owned list, drop references.
/// Returns `true` if that dropped the last reference: the caller must then free the task.
#[must_use]
fn complete<F: Future, S: Schedule>(cell: &Cell<F, S>, ptr: NonNull<Header>) -> bool {
    let snapshot = cell.header.state.transition_to_complete();
    notify_join_handle(cell, snapshot);
    // SAFETY: borrowed only for the call; `release` returns the list's reference if the
    // list still held it.
    let this = std::mem::ManuallyDrop::new(unsafe { Task::<S>::from_raw(ptr) });
    let released = cell.scheduler.release(&this);
    let count = if released.is_some() { 2 } else { 1 };
    if let Some(task) = released {
        task.into_raw(); // its reference is dropped together with ours, just below
    }
    cell.header.state.transition_to_terminal(count)
}

/// Completion's side of the join protocol (rules 4 and 6 in `task/mod.rs`).
fn notify_join_handle<F: Future, S>(cell: &Cell<F, S>, snapshot: Snapshot) {
    if !snapshot.is_join_interested() {
        // Nobody will read the output: drop it here, containing a panicking Drop.
        contain(|| set_stage(cell, Stage::Consumed));
    } else if snapshot.is_join_waker_set() {
        cell.header.join_waker.with(|waker| {
            // SAFETY: JOIN_WAKER is set, so the runtime side may read the slot (rule 4).
            if let Some(waker) = unsafe { &*waker } {
                contain(|| waker.wake_by_ref());
            }
        });
        if !cell.header.state.unset_waker_after_complete().is_join_interested() {
            // The handle was dropped meanwhile and left the waker to us (rule 6).
            // SAFETY: JOIN_WAKER and JOIN_INTEREST are both clear: nobody else may touch it.
            contain(|| unsafe { set_join_waker(&cell.header, None) });
        }
    }
}

fn set_stage<F: Future, S>(cell: &Cell<F, S>, stage: Stage<F>) {
    cell.stage.with_mut(|slot| {
        // SAFETY: every caller owns the stage at this point: it holds RUNNING (poll, cancel),
        // or the task is COMPLETE and the caller is the only party the rules allow.
        unsafe { *slot = stage };
    });
}

/// Replaces the join waker.
///
/// # Safety
///
/// The caller must have exclusive access to the slot under the rules in `task/mod.rs`.
pub(super) unsafe fn set_join_waker(header: &Header, waker: Option<Waker>) {
    // SAFETY: exclusive access is the caller's contract.
    header.join_waker.with_mut(|slot| unsafe { *slot = waker });
}
