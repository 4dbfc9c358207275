//! The workloads (after tokio's `rt_multi_threaded` benches and the notes in
//! `shared/notes/performance.md`). Each returns the wall time of the measured part.

use crate::latch::Latch;
use crate::rt::Rt;
use std::future::Future;
use std::time::{Duration, Instant};

const SPAWN_N: usize = 100_000;

/// Current-thread runtime: spawn 100k tasks from inside `block_on`, then await every handle.
pub fn ct_spawn_join<R: Rt>(rt: &R) -> Duration {
    let rt2 = rt.handle_only();
    rt.block_on(async move {
        let start = Instant::now();
        let handles: Vec<_> = (0..SPAWN_N).map(|i| rt2.spawn_join(async move { i })).collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await;
        }
        assert_eq!(sum, (0..SPAWN_N).sum::<usize>());
        start.elapsed()
    })
}

/// A task on a worker spawns 100k empty tasks (the local-spawn path).
pub fn spawn_many<R: Rt>(rt: &R) -> Duration {
    let latch = Latch::new(SPAWN_N);
    let start = Instant::now();
    let (rt2, l2) = (rt.handle_only(), latch.clone());
    rt.spawn(async move {
        for _ in 0..SPAWN_N {
            let l = l2.clone();
            rt2.spawn(async move { l.count_down() });
        }
    });
    rt.block_on(latch.wait());
    start.elapsed()
}

/// The main thread spawns 100k tasks (the injection-queue path).
pub fn spawn_many_remote<R: Rt>(rt: &R) -> Duration {
    let latch = Latch::new(SPAWN_N);
    let start = Instant::now();
    for _ in 0..SPAWN_N {
        let l = latch.clone();
        rt.spawn(async move { l.count_down() });
    }
    rt.block_on(latch.wait());
    start.elapsed()
}

/// 200 tasks each yield 1000 times.
pub fn yield_many<R: Rt>(rt: &R) -> Duration {
    const TASKS: usize = 200;
    let latch = Latch::new(TASKS);
    let start = Instant::now();
    for _ in 0..TASKS {
        let l = latch.clone();
        rt.spawn(async move {
            for _ in 0..1000 {
                R::yield_now().await;
            }
            l.count_down();
        });
    }
    rt.block_on(latch.wait());
    start.elapsed()
}

/// Task k spawns task k+1, 1000 times: spawn-to-run latency in a chain.
pub fn chained_spawn<R: Rt>(rt: &R) -> Duration {
    fn link<R: Rt>(rt: R, n: usize, done: Latch) {
        if n == 0 {
            done.count_down();
        } else {
            let rt2 = rt.handle_only();
            rt.spawn(async move { link(rt2, n - 1, done) });
        }
    }
    let latch = Latch::new(1);
    let start = Instant::now();
    let (rt2, l2) = (rt.handle_only(), latch.clone());
    rt.spawn(async move { link(rt2, 1000, l2) });
    rt.block_on(latch.wait());
    start.elapsed()
}

/// tokio's `ping_pong`: 1,000 iterations, each a task that spawns a peer and exchanges
/// one message each way with it over two oneshot channels (each runtime's own). Measures
/// where a woken task goes (a run-next slot keeps the pair on one hot core) and whether a
/// wake costs an unpark.
pub fn ping_pong<R: Rt>(rt: &R) -> Duration {
    const ITERATIONS: usize = 1_000;
    let latch = Latch::new(ITERATIONS);
    let start = Instant::now();
    let rt2 = rt.handle_only();
    let l2 = latch.clone();
    rt.spawn(async move {
        for _ in 0..ITERATIONS {
            let (rt3, l3) = (rt2.handle_only(), l2.clone());
            rt2.spawn(async move {
                let (ping, ping_rx) = R::oneshot();
                let (pong, pong_rx) = R::oneshot();
                rt3.spawn(async move {
                    ping_rx.await;
                    pong();
                });
                ping();
                pong_rx.await;
                l3.count_down();
            });
        }
    });
    rt.block_on(latch.wait());
    start.elapsed()
}

/// The longest sleep of the `timers` workload: its wall time minus this is the overhead.
pub const TIMERS_LONGEST: Duration = Duration::from_millis(50);

/// A driver task spawns 100,000 tasks, each sleeping 1..=50 ms (fixed-seed splitmix64).
pub fn timers<R: Rt>(rt: &R) -> Duration {
    const TASKS: usize = 100_000;
    let latch = Latch::new(TASKS);
    let start = Instant::now();
    let (rt2, l2) = (rt.handle_only(), latch.clone());
    rt.spawn(async move {
        let mut seed = 0x5eed_u64;
        for _ in 0..TASKS {
            let ms = 1 + splitmix64(&mut seed) % TIMERS_LONGEST.as_millis() as u64;
            let l = l2.clone();
            rt2.spawn(async move {
                let asked = Duration::from_millis(ms);
                let slept_from = Instant::now();
                R::sleep(asked).await;
                // The "never early", checked on every timer of every run.
                let slept = slept_from.elapsed();
                assert!(slept >= asked, "{}: a {asked:?} sleep woke after {slept:?}", R::NAME);
                l.count_down();
            });
        }
    });
    rt.block_on(latch.wait());
    start.elapsed()
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Create a 10 s sleep, poll it once (registering it), drop it: 100,000 times.
pub fn timer_cancel<R: Rt>(rt: &R) -> Duration {
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..100_000 {
            let mut sleep = std::pin::pin!(R::sleep(Duration::from_secs(10)));
            std::future::poll_fn(|cx| {
                assert!(sleep.as_mut().poll(cx).is_pending());
                std::task::Poll::Ready(())
            })
            .await;
        }
        start.elapsed()
    })
}

/// Clients and round trips of the `tcp_echo` workload.
pub const ECHO_CLIENTS: usize = 32;
pub const ECHO_ROUND_TRIPS: usize = 2_000;

/// A loopback echo server in the runtime; 32 clients × 2,000 round trips of 64 B.
/// `join_all` of a chain of 10 000 futures in which each wakes the one before it: only one
/// child is ready at a time, so the cost per wake-up is what is measured (a join that
/// scans all its children on each wake-up is quadratic here).
pub fn join_all_chain<R: Rt>(rt: &R) -> Duration {
    const N: usize = 10_000;
    rt.block_on(async {
        let start = Instant::now();
        let (mut senders, receivers): (Vec<_>, Vec<_>) =
            (0..N).map(|_| R::oneshot()).map(|(s, r)| (Some(s), r)).unzip();
        let first = senders[N - 1].take().expect("the last child's sender");
        let children: Vec<_> = receivers
            .into_iter()
            .enumerate()
            .map(|(i, received)| {
                let next = if i > 0 { senders[i - 1].take() } else { None };
                async move {
                    received.await;
                    if let Some(send) = next {
                        send();
                    }
                }
            })
            .collect();
        first();
        let outputs = R::join_all(children).await;
        assert_eq!(outputs.len(), N);
        start.elapsed()
    })
}

pub fn tcp_echo<R: Rt>(rt: &R) -> Duration {
    rt.tcp_echo(ECHO_CLIENTS, ECHO_ROUND_TRIPS, 64)
}
