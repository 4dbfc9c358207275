//! The time driver and `Sleep` on a manual clock: no runtime, no real waiting.

use super::*;
use crate::driver::{Driver, Handle as DriverHandle};
use crate::time::sleep::Sleep;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Wake};
use std::time::Instant;

/// A waker that counts its wake-ups.
#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

fn counter() -> (Arc<Counter>, Waker) {
    let counter = Arc::new(Counter::default());
    (counter.clone(), Waker::from(counter))
}

fn wakes(counter: &Counter) -> usize {
    counter.0.load(SeqCst)
}

#[test]
fn fires_at_its_tick_and_not_before() {
    let (clock, _) = Clock::manual();
    let time = Handle::new(clock);
    let (count, waker) = counter();
    let reg = time.register(10, &waker, Location::caller());
    assert!(!reg.unpark, "the driver is not parked");
    assert_eq!(time.process(9), 0);
    assert_eq!(wakes(&count), 0);
    assert_eq!(time.process(10), 1);
    assert_eq!(wakes(&count), 1);
    assert!(time.poll_timer(reg.key, &waker, Location::caller()).is_ready(), "a fired timer reports Ready");
}

/// Scenario 37: a clock that goes backwards or stands still never fires anything early.
#[test]
fn a_clock_going_backwards_fires_nothing_early() {
    let (clock, _) = Clock::manual();
    let time = Handle::new(clock);
    let (count, waker) = counter();
    let _ = time.register(10, &waker, Location::caller());
    for now in [5, 3, 0, 9, 9] {
        assert_eq!(time.process(now), 0, "process({now})");
    }
    assert_eq!(time.process(10), 1);
    assert_eq!(wakes(&count), 1);
}

#[test]
fn the_latest_waker_is_the_one_woken() {
    let (clock, _) = Clock::manual();
    let time = Handle::new(clock);
    let ((old, old_waker), (new, new_waker)) = (counter(), counter());
    let key = time.register(5, &old_waker, Location::caller()).key;
    assert!(time.poll_timer(key, &new_waker, Location::caller()).is_pending());
    time.process(5);
    assert_eq!((wakes(&old), wakes(&new)), (0, 1));
}

#[test]
fn an_earlier_timer_unparks_a_parked_driver() {
    let (clock, _) = Clock::manual();
    let time = Handle::new(clock);
    let (_, waker) = counter();
    let _ = time.register(100, &waker, Location::caller());
    // Tick 100 sits on level 1, whose slot is processed (cascaded) at tick 64.
    assert_eq!(time.before_park(None), Some(Duration::from_millis(64)));
    assert!(!time.register(200, &waker, Location::caller()).unpark, "later than the park: no need");
    assert!(time.register(50, &waker, Location::caller()).unpark, "earlier than the park: must unpark");
    time.process(0); // the driver woke up
    assert!(!time.register(10, &waker, Location::caller()).unpark, "an awake driver looks before parking");
    assert_eq!(time.before_park(Some(Duration::from_millis(3))), Some(Duration::from_millis(3)));
}

#[test]
fn a_parked_driver_with_no_timers_is_unparked_by_any_finite_timer() {
    let (clock, _) = Clock::manual();
    let time = Handle::new(clock);
    let (_, waker) = counter();
    assert_eq!(time.before_park(None), None, "nothing to wait for: no timeout");
    assert!(!time.register(u64::MAX, &waker, Location::caller()).unpark, "a never-timer changes nothing");
    assert!(time.register(u64::MAX - 1, &waker, Location::caller()).unpark);
}

/// Scenario 34: a waker that drops 100 other timers while being woken must not deadlock.
#[test]
fn a_waker_may_cancel_other_timers_while_being_woken() {
    struct CancelOthers(Arc<Handle>, std::sync::Mutex<Vec<TimerKey>>);
    impl Wake for CancelOthers {
        fn wake(self: Arc<Self>) {
            for key in self.1.lock().unwrap().drain(..) {
                self.0.cancel(key);
            }
        }
    }
    let (clock, _) = Clock::manual();
    let time = Arc::new(Handle::new(clock));
    let (_, plain) = counter();
    let others: Vec<TimerKey> =
        (0..100).map(|i| time.register(10 + i, &plain, Location::caller()).key).collect();
    let canceller = Arc::new(CancelOthers(time.clone(), std::sync::Mutex::new(others)));
    let _ = time.register(5, &Waker::from(canceller), Location::caller());
    assert_eq!(time.process(5), 1);
    assert_eq!(time.len(), 0, "all 100 were cancelled from inside the wake");
}

