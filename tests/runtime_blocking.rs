//! `spawn_blocking` through the public API, on both flavours: the cap set with
//! `Builder::max_blocking_threads`, and dropping the runtime waits for a running job.
//! (The pool's own accounting, claims and retirement are unit-tested in
//! `src/runtime/blocking_tests.rs`.)
//!
//! No sleeps order threads; every wait is on a channel, bounded only to catch a hang.

#![cfg(not(loom))]

mod common;

use clockwork::runtime::Builder;
use clockwork::Runtime;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;

const HANG: Duration = Duration::from_secs(10);

fn each_flavour(body: impl Fn(&'static str, &mut Builder)) {
    body("current_thread", &mut Builder::new_current_thread());
    body("multi_thread", Builder::new_multi_thread().worker_threads(2));
}

fn build(builder: &mut Builder, cap: usize) -> Runtime {
    builder.max_blocking_threads(cap).thread_keep_alive(Duration::from_millis(50)).build().unwrap()
}

#[test]
fn at_most_max_blocking_threads_jobs_run_at_once() {
    each_flavour(|name, builder| {
        let rt = build(builder, 2);
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let (started_tx, started_rx) = crossbeam_channel::unbounded::<()>();
        let (release_tx, release_rx) = crossbeam_channel::unbounded::<()>();
        let jobs: Vec<_> = (0..4)
            .map(|_| {
                let (running, most) = (running.clone(), most.clone());
                let (started, release) = (started_tx.clone(), release_rx.clone());
                rt.spawn_blocking(move || {
                    most.fetch_max(running.fetch_add(1, SeqCst) + 1, SeqCst);
                    started.send(()).unwrap();
                    release.recv_timeout(HANG).expect("released");
                    running.fetch_sub(1, SeqCst);
                })
            })
            .collect();
        // Release one job per start: the third and fourth can only start after a release.
        for _ in 0..4 {
            started_rx.recv_timeout(HANG).expect("a job started");
            release_tx.send(()).unwrap();
        }
        rt.block_on(async {
            for job in jobs {
                job.await.unwrap();
            }
        });
        assert!(most.load(SeqCst) <= 2, "{name}: {} jobs ran at once with a cap of 2", most.load(SeqCst));
    });
}

#[test]
fn dropping_the_runtime_waits_for_a_running_blocking_job() {
    each_flavour(|name, builder| {
        let rt = build(builder, 4);
        let finished = Arc::new(AtomicBool::new(false));
        let (started_tx, started_rx) = crossbeam_channel::bounded::<()>(1);
        let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(1);
        let done = finished.clone();
        drop(rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            release_rx.recv_timeout(HANG).expect("released");
            done.store(true, SeqCst);
        }));
        started_rx.recv_timeout(HANG).expect("the job started");
        // The release races the drop on purpose: whichever comes first, `drop` may return
        // only after the job finished.
        let releaser = std::thread::spawn(move || release_tx.send(()).unwrap());
        drop(rt);
        assert!(finished.load(SeqCst), "{name}: drop returned while the blocking job still ran");
        releaser.join().unwrap();
    });
}

/// As in tokio, a blocking job runs with its runtime as the current one: it may spawn
/// tasks, ask for `Handle::current()` and `block_on` a future (it drives no tasks itself).
#[test]
fn a_blocking_job_sees_its_runtime_as_current() {
    each_flavour(|name, builder| {
        let rt = build(builder, 4);
        let answer = rt.block_on(async {
            clockwork::task::spawn_blocking(|| {
                let handle = clockwork::runtime::Handle::current();
                let spawned = clockwork::spawn(async { 40 });
                handle.block_on(async move { spawned.await.unwrap() + 2 })
            })
            .await
            .unwrap()
        });
        assert_eq!(answer, 42, "{name}");
    });
}

/// A `spawn_blocking` job whose task is aborted before the job starts never starts, even
/// if no runtime thread has dropped the task's future yet (a current-thread runtime that
/// nobody drives): the job reads the task's cancel bit. The pool has one thread, busy,
/// so the aborted job waits in its queue; a third job, queued after it, tells when the
/// pool has reached it.
#[test]
fn a_blocking_job_aborted_before_it_starts_never_runs() {
    each_flavour(|name, builder| {
        let rt = build(builder, 1);
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let first = rt.spawn_blocking(move || release_rx.recv().unwrap());
        let ran = Arc::new(AtomicBool::new(false));
        let second = {
            let ran = ran.clone();
            rt.spawn_blocking(move || ran.store(true, SeqCst))
        };
        second.abort();
        let (reached_tx, reached_rx) = std::sync::mpsc::channel::<()>();
        let third = rt.spawn_blocking(move || reached_tx.send(()).unwrap());
        release_tx.send(()).unwrap();
        // Waited for outside the runtime: on current-thread nobody drives it meanwhile, so
        // the aborted task's future is still there when the pool reaches its job.
        reached_rx.recv_timeout(HANG).unwrap();
        assert!(!ran.load(SeqCst), "{name}: the aborted job ran");
        rt.block_on(third).unwrap();
        assert!(rt.block_on(second).unwrap_err().is_cancelled(), "{name}");
        rt.block_on(first).unwrap();
    });
}
