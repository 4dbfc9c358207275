//! Test-only wakers: one that counts its wake-ups, and ones whose `clone` or `wake` panic.
//!
//! `std::task::Wake` needs a std `Arc`, so the `Arc` here is std's; the counter inside is a
//! `crate::loom` atomic, so under loom the wake-up is still part of the checked history.

use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Condvar, Mutex};
use std::sync::Arc;
use std::task::{RawWaker, RawWakerVTable, Wake, Waker};

/// Counts how many times any clone of its waker was woken.
#[derive(Debug, Default)]
pub(crate) struct WakeCounter {
    count: AtomicUsize,
    panic_on_wake: bool,
}

impl WakeCounter {
    /// How many wake-ups so far.
    pub(crate) fn get(&self) -> usize {
        self.count.load(SeqCst)
    }
}

impl Wake for WakeCounter {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.count.fetch_add(1, SeqCst);
        if self.panic_on_wake {
            panic!("test waker: wake panics on purpose");
        }
    }
}

/// A waker and the counter that sees its wake-ups.
pub(crate) fn counting_waker() -> (Waker, Arc<WakeCounter>) {
    let counter = Arc::new(WakeCounter::default());
    (Waker::from(counter.clone()), counter)
}

/// A waker that counts, then panics, whenever it is woken.
pub(crate) fn panicking_wake_waker() -> (Waker, Arc<WakeCounter>) {
    let counter = Arc::new(WakeCounter { count: AtomicUsize::new(0), panic_on_wake: true });
    (Waker::from(counter.clone()), counter)
}

/// A waker whose `clone` panics. Its other functions do nothing.
pub(crate) fn panicking_clone_waker() -> Waker {
    fn clone(_: *const ()) -> RawWaker {
        panic!("test waker: clone panics on purpose");
    }
    fn noop(_: *const ()) {}
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, noop);
    // SAFETY: no function in `VTABLE` reads the data pointer, and none of them has state,
    // so they are trivially thread-safe as the `RawWaker` contract requires.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) }
}

/// The wake-up flag of a [`block_on`] call: a loom mutex and condition variable, so that a
/// waker fired after `block_on` returned is harmless. (Loom's `thread::unpark` of a thread
/// that is blocked in `JoinHandle::join` trips an assertion inside loom.)
#[derive(Default)]
struct Signal {
    woken: Mutex<bool>,
    condvar: Condvar,
}

impl Wake for Signal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        *self.woken.lock() = true;
        self.condvar.notify_one();
    }
}

/// Runs `future` to completion on this thread, blocking between polls. Under loom a task
/// that is never woken blocks forever, which loom reports as a deadlock: a lost wake-up.
pub(crate) fn block_on<F: std::future::Future>(future: F) -> F::Output {
    let signal = Arc::new(Signal::default());
    let waker = Waker::from(signal.clone());
    let mut cx = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        let mut woken = signal.woken.lock();
        let spinning = *woken; // woken during the poll itself: we are about to retry at once
        while !*woken {
            woken = signal.condvar.wait(woken);
        }
        *woken = false;
        drop(woken);
        if spinning {
            // E.g. `register` handed a wake-up back because another thread holds the slot.
            // Loom never preempts a thread on its own, so without a yield this retry loop
            // could spin forever. (Yielding always would also work, but it makes loom
            // explore other schedules and, within the preemption bound, miss real bugs.)
            crate::loom::thread::yield_now();
        }
    }
}
