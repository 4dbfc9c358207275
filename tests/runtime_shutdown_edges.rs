//! Shutdown at its edges, found by a red-team round: a thread that drove the runtime and
//! must go on without it, destructors that misuse `block_on`, a runtime dropped on its own
//! worker while a panic unwinds, and panic payloads whose own destructors panic.

// Integration tests drive real threads; loom only runs the in-crate models.
#![cfg(not(loom))]

mod common;

use clockwork::runtime::{Builder, Handle};
use clockwork::sync::oneshot;
use common::{on_both, panic_message, within};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

/// A thread in `Handle::block_on` first waits without the core (the main thread holds it),
/// then takes it over and polls its future with the core's waker; then the runtime is
/// dropped. It must go on waiting for its future with a waker of its own: the core's
/// waker wakes only a driver that nobody runs any more. It used to park for ever.
#[test]
fn a_thread_that_took_the_core_over_still_finishes_after_the_drop() {
    within(30, || {
        let rt = Builder::new_current_thread().build().unwrap();
        let (tx, mut rx) = oneshot::channel::<u32>();
        let (first_tx, first_rx) = oneshot::channel::<()>();
        let (polls_tx, polls_rx) = std::sync::mpsc::channel::<()>();
        let handle = rt.handle();
        let mut first_tx = Some(first_tx);
        let future = std::future::poll_fn(move |cx| {
            if let Some(first) = first_tx.take() {
                first.send(()).unwrap(); // the first poll, without the core
            }
            let _ = polls_tx.send(());
            Pin::new(&mut rx).poll(cx)
        });
        // Started while this thread holds the core, so it must wait at first.
        let other = rt.block_on(async move {
            let other = std::thread::spawn(move || handle.block_on(future));
            first_rx.await.unwrap();
            other
        });
        polls_rx.recv().unwrap(); // the first poll
        polls_rx.recv().unwrap(); // the second: the other thread holds the core now
        drop(rt);
        tx.send(7).unwrap();
        assert_eq!(other.join().unwrap().unwrap(), 7);
    });
}

/// A destructor that calls `block_on` while the runtime shuts down gets `block_on`'s clear
/// panic (the shutdown contains it), on both flavours; on the current-thread runtime it
/// used to wait for ever for a driver that nobody would run again.
#[test]
fn a_destructor_calling_block_on_during_shutdown_panics_clearly() {
    struct BlocksOnDrop(Arc<Mutex<Option<String>>>);
    impl Drop for BlocksOnDrop {
        fn drop(&mut self) {
            let outcome = std::panic::catch_unwind(|| {
                Handle::current().block_on(clockwork::time::sleep(Duration::from_millis(1)))
            });
            let message = outcome.err().map(|payload| panic_message(payload.as_ref()));
            *self.0.lock().unwrap() = Some(message.unwrap_or_else(|| "no panic".into()));
        }
    }
    on_both(|name, rt| {
        let seen = Arc::new(Mutex::new(None));
        let guard = BlocksOnDrop(seen.clone());
        drop(rt.spawn(async move {
            let _guard = guard;
            std::future::pending::<()>().await
        }));
        within(30, move || drop(rt));
        let message = seen.lock().unwrap().take().expect("the destructor ran");
        assert!(message.contains("block_on called from inside"), "{name}: {message}");
    });
}

/// The last owner of a multi-thread `Runtime` is a local of a task that panics: the
/// runtime is dropped on its own worker, during unwinding. Shutdown must not try to join
/// that worker from itself (that aborted the process: "Resource deadlock avoided").
#[test]
fn a_runtime_dropped_on_its_own_worker_while_unwinding_shuts_down() {
    for workers in [1, 2] {
        within(30, move || {
            let rt = Builder::new_multi_thread().worker_threads(workers).build().unwrap();
            let handle = rt.handle();
            let slot = Arc::new(Mutex::new(Some(rt)));
            let in_task = slot.clone();
            let task = handle.spawn(std::future::poll_fn(move |_| -> Poll<()> {
                let _rt = in_task.lock().unwrap().take(); // dropped while the panic unwinds
                panic!("boom");
            }));
            let result = clockwork::block_on(task);
            assert!(result.is_err(), "{workers} workers: the task panicked or was cancelled");
            assert!(slot.lock().unwrap().is_none());
        });
    }
}

/// A panic payload is any value, and its destructor may panic too. Where the runtime
/// swallows a panic (a detached task's output dropping, a handle dropped after
/// completion), that second panic must stay contained: it used to kill a worker (and with
/// one worker, hang the runtime) or escape from `block_on`.
#[test]
fn a_panic_payload_whose_drop_panics_is_contained() {
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("the payload's destructor panics");
        }
    }
    struct Output;
    impl Drop for Output {
        fn drop(&mut self) {
            std::panic::panic_any(Bomb);
        }
    }
    let mut runtimes = common::runtimes();
    runtimes.push(("multi_thread(1)", Builder::new_multi_thread().worker_threads(1).build().unwrap()));
    for (name, rt) in runtimes {
        within(30, move || {
            rt.block_on(async {
                drop(clockwork::spawn(async { Output })); // detached: the runtime drops it
                let handle = clockwork::spawn(async { Output });
                while !handle.is_finished() {
                    clockwork::task::yield_now().await;
                }
                drop(handle); // the output is dropped here, by the handle
                              // A future whose poll panics, and whose Drop panics with a bomb.
                struct Both;
                impl Future for Both {
                    type Output = ();
                    fn poll(self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<()> {
                        panic!("poll panics");
                    }
                }
                impl Drop for Both {
                    fn drop(&mut self) {
                        std::panic::panic_any(Bomb);
                    }
                }
                let joined = clockwork::spawn(Both).await;
                assert!(joined.unwrap_err().is_panic(), "{name}");
            });
            // The runtime still runs tasks and timers afterwards.
            let later = rt.block_on(async {
                clockwork::time::sleep(Duration::from_millis(2)).await;
                clockwork::spawn(async { 5 }).await.unwrap()
            });
            assert_eq!(later, 5, "{name}");
        });
    }
}
