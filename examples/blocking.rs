//! Why a blocking call inside a task stalls its worker, and `spawn_blocking` as the fix.
//!
//! What this teaches:
//! * a runtime thread runs one task at a time; a task that calls a *blocking* function
//!   (`std::thread::sleep`, `std::fs::read`, a slow computation) keeps every other task on
//!   that thread waiting until the call returns;
//! * on a current-thread runtime that is *every* task: a ticker meant to tick every 50 ms
//!   falls silent for the whole blocking call;
//! * `task::spawn_blocking` sends the call to a separate pool of threads that may block,
//!   and the task awaits the result: the ticker keeps ticking.
//!
//! Run: `cargo run --example blocking` (about 1.5 s).

use clockwork::runtime::Builder;
use clockwork::task;
use std::time::{Duration, Instant};

/// Ticks every 50 ms until `total` has passed, printing how late each tick is.
async fn ticker(start: Instant, total: Duration) -> usize {
    let mut ticks = 0;
    let mut next = start;
    while start.elapsed() < total {
        next += Duration::from_millis(50);
        clockwork::time::sleep_until(next).await;
        ticks += 1;
        let late = Instant::now().saturating_duration_since(next);
        println!(
            "  tick {ticks:2} at {:4} ms (late by {} ms)",
            start.elapsed().as_millis(),
            late.as_millis()
        );
    }
    ticks
}

/// A stand-in for a blocking library call.
fn slow_call() -> &'static str {
    std::thread::sleep(Duration::from_millis(500));
    "done"
}

fn main() {
    let rt = Builder::new_current_thread().build().unwrap();
    let total = Duration::from_millis(700);

    println!("1. the blocking call runs inside a task (wrong):");
    let start = Instant::now();
    let ticks = rt.block_on(async move {
        let ticks = clockwork::spawn(ticker(start, total));
        clockwork::time::sleep(Duration::from_millis(100)).await;
        println!("  calling slow_call() in a task at {} ms ...", start.elapsed().as_millis());
        let answer = clockwork::spawn(async { slow_call() }).await.unwrap();
        println!(
            "  ... it returned {answer:?} at {} ms; no tick could run meanwhile",
            start.elapsed().as_millis()
        );
        ticks.await.unwrap()
    });
    println!("  {ticks} ticks in {} ms\n", start.elapsed().as_millis());

    println!("2. the blocking call runs on the blocking pool (spawn_blocking):");
    let start = Instant::now();
    let ticks = rt.block_on(async move {
        let ticks = clockwork::spawn(ticker(start, total));
        clockwork::time::sleep(Duration::from_millis(100)).await;
        println!("  sending slow_call() to spawn_blocking at {} ms ...", start.elapsed().as_millis());
        let answer = task::spawn_blocking(slow_call).await.unwrap();
        println!("  ... it returned {answer:?} at {} ms; the ticker kept going", start.elapsed().as_millis());
        ticks.await.unwrap()
    });
    println!("  {ticks} ticks in {} ms", start.elapsed().as_millis());
}
