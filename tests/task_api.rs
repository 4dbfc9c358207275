//! The contract's task items, on both runtime flavours: output, panics, abort,
//! is_finished, detach, yield fairness, spawn_blocking.

// Integration tests drive real threads; loom only runs the in-crate models.
#![cfg(not(loom))]

mod common;

use clockwork::task::{self, JoinError};
use common::{on_both, panic_message, pending_forever, DropCounter};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

#[test]
fn spawn_returns_output() {
    on_both(|name, rt| {
        let out = rt.block_on(async { clockwork::spawn(async { 21 * 2 }).await.unwrap() });
        assert_eq!(out, 42, "{name}");
        let handle = rt.spawn(async { "spawned from outside" });
        assert_eq!(rt.block_on(handle).unwrap(), "spawned from outside", "{name}");
    });
}

#[test]
fn panic_is_captured_and_runtime_keeps_running() {
    on_both(|name, rt| {
        rt.block_on(async {
            let bad = clockwork::spawn(async { panic!("boom in a task") });
            let good = clockwork::spawn(async { 7 });
            let err: JoinError = bad.await.unwrap_err();
            assert!(err.is_panic() && !err.is_cancelled(), "{name}");
            assert!(err.to_string().contains("boom in a task"), "{name}: {err}");
            assert_eq!(panic_message(err.into_panic().as_ref()), "boom in a task");
            assert_eq!(good.await.unwrap(), 7, "{name}");
        });
        // The runtime is still usable after the panic.
        assert_eq!(rt.block_on(async { clockwork::spawn(async { 1 }).await.unwrap() }), 1);
    });
}

#[test]
fn abort_cancels_an_idle_task_and_drops_its_future() {
    on_both(|name, rt| {
        let drops = DropCounter::default();
        let token = drops.token();
        rt.block_on(async move {
            let handle = clockwork::spawn(async move {
                let _token = token;
                pending_forever().await
            });
            task::yield_now().await; // let it start and park
            handle.abort();
            let err = handle.await.unwrap_err();
            assert!(err.is_cancelled() && !err.is_panic(), "{name}: {err:?}");
        });
        assert_eq!(drops.count(), 1, "{name}: the future was dropped exactly once");
    });
}

#[test]
fn abort_after_completion_has_no_effect() {
    on_both(|name, rt| {
        rt.block_on(async {
            let handle = clockwork::spawn(async { 5 });
            while !handle.is_finished() {
                task::yield_now().await;
            }
            handle.abort();
            assert_eq!(handle.await.unwrap(), 5, "{name}");
        });
    });
}

#[test]
fn abort_from_a_plain_thread_drops_the_future_on_the_runtime() {
    on_both(|name, rt| {
        let drops = DropCounter::default();
        let token = drops.token();
        let handle = rt.spawn(async move {
            let _token = token;
            pending_forever().await
        });
        let handle = std::thread::spawn(move || {
            handle.abort();
            handle
        })
        .join()
        .unwrap();
        let err = rt.block_on(handle).unwrap_err();
        assert!(err.is_cancelled(), "{name}");
        assert_eq!(drops.count(), 1, "{name}");
    });
}

#[test]
fn dropping_the_handle_detaches_the_task() {
    on_both(|name, rt| {
        let (tx, rx) = std::sync::mpsc::channel();
        rt.block_on(async move {
            drop(clockwork::spawn(async move {
                task::yield_now().await;
                tx.send("still ran").unwrap();
            }));
            for _ in 0..10 {
                task::yield_now().await;
            }
        });
        assert_eq!(rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap(), "still ran", "{name}");
    });
}

#[test]
fn is_finished_tracks_completion() {
    on_both(|name, rt| {
        rt.block_on(async {
            let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
            let handle = clockwork::spawn(async move {
                let _ = gate_rx; // dropped at completion
            });
            assert!(!handle.is_finished() || name == "multi_thread");
            drop(gate_tx);
            while !handle.is_finished() {
                task::yield_now().await;
            }
            handle.await.unwrap();
        });
    });
}

/// A future that counts its polls and yields `n` times.
struct CountPolls {
    polls: Arc<AtomicUsize>,
    left: usize,
}

