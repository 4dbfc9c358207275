//! Loom models of the time driver: every interleaving of two or three threads.
//!
//! **What this teaches.** The time driver's correctness rests on three races that
//! ordinary tests hit only by luck: a timer cancelled (or its sleep dropped) while the
//! driver fires it, a sleep handed a new waker while the driver fires it, and a timer
//! registered while the driver is going to sleep. Each model below is one such race,
//! small enough (≤ 3 threads, a handful of lock operations) for loom to try every order.
//! Under a normal `cargo test` each body runs once, as a smoke test.
//!
//! Run exhaustively with
//! `RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --lib loom_`.

use crate::driver::Driver;
use crate::loom::model;
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::Arc;
use crate::loom::thread;
use crate::time::clock::Clock;
use crate::time::driver::Handle as TimeHandle;
use crate::time::sleep::Sleep;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Wake, Waker};
use std::time::Duration;

/// Counts wake-ups with a loom atomic, so loom sees the count. (The `std` `Arc` around it
/// is only how `Wake` builds a waker; loom does not need to track it.)
#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn counter() -> (std::sync::Arc<Counter>, Waker) {
    let counter = std::sync::Arc::new(Counter::default());
    (counter.clone(), Waker::from(counter))
}

/// Scenario 33: one thread cancels a due timer while the driver fires it. Exactly one of
/// them gets the waker: it is woken once or not at all, never twice, and the wheel ends
/// empty either way.
#[test]
fn loom_cancel_races_fire() {
    model(|| {
        let (clock, _manual) = Clock::manual();
        let time = Arc::new(TimeHandle::new(clock));
        let (count, waker) = counter();
        let key = time.register(0, &waker, Location::caller()).key;
        let canceller = {
            let time = time.clone();
            thread::spawn(move || time.cancel(key))
        };
        let fired = time.process(0);
        canceller.join().unwrap();
        assert_eq!(fired, count.0.load(SeqCst), "woken exactly when fired");
        assert!(fired <= 1);
        assert_eq!(time.len(), 0);
    });
}

/// Scenario 33 through the public future: a registered `Sleep` is dropped on one thread
/// while the driver thread fires it.
#[test]
fn loom_drop_sleep_while_driver_fires_it() {
    model(|| {
        let (clock, manual) = Clock::manual();
        let (mut driver, handle) = Driver::with_clock(clock).unwrap();
        let handle = Arc::new(handle);
        let (_, waker) = counter();
        let deadline = handle.time().clock().now() + Duration::from_millis(1);
        let mut sleep = Sleep::with_driver(Some(deadline), handle.clone());
        assert!(Pin::new(&mut sleep).poll(&mut Context::from_waker(&waker)).is_pending());
        manual.advance(1);
        let dropper = thread::spawn(move || drop(sleep));
        driver.park_timeout(&handle, Duration::ZERO);
        dropper.join().unwrap();
        assert_eq!(handle.time().len(), 0);
    });
}

/// Scenario 36: the driver is parked with a long timeout (a 1 h timer) when another
/// thread registers a timer that is already due. The driver must notice at once: either
/// it sees the timer before parking, or the registration unparks it. (Under loom a timed
/// park only ends by an unpark, so a missing unpark shows up as a deadlock.)
#[test]
fn loom_earlier_timer_unparks_the_parked_driver() {
    model(|| {
        let (clock, _manual) = Clock::manual();
        let (mut driver, handle) = Driver::with_clock(clock).unwrap();
        let handle = Arc::new(handle);
        let (_, idle) = counter();
        let _ = handle.time().register(3_600_000, &idle, Location::caller());
        let (count, waker) = counter();
        let registrar = {
            let handle = handle.clone();
            thread::spawn(move || {
                if handle.time().register(0, &waker, Location::caller()).unpark {
                    handle.unpark();
                }
            })
        };
        driver.park(&handle);
        registrar.join().unwrap();
        // Either way the park ended only after the registration, and fired it.
        assert_eq!(count.0.load(SeqCst), 1);
    });
}

/// Scenario 6 for timers: the sleep moves to another task (a new waker) while the driver
/// fires it. No wake-up may be lost: either the poll sees the timer fired (`Ready`), or
/// the new waker is the one the driver wakes.
#[test]
fn loom_waker_change_races_fire() {
    model(|| {
        let (clock, _manual) = Clock::manual();
        let time = Arc::new(TimeHandle::new(clock));
        let ((_, first), (second_count, second)) = (counter(), counter());
        let key = time.register(0, &first, Location::caller()).key;
        let driver = {
            let time = time.clone();
            thread::spawn(move || time.process(0))
        };
        let ready = time.poll_timer(key, &second, Location::caller()).is_ready();
        driver.join().unwrap();
        assert!(ready || second_count.0.load(SeqCst) == 1, "the wake-up for the new task was lost");
    });
}
