//! Adversarial scenarios from `shared/notes/reliability.md` §5 that other suites don't
//! cover, on both runtime flavours. Each test names its scenario number.

#![cfg(not(loom))]

mod common;

use common::{on_both, panic_message, within, DropCounter};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

/// 19: a panic inside the `block_on` future reaches the caller, and the runtime is still
/// usable and droppable afterwards.
#[test]
fn panic_in_block_on_propagates_and_runtime_survives() {
    on_both(|name, rt| {
        let payload =
            catch_unwind(AssertUnwindSafe(|| rt.block_on(async { panic!("root boom") }))).unwrap_err();
        assert_eq!(panic_message(payload.as_ref()), "root boom", "{name}");
        let out = rt.block_on(async { clockwork::spawn(async { 3 }).await.unwrap() });
        assert_eq!(out, 3, "{name}");
    });
}

/// 13: four threads clone, wake and drop one task's waker many times; the count returns
/// to its baseline, the task completes once and is freed once.
#[test]
fn waker_refcount_storm_from_four_threads() {
    on_both(|name, rt| {
        let stash: Arc<Mutex<Option<Waker>>> = Arc::default();
        let (s2, drops) = (stash.clone(), DropCounter::default());
        let token = drops.token();
        let polls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let p2 = polls.clone();
        let handle = rt.spawn(std::future::poll_fn(move |cx| {
            let _keep = &token;
            if p2.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                *s2.lock().unwrap() = Some(cx.waker().clone());
                return Poll::Pending;
            }
            Poll::Ready(())
        }));
        // Drive the runtime until the task has stored its waker (a current-thread runtime
        // only runs tasks inside block_on).
        let waker = rt.block_on(async {
            loop {
                if let Some(w) = stash.lock().unwrap().clone() {
                    return w;
                }
                clockwork::task::yield_now().await;
            }
        });
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let w = waker.clone();
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        let c = w.clone();
                        c.wake_by_ref();
                        drop(c);
                    }
                    w.wake();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        rt.block_on(handle).unwrap();
        drop((waker, stash));
        assert_eq!(drops.count(), 1, "{name}: the future was dropped exactly once");
    });
}

/// 11: a waker that outlives its runtime, woken from a thread-local destructor at thread
/// exit, is a harmless no-op.
#[test]
fn waker_woken_from_a_thread_local_destructor_after_shutdown() {
    struct WakeOnExit(Option<Waker>);
    impl Drop for WakeOnExit {
        fn drop(&mut self) {
            if let Some(w) = self.0.take() {
                w.wake();
            }
        }
    }
    thread_local! {
        static SLOT: std::cell::RefCell<WakeOnExit> = const { std::cell::RefCell::new(WakeOnExit(None)) };
    }
    on_both(|name, rt| {
        let stash: Arc<Mutex<Option<Waker>>> = Arc::default();
        let s2 = stash.clone();
        rt.block_on(async move {
            let h = clockwork::spawn(std::future::poll_fn(move |cx| {
                *s2.lock().unwrap() = Some(cx.waker().clone());
                Poll::<()>::Pending
            }));
            clockwork::task::yield_now().await;
            drop(h);
        });
        let waker = within(30, move || loop {
            if let Some(w) = stash.lock().unwrap().take() {
                return w;
            }
            std::thread::yield_now();
        });
        drop(rt);
        std::thread::spawn(move || SLOT.with(|s| s.borrow_mut().0 = Some(waker))).join().unwrap();
        let _ = name;
    });
}

/// 25: user code that uses `thread::park`/`unpark` inside `poll` cannot steal or fake
/// the runtime's wake-ups.
#[test]
fn user_thread_park_inside_poll_does_not_confuse_the_runtime() {
    on_both(|name, rt| {
        let out = rt.block_on(async {
            let h = clockwork::spawn(async {
                std::thread::current().unpark();
                std::thread::park(); // consumes the token we just gave ourselves
                clockwork::task::yield_now().await;
                std::thread::current().unpark(); // a stray token left behind
                7
            });
            clockwork::time::sleep(Duration::from_millis(2)).await;
            h.await.unwrap()
        });
        assert_eq!(out, 7, "{name}");
    });
}

/// 47: dropping a runtime with tasks pending on a timer, a socket and a channel drops
/// every one of their futures exactly once.
#[test]
fn shutdown_drops_tasks_pending_on_timers_sockets_and_channels() {
    on_both(|name, rt| {
        let drops = DropCounter::default();
        let (t1, t2, t3) = (drops.token(), drops.token(), drops.token());
        rt.block_on(async move {
            clockwork::spawn(async move {
                let _t = t1;
                clockwork::time::sleep(Duration::from_secs(3600)).await;
            });
            let listener = clockwork::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            clockwork::spawn(async move {
                let _t = t2;
                let _ = listener.accept().await;
            });
            let (_tx, rx) = std::sync::mpsc::channel::<()>();
            clockwork::spawn(async move {
                let _t = t3;
                let _rx = rx;
                std::future::pending::<()>().await;
            });
            for _ in 0..3 {
                clockwork::task::yield_now().await;
            }
        });
        drop(rt);
        assert_eq!(drops.count(), 3, "{name}");
    });
}

/// 50: dropping a runtime from inside one of its own tasks is refused with a clear panic
/// (it would block a thread the runtime needs).
#[test]
fn dropping_a_runtime_inside_its_own_task_panics_clearly() {
    on_both(|name, rt| {
        let handle = rt.handle();
        let owner = Arc::new(Mutex::new(Some(rt)));
        let inner = owner.clone();
        let err = handle
            .block_on(async move {
                clockwork::spawn(async move {
                    let taken = inner.lock().unwrap().take();
                    drop(taken); // the last owner, dropped on a runtime thread
                })
                .await
            })
            .unwrap_err();
        assert!(err.is_panic(), "{name}");
        let msg = panic_message(err.into_panic().as_ref());
        assert!(msg.contains("dropped from inside a runtime"), "{name}: {msg}");
    });
}
