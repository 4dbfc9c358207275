//! Loom models of the task state machine. Each names the interleaving it rules out.
//!
//! Run them exhaustively with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --lib loom_`;
//! in a normal `cargo test` each body runs once, as a smoke test.
//!
//! Bounds: every model uses the main thread plus at most two others, because each extra
//! thread multiplies the interleavings loom must explore.

use super::tests::{poll_join, Counts, Script, TestSched};
use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use crate::loom::sync::{Arc, Mutex};
use crate::loom::thread;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A future that finishes once `flag` is set, and stashes its latest waker. It asserts
/// that it is never polled by two threads at once.
struct WaitFlag {
    flag: Arc<AtomicBool>,
    stash: Arc<Mutex<Option<Waker>>>,
    in_poll: Arc<AtomicBool>,
}

impl Future for WaitFlag {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        assert!(!self.in_poll.swap(true, SeqCst), "two polls at once");
        *self.stash.lock() = Some(cx.waker().clone());
        let ready = self.flag.load(SeqCst);
        self.in_poll.store(false, SeqCst);
        if ready {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

fn wait_flag() -> (WaitFlag, Arc<AtomicBool>, Arc<Mutex<Option<Waker>>>) {
    let flag = Arc::new(AtomicBool::new(false));
    let stash = Arc::new(Mutex::new(None));
    let fut =
        WaitFlag { flag: flag.clone(), stash: stash.clone(), in_poll: Arc::new(AtomicBool::new(false)) };
    (fut, flag, stash)
}

/// Wake during poll: a wake that lands while the task is being polled must cause exactly
/// one more poll (no lost wake-up), and polls never overlap.
#[test]
fn loom_wake_during_poll() {
    crate::loom::model(|| {
        let sched = TestSched::new();
        let (fut, flag, stash) = wait_flag();
        let join = sched.spawn(fut);
        sched.tick(); // first poll: Pending, waker stashed
        let waker = stash.lock().take().expect("stashed");
        waker.wake_by_ref(); // queue a second poll, which races the wake below
        let waker_thread = thread::spawn(move || {
            flag.store(true, SeqCst);
            waker.wake();
        });
        sched.run_until_idle();
        waker_thread.join().unwrap();
        sched.run_until_idle();
        assert!(join.is_finished(), "the wake-up was lost");
        drop(join);
        sched.shutdown();
    });
}

/// Wake racing the last reference drop: one thread wakes by value while the other drops
/// its clone; the task is queued at most once and freed exactly once (loom reports a
/// leaked `Arc` inside the future if it never is).
#[test]
fn loom_wake_racing_last_reference_drop() {
    crate::loom::model(|| {
        let sched = TestSched::new();
        let (fut, flag, stash) = wait_flag();
        drop(sched.spawn(fut)); // detached
        sched.tick(); // Pending, waker stashed
        flag.store(true, SeqCst); // ready on its next poll
        let waker = stash.lock().take().expect("stashed");
        let other = waker.clone();
        let t = thread::spawn(move || waker.wake());
        drop(other);
        t.join().unwrap();
        sched.run_until_idle();
        assert!(sched.schedules() <= 1);
        sched.shutdown();
    });
}

/// Abort racing completion: the handle yields either the output or "cancelled", never
/// hangs, and the future is dropped exactly once. Both outcomes occur across executions.
#[test]
fn loom_abort_racing_completion() {
    static SAW_OK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    static SAW_CANCELLED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    crate::loom::model(|| {
        let sched = TestSched::new();
        let counts = Counts::default();
        let join = Arc::new(Mutex::new(sched.spawn(Script::new(&counts, 0))));
        let j2 = join.clone();
        let aborter = thread::spawn(move || j2.lock().abort());
        sched.run_until_idle();
        aborter.join().unwrap();
        sched.run_until_idle();
        let result = poll_join(&mut join.lock());
        match result {
            Poll::Ready(Ok(_)) => SAW_OK.store(true, SeqCst),
            Poll::Ready(Err(e)) if e.is_cancelled() => SAW_CANCELLED.store(true, SeqCst),
            other => panic!("unexpected: {:?}", other.map(|r| r.map(|_| ()))),
        }
        assert_eq!(counts.future_drops(), 1);
        sched.shutdown();
    });
    if cfg!(loom) {
        assert!(SAW_OK.load(SeqCst) && SAW_CANCELLED.load(SeqCst), "both outcomes must occur");
    }
}

/// The `JoinHandle` is dropped on another thread while the task completes: the output and
/// the join waker are each dropped exactly once, whoever ends up owning them.
#[test]
fn loom_join_handle_dropped_while_completing() {
    crate::loom::model(|| {
        let sched = TestSched::new();
        let counts = Counts::default();
        let mut join = sched.spawn(Script::new(&counts, 0));
        let join_waker_drops = Arc::new(crate::loom::sync::atomic::AtomicUsize::new(0));
        let waker = counting_waker(join_waker_drops.clone());
        assert!(Pin::new(&mut join).poll(&mut Context::from_waker(&waker)).is_pending());
        drop(waker);
        let dropper = thread::spawn(move || drop(join));
        sched.run_until_idle();
        dropper.join().unwrap();
        assert_eq!(counts.output_drops(), 1, "output dropped exactly once");
        // Two wakers existed: ours (dropped above) and the clone the handle stored.
        assert_eq!(join_waker_drops.load(SeqCst), 2, "the stored join waker dropped exactly once");
        sched.shutdown();
    });
}

/// Waker clones from several threads: clones, wakes and drops on two threads while the
/// scheduler runs; the task finishes and every reference is released.
#[test]
fn loom_waker_clones_from_two_threads() {
    crate::loom::model(|| {
        let sched = TestSched::new();
        let (fut, flag, stash) = wait_flag();
        let join = sched.spawn(fut);
        sched.tick();
        let waker = stash.lock().take().expect("stashed");
        flag.store(true, SeqCst);
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let w = waker.clone();
                thread::spawn(move || {
                    let w2 = w.clone();
                    w.wake_by_ref();
                    drop(w);
                    w2.wake();
                })
            })
            .collect();
        drop(waker);
        for t in threads {
            t.join().unwrap();
        }
        sched.run_until_idle();
        assert!(join.is_finished());
        drop(join);
        sched.shutdown();
    });
}

