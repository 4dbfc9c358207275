//! Fairness: no pattern of always-ready tasks may starve another task, a remote spawn, or
//! a timer (reliability scenarios 20–22). Each test runs on both flavours and on a
//! one-worker multi-thread runtime, where nothing can escape to a sibling worker.
//!
//! The time bounds only catch a hang; a correct runtime finishes each test in well under
//! a millisecond of task work.

#![cfg(not(loom))]

mod common;

use clockwork::runtime::Builder;
use clockwork::Runtime;
use std::future::{poll_fn, Future};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

/// Generous: only a starved task takes this long.
const HANG: Duration = Duration::from_secs(10);

/// Both flavours, plus a multi-thread runtime with a single worker.
fn each_runtime(body: impl Fn(&'static str, Runtime)) {
    common::on_both(&body);
    body("multi_thread(1)", Builder::new_multi_thread().worker_threads(1).build().unwrap());
}

/// Runs `future` on `rt`, failing the test (instead of hanging) if it starves.
fn finishes<F: Future>(name: &str, rt: &Runtime, what: &str, future: F) -> F::Output {
    rt.block_on(clockwork::time::timeout(HANG, future))
        .unwrap_or_else(|_| panic!("{name}: {what} starved for {HANG:?}"))
}

/// A task that wakes itself on every poll until `stop` is set: always ready, forever.
fn spinner(stop: Arc<AtomicBool>) -> impl Future<Output = ()> + Send {
    poll_fn(move |cx| {
        if stop.load(SeqCst) {
            return Poll::Ready(());
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

/// One side of a ping-pong pair: each poll wakes the partner (into the run-next slot on
/// a worker) and waits to be woken back. After `spawn_after` polls, side 0 spawns `third`,
/// which therefore waits in the FIFO while the pair keeps the slot busy.
struct Pair {
    wakers: Mutex<[Option<Waker>; 2]>,
    stop: AtomicBool,
    polls: AtomicUsize,
}

fn side(
    pair: Arc<Pair>,
    me: usize,
    mut third: Option<Box<dyn FnOnce() + Send>>,
) -> impl Future<Output = ()> + Send {
    poll_fn(move |cx| {
        if pair.stop.load(SeqCst) {
            return Poll::Ready(());
        }
        if pair.polls.fetch_add(1, SeqCst) >= 100 {
            if let Some(spawn_third) = third.take() {
                spawn_third();
            }
        }
        let partner = {
            let mut wakers = pair.wakers.lock().unwrap();
            wakers[me] = Some(cx.waker().clone());
            wakers[1 - me].clone()
        };
        if let Some(partner) = partner {
            partner.wake();
        }
        Poll::Pending
    })
}

#[test]
fn ping_pong_pair_cannot_starve_a_third_task() {
    each_runtime(|name, rt| {
        let pair = Arc::new(Pair {
            wakers: Mutex::new([None, None]),
            stop: AtomicBool::new(false),
            polls: 0.into(),
        });
        let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
        let pair3 = pair.clone();
        let third: Box<dyn FnOnce() + Send> = Box::new(move || {
            drop(clockwork::spawn(async move {
                pair3.stop.store(true, SeqCst);
                let wakers = std::mem::take(&mut *pair3.wakers.lock().unwrap());
                wakers.into_iter().flatten().for_each(Waker::wake);
                let _ = done_tx.send(());
            }));
        });
        let a = rt.spawn(side(pair.clone(), 0, Some(third)));
        let b = rt.spawn(side(pair.clone(), 1, None));
        finishes(name, &rt, "a ping-pong pair or the third task", async {
            a.await.unwrap();
            b.await.unwrap();
        });
        done_rx.try_recv().expect("the third task ran");
        assert!(pair.polls.load(SeqCst) > 100, "{name}: the pair really ping-ponged");
    });
}

#[test]
fn self_waking_task_cannot_starve_a_sibling() {
    each_runtime(|name, rt| {
        let stop = Arc::new(AtomicBool::new(false));
        let spin = rt.spawn(spinner(stop.clone()));
        let stopper = rt.spawn(async move { stop.store(true, SeqCst) });
        finishes(name, &rt, "the sibling of a self-waking task", async {
            stopper.await.unwrap();
            spin.await.unwrap();
        });
    });
}

#[test]
fn remote_spawn_runs_while_local_work_never_runs_out() {
    each_runtime(|name, rt| {
        let stop = Arc::new(AtomicBool::new(false));
        // Two spinners, so a worker's own queue is never empty.
        let spins = [rt.spawn(spinner(stop.clone())), rt.spawn(spinner(stop.clone()))];
        let handle = rt.handle();
        let remote = std::thread::spawn(move || handle.spawn(async { 7 })).join().unwrap();
        let stop2 = stop.clone();
        finishes(name, &rt, "a task spawned from another thread", async move {
            assert_eq!(remote.await.unwrap(), 7);
            stop2.store(true, SeqCst);
            for spin in spins {
                spin.await.unwrap();
            }
        });
    });
}

#[test]
fn timer_fires_while_local_work_never_runs_out() {
    each_runtime(|name, rt| {
        let stop = Arc::new(AtomicBool::new(false));
        let spins = [rt.spawn(spinner(stop.clone())), rt.spawn(spinner(stop.clone()))];
        let sleeper = rt.spawn(async { clockwork::time::sleep(Duration::from_millis(5)).await });
        finishes(name, &rt, "a 5 ms timer among always-ready tasks", async move {
            sleeper.await.unwrap();
            stop.store(true, SeqCst);
            for spin in spins {
                spin.await.unwrap();
            }
        });
    });
}

/// The runtimes where a task that never returns `Pending` would hold the only thread.
fn single_thread_runtimes() -> [(&'static str, Runtime); 2] {
    [
        ("current_thread", Builder::new_current_thread().build().unwrap()),
        ("multi_thread(1)", Builder::new_multi_thread().worker_threads(1).build().unwrap()),
    ]
}

/// Runs `busy` (which reports its progress in `progress`) in a task that first spawns
/// another task recording how far `busy` had got when it first ran. Spawned from inside
/// the runtime, that task is queued on this very thread, so it can only run before
/// `busy` finishes if `busy` returns `Pending`. Returns (progress seen, final progress).
fn progress_seen_by_a_later_task<F>(
    rt: &Runtime,
    name: &str,
    progress: Arc<AtomicUsize>,
    busy: F,
) -> (usize, usize)
where
    F: Future<Output = ()> + Send + 'static,
{
    finishes(name, rt, "the budget test", async move {
        let p = progress.clone();
        let outer = clockwork::spawn(async move {
            let other = clockwork::spawn(async move { p.load(SeqCst) });
            busy.await;
            other.await.unwrap() // `other` ran already if `busy` yielded, else it runs now
        });
        let seen = outer.await.unwrap();
        (seen, progress.load(SeqCst))
    })
}

/// Cooperative budget (`task/coop.rs`): a consumer whose channel never runs dry still
/// lets another task run long before it is done.
#[test]
fn budget_makes_an_always_ready_receiver_take_turns() {
    const VALUES: usize = 2_000;
    for (name, rt) in single_thread_runtimes() {
        let (tx, mut rx) = clockwork::sync::mpsc::channel::<usize>(VALUES);
        finishes(name, &rt, "filling the channel", async {
            for i in 0..VALUES {
                tx.send(i).await.unwrap();
            }
        });
        drop(tx);
        let progress = Arc::new(AtomicUsize::new(0));
        let p = progress.clone();
        let (seen, total) = progress_seen_by_a_later_task(&rt, name, progress, async move {
            while rx.recv().await.is_some() {
                p.fetch_add(1, SeqCst);
            }
        });
        assert_eq!(total, VALUES, "{name}");
        assert!(seen < VALUES, "{name}: the other task ran only after all {VALUES} values (seen {seen})");
        assert!(seen >= 1, "{name}: the receiver never ran first");
    }
}

/// Cooperative budget: a reader whose socket is always readable (everything was written
/// before it started) still lets another task run long before it reaches the end.
#[test]
fn budget_makes_an_always_ready_socket_reader_take_turns() {
    use std::io::Write;
    const CHUNK: usize = 16;
    const CHUNKS: usize = 2_000; // 32 KB: fits the loopback buffers, so every read is ready
    for (name, rt) in single_thread_runtimes() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = finishes(name, &rt, "connecting", clockwork::net::TcpStream::connect(addr)).unwrap();
        let (mut writer, _) = listener.accept().unwrap();
        writer.write_all(&vec![7u8; CHUNK * CHUNKS]).unwrap();
        drop(writer); // then EOF
        let progress = Arc::new(AtomicUsize::new(0));
        let p = progress.clone();
        let (seen, total) = progress_seen_by_a_later_task(&rt, name, progress, async move {
            let mut buf = [0u8; CHUNK];
            while reader.read(&mut buf).await.unwrap() > 0 {
                p.fetch_add(1, SeqCst);
            }
        });
        assert!(total >= CHUNKS, "{name}: read {total} chunks");
        assert!(seen < total, "{name}: the other task ran only after all {total} reads");
    }
}

/// Cooperative budget: timers spend it too. A loop of sleeps that are always already
/// due (a zero sleep, here 2 000 of them) used to complete every one inline and never
/// return to the scheduler, so on one thread nothing else ran until the loop ended.
#[test]
fn budget_makes_a_loop_of_due_sleeps_take_turns() {
    const SLEEPS: usize = 2_000;
    for (name, rt) in single_thread_runtimes() {
        let progress = Arc::new(AtomicUsize::new(0));
        let p = progress.clone();
        let (seen, total) = progress_seen_by_a_later_task(&rt, name, progress, async move {
            for _ in 0..SLEEPS {
                clockwork::time::sleep(Duration::ZERO).await;
                p.fetch_add(1, SeqCst);
            }
        });
        assert_eq!(total, SLEEPS, "{name}");
        assert!(seen < SLEEPS, "{name}: the other task ran only after all {SLEEPS} sleeps");
    }
}

/// The same for an `Interval` catching up after a stall: its missed ticks are all due,
/// and the burst must still take turns with other tasks.
#[test]
fn budget_makes_an_interval_catching_up_take_turns() {
    const TICKS: usize = 300;
    for (name, rt) in single_thread_runtimes() {
        let progress = Arc::new(AtomicUsize::new(0));
        let p = progress.clone();
        let (seen, total) = progress_seen_by_a_later_task(&rt, name, progress, async move {
            let mut interval = clockwork::time::interval(Duration::from_micros(100));
            interval.tick().await;
            // Blocks the thread on purpose: every later tick is now overdue.
            std::thread::sleep(Duration::from_millis(40));
            for _ in 0..TICKS {
                interval.tick().await;
                p.fetch_add(1, SeqCst);
            }
        });
        assert_eq!(total, TICKS, "{name}");
        assert!(seen < TICKS, "{name}: the other task ran only after the whole burst");
    }
}

/// A timeout around a future that spends the whole budget on every poll (a loop of due
/// sleeps) must still fire: the future goes first, so the timer is then looked at without
/// the budget, or it would never be (as in tokio).
#[test]
fn a_timeout_fires_around_a_future_that_spends_the_whole_budget() {
    common::within(60, || {
        for (name, rt) in single_thread_runtimes() {
            let busy = async {
                loop {
                    clockwork::time::sleep(Duration::ZERO).await;
                }
            };
            let timed = async move { clockwork::time::timeout(Duration::from_millis(20), busy).await };
            let result =
                finishes(name, &rt, "the timeout", async move { clockwork::spawn(timed).await.unwrap() });
            assert!(result.is_err(), "{name}: the loop never ends, so the timeout must fire");
        }
    });
}

/// A worker stuck in a long poll, with a task waiting in its run-next slot, must not stop
/// the timers of the rest of the runtime. The free worker used to count the slot it cannot
/// steal from as work, so it never parked in the driver: it looped at full CPU and no timer
/// fired. Here the stuck task is released only by a timer, so the bug is a hang.
#[test]
fn a_worker_stuck_in_a_poll_does_not_stop_the_timers() {
    common::within(60, || {
        let rt = Builder::new_multi_thread().worker_threads(2).build().unwrap();
        let (started_tx, started_rx) = crossbeam_channel::bounded::<()>(1);
        let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(1);
        drop(rt.spawn(async move {
            drop(clockwork::spawn(async {})); // waits in this worker's run-next slot
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap(); // this worker is stuck until the timer below fires
        }));
        started_rx.recv().unwrap();
        rt.block_on(async move {
            clockwork::time::sleep(Duration::from_millis(20)).await;
            release_tx.send(()).unwrap();
        });
    });
}

/// `yield_now` lets every other ready task run first, on the multi-thread runtime too,
/// when each worker holds several yielding tasks: a task spawned from outside the workers
/// (it waits in the injection queue) runs within a round of yields. With two or more
/// yielders per worker, a worker's queue never emptied, so it looked at the injection
/// queue only every 61 polls: 55 yields on average before such a task ran, up to 117 (a
/// real-client audit; tokio: 0–1). Each worker now looks once per round of its yielders.
#[test]
fn tasks_spawned_from_outside_run_within_a_round_of_yields() {
    const HOGS: usize = 8; // four yielders per worker
    common::within(60, || {
        let rt = Builder::new_multi_thread().worker_threads(2).build().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let yields = Arc::new(AtomicUsize::new(0));
        for _ in 0..HOGS {
            let (stop, yields) = (stop.clone(), yields.clone());
            drop(rt.spawn(async move {
                while !stop.load(SeqCst) {
                    let until = std::time::Instant::now() + Duration::from_micros(20);
                    while std::time::Instant::now() < until {} // a slice of work
                    yields.fetch_add(1, SeqCst);
                    clockwork::task::yield_now().await;
                }
            }));
        }
        while yields.load(SeqCst) < 10 * HOGS {
            std::thread::yield_now(); // every hog is running
        }
        let mut worst = 0;
        for _ in 0..10 {
            let before = yields.load(SeqCst);
            let y = yields.clone();
            let seen = rt.block_on(rt.spawn(async move { y.load(SeqCst) })).unwrap();
            worst = worst.max(seen - before);
        }
        stop.store(true, SeqCst);
        // A round is 4 yields per worker; allow slack for a spawn landing mid-round.
        assert!(worst <= 3 * HOGS, "{worst} yields by the other tasks before a spawned task ran");
    });
}

/// The order within a round: tasks a look brings in for a yielder run before every
/// yielder already queued, since all of those yielded before the look too. Three tasks
/// yield in turn on one worker; during one of B's polls three tasks are spawned from
/// outside. Until the last of them has run, no yielder may run twice (a review found the
/// brought-in tasks queued behind the covered yielders: `C2 A3 X0 C3 A4 X1 X2`).
#[test]
fn tasks_brought_in_by_a_look_run_before_the_yielders_it_covers() {
    common::within(60, || {
        for _ in 0..20 {
            let rt = Builder::new_multi_thread().worker_threads(1).build().unwrap();
            let log = Arc::new(Mutex::new(Vec::<String>::new()));
            let yielders: Vec<_> =
                ["A", "B", "C"]
                    .into_iter()
                    .map(|name| {
                        let (log, handle) = (log.clone(), rt.handle().clone());
                        rt.spawn(async move {
                            for i in 0..6 {
                                log.lock().unwrap().push(format!("{name}{i}"));
                                if name == "B" && i == 2 {
                                    let (spawned_log, handle) = (log.clone(), handle.clone());
                                    std::thread::spawn(move || {
                                        for x in 0..3 {
                                            let log = spawned_log.clone();
                                            drop(handle.spawn(async move {
                                                log.lock().unwrap().push(format!("X{x}"))
                                            }));
                                        }
                                    })
                                    .join()
                                    .unwrap();
                                    log.lock().unwrap().push("queued".into());
                                }
                                clockwork::task::yield_now().await;
                            }
                        })
                    })
                    .collect();
            rt.block_on(async {
                for yielder in yielders {
                    yielder.await.unwrap();
                }
            });
            let log = log.lock().unwrap();
            let from = log.iter().position(|e| e == "queued").unwrap() + 1;
            let to = log.iter().rposition(|e| e.starts_with('X')).unwrap();
            let between: Vec<char> = log[from..to]
                .iter()
                .filter(|e| !e.starts_with('X'))
                .map(|e| e.chars().next().unwrap())
                .collect();
            let mut seen = between.clone();
            seen.sort_unstable();
            seen.dedup();
            assert_eq!(seen.len(), between.len(), "a yielder ran twice before the spawned tasks: {log:?}");
        }
    });
}
