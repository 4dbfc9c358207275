//! Loom models for `AtomicWaker`: a wake racing a registration, and panicking wakers.
//!
//! Each model uses two threads: the test body and one waking thread. Every interleaving of
//! the two must end with "the registrant saw the event, or its latest waker was woken".

// Under loom only the `loom_*` models are built; the plain unit tests and their imports are not.
#![cfg_attr(loom, allow(unused_imports))]

use super::AtomicWaker;
use crate::loom::model;
use crate::loom::sync::atomic::{AtomicBool, Ordering::SeqCst};
use crate::loom::sync::Arc;
use crate::loom::thread;
use crate::sync::test_waker::{block_on, counting_waker, panicking_clone_waker, panicking_wake_waker};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Spawns a thread that publishes the event, then wakes.
fn spawn_waker(slot: &Arc<AtomicWaker>, event: &Arc<AtomicBool>) -> thread::JoinHandle<()> {
    let (slot, event) = (slot.clone(), event.clone());
    thread::spawn(move || {
        event.store(true, SeqCst);
        // A panicking waker may be the registered one; the panic belongs to this caller.
        let _ = catch_unwind(AssertUnwindSafe(|| slot.wake()));
    })
}

#[test]
fn loom_register_racing_wake() {
    model(|| {
        let slot = Arc::new(AtomicWaker::new());
        let event = Arc::new(AtomicBool::new(false));
        let (waker, woken) = counting_waker();
        let waking = spawn_waker(&slot, &event);

        slot.register(&waker); // register, ...
        let seen = event.load(SeqCst); // ... then check
        waking.join().unwrap();
        assert!(seen || woken.get() == 1, "lost wake-up");
    });
}

#[test]
fn loom_replaced_waker_racing_wake() {
    model(|| {
        let slot = Arc::new(AtomicWaker::new());
        let event = Arc::new(AtomicBool::new(false));
        let (first, _) = counting_waker();
        let (second, second_woken) = counting_waker();
        slot.register(&first);
        let waking = spawn_waker(&slot, &event);

        slot.register(&second); // the task moved: the latest waker must win
        let seen = event.load(SeqCst);
        waking.join().unwrap();
        assert!(seen || second_woken.get() == 1, "the latest waker was not woken");
    });
}

#[test]
fn loom_panicking_clone_leaves_slot_usable() {
    model(|| {
        let slot = Arc::new(AtomicWaker::new());
        let event = Arc::new(AtomicBool::new(false));
        let waking = spawn_waker(&slot, &event);

        let result = catch_unwind(AssertUnwindSafe(|| slot.register(&panicking_clone_waker())));
        assert!(result.is_err(), "the clone's panic must reach the caller");

        let (good, woken) = counting_waker();
        slot.register(&good); // not wedged: a later registration works
        let seen = event.load(SeqCst);
        waking.join().unwrap();
        assert!(seen || woken.get() == 1, "lost wake-up after a panicking clone");
    });
}

#[test]
fn loom_panicking_wake_leaves_slot_usable() {
    model(|| {
        let slot = Arc::new(AtomicWaker::new());
        let event = Arc::new(AtomicBool::new(false));
        let (bad, _) = panicking_wake_waker();
        slot.register(&bad);
        let waking = spawn_waker(&slot, &event); // if it wakes `bad`, the panic stays there

        let (good, woken) = counting_waker();
        slot.register(&good); // not wedged by a wake that panicked halfway
        let seen = event.load(SeqCst);
        waking.join().unwrap();
        assert!(seen || woken.get() == 1, "lost wake-up after a panicking wake");

        slot.register(&good);
        let before = woken.get();
        slot.wake();
        assert_eq!(woken.get(), before + 1, "the slot must still deliver wake-ups");
    });
}

#[cfg(not(loom))]
#[test]
fn wake_without_registration_is_a_no_op() {
    let slot = AtomicWaker::new();
    slot.wake();
    assert!(slot.take().is_none());
    let (waker, woken) = counting_waker();
    slot.register(&waker);
    slot.wake();
    slot.wake(); // the waker was taken by the first wake
    assert_eq!(woken.get(), 1);
}

#[test]
fn loom_two_wakes_racing_register() {
    // Two producers each publish an event and wake; the task needs both events. The losing
    // wake relies on the winner's: its event must still reach the next registration.
    model(|| {
        let slot = Arc::new(AtomicWaker::new());
        let events = [Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false))];
        let wakers: Vec<_> = events.iter().map(|event| spawn_waker(&slot, event)).collect();
        block_on(crate::future::poll_fn(|cx| {
            slot.register(cx.waker()); // register, then check
            if events.iter().all(|event| event.load(SeqCst)) {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        }));
        wakers.into_iter().for_each(|waking| waking.join().unwrap());
    });
}
