//! Timers inside whole runtimes, both flavours: many sleeps at once, a busy runtime, a
//! timer registered while another worker has the driver parked for an hour, and timers
//! that outlive their runtime.
//!
//! Not built under `--cfg loom` (real threads and a real clock).
#![cfg(not(loom))]

mod common;

use clockwork::runtime::Builder;
use clockwork::time::{sleep, timeout};
use common::{on_both, panic_message, DropCounter};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);

#[test]
fn two_hundred_sleeping_tasks_each_wake_on_time() {
    on_both(|flavour, rt| {
        rt.block_on(async {
            let tasks: Vec<_> = (0..200u32)
                .map(|i| {
                    clockwork::spawn(async move {
                        let (start, nap) = (Instant::now(), (i % 25) * MS);
                        sleep(nap).await;
                        start.elapsed() >= nap
                    })
                })
                .collect();
            for task in tasks {
                assert!(task.await.unwrap(), "{flavour}: a sleep ended early");
            }
        });
    });
}

/// Scenario 20: a task that never stops yielding does not starve the timers.
#[test]
fn timers_fire_while_the_runtime_is_busy() {
    on_both(|flavour, rt| {
        rt.block_on(async {
            clockwork::spawn(async {
                loop {
                    clockwork::task::yield_now().await;
                }
            });
            let start = Instant::now();
            sleep(10 * MS).await;
            let took = start.elapsed();
            assert!(took >= 10 * MS && took < Duration::from_secs(5), "{flavour}: {took:?}");
        });
    });
}

/// Scenario 36 for real: while one worker keeps the other busy, the idle worker parks in
/// the driver until an hour-long timer. The busy task then sleeps 20 ms: its registration,
/// made on the busy worker's thread, must unpark the driver, or the sleep lasts an hour.
#[test]
fn a_short_timer_cuts_an_hour_long_park_short() {
    let rt = Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let _hour = rt.spawn(sleep(Duration::from_secs(3600)));
    let (done_tx, done) = mpsc::channel();
    rt.spawn(async move {
        let busy_until = Instant::now() + 50 * MS;
        while Instant::now() < busy_until {} // hog this worker; the other one parks
        let start = Instant::now();
        sleep(20 * MS).await;
        done_tx.send(start.elapsed()).unwrap();
    });
    let took = done.recv_timeout(Duration::from_secs(10)).expect("the 20 ms sleep never ended");
    assert!(took >= 20 * MS);
}

#[test]
fn dropping_a_runtime_drops_the_tasks_sleeping_in_it() {
    on_both(|_, rt| {
        let dropped = DropCounter::default();
        for _ in 0..10 {
            let token = dropped.token();
            rt.spawn(async move {
                let _token = token;
                sleep(Duration::from_secs(3600)).await;
            });
        }
        rt.block_on(sleep(5 * MS)); // let them register
        let start = Instant::now();
        drop(rt);
        assert_eq!(dropped.count(), 10);
        assert!(start.elapsed() < Duration::from_secs(5));
    });
}

/// A sleep registered in a runtime that has since shut down cannot fire any more: polling
/// it again says so instead of hanging. Dropping it is fine.
#[test]
fn a_timer_that_outlives_its_runtime_panics_when_polled() {
    let rt = Builder::new_current_thread().build().unwrap();
    let (mut nap, line) = (Box::pin(sleep(Duration::from_secs(3600))), line!());
    rt.block_on(async { assert!(futures::poll!(nap.as_mut()).is_pending()) });
    drop(rt);
    let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        futures::executor::block_on(nap.as_mut());
    }));
    let message = panic_message(&*polled.unwrap_err());
    assert!(message.contains("runtime shut down"), "{message}");
    // The panic is inside `poll`; the message names the line that made the sleep.
    assert!(message.contains(&format!("tests/time_runtime.rs:{line}:")), "{message}");
    drop(nap);
}

#[test]
fn timeouts_in_parallel_tasks() {
    on_both(|flavour, rt| {
        rt.block_on(async {
            let fast = clockwork::spawn(timeout(Duration::from_secs(10), sleep(MS)));
            let slow = clockwork::spawn(timeout(5 * MS, sleep(Duration::from_secs(10))));
            assert!(fast.await.unwrap().is_ok(), "{flavour}");
            assert!(slow.await.unwrap().is_err(), "{flavour}");
        });
    });
}