/// Replacing a stored waker drops the old one, which may be the last reference to
/// something that cancels another timer: that must happen with the lock released.
#[test]
fn a_replaced_waker_may_cancel_timers_when_dropped() {
    struct CancelOnDrop(Arc<Handle>, TimerKey);
    impl Wake for CancelOnDrop {
        fn wake(self: Arc<Self>) {}
    }
    impl Drop for CancelOnDrop {
        fn drop(&mut self) {
            self.0.cancel(self.1);
        }
    }
    let (clock, _) = Clock::manual();
    let time = Arc::new(Handle::new(clock));
    let (_, plain) = counter();
    let other = time.register(50, &plain, Location::caller()).key;
    let dropper = Waker::from(Arc::new(CancelOnDrop(time.clone(), other)));
    let key = time.register(10, &dropper, Location::caller()).key;
    drop(dropper); // the wheel now holds the only reference
    assert!(time.poll_timer(key, &plain, Location::caller()).is_pending(), "a new task's waker replaces it");
    assert_eq!(time.len(), 1, "the old waker's drop cancelled the other timer");
}

/// Scenario 18: one panicking waker; the others in the same batch still fire.
#[test]
fn a_panicking_waker_is_contained() {
    struct Panics;
    impl Wake for Panics {
        fn wake(self: Arc<Self>) {
            panic!("this waker panics on purpose");
        }
    }
    let (clock, _) = Clock::manual();
    let time = Handle::new(clock);
    let (count, waker) = counter();
    let _ = time.register(1, &waker, Location::caller());
    let _ = time.register(1, &Waker::from(Arc::new(Panics)), Location::caller());
    let _ = time.register(1, &waker, Location::caller());
    assert_eq!(time.process(1), 3);
    assert_eq!(wakes(&count), 2);
    let _ = time.register(2, &waker, Location::caller()); // the lock is not poisoned or held
}

#[test]
fn many_due_timers_fire_in_several_batches() {
    let (clock, _) = Clock::manual();
    let time = Handle::new(clock);
    let (count, waker) = counter();
    for _ in 0..WAKE_BATCH * 3 + 1 {
        let _ = time.register(1, &waker, Location::caller());
    }
    assert_eq!(time.process(1), WAKE_BATCH * 3 + 1);
    assert_eq!(wakes(&count), WAKE_BATCH * 3 + 1);
}

#[test]
fn shutdown_wakes_everything_then_refuses_new_timers() {
    let (clock, _) = Clock::manual();
    let time = Handle::new(clock);
    let (count, waker) = counter();
    let key = time.register(1_000, &waker, Location::caller()).key;
    let _ = time.register(u64::MAX, &waker, Location::caller());
    time.shutdown();
    assert_eq!(wakes(&count), 2);
    time.cancel(key); // dropping a Sleep after shutdown is fine
    let err = std::panic::catch_unwind(|| time.register(1, &waker, Location::caller())).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("runtime shut down"), "{msg}");
}

// ===== Sleep on a driver with a manual clock =====

fn manual_driver() -> (Driver, Arc<DriverHandle>, Arc<crate::time::clock::ManualClock>) {
    let (clock, manual) = Clock::manual();
    let (driver, handle) = Driver::with_clock(clock).unwrap();
    (driver, Arc::new(handle), manual)
}

fn poll(sleep: &mut Sleep, waker: &Waker) -> Poll<()> {
    Pin::new(sleep).poll(&mut Context::from_waker(waker))
}

#[test]
fn sleep_registers_on_first_poll_and_completes_when_the_driver_fires_it() {
    let (mut driver, handle, manual) = manual_driver();
    let (count, waker) = counter();
    let mut sleep =
        Sleep::with_driver(Some(handle.time().clock().now() + Duration::from_millis(20)), handle.clone());
    assert_eq!(handle.time().len(), 0, "nothing is registered before the first poll");
    assert!(poll(&mut sleep, &waker).is_pending());
    assert_eq!(handle.time().len(), 1);
    manual.advance(19);
    driver.park_timeout(&handle, Duration::ZERO);
    assert_eq!(wakes(&count), 0, "never early");
    assert!(!sleep.is_elapsed());
    manual.advance(1);
    assert!(sleep.is_elapsed(), "the deadline has passed, by the driver's clock, before any poll");
    driver.park_timeout(&handle, Duration::ZERO);
    assert_eq!(wakes(&count), 1);
    assert!(poll(&mut sleep, &waker).is_ready() && sleep.is_elapsed());
    let never = Sleep::with_driver(None, handle.clone());
    assert!(!never.is_elapsed());
}

