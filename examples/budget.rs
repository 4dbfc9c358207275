//! Starvation, and the cooperative budget that prevents it.
//!
//! **What this example teaches.** Async Rust has no preemption: the scheduler gets its
//! thread back only when a task returns from `poll`. A task awaiting something that is
//! *always* ready (here: a channel that never runs dry) never returns on its own, so on a
//! one-thread runtime nothing else runs, not even a timer. clockwork gives each poll a
//! budget of 128 completed socket or channel operations (`src/task/coop.rs`); when it is
//! spent, the next operation returns `Pending` once, as `yield_now` does, and the other
//! tasks get their turn.
//!
//! The example fills a channel with 300,000 values, then drains it in a "firehose" task
//! next to a "ticker" that wants to run every millisecond: once with the budget, once
//! with the budget switched off (`task::unconstrained`). It prints how often each was
//! polled.
//!
//! Run it with `cargo run --example budget`. Next: `src/task/coop.rs`.

use clockwork::runtime::Builder;
use clockwork::sync::mpsc;
use clockwork::task::unconstrained;
use clockwork::time::interval;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

const VALUES: u64 = 300_000;

fn main() {
    println!("== with the budget (the default)");
    run(false);
    println!();
    println!("== with the budget switched off (task::unconstrained)");
    run(true);
    println!();
    println!("Unconstrained, the firehose never returns Pending (its channel is never empty),");
    println!("so the ticker waits until every value is drained: its timer is late by the whole run.");
}

/// Drains a full channel next to a 1 ms ticker on a one-thread runtime.
fn run(unlimited: bool) {
    // One thread for everything: nothing can escape to a second worker.
    let rt = Builder::new_current_thread().build().expect("runtime");
    rt.block_on(async {
        let (tx, mut rx) = mpsc::channel::<u64>(VALUES as usize);
        for i in 0..VALUES {
            tx.send(i).await.expect("receiver alive");
        }
        drop(tx);

        let done = Arc::new(AtomicBool::new(false));
        let ticks = Arc::new(AtomicU64::new(0));
        let (d, t) = (done.clone(), ticks.clone());
        let ticker = clockwork::spawn(async move {
            let mut every_ms = interval(Duration::from_millis(1));
            every_ms.tick().await; // the first tick is immediate
            while !d.load(Relaxed) {
                every_ms.tick().await;
                t.fetch_add(1, Relaxed);
            }
        });
        clockwork::task::yield_now().await; // let the ticker start its interval

        let polls = Arc::new(AtomicU64::new(0));
        let drain = async move {
            let mut received = 0u64;
            while rx.recv().await.is_some() {
                received += 1;
            }
            received
        };
        let started = Instant::now();
        let firehose = if unlimited {
            clockwork::spawn(CountPolls { polls: polls.clone(), inner: Box::pin(unconstrained(drain)) })
        } else {
            clockwork::spawn(CountPolls { polls: polls.clone(), inner: Box::pin(drain) })
        };
        let received = firehose.await.expect("firehose");
        let elapsed = started.elapsed();
        let ticks_during = ticks.load(Relaxed);
        done.store(true, Relaxed);
        ticker.await.expect("ticker");

        let polls = polls.load(Relaxed);
        println!("the firehose drained {received} values in {elapsed:.1?}, over {polls} polls");
        println!("  = {:.0} values per poll", received as f64 / polls as f64);
        println!("the 1 ms ticker ran {ticks_during} times meanwhile");
    });
}

/// Wraps a future and counts how many times it is polled.
struct CountPolls<F> {
    polls: Arc<AtomicU64>,
    inner: Pin<Box<F>>,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Relaxed);
        self.inner.as_mut().poll(cx)
    }
}