impl Future for CountPolls {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.polls.fetch_add(1, SeqCst);
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn self_waking_tasks_alternate_on_one_thread() {
    let rt = clockwork::runtime::Builder::new_current_thread().build().unwrap();
    let (a, b) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    rt.block_on(async {
        let ha = clockwork::spawn(CountPolls { polls: a.clone(), left: 1000 });
        let hb = clockwork::spawn(CountPolls { polls: b.clone(), left: 1000 });
        // While both run, neither gets more than one poll ahead of the other.
        for _ in 0..500 {
            task::yield_now().await;
            let (pa, pb) = (a.load(SeqCst), b.load(SeqCst));
            assert!(pa.abs_diff(pb) <= 1, "unfair: {pa} vs {pb}");
        }
        ha.await.unwrap();
        hb.await.unwrap();
    });
}

#[test]
fn always_ready_task_cannot_starve_others() {
    on_both(|name, rt| {
        rt.block_on(async {
            let spinner = clockwork::spawn(async {
                loop {
                    task::yield_now().await;
                }
            });
            let others: Vec<_> = (0..50).map(|i| clockwork::spawn(async move { i })).collect();
            for (i, h) in others.into_iter().enumerate() {
                assert_eq!(h.await.unwrap(), i, "{name}");
            }
            spinner.abort();
            assert!(spinner.await.unwrap_err().is_cancelled());
        });
    });
}

#[test]
fn wake_from_a_foreign_thread() {
    on_both(|name, rt| {
        let slot: Arc<Mutex<(bool, Option<Waker>)>> = Arc::default();
        let s2 = slot.clone();
        let handle = rt.spawn(std::future::poll_fn(move |cx| {
            let mut s = s2.lock().unwrap();
            if s.0 {
                Poll::Ready("woken")
            } else {
                s.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }));
        let waker_thread = std::thread::spawn(move || loop {
            let mut s = slot.lock().unwrap();
            if let Some(w) = s.1.take() {
                s.0 = true;
                drop(s);
                w.wake();
                return;
            }
            drop(s);
            std::thread::yield_now();
        });
        assert_eq!(rt.block_on(handle).unwrap(), "woken", "{name}");
        waker_thread.join().unwrap();
    });
}

#[test]
fn join_handle_can_move_between_tasks() {
    on_both(|name, rt| {
        rt.block_on(async {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let target = clockwork::spawn(async move {
                while rx.try_recv().is_err() {
                    task::yield_now().await;
                }
                99
            });
            // Poll the handle once in this task, then hand it to another.
            let mut target = target;
            let first = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut target).poll(cx))).await;
            assert!(first.is_pending());
            let waiter = clockwork::spawn(async move { target.await.unwrap() });
            tx.send(()).unwrap();
            assert_eq!(waiter.await.unwrap(), 99, "{name}");
        });
    });
}

#[test]
fn spawn_blocking_runs_elsewhere_and_captures_panics() {
    on_both(|name, rt| {
        rt.block_on(async {
            let here = std::thread::current().id();
            let there = task::spawn_blocking(|| std::thread::current().id()).await.unwrap();
            assert_ne!(here, there, "{name}");
            let err = task::spawn_blocking(|| panic!("blocking boom")).await.unwrap_err();
            assert!(err.is_panic(), "{name}");
            assert!(err.to_string().contains("blocking boom"));
        });
    });
}

#[test]
fn many_tasks_spawn_and_join() {
    on_both(|name, rt| {
        let total: u64 = rt.block_on(async {
            let handles: Vec<_> = (0..20_000u64).map(|i| clockwork::spawn(async move { i })).collect();
            let mut total = 0;
            for h in handles {
                total += h.await.unwrap();
            }
            total
        });
        assert_eq!(total, (0..20_000u64).sum::<u64>(), "{name}");
    });
}

#[test]
fn futures_spawn_trait_interop() {
    use futures::task::SpawnExt;
    on_both(|name, rt| {
        let handle = rt.handle();
        let out = rt.block_on(async move { handle.spawn_with_handle(async { 3 }).unwrap().await });
        assert_eq!(out, 3, "{name}");
    });
}

