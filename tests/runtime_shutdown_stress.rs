//! Reliability scenario 23: a spawn storm (10k tasks, spawned from inside tasks and from
//! two outside threads) while the runtime is dropped. Nothing hangs, and every future ever
//! created is dropped exactly once: finished, cancelled by the shutdown, or refused by a
//! spawn that came too late.

#![cfg(not(loom))]

mod common;

use clockwork::runtime::Handle;
use common::{on_both, DropCounter, DropToken};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Tasks spawned by tasks (50 spawners × 100 children) and by each outside thread.
const SPAWNERS: usize = 50;
const CHILDREN: usize = 100;
const PER_THREAD: usize = 2_500;

/// Counts futures created, and futures polled at least once.
#[derive(Clone, Default)]
struct Census {
    created: Arc<AtomicUsize>,
    polled: Arc<AtomicUsize>,
    drops: DropCounter,
}

impl Census {
    /// A task body that records its creation and its drop, yields a few times, and then
    /// either finishes or (one in four) waits forever, so shutdown finds some in each state.
    fn task(&self, n: usize) -> impl Future<Output = ()> + Send + 'static {
        self.created.fetch_add(1, SeqCst);
        let (token, polled): (DropToken, _) = (self.drops.token(), self.polled.clone());
        async move {
            let _token = token;
            polled.fetch_add(1, SeqCst);
            for _ in 0..n % 4 {
                clockwork::task::yield_now().await;
            }
            if n % 4 == 3 {
                std::future::pending::<()>().await;
            }
        }
    }

    fn spawner(&self, handle: Handle) -> impl Future<Output = ()> + Send + 'static {
        let census = self.clone();
        let token = self.drops.token();
        self.created.fetch_add(1, SeqCst);
        async move {
            let _token = token;
            for n in 0..CHILDREN {
                drop(handle.spawn(census.task(n)));
                if n % 10 == 0 {
                    clockwork::task::yield_now().await;
                }
            }
        }
    }
}

#[test]
fn dropping_the_runtime_during_a_spawn_storm_drops_every_future_once() {
    on_both(|name, rt| {
        let census = Census::default();
        let handle = rt.handle();
        let outside: Vec<_> = (0..2)
            .map(|_| {
                let (census, handle) = (census.clone(), handle.clone());
                std::thread::spawn(move || {
                    for n in 0..PER_THREAD {
                        // After the drop these resolve to Err(cancelled) at once; the
                        // future is dropped on the spot (and counted).
                        drop(handle.spawn(census.task(n)));
                    }
                })
            })
            .collect();
        for _ in 0..SPAWNERS {
            drop(rt.spawn(census.spawner(handle.clone())));
        }
        // Drive until the storm is well under way (the current-thread runtime only runs
        // tasks inside block_on), then drop the runtime in the middle of it.
        let polled = census.polled.clone();
        rt.block_on(async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            while polled.load(SeqCst) < 1_000 {
                assert!(Instant::now() < deadline, "{name}: the storm never got going");
                clockwork::task::yield_now().await;
            }
        });
        drop(rt);
        for thread in outside {
            thread.join().unwrap();
        }
        let created = census.created.load(SeqCst);
        // Spawners cancelled halfway created fewer children; the outside threads always
        // create all of theirs (the late ones are refused, and dropped, by `spawn`).
        assert!(created >= SPAWNERS + 2 * PER_THREAD, "{name}: {created}");
        assert!(created <= SPAWNERS * (CHILDREN + 1) + 2 * PER_THREAD, "{name}: {created}");
        assert_eq!(census.drops.count(), created, "{name}: every future dropped exactly once");
    });
}
