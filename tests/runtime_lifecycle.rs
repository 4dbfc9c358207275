//! Runtime contract items: misuse messages, handles, and shutdown (every unfinished task's
//! future dropped before `drop` returns, also when destructors wake or spawn).

// Integration tests drive real threads; loom only runs the in-crate models.
#![cfg(not(loom))]

mod common;

use clockwork::runtime::{Builder, Handle};
use clockwork::task;
use common::{on_both, panic_message, pending_forever, DropCounter, DropToken};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::task::Waker;

#[test]
fn spawn_outside_a_runtime_panics_saying_so() {
    let payload = catch_unwind(|| clockwork::spawn(async {})).unwrap_err();
    let msg = panic_message(payload.as_ref());
    assert!(msg.contains("runtime"), "{msg}");
}

#[test]
fn handle_current_outside_a_runtime() {
    assert!(Handle::try_current().is_none());
    let payload = catch_unwind(Handle::current).unwrap_err();
    assert!(panic_message(payload.as_ref()).contains("runtime"));
    on_both(|name, rt| {
        rt.block_on(async {
            assert!(Handle::try_current().is_some(), "{name}");
            let h = Handle::current();
            assert_eq!(h.spawn(async { 4 }).await.unwrap(), 4);
        });
    });
}

#[test]
fn block_on_inside_block_on_panics_instead_of_deadlocking() {
    on_both(|name, rt| {
        let handle = rt.handle();
        let payload =
            catch_unwind(AssertUnwindSafe(|| rt.block_on(async { handle.block_on(async {}) }))).unwrap_err();
        assert!(panic_message(payload.as_ref()).contains("block_on"), "{name}");
        // Inside a task: the panic is captured by the JoinHandle.
        let err = rt
            .block_on(async { clockwork::spawn(async { clockwork::block_on(async {}) }).await })
            .unwrap_err();
        assert!(err.is_panic(), "{name}");
        assert!(panic_message(err.into_panic().as_ref()).contains("inside a clockwork runtime"));
        // And the runtime still works afterwards.
        assert_eq!(rt.block_on(async { 1 }), 1);
    });
}

#[test]
fn worker_threads_zero_is_refused() {
    let payload = catch_unwind(|| Builder::new_multi_thread().worker_threads(0).build()).unwrap_err();
    assert!(panic_message(payload.as_ref()).contains("worker_threads(0)"));
}

#[test]
fn drop_drops_every_unfinished_future_before_returning() {
    on_both(|name, rt| {
        let drops = DropCounter::default();
        for _ in 0..100 {
            let token = drops.token();
            rt.spawn(async move {
                let _token = token;
                pending_forever().await
            });
        }
        let token = drops.token();
        rt.block_on(async move {
            clockwork::spawn(async move {
                let _t = token;
                pending_forever().await
            });
            task::yield_now().await;
        });
        drop(rt);
        assert_eq!(drops.count(), 101, "{name}");
    });
}

/// Wakes a stored waker and spawns a task when dropped (a destructor that pokes the
/// runtime during shutdown).
struct WakeOnDrop {
    waker: Arc<Mutex<Option<Waker>>>,
    _token: DropToken,
}

impl Drop for WakeOnDrop {
    fn drop(&mut self) {
        if let Some(w) = self.waker.lock().unwrap().take() {
            w.wake();
        }
        if let Some(h) = Handle::try_current() {
            drop(h.spawn(async {}));
        }
    }
}

#[test]
fn shutdown_survives_destructors_that_wake_and_spawn() {
    on_both(|name, rt| {
        let drops = DropCounter::default();
        let shared_waker: Arc<Mutex<Option<Waker>>> = Arc::default();
        for _ in 0..20 {
            let w = shared_waker.clone();
            let guard = WakeOnDrop { waker: w.clone(), _token: drops.token() };
            rt.spawn(async move {
                let _guard = guard;
                std::future::poll_fn(|cx| {
                    *w.lock().unwrap() = Some(cx.waker().clone());
                    std::task::Poll::<()>::Pending
                })
                .await
            });
        }
        rt.block_on(async {
            for _ in 0..5 {
                task::yield_now().await;
            }
        });
        drop(rt);
        assert_eq!(drops.count(), 20, "{name}");
        // A waker that outlived the runtime is a harmless no-op.
        let stale = shared_waker.lock().unwrap().take();
        if let Some(w) = stale {
            w.wake_by_ref();
            w.wake();
        }
    });
}

#[test]
fn spawn_through_a_handle_after_shutdown_is_cancelled() {
    on_both(|name, rt| {
        let handle = rt.handle();
        drop(rt);
        let join = handle.spawn(async { 1 });
        assert!(join.is_finished(), "{name}");
        let other = Builder::new_current_thread().build().unwrap();
        let err = other.block_on(join).unwrap_err();
        assert!(err.is_cancelled(), "{name}");
    });
}

#[test]
fn panic_in_a_futures_drop_on_abort_is_contained() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("drop went wrong");
        }
    }
    on_both(|name, rt| {
        rt.block_on(async {
            let started = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let s2 = started.clone();
            let h = clockwork::spawn(async move {
                let _p = PanicOnDrop;
                s2.store(true, std::sync::atomic::Ordering::SeqCst);
                pending_forever().await
            });
            while !started.load(std::sync::atomic::Ordering::SeqCst) {
                task::yield_now().await;
            }
            h.abort();
            let err = h.await.unwrap_err();
            assert!(err.is_panic(), "{name}: a panicking Drop during abort is reported as a panic");
            // The runtime is fine.
            assert_eq!(clockwork::spawn(async { 2 }).await.unwrap(), 2);
        });
        // And at shutdown too.
        rt.spawn(async {
            let _p = PanicOnDrop;
            pending_forever().await
        });
        drop(rt);
    });
}