/// Every error type converts into `Box<dyn Error + Send + Sync>` (what `?` into
/// `anyhow`-style errors needs), a panic's message and payload included.
#[test]
fn errors_are_send_sync_and_box_into_dyn_error() {
    type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
    fn boxed<E: std::error::Error + Send + Sync + 'static>(e: E) -> BoxError {
        Box::new(e)
    }
    async fn join_with_question_mark() -> Result<u32, BoxError> {
        Ok(clockwork::spawn(async { panic!("boom {}", 7) }).await?)
    }
    let err = clockwork::block_on(join_with_question_mark()).unwrap_err();
    assert!(err.to_string().contains("boom 7"), "{err}");
    let join_error = *err.downcast::<clockwork::task::JoinError>().unwrap();
    assert_eq!(panic_message(&*join_error.into_panic()), "boom 7");
    let (tx, rx) = clockwork::sync::oneshot::channel::<u8>();
    drop(tx);
    boxed(clockwork::block_on(rx).unwrap_err());
    boxed(clockwork::sync::mpsc::error::SendError(1u8));
    let elapsed = clockwork::block_on(clockwork::time::timeout(
        std::time::Duration::from_millis(1),
        std::future::pending::<()>(),
    ));
    boxed(elapsed.unwrap_err());
}

/// `yield_now` in the future given to `block_on` lets every task that was ready run
/// first, however many: on a current-thread runtime the loop polls the root future again
/// only after the tasks queued when it yielded (there were 60 at most before, then the
/// drivers' turn let the root jump the queue); on a multi-thread runtime the root hands its
/// turn to the workers through a marker task (one worker here, so "started" is also
/// "finished"; with more workers the others may still be running theirs).
#[test]
fn yield_now_in_block_on_lets_every_ready_task_run_first() {
    let runtimes = [
        ("current_thread", clockwork::runtime::Builder::new_current_thread().build().unwrap()),
        ("multi_thread", clockwork::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap()),
    ];
    for (name, rt) in runtimes {
        for n in [1, 61, 500] {
            let ran = Arc::new(AtomicUsize::new(0));
            let seen = rt.block_on({
                let ran = ran.clone();
                async move {
                    for _ in 0..n {
                        let ran = ran.clone();
                        drop(clockwork::spawn(async move { ran.fetch_add(1, SeqCst) }));
                    }
                    task::yield_now().await;
                    ran.load(SeqCst)
                }
            });
            assert_eq!(seen, n, "{name}: {n} ready tasks, {seen} ran before the root went on");
        }
    }
}

/// The multi-thread root's marker task wakes it even if the runtime shuts down before a
/// worker runs it (it is then dropped unrun): `yield_now` cannot hang.
#[test]
fn yield_now_in_block_on_survives_a_runtime_that_shuts_down() {
    common::within(60, || {
        let rt = clockwork::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap();
        let handle = rt.handle();
        let (tx, rx) = std::sync::mpsc::channel();
        // Another thread blocks on the runtime through a handle while it is dropped.
        let blocker = std::thread::spawn(move || {
            handle.block_on(async {
                tx.send(()).unwrap();
                for _ in 0..1000 {
                    task::yield_now().await;
                }
            })
        });
        rx.recv_timeout(std::time::Duration::from_secs(10)).expect("the root started");
        drop(rt);
        blocker.join().expect("the root finished its yields");
    });
}

/// `yield_now` in a task lets the tasks it spawned run first, on a current-thread runtime
/// and on one worker: every one of them is queued on the yielder's thread, ahead of it.
/// (With several workers a sibling may be running some of them when the yielder comes
/// back; `DESIGN.md` §4.4 has the numbers.)
#[test]
fn yield_now_in_a_task_lets_the_tasks_it_spawned_run_first() {
    let runtimes = [
        clockwork::runtime::Builder::new_current_thread().build().unwrap(),
        clockwork::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap(),
    ];
    for rt in runtimes {
        for round in 0..300 {
            let all_ran = rt.block_on(rt.spawn(async {
                let count = Arc::new(AtomicUsize::new(0));
                for _ in 0..10 {
                    let count = count.clone();
                    clockwork::spawn(async move {
                        count.fetch_add(1, SeqCst);
                    });
                }
                task::yield_now().await;
                count.load(SeqCst)
            }));
            assert_eq!(all_ran.unwrap(), 10, "{rt:?}, round {round}");
        }
    }
}
