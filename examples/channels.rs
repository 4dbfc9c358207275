//! Backpressure, made visible: a fast producer and a slower consumer on a bounded channel.
//!
//! **What this example teaches.** A bounded `mpsc` channel holds at most `capacity` values.
//! When it is full, `send(..).await` *waits* instead of letting the queue grow, so the
//! producer is slowed to the consumer's pace and memory stays bounded. To make the waiting
//! visible, the producer first tries `try_send`; when that reports `Full`, it prints, waits
//! in `send`, and prints again when it resumes.
//!
//! Run it with `cargo run --example channels`. Next: `examples/select.rs`.

use clockwork::sync::mpsc::{self, error::TrySendError};

const CAPACITY: usize = 3;
const ITEMS: u32 = 8;

async fn producer(tx: mpsc::Sender<u32>) {
    for item in 1..=ITEMS {
        match tx.try_send(item) {
            Ok(()) => println!("producer: sent {item} at once"),
            Err(TrySendError::Full(item)) => {
                println!("producer: channel full ({CAPACITY} queued), waiting to send {item}...");
                tx.send(item).await.expect("the consumer outlives the producer");
                println!("producer: ...resumed, {item} is queued");
            }
            Err(TrySendError::Closed(_)) => unreachable!("the consumer is still receiving"),
        }
    }
    println!("producer: done; dropping the sender ends the stream");
}

async fn consumer(mut rx: mpsc::Receiver<u32>) -> u32 {
    let mut sum = 0;
    while let Some(item) = rx.recv().await {
        println!("consumer:           got {item}");
        sum += item;
        // "Slow" work: the consumer gives every other task a turn after each item.
        clockwork::task::yield_now().await;
    }
    println!("consumer: recv() returned None: every sender is gone and the queue is empty");
    sum
}

fn main() {
    let sum = clockwork::block_on(async {
        let (tx, rx) = mpsc::channel(CAPACITY);
        let producing = clockwork::spawn(producer(tx));
        let sum = consumer(rx).await;
        producing.await.expect("the producer does not panic");
        sum
    });
    assert_eq!(sum, (1..=ITEMS).sum::<u32>());
    println!("sum of all items: {sum}");
}
