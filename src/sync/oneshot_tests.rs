//! Loom models and unit tests for `oneshot`, polling the receiver by hand.
//!
//! Values are loom `Arc`s where it matters: loom reports a leaked `Arc`, so "the value is
//! dropped exactly once, whoever ends up with it" is checked in every interleaving.

// Under loom only the `loom_*` models are built; the plain unit tests and their imports are not.
#![cfg_attr(loom, allow(unused_imports))]

use super::channel;
use super::error::{RecvError, TryRecvError};
use crate::loom::model;
use crate::loom::sync::Arc;
use crate::loom::thread;
use crate::sync::test_waker::counting_waker;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

fn poll<F: Future + Unpin>(future: &mut F, waker: &Waker) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(waker))
}

#[test]
fn loom_send_races_receiver_drop() {
    model(|| {
        let (tx, rx) = channel::<Arc<()>>();
        let sending = thread::spawn(move || {
            // Ok: the value sits in the cell and is dropped with the channel.
            // Err: we got it back and drop it here. Never both, never neither.
            let _ = tx.send(Arc::new(()));
        });
        drop(rx);
        sending.join().unwrap();
    });
}

#[test]
fn loom_receiver_moves_to_another_task_while_send_happens() {
    model(|| {
        let (tx, mut rx) = channel::<u32>();
        let (first, _) = counting_waker();
        assert!(poll(&mut rx, &first).is_pending(), "nothing was sent yet");

        let sending = thread::spawn(move || tx.send(7).unwrap());
        // The receiver moves to a task on another thread, which polls with its own waker.
        let moved = thread::spawn(move || {
            let (second, second_woken) = counting_waker();
            let first_poll = poll(&mut rx, &second);
            (rx, first_poll, second, second_woken)
        });
        sending.join().unwrap();
        let (mut rx, first_poll, second, second_woken) = moved.join().unwrap();
        if first_poll.is_pending() {
            assert_eq!(second_woken.get(), 1, "the latest waker must be woken");
            assert_eq!(poll(&mut rx, &second), Poll::Ready(Ok(7)));
        } else {
            assert_eq!(first_poll, Poll::Ready(Ok(7)));
        }
    });
}

#[test]
fn loom_sender_drop_wakes_receiver() {
    model(|| {
        let (tx, mut rx) = channel::<u32>();
        let (waker, woken) = counting_waker();
        assert!(poll(&mut rx, &waker).is_pending());
        let dropping = thread::spawn(move || drop(tx));
        let raced = poll(&mut rx, &waker);
        dropping.join().unwrap();
        if raced.is_pending() {
            assert_eq!(woken.get(), 1, "lost wake-up on sender drop");
            assert_eq!(poll(&mut rx, &waker), Poll::Ready(Err(RecvError(()))));
        }
    });
}

#[cfg(not(loom))]
#[test]
fn try_recv_and_is_closed() {
    let (tx, mut rx) = channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert!(!tx.is_closed());
    tx.send(5).unwrap();
    assert_eq!(rx.try_recv(), Ok(5));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed), "the value was already taken");

    let (tx, rx) = channel();
    drop(rx);
    assert!(tx.is_closed());
    assert_eq!(tx.send("back"), Err("back"));
}

#[cfg(not(loom))]
#[test]
#[should_panic(expected = "polled after it completed")]
fn polling_after_completion_panics() {
    let (tx, mut rx) = channel();
    tx.send(1).unwrap();
    let (waker, _) = counting_waker();
    assert_eq!(poll(&mut rx, &waker), Poll::Ready(Ok(1)));
    let _ = poll(&mut rx, &waker);
}

#[cfg(not(loom))]
#[test]
fn try_recv_leaves_the_registered_waker_alone() {
    // tokio#8279: a non-blocking peek that polled with a no-op waker replaced the waker of
    // the task really waiting. `try_recv` never touches the waker slot.
    let (tx, mut rx) = channel();
    let (real, woken) = counting_waker();
    assert!(poll(&mut rx, &real).is_pending());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(1).unwrap();
    assert_eq!(woken.get(), 1, "the real waker must still be woken");
}

#[cfg(not(loom))]
#[test]
fn dropping_the_receiver_releases_its_waker_while_the_sender_lives() {
    let (tx, mut rx) = channel::<u8>();
    let (waker, counter) = counting_waker();
    assert!(poll(&mut rx, &waker).is_pending());
    drop(waker);
    assert_eq!(std::sync::Arc::strong_count(&counter), 2, "the slot holds a clone");
    drop(rx);
    assert_eq!(std::sync::Arc::strong_count(&counter), 1, "released with the receiver");
    assert!(tx.is_closed());
}
