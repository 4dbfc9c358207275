//! Loom models of the multi-thread scheduler's protocols.
//!
//! Two kinds: *whole-runtime* models start a real multi-thread runtime (its workers are
//! loom threads, its driver a loom parker) and check an end-to-end promise; *piece*
//! models drive one data structure from several threads. Bounds: the main thread plus at
//! most two others, and `LOOM_MAX_PREEMPTIONS=2`, as everywhere in the crate. All of them
//! together take about 10 s:
//! `RUSTFLAGS="--cfg loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2 CARGO_TARGET_DIR=target/loom cargo test --lib --release loom_`
//!
//! Next to read: `src/runtime/blocking.rs`.

use super::local::Local;
use super::{shutdown, start, Shared};
use crate::loom::model;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Mutex};
use crate::loom::thread;
use crate::park::Parker;
use crate::runtime::{blocking, scheduler};
use std::task::{Poll, Waker};
use std::time::Duration;

/// A runtime with `workers` workers, its handle and its shared state.
fn runtime(workers: usize) -> (scheduler::Handle, Arc<Shared>, super::Workers) {
    let pool = blocking::Spawner::new(1, Duration::from_secs(1)); // never used: no threads
    let (shared, threads) = start(workers, None, pool).expect("loom runtime starts");
    (scheduler::Handle::MultiThread(shared.clone()), shared, threads)
}

/// Spawns a task from outside that counts itself done and unparks the main thread.
fn spawn_counter(handle: &scheduler::Handle, done: &Arc<AtomicUsize>, main: &Parker) {
    let (done, main) = (done.clone(), main.unparker());
    drop(handle.spawn(async move {
        done.fetch_add(1, SeqCst);
        main.unpark();
    }));
}

/// Park against a remote spawn, whole runtime: a task spawned from outside while the only
/// worker goes to sleep (or sleeps, in the driver) must run. A lost wake-up leaves every
/// thread parked, which loom reports as a deadlock. The second spawn, after the first task
/// ran, checks that the worker's wake-up cleared the in-flight flag: a stuck `waking`
/// would make every later spawn skip its wake-up.
#[test]
fn loom_runtime_remote_spawn_wakes_the_sleeping_worker() {
    model(|| {
        let (handle, shared, mut workers) = runtime(1);
        let done = Arc::new(AtomicUsize::new(0));
        let mut main = Parker::new();
        for round in 1..=2 {
            spawn_counter(&handle, &done, &main);
            while done.load(SeqCst) < round {
                main.park();
            }
        }
        shutdown(&handle, &shared, &mut workers);
    });
}

/// The waking throttle, whole runtime: two workers asleep, two remote spawns back to back.
/// The second spawn may find a wake already in flight and wake nobody; then the woken
/// worker's look at the queues (and its pass-it-on, `woken_worker_found_work`) must cover
/// it.
#[test]
fn loom_runtime_throttled_wake_is_covered_by_the_woken_worker() {
    model(|| {
        let (handle, shared, mut workers) = runtime(2);
        let done = Arc::new(AtomicUsize::new(0));
        let mut main = Parker::new();
        spawn_counter(&handle, &done, &main);
        spawn_counter(&handle, &done, &main);
        while done.load(SeqCst) < 2 {
            main.park();
        }
        shutdown(&handle, &shared, &mut workers);
    });
}

/// Counts its drops; the future of the shutdown model holds one.
struct CountDrop(Arc<AtomicUsize>);

impl Drop for CountDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Shutdown against a concurrent wake: a pending task is woken from another thread while
/// the runtime shuts down. Whatever the order (the wake lands before the workers stop, in
/// the middle of cancelling, or after the queues closed), shutdown finishes, the future is
/// dropped exactly once, and the late queue entry is dropped without running the task.
#[test]
fn loom_runtime_shutdown_against_a_concurrent_wake() {
    model(|| {
        let (handle, shared, mut workers) = runtime(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let stash = Arc::new(Mutex::new(None::<Waker>));
        let mut main = Parker::new();
        let (token, stash2, main2) = (CountDrop(drops.clone()), stash.clone(), main.unparker());
        drop(handle.spawn(async move {
            let _token = token;
            std::future::poll_fn(|cx| {
                *stash2.lock() = Some(cx.waker().clone());
                main2.unpark();
                Poll::<()>::Pending
            })
            .await
        }));
        let waker = loop {
            if let Some(waker) = stash.lock().take() {
                break waker;
            }
            main.park();
        };
        let waker_thread = thread::spawn(move || waker.wake());
        shutdown(&handle, &shared, &mut workers);
        waker_thread.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1, "the future is dropped exactly once");
    });
}

/// Stealing against the owner popping: the owner pops and refills its queue (through the
/// run-next slot, which displaces the older slot task to the FIFO) while a sibling steals
/// half. Every task ends up in exactly one place: popped, stolen, or still queued.
#[test]
fn loom_steal_against_owner_pop_loses_and_duplicates_nothing() {
    model(|| {
        let local = Arc::new(Mutex::new(Local::new()));
        {
            let mut queue = local.lock();
            queue.push_back(1);
            queue.push_back(2);
            queue.push_run_next(3);
        }
        let stealer_local = local.clone();
        let stealer =
            thread::spawn(move || stealer_local.lock().steal_half().into_iter().collect::<Vec<_>>());
        let mut popped = Vec::new();
        popped.extend(local.lock().pop(true).map(|popped| popped.task));
        local.lock().push_run_next(4); // the popped task wakes another
        popped.extend(local.lock().pop(true).map(|popped| popped.task));
        let stolen = stealer.join().unwrap();
        assert!(!stolen.contains(&3) && !stolen.contains(&4), "the slot is never stolen: {stolen:?}");
        let mut all: Vec<usize> = popped.into_iter().chain(stolen).chain(local.lock().take_all()).collect();
        all.sort_unstable();
        assert_eq!(all, [1, 2, 3, 4]);
    });
}

/// The run-next slot against a sleeping sibling: the owner fills its slot, then (its task
/// blocked) flushes and announces sleep, while the sibling looks for work to steal. A task
/// in the slot is invisible to the sibling until flushed; after the flush, either the
/// sibling steals it or the owner's re-check finds it. It is never stranded.
#[test]
fn loom_run_next_slot_is_flushed_before_the_owner_sleeps() {
    model(|| {
        let local = Arc::new(Mutex::new(Local::new()));
        let sibling_local = local.clone();
        let sibling =
            thread::spawn(move || sibling_local.lock().steal_half().into_iter().collect::<Vec<_>>());
        local.lock().push_run_next(7);
        local.lock().flush_run_next(); // the owner goes to sleep
        let rechecked = local.lock().pop(true).map(|popped| popped.task); // its re-check
        let stolen = sibling.join().unwrap();
        let found: Vec<usize> = rechecked.into_iter().chain(stolen).collect();
        assert_eq!(found, [7], "exactly one of owner and sibling runs the task");
    });
}