/// A waker that counts how often it is dropped (its clones count too).
fn counting_waker(drops: Arc<crate::loom::sync::atomic::AtomicUsize>) -> Waker {
    use std::task::{RawWaker, RawWakerVTable};
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, drop_fn);
    fn raw(drops: Arc<crate::loom::sync::atomic::AtomicUsize>) -> RawWaker {
        RawWaker::new(Arc::into_raw(drops) as *const (), &VTABLE)
    }
    unsafe fn clone(data: *const ()) -> RawWaker {
        let ptr = data as *const crate::loom::sync::atomic::AtomicUsize;
        // SAFETY: `data` came from `Arc::into_raw` and that reference is still held.
        let arc = unsafe { Arc::from_raw(ptr) };
        let copy = arc.clone();
        std::mem::forget(arc);
        raw(copy)
    }
    unsafe fn noop(_: *const ()) {}
    unsafe fn drop_fn(data: *const ()) {
        // SAFETY: `data` came from `Arc::into_raw`; this drop releases that reference.
        let arc = unsafe { Arc::from_raw(data as *const crate::loom::sync::atomic::AtomicUsize) };
        arc.fetch_add(1, SeqCst);
    }
    // SAFETY: the vtable functions treat `data` as an `Arc` reference, as built by `raw`.
    unsafe { Waker::from_raw(raw(drops)) }
}

/// The `JoinHandle` is polled again, with a *different* waker, on another thread while the
/// task completes. Completion may wake the stored waker and clear JOIN_WAKER between the
/// handle's look at the state and its swap of the waker: the swap must then read
/// "complete" (an assertion there once fired in about 1 % of such races, found by an
/// adversarial probe), and the output is read exactly once.
#[test]
fn loom_join_waker_swap_racing_completion() {
    crate::loom::model(|| {
        let sched = TestSched::new();
        let counts = Counts::default();
        let mut join = sched.spawn(Script::new(&counts, 0));
        let first_drops = Arc::new(crate::loom::sync::atomic::AtomicUsize::new(0));
        let first = counting_waker(first_drops.clone());
        assert!(Pin::new(&mut join).poll(&mut Context::from_waker(&first)).is_pending());
        drop(first);
        let poller = thread::spawn(move || {
            let second = counting_waker(Arc::new(crate::loom::sync::atomic::AtomicUsize::new(0)));
            let ready = Pin::new(&mut join).poll(&mut Context::from_waker(&second)).is_ready();
            (join, ready)
        });
        sched.run_until_idle();
        let (mut join, ready) = poller.join().unwrap();
        if !ready {
            let third = counting_waker(Arc::new(crate::loom::sync::atomic::AtomicUsize::new(0)));
            let again = Pin::new(&mut join).poll(&mut Context::from_waker(&third));
            assert!(again.is_ready(), "the task completed: the handle must see it");
        }
        drop(join);
        assert_eq!(counts.output_drops(), 1, "output dropped exactly once");
        sched.shutdown();
    });
}
