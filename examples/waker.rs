//! A counting waker that prints every clone, wake and drop the runtime makes with it.
//!
//! What it teaches: a `Waker` is just a pointer and four functions (`RawWakerVTable`). We
//! write one that prints, hand it to the runtime by polling a `JoinHandle` ourselves, and
//! watch what the runtime does with it: it *clones* it into the task's join slot, *wakes*
//! it once when the task completes, and *drops* its clone. clockwork's own task waker
//! (`src/task/waker.rs`) has the same four functions, over the task's reference count.
//!
//! Run it: `cargo run --example waker`.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::task::{Context, RawWaker, RawWakerVTable, Waker};

/// Live clones of our waker (the data pointer is unused: one global counter suffices).
static LIVE: AtomicUsize = AtomicUsize::new(0);
static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

unsafe fn clone(_: *const ()) -> RawWaker {
    let live = LIVE.fetch_add(1, SeqCst) + 1;
    println!("    waker: clone        (live clones: {live})");
    RawWaker::new(std::ptr::null(), &VTABLE)
}

unsafe fn wake(data: *const ()) {
    println!("    waker: wake (by value: wakes, then releases this clone)");
    // SAFETY: forwarding our own waker's data pointer to our own functions.
    unsafe {
        wake_by_ref(data);
        drop_waker(data);
    }
}

unsafe fn wake_by_ref(_: *const ()) {
    println!("    waker: wake_by_ref  -> this is where an executor would re-queue us");
}

unsafe fn drop_waker(_: *const ()) {
    let live = LIVE.fetch_sub(1, SeqCst) - 1;
    println!("    waker: drop         (live clones: {live})");
}

fn printing_waker() -> Waker {
    LIVE.fetch_add(1, SeqCst);
    // SAFETY: the vtable functions ignore the data pointer and keep the counter balanced.
    unsafe { Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE)) }
}

fn main() {
    let rt = clockwork::runtime::Builder::new_current_thread().build().unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<()>();
    println!("1. spawn a task that waits for a signal, and keep its JoinHandle");
    let mut handle = rt.spawn(async move {
        while rx.try_recv().is_err() {
            clockwork::task::yield_now().await;
        }
        "done"
    });

    let waker = printing_waker();
    let mut cx = Context::from_waker(&waker);
    println!("2. poll the JoinHandle by hand with our waker (the task has not finished):");
    assert!(Pin::new(&mut handle).poll(&mut cx).is_pending());
    println!("   -> Pending; the runtime kept a clone to wake us later");

    println!("3. poll it again with the same waker: `will_wake` says it is the same, no new clone:");
    assert!(Pin::new(&mut handle).poll(&mut cx).is_pending());

    println!("4. let the task finish (send the signal, run the runtime a little):");
    tx.send(()).unwrap();
    rt.block_on(async {
        for _ in 0..3 {
            clockwork::task::yield_now().await;
        }
    });

    println!("5. poll the JoinHandle again: the output is ready");
    let out = Pin::new(&mut handle).poll(&mut cx);
    println!("   -> {out:?}");
    println!("6. drop the handle (the runtime's clone goes with it) and our own waker:");
    drop(handle);
    drop(waker);
    println!("Every clone was dropped again: live clones = {}", LIVE.load(SeqCst));
    assert_eq!(LIVE.load(SeqCst), 0);
}
