//! Racing work against a cancellation signal, with `select!` and `future::select`.
//!
//! **What this example teaches.** `select!` waits for whichever of several futures finishes
//! first and *drops the others*. That is how cancellation works in async Rust: there is no
//! "kill" call; the losing future is simply dropped. Part 1 stops a worker loop with a
//! oneshot used as a cancel signal. Part 2 races a long computation against a timer: when
//! the timer wins, the computation is simply dropped, mid-way.
//!
//! Run it with `cargo run --example select`. Next: `src/future/select.rs`.

use clockwork::future::{select, Either};
use clockwork::sync::{mpsc, oneshot};
use clockwork::time::sleep;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// Processes jobs until the cancel signal fires or the jobs run out; gives the queue back.
async fn worker(
    mut jobs: mpsc::Receiver<u64>,
    mut cancel: oneshot::Receiver<()>,
) -> (u32, mpsc::Receiver<u64>) {
    let mut done = 0;
    loop {
        // `recv` is cancel-safe: when the cancel branch wins, no job is lost; it stays queued.
        clockwork::select! {
            _ = &mut cancel => {
                println!("worker: cancel signal received after {done} jobs; stopping");
                break;
            }
            job = jobs.recv() => match job {
                Some(n) => {
                    println!("worker: job {n}: {n}^2 = {}", n * n);
                    done += 1;
                }
                None => {
                    println!("worker: no more jobs");
                    break;
                }
            },
        }
    }
    (done, jobs)
}

/// A computation that takes many scheduler turns: sums 0..n, yielding every 1000 steps and
/// recording its progress in `done` (so `main` can see how far it got before being dropped).
async fn long_sum(n: u64, done: &AtomicU64) -> u64 {
    let mut sum: u64 = 0;
    for i in 0..n {
        sum = sum.wrapping_add(i); // `n` may be huge: this race is lost long before it matters
        if i % 1000 == 0 {
            done.store(i, Relaxed);
            clockwork::task::yield_now().await;
        }
    }
    sum
}

fn main() {
    clockwork::block_on(async {
        println!("-- part 1: a worker loop stopped by a cancel signal");
        let (jobs_tx, jobs_rx) = mpsc::channel(8);
        let (cancel_tx, cancel_rx) = oneshot::channel();
        for n in 1..=8 {
            jobs_tx.send(n).await.unwrap();
        }
        println!("main: queued 8 jobs, and sending the cancel signal right away");
        cancel_tx.send(()).unwrap();
        // Both branches are ready from the start; `select!` starts at a pseudo-random branch
        // each time, so a few jobs may run before the cancel branch is picked.
        let (done, mut jobs_rx) = clockwork::spawn(worker(jobs_rx, cancel_rx)).await.unwrap();
        let mut left = 0;
        while jobs_rx.try_recv().is_ok() {
            left += 1;
        }
        println!("main: the worker finished {done} jobs; {left} are still queued (none lost)");
        assert_eq!(done + left, 8);

        println!("-- part 2: a long computation raced against a timer");
        let progress = AtomicU64::new(0);
        let started = Instant::now();
        match select(long_sum(u64::MAX, &progress), sleep(Duration::from_millis(10))).await {
            Either::Left(sum) => println!("main: the computation finished first: {sum}"),
            Either::Right(()) => println!(
                "main: timed out after {:?}; the computation was dropped at step {}",
                started.elapsed(),
                progress.load(Relaxed)
            ),
        }
        match select(long_sum(100, &progress), sleep(Duration::from_secs(1))).await {
            Either::Left(sum) => println!("main: a short computation beats a 1 s timer: {sum}"),
            Either::Right(()) => unreachable!("100 steps take far less than a second"),
        }
    });
}
