//! CPU-bound tasks spread over the workers of a multi-thread runtime.
//!
//! What this teaches:
//! * a multi-thread runtime runs tasks on N worker threads at once: tasks spawned from
//!   one worker land in its queue, and an idle sibling steals half of them;
//! * two CPU-bound tasks on two workers take about half the time of running them one
//!   after the other (the example measures and prints the ratio);
//! * which worker ran what (the thread name, `clockwork-worker-<i>`).
//!
//! Run: `cargo run --release --example parallel` (a debug build works, just slower).

use clockwork::runtime::Builder;
use std::time::{Duration, Instant};

/// Busy work the optimiser cannot remove: `rounds` steps of a xorshift generator.
fn crunch(rounds: u64) -> u64 {
    let mut x = 0x9e37_79b9_7f4a_7c15_u64;
    for _ in 0..rounds {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    std::hint::black_box(x)
}

/// Finds how many rounds take about `target` on this machine.
fn calibrate(target: Duration) -> u64 {
    let mut rounds = 1_000_000;
    loop {
        let start = Instant::now();
        crunch(rounds);
        let took = start.elapsed();
        if took >= target / 4 {
            return (rounds as f64 * target.as_secs_f64() / took.as_secs_f64()) as u64;
        }
        rounds *= 2;
    }
}

fn worker_name() -> String {
    std::thread::current().name().unwrap_or("?").to_string()
}

fn main() {
    let rt = Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let rounds = calibrate(Duration::from_millis(200));

    // 1. Eight small jobs spawned from one task: watch them spread over both workers.
    println!("eight CPU-bound tasks spawned from one task:");
    rt.block_on(async move {
        let tasks: Vec<_> = (0..8)
            .map(|i| clockwork::spawn(async move { (i, crunch(rounds / 16), worker_name()) }))
            .collect();
        for task in tasks {
            let (i, _, worker) = task.await.unwrap();
            println!("  task {i} ran on {worker}");
        }
    });

    // 2. One after the other, then side by side.
    let start = Instant::now();
    rt.block_on(async move {
        for _ in 0..2 {
            clockwork::spawn(async move { crunch(rounds) }).await.unwrap();
        }
    });
    let sequential = start.elapsed();
    let start = Instant::now();
    rt.block_on(async move {
        let a = clockwork::spawn(async move { (crunch(rounds), worker_name()) });
        let b = clockwork::spawn(async move { (crunch(rounds), worker_name()) });
        let ((_, wa), (_, wb)) = (a.await.unwrap(), b.await.unwrap());
        println!("two CPU-bound tasks side by side ran on {wa} and {wb}");
    });
    let parallel = start.elapsed();
    println!("one after the other: {sequential:?}");
    println!("side by side:        {parallel:?}");
    println!(
        "ratio: {:.2} (about 0.5 on two free cores; nearer 1.0 if the machine is busy)",
        parallel.as_secs_f64() / sequential.as_secs_f64()
    );
}
