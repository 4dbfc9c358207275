//! Racing work against a cancellation signal, with `select!` and `future::select`.
//!
//! **What this example teaches.** `select!` waits for whichever of several futures finishes
//! first and *drops the others*. That is how cancellation works in async Rust: there is no
//! "kill" call; the losing future is simply dropped. Part 1 stops a worker loop with a
//! oneshot used as a cancel signal. Part 2 races a long computation against a "timeout",
//! here another oneshot fired by a helper task.
//!
//! Run it with `cargo run --example select`. Next: `src/future/select.rs`.

use clockwork::future::{select, Either};
use clockwork::sync::{mpsc, oneshot};

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

/// A computation that takes many scheduler turns: sums 0..n, yielding every 1000 steps.
async fn long_sum(n: u64) -> u64 {
    let mut sum = 0;
    for i in 0..n {
        sum += i;
        if i % 1000 == 0 {
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

        println!("-- part 2: a long computation raced against a \"timeout\"");
        // TODO: use `clockwork::time::sleep` as the timeout once the time API is merged.
        let (timeout_tx, timeout_rx) = oneshot::channel::<()>();
        clockwork::spawn(async move {
            for _ in 0..3 {
                clockwork::task::yield_now().await;
            }
            let _ = timeout_tx.send(()); // the race may already be over
        });
        match select(long_sum(10_000_000), timeout_rx).await {
            Either::Left(sum) => println!("main: finished first: sum = {sum}"),
            Either::Right(_) => println!("main: timed out; the computation was dropped mid-way"),
        }
        match select(long_sum(100), std::future::pending::<()>()).await {
            Either::Left(sum) => println!("main: a short computation wins against no timeout: {sum}"),
            Either::Right(()) => unreachable!(),
        }
    });
}
