//! Runtime-agnostic crates work unchanged on clockwork: `futures` channels and stream
//! combinators, and `async-channel`. Nothing here knows which runtime polls it.
#![cfg(not(loom))] // dev-dependencies are not built under loom

mod common;
use common::{on_both, within};

use futures::{SinkExt, StreamExt};

#[test]
fn futures_mpsc_between_spawned_tasks() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let (mut tx, rx) = futures::channel::mpsc::channel::<u32>(2);
                clockwork::spawn(async move {
                    for i in 0..100 {
                        tx.send(i).await.unwrap();
                    }
                });
                let got: Vec<u32> = rx.collect().await;
                assert_eq!(got, (0..100).collect::<Vec<_>>());
            });
        });
    });
}

#[test]
fn futures_oneshot_from_a_plain_thread() {
    within(60, || {
        on_both(|_flavour, rt| {
            let (tx, rx) = futures::channel::oneshot::channel();
            let thread = std::thread::spawn(move || tx.send("from a thread").unwrap());
            assert_eq!(rt.block_on(rx), Ok("from a thread"));
            thread.join().unwrap();
        });
    });
}

#[test]
fn buffer_unordered_runs_spawned_work_concurrently() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let squares = futures::stream::iter(0..50u64)
                    .map(|n| async move { clockwork::spawn(async move { n * n }).await.unwrap() })
                    .buffer_unordered(8);
                let mut got: Vec<u64> = squares.collect().await;
                got.sort_unstable();
                assert_eq!(got, (0..50).map(|n| n * n).collect::<Vec<_>>());
            });
        });
    });
}

#[test]
fn async_channel_bounded_between_tasks() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let (tx, rx) = async_channel::bounded::<u32>(1);
                let producers: Vec<_> = (0..4)
                    .map(|p| {
                        let tx = tx.clone();
                        clockwork::spawn(async move {
                            for i in 0..25 {
                                tx.send(p * 100 + i).await.unwrap();
                            }
                        })
                    })
                    .collect();
                drop(tx);
                let mut got = vec![];
                while let Ok(value) = rx.recv().await {
                    got.push(value);
                }
                for producer in producers {
                    producer.await.unwrap();
                }
                assert_eq!(got.len(), 100);
                got.sort_unstable();
                got.dedup();
                assert_eq!(got.len(), 100);
            });
        });
    });
}

#[test]
fn clockwork_channels_work_on_the_futures_executor() {
    // The other direction: our channels and combinators need no clockwork runtime.
    let (tx, mut rx) = clockwork::sync::mpsc::channel(1);
    let (a, b) = futures::executor::block_on(clockwork::future::join(
        async move {
            for i in 0..10 {
                tx.send(i).await.unwrap();
            }
        },
        async move {
            let mut sum = 0;
            while let Some(i) = rx.recv().await {
                sum += i;
            }
            sum
        },
    ));
    assert_eq!((a, b), ((), 45));
}
