//! `sync::mpsc` on the runtime: backpressure, errors that return values, the end of the
//! stream, and per-sender ordering. Each test takes a runtime, so every flavour can run it.
#![cfg(not(loom))] // dev-dependencies are not built under loom

mod common;
use common::{on_both, within};

use clockwork::sync::mpsc::{self, error::SendError};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

#[test]
fn producer_waits_while_the_channel_is_full() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let (tx, mut rx) = mpsc::channel(2);
                let sent = Arc::new(AtomicUsize::new(0));
                let counter = sent.clone();
                let producer = clockwork::spawn(async move {
                    for i in 0..10 {
                        tx.send(i).await.unwrap();
                        counter.fetch_add(1, SeqCst);
                    }
                });
                // Wait until the producer has filled the channel, then give it many more turns
                // (or, on the multi-thread runtime, time): it must not get past `capacity`.
                while sent.load(SeqCst) < 2 {
                    clockwork::task::yield_now().await;
                }
                for _ in 0..100 {
                    clockwork::task::yield_now().await;
                }
                assert_eq!(sent.load(SeqCst), 2, "backpressure: only `capacity` sends complete");
                let mut got = vec![];
                while let Some(value) = rx.recv().await {
                    got.push(value);
                }
                assert_eq!(got, (0..10).collect::<Vec<_>>());
                producer.await.unwrap();
            });
        });
    });
}

#[test]
fn send_error_returns_the_value() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let (tx, rx) = mpsc::channel(1);
                drop(rx);
                assert_eq!(tx.send(String::from("kept")).await, Err(SendError(String::from("kept"))));
                assert!(tx.is_closed());
            });
        });
    });
}

#[test]
fn receiver_dropped_while_a_sender_waits_returns_the_value() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let (tx, rx) = mpsc::channel(1);
                tx.send(1).await.unwrap(); // full
                let waiting = clockwork::spawn(async move { tx.send(2).await });
                clockwork::task::yield_now().await; // the sender parks
                drop(rx);
                assert_eq!(waiting.await.unwrap(), Err(SendError(2)));
            });
        });
    });
}

#[test]
fn recv_returns_none_after_every_sender_is_gone_and_the_queue_is_drained() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let (tx, mut rx) = mpsc::channel(4);
                let tx2 = tx.clone();
                tx.send(1).await.unwrap();
                drop(tx);
                tx2.send(2).await.unwrap();
                let last = clockwork::spawn(async move { drop(tx2) });
                assert_eq!(rx.recv().await, Some(1));
                assert_eq!(rx.recv().await, Some(2));
                assert_eq!(rx.recv().await, None);
                assert_eq!(rx.recv().await, None, "and it stays None");
                last.await.unwrap();
            });
        });
    });
}

#[test]
fn each_sender_s_values_arrive_in_order() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                const PRODUCERS: u32 = 4;
                const EACH: u32 = 500;
                let (tx, mut rx) = mpsc::channel(3);
                for producer in 0..PRODUCERS {
                    let tx = tx.clone();
                    clockwork::spawn(async move {
                        for seq in 0..EACH {
                            tx.send((producer, seq)).await.unwrap();
                        }
                    });
                }
                drop(tx);
                let mut next = [0; PRODUCERS as usize];
                while let Some((producer, seq)) = rx.recv().await {
                    assert_eq!(seq, next[producer as usize], "producer {producer} out of order");
                    next[producer as usize] += 1;
                }
                assert_eq!(next, [EACH; PRODUCERS as usize]);
            });
        });
    });
}

#[test]
fn receiver_is_a_stream() {
    use futures::StreamExt;
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let (tx, rx) = mpsc::channel(8);
                clockwork::spawn(async move {
                    for i in 1..=5 {
                        tx.send(i).await.unwrap();
                    }
                });
                let doubled: Vec<u32> = rx.map(|x| x * 2).collect().await;
                assert_eq!(doubled, vec![2, 4, 6, 8, 10]);
            });
        });
    });
}
