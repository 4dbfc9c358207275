//! The time API in one page: `sleep`, a `timeout` that fires and one that does not, and an
//! `interval`.
//!
//! What this teaches: timers are ordinary futures. `sleep` completes after a duration,
//! `timeout` races any future against a sleep, and `interval` ticks at a fixed period
//! (its first tick is immediate). All of them run on the runtime's timer wheel; none
//! starts a thread.
//!
//! Run it with `cargo run --example timers`. Read `src/time/mod.rs` next.

use clockwork::time::{interval, sleep, timeout};
use std::time::{Duration, Instant};

fn main() {
    clockwork::block_on(async {
        let start = Instant::now();
        let at = || format!("{:>4} ms", start.elapsed().as_millis());

        sleep(Duration::from_millis(50)).await;
        println!("{}: slept 50 ms (never less: deadlines round up to the next ms)", at());

        let quick = timeout(Duration::from_millis(100), async { "the answer" }).await;
        println!("{}: a ready future beats its 100 ms timeout: {quick:?}", at());

        let slow = timeout(Duration::from_millis(30), sleep(Duration::from_secs(60))).await;
        println!("{}: a 60 s sleep under a 30 ms timeout: {slow:?} (the sleep was cancelled)", at());

        let mut every = interval(Duration::from_millis(20));
        for n in 0..4 {
            every.tick().await;
            println!("{}: interval tick {n} (the first one is immediate, then every 20 ms)", at());
        }
    });
}
