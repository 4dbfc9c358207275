//! The blocking pool on its own: claims, the cap, retirement, shutdown.
//!
//! No sleeps order the threads: every wait is on a condition (a channel message or a
//! count), bounded by a generous time limit only to turn a hang into a failure.

use super::Spawner;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

const HANG: Duration = Duration::from_secs(10);

/// Waits until `condition` holds, failing after [`HANG`].
fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + HANG;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::yield_now();
    }
}

/// Submits `f` (these tests use the pool on its own, with plain jobs instead of tasks).
fn submit(pool: &Spawner, f: impl FnOnce() + Send + 'static) {
    assert!(pool.submit(Box::new(f)).is_ok(), "the pool is open");
}

#[test]
fn two_jobs_back_to_back_never_share_one_idle_thread() {
    let pool = Spawner::new(8, HANG);
    submit(&pool, || {});
    wait_until("the first thread is idle", || pool.counts() == (1, 1));
    // Job 1 waits for job 2. With a single idle thread serving both in turn, it would
    // wait forever; a claim at submit time gives job 2 a thread of its own.
    let (tx, rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel();
    submit(&pool, move || done_tx.send(rx.recv_timeout(HANG).is_ok()).unwrap());
    submit(&pool, move || tx.send(()).unwrap());
    assert!(done_rx.recv_timeout(HANG).unwrap(), "job 2 ran while job 1 was blocked");
    assert_eq!(pool.counts().0, 2);
    pool.shutdown();
}

#[test]
fn at_most_max_threads_jobs_run_at_once() {
    let pool = Spawner::new(2, HANG);
    let running = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let (release_tx, release_rx) = crossbeam_channel::unbounded::<()>();
    for _ in 0..4 {
        let (running, most, release) = (running.clone(), most.clone(), release_rx.clone());
        submit(&pool, move || {
            let now = running.fetch_add(1, SeqCst) + 1;
            most.fetch_max(now, SeqCst);
            release.recv_timeout(HANG).unwrap();
            running.fetch_sub(1, SeqCst);
        });
    }
    wait_until("two jobs run", || running.load(SeqCst) == 2);
    assert_eq!(pool.counts().0, 2, "no third thread at the cap");
    for _ in 0..4 {
        release_tx.send(()).unwrap();
    }
    wait_until("all four jobs ran", || running.load(SeqCst) == 0 && pool.counts().1 == 2);
    assert_eq!(most.load(SeqCst), 2);
    pool.shutdown();
}

#[test]
fn idle_threads_retire_after_the_keep_alive() {
    let pool = Spawner::new(8, Duration::from_millis(20));
    let (tx, rx) = crossbeam_channel::unbounded::<()>();
    for _ in 0..3 {
        let rx = rx.clone();
        submit(&pool, move || rx.recv_timeout(HANG).unwrap());
    }
    assert_eq!(pool.counts().0, 3);
    for _ in 0..3 {
        tx.send(()).unwrap();
    }
    wait_until("every thread retired", || pool.counts() == (0, 0));
    // The pool still works after retiring everyone: a new job starts a new thread.
    let (done_tx, done_rx) = mpsc::channel();
    submit(&pool, move || done_tx.send(()).unwrap());
    done_rx.recv_timeout(HANG).unwrap();
    pool.shutdown();
}

#[test]
fn shutdown_waits_for_a_running_job_then_refuses_new_ones() {
    let pool = Spawner::new(1, HANG);
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let finished = Arc::new(AtomicUsize::new(0));
    let f2 = finished.clone();
    submit(&pool, move || {
        started_tx.send(()).unwrap();
        release_rx.recv_timeout(HANG).unwrap();
        f2.fetch_add(1, SeqCst);
    });
    started_rx.recv_timeout(HANG).unwrap();
    let releaser = std::thread::spawn(move || release_tx.send(()).unwrap());
    pool.shutdown();
    assert_eq!(finished.load(SeqCst), 1, "shutdown returned only after the running job finished");
    releaser.join().unwrap();
    let refused = pool.submit(Box::new(|| ()));
    assert!(refused.is_err(), "a closed pool gives the job back");
}