/// Scenario 28: zero, past and "exactly now" deadlines complete on the first poll.
#[test]
fn sleep_zero_past_and_now_complete_at_once_without_registering() {
    let (_driver, handle, manual) = manual_driver();
    manual.advance(50);
    let now = handle.time().clock().now();
    let (_, waker) = counter();
    for deadline in [now, now - Duration::from_millis(30)] {
        let mut sleep = Sleep::with_driver(Some(deadline), handle.clone());
        assert!(poll(&mut sleep, &waker).is_ready());
    }
    let (_real_driver, real) = Driver::new().unwrap();
    let real = Arc::new(real);
    for _ in 0..1000 {
        let mut sleep = Sleep::with_driver(Some(Instant::now()), real.clone());
        assert!(poll(&mut sleep, &waker).is_ready());
    }
    assert_eq!(handle.time().len() + real.time().len(), 0);
}

/// `sleep(d)` with `d` of at least 64 ms registers on its first poll without reading the
/// clock. If that first poll comes after the whole duration (here the manual clock jumps
/// past it), the sleep completes on the driver's next turn: one turn late, never early.
#[test]
fn a_long_sleep_first_polled_after_its_deadline_fires_on_the_next_turn() {
    use crate::time::sleep::CLOCK_CHECK_BELOW;
    assert!(Sleep::after(CLOCK_CHECK_BELOW - Duration::from_millis(1)).checks_clock());
    let mut long = Sleep::after(CLOCK_CHECK_BELOW);
    assert!(!long.checks_clock(), "a long sleep() skips the clock read");
    long.reset(Instant::now());
    assert!(long.checks_clock(), "a deadline set by hand is checked");

    let (mut driver, handle, manual) = manual_driver();
    let origin = handle.time().clock().now();
    let (count, waker) = counter();
    let mut late = Sleep::with_driver_unchecked(Some(origin + Duration::from_millis(500)), handle.clone());
    manual.advance(1_000);
    assert!(poll(&mut late, &waker).is_pending(), "registered, the clock unread");
    driver.park_timeout(&handle, Duration::ZERO);
    assert_eq!(wakes(&count), 1, "the next turn fires it");
    assert!(poll(&mut late, &waker).is_ready());
    // The same deadline, checked, completes at once.
    let mut checked = Sleep::with_driver(Some(origin + Duration::from_millis(500)), handle.clone());
    assert!(poll(&mut checked, &waker).is_ready());
    // An unchecked sleep that is not due yet waits for its tick, as always.
    let mut later = Sleep::with_driver_unchecked(Some(origin + Duration::from_millis(1_200)), handle.clone());
    assert!(poll(&mut later, &waker).is_pending());
    manual.advance(199);
    driver.park_timeout(&handle, Duration::ZERO);
    assert!(poll(&mut later, &waker).is_pending(), "never early");
    manual.advance(1);
    driver.park_timeout(&handle, Duration::ZERO);
    assert!(poll(&mut later, &waker).is_ready());
}

#[test]
fn dropping_a_registered_sleep_cancels_its_timer() {
    let (_driver, handle, _) = manual_driver();
    let (_, waker) = counter();
    let mut sleep =
        Sleep::with_driver(Some(handle.time().clock().now() + Duration::from_secs(10)), handle.clone());
    assert!(poll(&mut sleep, &waker).is_pending());
    assert_eq!(handle.time().len(), 1);
    drop(sleep);
    assert_eq!(handle.time().len(), 0);
}

/// Scenario 29: "never" deadlines survive huge clock jumps without firing.
#[test]
fn a_never_sleep_survives_huge_jumps() {
    let (mut driver, handle, manual) = manual_driver();
    let (count, waker) = counter();
    let mut never = Sleep::with_driver(None, handle.clone());
    assert!(poll(&mut never, &waker).is_pending());
    manual.advance(u64::MAX / 2);
    driver.park_timeout(&handle, Duration::ZERO);
    manual.advance(u64::MAX / 2);
    driver.park_timeout(&handle, Duration::ZERO);
    assert_eq!(wakes(&count), 0);
    assert!(poll(&mut never, &waker).is_pending());
}

/// Scenario 32: reset earlier, later, into the past and after completion.
#[test]
fn reset_moves_the_deadline_every_way() {
    let (mut driver, handle, manual) = manual_driver();
    let origin = handle.time().clock().now();
    let (_, waker) = counter();
    let mut sleep = Sleep::with_driver(Some(origin + Duration::from_millis(100)), handle.clone());
    assert!(poll(&mut sleep, &waker).is_pending());
    sleep.reset(origin + Duration::from_millis(10)); // earlier
    assert!(poll(&mut sleep, &waker).is_pending());
    assert_eq!(handle.time().len(), 1, "the old timer was cancelled");
    manual.advance(10);
    driver.park_timeout(&handle, Duration::ZERO);
    assert!(poll(&mut sleep, &waker).is_ready());
    sleep.reset(origin + Duration::from_millis(500)); // after it completed: later
    assert!(poll(&mut sleep, &waker).is_pending());
    sleep.reset(origin); // into the past
    assert!(poll(&mut sleep, &waker).is_ready());
    assert_eq!(handle.time().len(), 0);
}
