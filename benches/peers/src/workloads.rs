//! The workloads (after tokio's `rt_multi_threaded` benches and the notes in
//! `shared/notes/performance.md`). Each returns the wall time of the measured part.

use crate::latch::Latch;
use crate::rt::Rt;
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
