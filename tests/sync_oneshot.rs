//! `sync::oneshot` across spawned tasks.
#![cfg(not(loom))] // dev-dependencies are not built under loom

mod common;
use common::{on_both, within};

use clockwork::sync::oneshot;
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

#[test]
fn value_crosses_spawned_tasks() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let (tx, rx) = oneshot::channel();
                let receiving = clockwork::spawn(rx); // a `Receiver` is itself a future
                clockwork::spawn(async move { tx.send(vec![1, 2, 3]).unwrap() });
                assert_eq!(receiving.await.unwrap(), Ok(vec![1, 2, 3]));
            });
        });
    });
}

#[test]
fn dropped_sender_gives_recv_error() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let (tx, rx) = oneshot::channel::<u8>();
                let receiving = clockwork::spawn(rx);
                clockwork::spawn(async move { drop(tx) });
                let err = receiving.await.unwrap().unwrap_err();
                assert!(err.to_string().contains("dropped without sending"), "{err}");
            });
        });
    });
}

#[test]
fn ping_pong_many_times() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                for i in 0..1000u32 {
                    let (ping_tx, ping_rx) = oneshot::channel();
                    let (pong_tx, pong_rx) = oneshot::channel();
                    clockwork::spawn(async move {
                        let n = ping_rx.await.unwrap();
                        pong_tx.send(n + 1).unwrap();
                    });
                    ping_tx.send(i).unwrap();
                    assert_eq!(pong_rx.await, Ok(i + 1));
                }
            });
        });
    });
}

#[test]
fn receiver_moved_to_another_task_after_a_first_poll() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let (tx, mut rx) = oneshot::channel();
                // Poll once here (registering this task's waker), then hand it to another task.
                let first = futures::poll!(&mut rx);
                assert!(first.is_pending());
                let receiving = clockwork::spawn(rx);
                clockwork::task::yield_now().await;
                tx.send(7).unwrap();
                assert_eq!(receiving.await.unwrap(), Ok(7), "the latest waker must be woken");
            });
        });
    });
}

#[test]
fn try_recv_peeks_without_stranding_the_waiting_task() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let (tx, mut rx) = oneshot::channel::<u8>();
                let waiting = clockwork::spawn(clockwork::future::poll_fn(move |cx| {
                    // Poll (registering this task's waker), then peek in the same poll: the
                    // peek must not replace the waker (tokio#8279).
                    if let Poll::Ready(out) = Pin::new(&mut rx).poll(cx) {
                        return Poll::Ready(out);
                    }
                    assert_eq!(rx.try_recv(), Err(oneshot::error::TryRecvError::Empty));
                    Poll::Pending
                }));
                clockwork::task::yield_now().await; // let it poll and peek
                tx.send(3).unwrap();
                assert_eq!(waiting.await.unwrap(), Ok(3), "the real waker must still be woken");
            });
        });
    });
}
