//! `spawn_blocking` through the public API, on both flavours: the cap set with
//! `Builder::max_blocking_threads`, dropping the runtime waits for a running job, and a
//! job's handle resolves on the pool thread, whether or not a runtime thread is free.
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
/// on a current-thread runtime that nobody drives: the pool thread polls the task, and
/// the task harness sees the cancel bit and drops the closure unrun. The pool has one
/// thread, busy, so the aborted job waits in its queue; a third job, queued after it,
/// tells when the pool has reached it.
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

/// The handle of a blocking job resolves on the pool thread: no runtime thread has to
/// poll anything. Here nobody drives the current-thread runtime while the job runs, and
/// the only worker of the multi-thread runtime is busy: it waits for `is_finished`
/// without yielding. Both hung when the job's result went through an async task that a
/// runtime thread had to poll (this module's first design).
#[test]
fn a_blocking_job_finishes_without_any_runtime_thread() {
    each_flavour(|name, builder| {
        let rt = builder.worker_threads(1).build().unwrap();
        let job = rt.spawn_blocking(|| 42);
        let deadline = std::time::Instant::now() + HANG;
        while !job.is_finished() {
            assert!(std::time::Instant::now() < deadline, "{name}: the job never finished");
            std::thread::yield_now();
        }
        // Awaited on another runtime: the output is already there.
        assert_eq!(clockwork::block_on(job).unwrap(), 42, "{name}");

        let job = rt.spawn_blocking(|| 7);
        let spinner = rt.spawn(async move {
            let deadline = std::time::Instant::now() + HANG;
            while !job.is_finished() {
                assert!(std::time::Instant::now() < deadline, "the job never finished");
                std::hint::spin_loop(); // holds the worker: no task runs meanwhile
            }
            job.await.unwrap()
        });
        assert_eq!(rt.block_on(spinner).unwrap(), 7, "{name}");
    });
}

/// An abort that comes while the closure runs cannot stop it (a thread cannot be
/// interrupted), and the result is delivered, as for any task whose poll completes while
/// it is aborted (and as in tokio, where such an abort has no effect).
#[test]
fn a_blocking_job_aborted_while_it_runs_still_delivers() {
    each_flavour(|name, builder| {
        let rt = build(builder, 1);
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let job = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            5
        });
        started_rx.recv_timeout(HANG).unwrap();
        job.abort();
        release_tx.send(()).unwrap();
        assert_eq!(rt.block_on(job).unwrap(), 5, "{name}");
    });
}

/// A panic in the closure is caught on the pool thread and reported through the handle.
#[test]
fn a_panicking_blocking_job_gives_a_panic_error() {
    each_flavour(|name, builder| {
        let rt = build(builder, 2);
        let job = rt.spawn_blocking(|| -> u8 { std::panic::panic_any(17u32) });
        let error = rt.block_on(job).unwrap_err();
        assert!(error.is_panic(), "{name}");
        assert_eq!(error.into_panic().downcast::<u32>().ok().map(|b| *b), Some(17), "{name}");
    });
}

/// A blocking job may drive many clockwork operations itself: through another executor,
/// or through `Handle::block_on` while a runtime thread holds the current-thread core
/// (the job then waits without the core). Neither may run out of budget: the job is not a
/// poll. With the poll's budget leaking into the job, the 129th operation and every one
/// after it yielded for ever (a review).
#[test]
fn a_blocking_job_may_drive_many_clockwork_operations_itself() {
    common::within(60, || {
        each_flavour(|name, builder| {
            let rt = build(builder, 2);
            let (tx, mut rx) = clockwork::sync::mpsc::channel(1000);
            let job = rt.spawn_blocking(move || {
                futures::executor::block_on(async move {
                    for i in 0..300 {
                        tx.send(i).await.unwrap();
                    }
                })
            });
            rt.block_on(job).unwrap();
            let received = rt.block_on(async move {
                let mut n = 0;
                while rx.recv().await.is_some() {
                    n += 1;
                }
                n
            });
            assert_eq!(received, 300, "{name}");

            let received = rt.block_on(async {
                let (tx, mut rx) = clockwork::sync::mpsc::channel(1);
                let feeder = clockwork::spawn(async move {
                    for i in 0..300 {
                        tx.send(i).await.unwrap();
                    }
                });
                let handle = clockwork::runtime::Handle::current();
                let job = clockwork::task::spawn_blocking(move || {
                    handle.block_on(async move {
                        let mut n = 0;
                        while rx.recv().await.is_some() {
                            n += 1;
                        }
                        n
                    })
                });
                feeder.await.unwrap();
                job.await.unwrap()
            });
            assert_eq!(received, 300, "{name}");
        });
    });
}