#[test]
fn panic_in_output_drop_is_swallowed_when_the_handle_is_dropped() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("output drop went wrong");
        }
    }
    on_both(|name, rt| {
        rt.block_on(async {
            let h = clockwork::spawn(async { PanicOnDrop });
            while !h.is_finished() {
                task::yield_now().await;
            }
            drop(h); // must not panic here
                     // Detached task whose output panics on drop: contained by the runtime.
            drop(clockwork::spawn(async { PanicOnDrop }));
            for _ in 0..5 {
                task::yield_now().await;
            }
        });
        let _ = name;
    });
}

#[test]
fn runtime_spawned_tasks_run_once_block_on_is_entered() {
    on_both(|name, rt| {
        let handles: Vec<_> = (0..10).map(|i| rt.spawn(async move { i * 2 })).collect();
        let outs: Vec<i32> = rt.block_on(async {
            let mut v = Vec::new();
            for h in handles {
                v.push(h.await.unwrap());
            }
            v
        });
        assert_eq!(outs, (0..10).map(|i| i * 2).collect::<Vec<_>>(), "{name}");
    });
}

#[test]
fn stale_waker_after_completion_is_a_noop() {
    on_both(|name, rt| {
        let stash: Arc<Mutex<Option<Waker>>> = Arc::default();
        let s2 = stash.clone();
        rt.block_on(async move {
            clockwork::spawn(std::future::poll_fn(move |cx| {
                *s2.lock().unwrap() = Some(cx.waker().clone());
                std::task::Poll::Ready(())
            }))
            .await
            .unwrap();
        });
        let w = stash.lock().unwrap().take().unwrap();
        w.wake_by_ref();
        let w2 = w.clone();
        w.wake();
        drop(rt);
        w2.wake();
        let _ = name;
    });
}

#[test]
fn handle_block_on_from_another_thread() {
    let rt = Builder::new_current_thread().build().unwrap();
    let handle = rt.handle();
    let t =
        std::thread::spawn(move || handle.block_on(async { clockwork::spawn(async { 5 }).await.unwrap() }));
    assert_eq!(t.join().unwrap(), 5);
    let rt = Builder::new_multi_thread().worker_threads(2).build().unwrap();
    let handle = rt.handle();
    let t =
        std::thread::spawn(move || handle.block_on(async { clockwork::spawn(async { 6 }).await.unwrap() }));
    assert_eq!(t.join().unwrap(), 6);
}

#[test]
fn two_threads_in_block_on_of_one_current_thread_runtime() {
    // One thread holds the core and runs the tasks; the other waits on its own parker and
    // must still be woken when its future becomes ready.
    common::within(60, || {
        let rt = Builder::new_current_thread().build().unwrap();
        for _ in 0..50 {
            let (tx, rx) = clockwork::sync::oneshot::channel::<u32>();
            let handle = rt.handle();
            let waiter = std::thread::spawn(move || handle.block_on(rx).unwrap());
            let sent = rt.block_on(async move {
                clockwork::spawn(async move { tx.send(7).unwrap() }).await.unwrap();
                7
            });
            assert_eq!(waiter.join().unwrap(), sent);
        }
    });
}

/// Another thread drives a current-thread runtime through `Handle::block_on` and is in the
/// middle of a task's poll when the runtime is dropped: `drop` waits for that poll to end
/// (the driving thread hands the core back between polls), then drops the task's future,
/// before it returns. The driving thread's own `block_on` finishes without the core.
#[test]
fn current_thread_drop_waits_for_a_task_polled_by_another_thread() {
    common::within(60, || {
        let rt = Builder::new_current_thread().build().unwrap();
        let dropped = DropCounter::default();
        let (in_poll_tx, in_poll_rx) = crossbeam_channel::bounded::<()>(1);
        let (release_tx, release_rx) = crossbeam_channel::bounded::<()>(1);
        let token = dropped.token();
        let task = rt.spawn(std::future::poll_fn(move |_cx| {
            let _keep = &token; // dropped with the future
            in_poll_tx.send(()).unwrap();
            release_rx.recv().unwrap(); // blocks inside the poll until released
            std::task::Poll::<()>::Pending
        }));
        let handle = rt.handle();
        let driver = std::thread::spawn(move || handle.block_on(task));
        in_poll_rx.recv().unwrap();
        let (dropping_tx, dropping_rx) = crossbeam_channel::bounded::<()>(1);
        let counter = dropped.clone();
        let dropper = std::thread::spawn(move || {
            dropping_tx.send(()).unwrap();
            drop(rt);
            counter.count()
        });
        dropping_rx.recv().unwrap();
        // Released after `drop` began (whichever way the race goes, `drop` may return
        // only once the future is gone).
        release_tx.send(()).unwrap();
        assert_eq!(dropper.join().unwrap(), 1, "drop returned before the polled task's future was dropped");
        let joined = driver.join().unwrap();
        assert!(joined.unwrap_err().is_cancelled());
    });
}

/// `Runtime::handle` returns a `Handle` by value (the contract's signature), ready to be
/// moved to another thread.
#[test]
fn runtime_handle_is_an_owned_handle() {
    on_both(|name, rt| {
        let handle: Handle = rt.handle();
        let other = std::thread::spawn(move || handle.block_on(async { 6 * 7 }));
        assert_eq!(other.join().unwrap(), 42, "{name}");
    });
}
