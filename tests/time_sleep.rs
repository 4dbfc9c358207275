//! `sleep` and `sleep_until` through the public API, on the current-thread runtime.
//!
//! These use the real clock, so they only assert what is guaranteed: a sleep never ends
//! early, and short sleeps do end. Nothing here orders events with `thread::sleep`.
//!
//! Not built under `--cfg loom` (they use the `futures` dev-dependency, and loom cannot
//! model a real clock anyway).
#![cfg(not(loom))]

use clockwork::time::{sleep, sleep_until, timeout};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);

/// Timers can live in `Send` tasks and be shared by reference.
#[test]
fn timer_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<clockwork::time::Sleep>();
    send_sync::<clockwork::time::Interval>();
    send_sync::<clockwork::time::Timeout<clockwork::time::Sleep>>();
    send_sync::<clockwork::time::error::Elapsed>();
}

#[test]
fn sleep_never_ends_early() {
    clockwork::block_on(async {
        for ms in [1, 2, 7, 20] {
            let start = Instant::now();
            sleep(ms * MS).await;
            assert!(start.elapsed() >= ms * MS, "sleep({ms} ms) ended after {:?}", start.elapsed());
        }
    });
}

#[test]
fn sleep_until_a_deadline_and_one_in_the_past() {
    clockwork::block_on(async {
        let deadline = Instant::now() + 15 * MS;
        sleep_until(deadline).await;
        assert!(Instant::now() >= deadline);
        let start = Instant::now();
        sleep_until(start - Duration::from_secs(5)).await;
        sleep_until(start).await;
        assert!(start.elapsed() < Duration::from_secs(1), "past deadlines complete at once");
    });
}

/// Scenario 28: many zero sleeps complete on their first poll.
#[test]
fn a_thousand_zero_sleeps_complete_at_once() {
    clockwork::block_on(async {
        let start = Instant::now();
        for _ in 0..1000 {
            sleep(Duration::ZERO).await;
        }
        assert!(start.elapsed() < Duration::from_secs(1));
    });
}

/// Scenario 29: durations whose deadline cannot be represented never fire, and do not
/// panic.
#[test]
fn huge_durations_never_fire() {
    clockwork::block_on(async {
        for d in [Duration::MAX, Duration::MAX - MS, Duration::from_secs(u64::MAX / 10)] {
            assert!(timeout(20 * MS, sleep(d)).await.is_err(), "sleep({d:?}) fired");
        }
        let far = Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600);
        assert!(timeout(5 * MS, sleep_until(far)).await.is_err());
    });
}

#[test]
fn a_sleep_created_outside_a_runtime_works_inside_one() {
    let start = Instant::now();
    let nap = sleep(10 * MS); // no runtime here: nothing is registered yet
    clockwork::block_on(nap);
    assert!(start.elapsed() >= 10 * MS);
}

/// A future that polls its inner future once, then completes (dropping it).
struct PollOnce<F>(Option<Pin<Box<F>>>);

impl<F: Future> Future for PollOnce<F> {
    type Output = bool;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let mut inner = self.0.take().expect("polled after completion");
        Poll::Ready(inner.as_mut().poll(cx).is_pending())
    }
}

/// Dropping a registered sleep cancels it: the runtime neither waits for it nor wakes the
/// task for it later.
#[test]
fn dropping_a_registered_sleep_cancels_it() {
    let start = Instant::now();
    clockwork::block_on(async {
        for _ in 0..100 {
            assert!(PollOnce(Some(Box::pin(sleep(Duration::from_secs(3600))))).await);
        }
    });
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn sleeps_in_spawned_tasks_finish_in_deadline_order() {
    let order = Arc::new(Mutex::new(Vec::new()));
    let log = order.clone();
    clockwork::block_on(async move {
        let handles: Vec<_> = [30u32, 10, 20, 1]
            .into_iter()
            .map(|ms| {
                let log = log.clone();
                clockwork::spawn(async move {
                    sleep(ms * MS).await;
                    log.lock().unwrap().push(ms);
                })
            })
            .collect();
        for handle in handles {
            handle.await.unwrap();
        }
    });
    assert_eq!(*order.lock().unwrap(), [1, 10, 20, 30]);
}

/// The panic of a timer polled outside a runtime says so, and names the line that created
/// the timer: the panic itself happens inside `poll`, far from the user's code.
#[test]
fn polling_a_timer_outside_a_runtime_panics_naming_the_runtime_and_its_creation() {
    fn message_of(poll: impl FnOnce()) -> String {
        let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(poll)).unwrap_err();
        let message = panic.downcast_ref::<String>().map(String::as_str);
        message.or_else(|| panic.downcast_ref::<&str>().copied()).unwrap_or("").to_owned()
    }
    let (nap, line_sleep) = (sleep(MS), line!());
    let (until, line_until) = (sleep_until(Instant::now() + MS), line!());
    let (limit, line_timeout) = (timeout(MS, std::future::pending::<()>()), line!());
    let (mut every, line_interval) = (clockwork::time::interval(MS), line!());
    let cases = [
        (message_of(|| futures::executor::block_on(nap)), line_sleep),
        (message_of(|| futures::executor::block_on(until)), line_until),
        (message_of(|| _ = futures::executor::block_on(limit)), line_timeout),
        (message_of(|| _ = futures::executor::block_on(every.tick())), line_interval),
    ];
    for (message, line) in cases {
        assert!(message.contains("runtime"), "unhelpful panic message: {message:?}");
        let created = format!("tests/time_sleep.rs:{line}:");
        assert!(message.contains(&created), "{message:?} does not name {created}");
    }
}

/// `clockwork::time` re-exports std's `Duration` and `Instant` (the types its functions
/// take), so code written against `tokio::time::{Duration, Instant}` only changes paths.
#[test]
fn time_reexports_std_duration_and_instant() {
    use clockwork::time::{Duration, Instant};
    let start: std::time::Instant = Instant::now();
    let rt = clockwork::runtime::Builder::new_current_thread().build().unwrap();
    rt.block_on(clockwork::time::sleep_until(start + Duration::from_millis(2)));
    assert!(start.elapsed() >= std::time::Duration::from_millis(2));
}
