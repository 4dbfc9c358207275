//! `sync::mpsc` on the runtime: backpressure, errors that return values, the end of the
//! stream, and per-sender ordering. Each test takes a runtime, so every flavour can run it.
#![cfg(not(loom))] // dev-dependencies are not built under loom

mod common;
use common::{on_both, within, DropCounter};

use clockwork::runtime::Builder;
use clockwork::sync::mpsc::{self, error::SendError, error::TryRecvError, error::TrySendError};
use clockwork::sync::oneshot;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;

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

// ===== cancel safety of `send` =====
//
// A `send` future dropped before it returned `Ready` must not deliver its value (tokio's
// promise too). The first design handed a waiting sender's value to the queue from the
// receiver's side, so a cancelled send could still deliver; each test below failed on it.

/// Polls `future` once, in the current task, and reports whether it was ready.
async fn poll_once<F: std::future::Future + Unpin>(future: &mut F) -> bool {
    clockwork::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx).is_ready())).await
}

/// The minimal case from the audit: a send waits, the receiver frees its slot, the send
/// is dropped. Nothing more may arrive.
async fn cancelled_send_delivers_nothing() {
    let (tx, mut rx) = mpsc::channel(1);
    tx.send(1).await.unwrap();
    let mut send = Box::pin(tx.send(2));
    assert!(!poll_once(&mut send).await, "the channel is full: the send waits");
    assert_eq!(rx.recv().await, Some(1));
    drop(send); // cancelled before it returned `Ready`
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty), "a cancelled send delivered its value");
    drop(tx);
    assert_eq!(rx.recv().await, None);
}

#[test]
fn a_cancelled_send_delivers_nothing_current_thread() {
    within(60, || clockwork::block_on(cancelled_send_delivers_nothing()));
}

#[test]
fn a_cancelled_send_delivers_nothing_multi_thread() {
    within(60, || {
        let rt = Builder::new_multi_thread().worker_threads(2).build().unwrap();
        rt.block_on(cancelled_send_delivers_nothing());
    });
}

/// Sends `value`, racing every attempt against a `yield_now` and retrying until the send
/// wins: the loop a producer writes around `select!` with a timeout.
async fn send_retrying(tx: &mpsc::Sender<u32>, value: u32) {
    loop {
        let sent = clockwork::select! {
            result = tx.send(value) => { result.unwrap(); true }
            _ = clockwork::task::yield_now() => false,
        };
        if sent {
            return;
        }
    }
}

#[test]
fn a_send_retried_in_select_delivers_each_value_once() {
    within(60, || {
        on_both(|flavour, rt| {
            rt.block_on(async {
                let (tx, mut rx) = mpsc::channel(1);
                let producer = clockwork::spawn(async move {
                    for value in 0..200 {
                        send_retrying(&tx, value).await;
                    }
                });
                let mut got = vec![];
                while let Some(value) = rx.recv().await {
                    got.push(value);
                }
                assert_eq!(got, (0..200).collect::<Vec<_>>(), "on {flavour}");
                producer.await.unwrap();
            });
        });
    });
}

#[test]
fn many_threads_retrying_sends_deliver_each_value_once() {
    const THREADS: u32 = 4;
    const EACH: u32 = 300;
    within(120, || {
        let rt = Builder::new_multi_thread().worker_threads(2).build().unwrap();
        let (tx, mut rx) = mpsc::channel(2);
        let mut producers = vec![];
        for thread in 0..THREADS {
            let tx = tx.clone();
            // Plain threads, each with its own runtime: the senders race on the channel's
            // lock from up to six threads (four of these, the two workers below).
            producers.push(std::thread::spawn(move || {
                clockwork::block_on(async move {
                    for seq in 0..EACH {
                        send_retrying(&tx, thread * EACH + seq).await;
                    }
                });
            }));
        }
        drop(tx);
        let got = rt.block_on(async move {
            let consumer = clockwork::spawn(async move {
                let mut got = vec![];
                while let Some(value) = rx.recv().await {
                    got.push(value);
                }
                got
            });
            consumer.await.unwrap()
        });
        for producer in producers {
            producer.join().unwrap();
        }
        let mut next = [0; THREADS as usize];
        for &value in &got {
            let (thread, seq) = ((value / EACH) as usize, value % EACH);
            assert_eq!(seq, next[thread], "thread {thread}: lost, duplicated or reordered");
            next[thread] += 1;
        }
        assert_eq!(next, [EACH; THREADS as usize]);
    });
}

#[test]
fn a_send_cancelled_while_granted_a_slot_gives_the_slot_back() {
    within(60, || {
        on_both(|flavour, rt| {
            rt.block_on(async {
                const CAPACITY: usize = 3;
                let (tx, mut rx) = mpsc::channel(CAPACITY);
                for value in 0..CAPACITY {
                    tx.send(value).await.unwrap();
                }
                let mut send = Box::pin(tx.send(100));
                assert!(!poll_once(&mut send).await);
                assert_eq!(rx.recv().await, Some(0)); // the freed slot is reserved for `send`
                drop(send);
                // The reserved slot is back: the channel holds exactly `CAPACITY` again.
                tx.try_send(3).unwrap();
                assert!(matches!(tx.try_send(4), Err(TrySendError::Full(4))), "on {flavour}");
                let mut got = vec![];
                while let Ok(value) = rx.try_recv() {
                    got.push(value);
                }
                assert_eq!(got, [1, 2, 3], "on {flavour}");
                for value in 0..CAPACITY {
                    tx.try_send(value).unwrap();
                }
                assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))), "on {flavour}");
            });
        });
    });
}

#[test]
fn last_sender_dropped_while_granted_a_slot_ends_the_stream() {
    within(60, || {
        on_both(|flavour, rt| {
            rt.block_on(async {
                let (tx, mut rx) = mpsc::channel(1);
                let (parked_tx, parked_rx) = oneshot::channel();
                let (granted_tx, granted_rx) = oneshot::channel::<()>();
                // The only sender, on its own task (another worker on the multi-thread flavour).
                let producer = clockwork::spawn(async move {
                    tx.send(0).await.unwrap();
                    let mut send = Box::pin(tx.send(1));
                    assert!(!poll_once(&mut send).await);
                    parked_tx.send(()).unwrap();
                    granted_rx.await.unwrap(); // the send is not polled again
                    drop(send);
                    drop(tx); // the last sender goes, with the slot reserved for it unused
                });
                parked_rx.await.unwrap();
                assert_eq!(rx.recv().await, Some(0)); // reserves the slot for the waiting send
                granted_tx.send(()).unwrap();
                assert_eq!(rx.recv().await, None, "on {flavour}: the cancelled value arrived");
                producer.await.unwrap();
            });
        });
    });
}

#[test]
fn receiver_dropped_while_a_send_holds_a_slot_returns_the_value() {
    within(60, || {
        on_both(|flavour, rt| {
            rt.block_on(async {
                let dropped = DropCounter::default();
                let (tx, mut rx) = mpsc::channel(1);
                tx.send(dropped.token()).await.unwrap();
                let mut send = Box::pin(tx.send(dropped.token()));
                assert!(!poll_once(&mut send).await);
                drop(rx.recv().await); // the slot is reserved for `send`
                assert_eq!(dropped.count(), 1);
                drop(rx);
                let Err(SendError(value)) = send.await else {
                    panic!("on {flavour}: sent into a dropped receiver");
                };
                assert_eq!(dropped.count(), 1, "on {flavour}: the value comes back whole");
                drop(value);
                assert_eq!(dropped.count(), 2);
            });
        });
    });
}
