//! Channel benchmarks: clockwork's `oneshot` and `mpsc` against tokio's, each on its own
//! runtime, in one run, as ratios (clockwork / tokio; below 1 is faster).
//!
//! Run: `cargo run --release --manifest-path benches/peers/Cargo.toml --bin channels [-- --runs N]`
//!
//! Workloads (after tokio's `sync_mpsc` and `sync_mpsc_oneshot` benches):
//! * `oneshot ping-pong`: a task pair exchanges 10,000 round trips, each over a fresh pair
//!   of oneshot channels (current-thread and 2-worker runtimes);
//! * `mpsc 1 producer` / `mpsc 4 producers`: 100,000 `u64`s through a bounded channel of
//!   capacity 100 into one consumer (2-worker runtime).

use std::time::{Duration, Instant};

const ROUNDS: usize = 10_000;
const MESSAGES: usize = 100_000;

fn cw_runtime(workers: usize) -> clockwork::Runtime {
    if workers == 0 {
        clockwork::runtime::Builder::new_current_thread().build().unwrap()
    } else {
        clockwork::runtime::Builder::new_multi_thread().worker_threads(workers).build().unwrap()
    }
}

fn tokio_runtime(workers: usize) -> tokio::runtime::Runtime {
    if workers == 0 {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
    } else {
        tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build().unwrap()
    }
}

fn cw_ping_pong(workers: usize) -> Duration {
    use clockwork::sync::oneshot;
    cw_runtime(workers).block_on(async {
        let (to_peer, mut peer_rx) =
            clockwork::sync::mpsc::channel::<(oneshot::Receiver<()>, oneshot::Sender<()>)>(1);
        clockwork::spawn(async move {
            while let Some((ping, pong)) = peer_rx.recv().await {
                ping.await.unwrap();
                let _ = pong.send(());
            }
        });
        let start = Instant::now();
        for _ in 0..ROUNDS {
            let (ping_tx, ping_rx) = oneshot::channel();
            let (pong_tx, pong_rx) = oneshot::channel();
            to_peer.send((ping_rx, pong_tx)).await.unwrap();
            ping_tx.send(()).unwrap();
            pong_rx.await.unwrap();
        }
        start.elapsed()
    })
}

fn tokio_ping_pong(workers: usize) -> Duration {
    use tokio::sync::oneshot;
    tokio_runtime(workers).block_on(async {
        let (to_peer, mut peer_rx) =
            tokio::sync::mpsc::channel::<(oneshot::Receiver<()>, oneshot::Sender<()>)>(1);
        tokio::spawn(async move {
            while let Some((ping, pong)) = peer_rx.recv().await {
                ping.await.unwrap();
                let _ = pong.send(());
            }
        });
        let start = Instant::now();
        for _ in 0..ROUNDS {
            let (ping_tx, ping_rx) = oneshot::channel();
            let (pong_tx, pong_rx) = oneshot::channel();
            to_peer.send((ping_rx, pong_tx)).await.unwrap();
            ping_tx.send(()).unwrap();
            pong_rx.await.unwrap();
        }
        start.elapsed()
    })
}

fn cw_mpsc(producers: usize) -> Duration {
    cw_runtime(2).block_on(async move {
        let (tx, mut rx) = clockwork::sync::mpsc::channel::<u64>(100);
        let start = Instant::now();
        for p in 0..producers {
            let tx = tx.clone();
            clockwork::spawn(async move {
                for i in 0..MESSAGES / producers {
                    tx.send((p * MESSAGES + i) as u64).await.unwrap();
                }
            });
        }
        drop(tx);
        let mut n = 0;
        while rx.recv().await.is_some() {
            n += 1;
        }
        assert_eq!(n, MESSAGES / producers * producers);
        start.elapsed()
    })
}

fn tokio_mpsc(producers: usize) -> Duration {
    tokio_runtime(2).block_on(async move {
        let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(100);
        let start = Instant::now();
        for p in 0..producers {
            let tx = tx.clone();
            tokio::spawn(async move {
                for i in 0..MESSAGES / producers {
                    tx.send((p * MESSAGES + i) as u64).await.unwrap();
                }
            });
        }
        drop(tx);
        let mut n = 0;
        while rx.recv().await.is_some() {
            n += 1;
        }
        assert_eq!(n, MESSAGES / producers * producers);
        start.elapsed()
    })
}

fn median(runs: usize, f: impl Fn() -> Duration) -> Duration {
    f(); // warm-up
    let mut v: Vec<Duration> = (0..runs).map(|_| f()).collect();
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let mut runs = 5;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next().and_then(|v| v.parse().ok())) {
            ("--runs", Some(n)) => runs = n,
            _ => {
                eprintln!("usage: channels [--runs N]");
                std::process::exit(2);
            }
        }
    }
    type Pair = (&'static str, Box<dyn Fn() -> Duration>, Box<dyn Fn() -> Duration>);
    let workloads: Vec<Pair> = vec![
        (
            "oneshot ping-pong, current-thread (10k)",
            Box::new(|| cw_ping_pong(0)),
            Box::new(|| tokio_ping_pong(0)),
        ),
        ("oneshot ping-pong, 2 workers (10k)", Box::new(|| cw_ping_pong(2)), Box::new(|| tokio_ping_pong(2))),
        ("mpsc 1 producer (100k, cap 100)", Box::new(|| cw_mpsc(1)), Box::new(|| tokio_mpsc(1))),
        ("mpsc 4 producers (100k, cap 100)", Box::new(|| cw_mpsc(4)), Box::new(|| tokio_mpsc(4))),
    ];
    println!("| workload | clockwork | tokio | clockwork / tokio |");
    println!("|---|---|---|---|");
    for (name, cw, tk) in workloads {
        let (c, t) = (median(runs, cw), median(runs, tk));
        println!(
            "| {name} | {:.2} ms | {:.2} ms | {:.2}x |",
            c.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e3,
            c.as_secs_f64() / t.as_secs_f64()
        );
    }
}
