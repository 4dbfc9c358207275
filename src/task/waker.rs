//! The hand-built waker: one `static RawWakerVTable` over the task's reference count.
//!
//! **What this teaches.** A `Waker` is a data pointer plus four functions. Ours uses the
//! task's own header as the data pointer, so a waker costs no allocation: cloning it adds
//! one to the task's reference count, dropping it subtracts one, and waking it runs a state
//! transition that decides whether the task must go back to a run queue.
//!
//! | vtable fn | reference count | state transition |
//! |---|---|---|
//! | `clone` | +1 | none |
//! | `wake` (by value) | the waker's own ref is consumed | `transition_to_notified_by_val` |
//! | `wake_by_ref` | +1 only if the task must be queued | `transition_to_notified_by_ref` |
//! | `drop` | −1 (frees the task if last) | none |
//!
//! A stale waker (task finished, cancelled, runtime gone) is harmless: the transition sees
//! `COMPLETE` and does nothing, and its `drop` still releases its reference exactly once.
//!
//! There is exactly **one** vtable for all tasks, whatever their future type: the
//! type-specific work happens behind `Header::vtable`. That keeps `Waker::will_wake`
//! meaningful (it compares data and vtable pointers), which the `JoinHandle` and the
//! timers use to skip replacing an identical waker. Correctness never depends on it.
//!
//! During a poll the task is kept alive by the queue reference the poller holds, so the
//! waker handed to `poll` is built *without* taking a reference ([`WakerRef`]): most polls
//! never clone it.
//!
//! Each vtable function has one tracing line, `trace::waker(id, op)`: a single branch when
//! no runtime records (see `src/trace/hooks.rs`).
//!
//! Next to read: `src/task/harness.rs`, where a task is polled and completed.

use super::raw::Header;
use super::state::TransitionToNotified;
use crate::trace::{self, WakerOp};
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

/// The only waker vtable in the runtime.
static WAKER_VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker borrowed for the duration of one poll; it holds no reference of its own.
pub(crate) struct WakerRef {
    waker: ManuallyDrop<Waker>,
}

impl WakerRef {
    /// # Safety
    ///
    /// `header` must point to a live task, and the caller must hold a reference to it for as
    /// long as the `WakerRef` (or anything borrowing it) lives.
    pub(crate) unsafe fn new(header: NonNull<Header>) -> WakerRef {
        let raw = RawWaker::new(header.as_ptr() as *const (), &WAKER_VTABLE);
        // SAFETY: the vtable's functions uphold the RawWaker contract for task pointers
        // (see each function); `ManuallyDrop` stops this borrowed waker from dropping a
        // reference it never took.
        let waker = unsafe { Waker::from_raw(raw) };
        WakerRef { waker: ManuallyDrop::new(waker) }
    }
}

impl Deref for WakerRef {
    type Target = Waker;
    fn deref(&self) -> &Waker {
        &self.waker
    }
}

/// For a waker of one of this crate's tasks, whether that task has finished (so waking it
/// would do nothing, and keeping it only keeps the task's memory alive); `None` for any
/// other waker (another executor's, a `block_on` root's, a test's). The reactor asks this
/// to prune the wakers that abandoned waits leave on an idle socket
/// (`src/reactor/source.rs`).
#[cfg(not(loom))] // the reactor, its only user, is not built under loom
pub(crate) fn task_waker_finished(waker: &Waker) -> Option<bool> {
    if !std::ptr::eq(waker.vtable(), &WAKER_VTABLE) {
        return None;
    }
    // SAFETY: a waker with this vtable was built here, so its data is a task pointer, and
    // it holds a reference to the task (or, for a `WakerRef`, borrows one) for as long as
    // it lives: the header may be read.
    let header = unsafe { task_ptr(waker.data()).as_ref() };
    Some(header.state.load().is_complete())
}

/// Recovers the task pointer from a waker's data pointer.
///
/// The pointer is rebuilt from `data` itself, never from a `&Header`: a pointer derived
/// from a reference may only reach the referent's bytes, and `schedule` / `dealloc` need
/// the whole allocation (Miri's Stacked Borrows checks exactly this).
///
/// # Safety
///
/// `data` must come from a waker built by this module (so it is a task header pointer)
/// whose reference is still held.
unsafe fn task_ptr(data: *const ()) -> NonNull<Header> {
    // SAFETY: per the contract, `data` is a non-null task pointer.
    unsafe { NonNull::new_unchecked(data as *mut Header) }
}

unsafe fn clone(data: *const ()) -> RawWaker {
    // SAFETY: `data` is the task pointer of the waker being cloned, which holds (or, for a
    // `WakerRef`, borrows the poller's) reference, so the task is alive.
    let header = unsafe { task_ptr(data).as_ref() };
    header.state.ref_inc();
    trace::waker(header.id, WakerOp::Clone);
    RawWaker::new(data, &WAKER_VTABLE)
}

unsafe fn wake(data: *const ()) {
    // SAFETY: `wake` consumes a waker that owns one reference, so the task is alive until
    // that reference is handed over or dropped below.
    let ptr = unsafe { task_ptr(data) };
    // SAFETY: alive, as above; the header is only read through shared references.
    let header = unsafe { ptr.as_ref() };
    trace::waker(header.id, WakerOp::Wake);
    match header.state.transition_to_notified_by_val() {
        // SAFETY: the waker's reference became the queue's reference (`Submit`).
        TransitionToNotified::Submit => unsafe { (header.vtable.schedule)(ptr) },
        TransitionToNotified::DoNothing => {}
        // SAFETY: that was the last reference; nothing else can reach the task.
        TransitionToNotified::Dealloc => unsafe { (header.vtable.dealloc)(ptr) },
    }
}

unsafe fn wake_by_ref(data: *const ()) {
    // SAFETY: the waker is borrowed, so its reference keeps the task alive for this call.
    let ptr = unsafe { task_ptr(data) };
    // SAFETY: alive, as above.
    let header = unsafe { ptr.as_ref() };
    trace::waker(header.id, WakerOp::WakeByRef);
    match header.state.transition_to_notified_by_ref() {
        // SAFETY: the transition took a new reference for the queue, which `schedule` adopts.
        TransitionToNotified::Submit => unsafe { (header.vtable.schedule)(ptr) },
        TransitionToNotified::DoNothing => {}
        TransitionToNotified::Dealloc => unreachable!("wake_by_ref never drops a reference"),
    }
}

unsafe fn drop_waker(data: *const ()) {
    // SAFETY: the waker being dropped owns one reference, so the task is alive until we
    // release it here.
    let ptr = unsafe { task_ptr(data) };
    // SAFETY: alive, as above.
    let header = unsafe { ptr.as_ref() };
    trace::waker(header.id, WakerOp::Drop); // before the decrement: it may free the task
    if header.state.ref_dec() {
        // SAFETY: that was the last reference; nothing else can reach the task.
        unsafe { (header.vtable.dealloc)(ptr) }
    }
}
