//! `timeout` and `interval` through the public API, on the current-thread runtime.
//!
//! Not built under `--cfg loom` (they use the `futures` dev-dependency, and loom cannot
//! model a real clock anyway).
#![cfg(not(loom))]

use clockwork::time::{error::Elapsed, interval, sleep, timeout};
use futures::StreamExt;
use std::time::{Duration, Instant};

const MS: Duration = Duration::from_millis(1);

#[test]
fn timeout_returns_the_output_when_the_future_wins() {
    clockwork::block_on(async {
        assert_eq!(timeout(Duration::from_secs(10), async { 5 }).await, Ok(5));
        assert_eq!(timeout(Duration::ZERO, async { 6 }).await, Ok(6), "ready beats a zero timeout");
        let slowish = async {
            sleep(2 * MS).await;
            7
        };
        assert_eq!(timeout(Duration::from_secs(10), slowish).await, Ok(7));
    });
}

#[test]
fn timeout_elapses_and_drops_the_slow_future() {
    clockwork::block_on(async {
        let start = Instant::now();
        let result: Result<(), Elapsed> = timeout(15 * MS, sleep(Duration::from_secs(3600))).await;
        assert!(result.is_err());
        assert!(start.elapsed() >= 15 * MS);
    });
}

#[test]
fn elapsed_is_a_displayable_error() {
    clockwork::block_on(async {
        let err = timeout(MS, std::future::pending::<()>()).await.unwrap_err();
        let as_error: &dyn std::error::Error = &err;
        assert_eq!(as_error.to_string(), "deadline has elapsed");
        assert!(format!("{err:?}").contains("Elapsed"));
    });
}

#[test]
fn interval_first_tick_is_immediate_then_one_per_period() {
    clockwork::block_on(async {
        let start = Instant::now();
        let mut ticks = interval(10 * MS);
        let first = ticks.tick().await;
        assert!(start.elapsed() < 10 * MS, "the first tick completes at once");
        let mut previous = first;
        for _ in 0..3 {
            let t = ticks.tick().await;
            assert_eq!(t - previous, 10 * MS, "ticks are scheduled one period apart");
            assert!(Instant::now() >= t, "a tick never completes before its instant");
            previous = t;
        }
    });
}

/// Missed ticks "burst": after a stall of 3.5 periods, three ticks complete at once.
#[test]
fn interval_bursts_after_a_stall() {
    clockwork::block_on(async {
        let mut ticks = interval(10 * MS);
        let first = ticks.tick().await;
        let busy_until = first + 35 * MS;
        while Instant::now() < busy_until {} // a task hogging the thread, not an ordering sleep
        let resumed = Instant::now();
        for k in 1..=3 {
            assert_eq!(ticks.tick().await, first + k * 10 * MS);
        }
        assert!(resumed.elapsed() < 10 * MS, "the missed ticks came out without waiting");
    });
}

#[test]
fn interval_is_a_stream() {
    clockwork::block_on(async {
        let ticks: Vec<Instant> = interval(2 * MS).take(3).collect().await;
        assert_eq!(ticks[2] - ticks[0], 4 * MS);
    });
}

#[test]
#[should_panic(expected = "non-zero")]
fn interval_of_zero_panics() {
    let _ = interval(Duration::ZERO);
}
