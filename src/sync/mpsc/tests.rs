//! Loom models and unit tests for `mpsc`.
//!
//! The models use `block_on` from `test_waker.rs`: under loom a task that is never woken
//! makes its thread park forever, which loom reports as a deadlock. So "finishes in every
//! interleaving" means "no lost wake-up". Each model has at most three threads.

// Under loom only the `loom_*` models are built; the plain unit tests and their imports are not.
#![cfg_attr(loom, allow(unused_imports))]

use super::channel;
use super::error::{SendError, TryRecvError, TrySendError};
use crate::loom::model;
use crate::loom::sync::Arc;
use crate::loom::thread;
use crate::sync::test_waker::{block_on, counting_waker};
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll};

#[test]
fn loom_close_races_send() {
    model(|| {
        let (tx, mut rx) = channel(1);
        let sending = thread::spawn(move || block_on(tx.send(1)));
        rx.close();
        match sending.join().unwrap() {
            Ok(()) => assert_eq!(rx.try_recv(), Ok(1), "a sent value must stay receivable"),
            Err(SendError(value)) => assert_eq!(value, 1, "the value comes back"),
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    });
}

#[test]
fn loom_receiver_drop_wakes_waiting_sender() {
    model(|| {
        let (tx, rx) = channel(1);
        tx.try_send(Arc::new(0)).unwrap(); // full
        let sending = thread::spawn(move || block_on(tx.send(Arc::new(1))));
        drop(rx); // drops the queued value; the waiting sender must get its own back
        let SendError(value) = sending.join().unwrap().expect_err("nobody can receive it");
        assert_eq!(*value, 1);
    });
}

#[test]
fn loom_recv_frees_slot_for_waiting_sender() {
    model(|| {
        let (tx, mut rx) = channel(1);
        tx.try_send(0).unwrap(); // full: the next send must wait
        let sending = thread::spawn(move || block_on(tx.send(1)));
        assert_eq!(block_on(rx.recv()), Some(0));
        assert_eq!(block_on(rx.recv()), Some(1), "the waiting sender was not woken");
        sending.join().unwrap().unwrap();
        assert_eq!(block_on(rx.recv()), None, "every sender is gone");
    });
}

#[test]
fn loom_cancelled_waiting_sender_strands_nobody() {
    model(|| {
        let (tx, mut rx) = channel(1);
        tx.try_send(0).unwrap(); // full
        let tx2 = tx.clone();
        // A sender polls once (it may find room, or wait), then gives up.
        let giving_up = thread::spawn(move || {
            let (waker, _) = counting_waker();
            let mut send = pin!(tx.send(1));
            send.as_mut().poll(&mut Context::from_waker(&waker)).is_ready()
        });
        let waiting = thread::spawn(move || block_on(tx2.send(2)));
        let mut seen = vec![];
        while let Some(value) = block_on(rx.recv()) {
            seen.push(value);
        }
        let one_was_sent = giving_up.join().unwrap();
        waiting.join().unwrap().unwrap();
        // Cancel safety: 1 arrives exactly when its send returned `Ready`.
        let expected: &[_] = if one_was_sent { &[0, 1, 2] } else { &[0, 2] };
        seen.sort_unstable(); // 1 and 2 come from different senders: either order
        assert_eq!(seen, expected);
    });
}

#[test]
fn loom_send_cancelled_while_granted_passes_the_permit_on() {
    model(|| {
        let (tx, mut rx) = channel(1);
        tx.try_send(0).unwrap(); // full
        let tx2 = tx.clone();
        let (waker, _) = counting_waker();
        let mut cancelled = Box::pin(tx.send(1));
        assert!(cancelled.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        // The receiver frees the slot (a permit for `cancelled`) while `cancelled` is
        // dropped, and the sender of 2 joins the line before, between or after the two.
        let receiving = thread::spawn(move || {
            let mut seen = vec![];
            while let Some(value) = block_on(rx.recv()) {
                seen.push(value);
            }
            seen
        });
        let waiting = thread::spawn(move || block_on(tx2.send(2)));
        drop(cancelled);
        drop(tx);
        waiting.join().unwrap().unwrap();
        assert_eq!(receiving.join().unwrap(), [0, 2], "1 was cancelled; 2 must get a slot");
    });
}

#[test]
fn loom_last_sender_cancelled_while_granted_ends_the_stream() {
    model(|| {
        let (tx, mut rx) = channel(1);
        tx.try_send(0).unwrap(); // full
        let (waker, _) = counting_waker();
        let mut cancelled = Box::pin(tx.send(1));
        assert!(cancelled.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
        let receiving = thread::spawn(move || {
            let first = block_on(rx.recv());
            (first, block_on(rx.recv()))
        });
        drop(cancelled); // before or after the receiver granted it the slot
        drop(tx); // the last sender
        assert_eq!(receiving.join().unwrap(), (Some(0), None));
    });
}

#[cfg(not(loom))]
#[test]
fn try_send_and_try_recv() {
    let (tx, mut rx) = channel(1);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.try_send(1).unwrap();
    assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    assert_eq!(rx.try_recv(), Ok(1));
    drop(tx);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[cfg(not(loom))]
#[test]
fn waiting_senders_are_served_in_order() {
    let (tx, mut rx) = channel(1);
    tx.try_send(0).unwrap();
    let (waker, woken) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut first = pin!(tx.send(1));
    let mut second = pin!(tx.send(2));
    assert!(first.as_mut().poll(&mut cx).is_pending());
    assert!(second.as_mut().poll(&mut cx).is_pending());
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)), "no overtaking the line");
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(woken.get(), 1, "exactly the first sender is woken");
    assert_eq!(first.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(second.as_mut().poll(&mut cx), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2));
}

#[cfg(not(loom))]
#[test]
fn close_returns_waiting_values_and_keeps_queued_ones() {
    let (tx, mut rx) = channel(1);
    tx.try_send("queued").unwrap();
    let (waker, woken) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut waiting = pin!(tx.send("waiting"));
    assert!(waiting.as_mut().poll(&mut cx).is_pending());
    rx.close();
    assert_eq!(woken.get(), 1);
    assert_eq!(waiting.as_mut().poll(&mut cx), Poll::Ready(Err(SendError("waiting"))));
    assert!(tx.is_closed());
    assert_eq!(tx.try_send("late"), Err(TrySendError::Closed("late")));
    assert_eq!(rx.try_recv(), Ok("queued"));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[cfg(not(loom))]
#[test]
#[should_panic(expected = "capacity must be at least 1")]
fn zero_capacity_panics() {
    let _ = channel::<()>(0);
}

#[cfg(not(loom))]
#[test]
fn try_calls_leave_the_registered_wakers_alone() {
    // tokio#8279: a non-blocking peek must not replace the waker of a task really waiting.
    let (tx, mut rx) = channel(1);
    let (real, rx_woken) = counting_waker();
    assert!(rx.poll_recv(&mut Context::from_waker(&real)).is_pending());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.try_send(0).unwrap();
    assert_eq!(rx_woken.get(), 1, "the receiver's real waker must still be woken");

    let (real, tx_woken) = counting_waker();
    let mut send = pin!(tx.send(1)); // the queue is full: parks
    assert!(send.as_mut().poll(&mut Context::from_waker(&real)).is_pending());
    assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(tx_woken.get(), 1, "the sender's real waker must still be woken");
}

/// A waker that, when woken, sends on the channel it was woken by.
#[cfg(not(loom))]
struct SendsWhenWoken(super::Sender<u32>);

#[cfg(not(loom))]
impl std::task::Wake for SendsWhenWoken {
    fn wake(self: std::sync::Arc<Self>) {
        let _ = self.0.try_send(99); // would deadlock if we woke while holding the lock
    }
}

#[cfg(not(loom))]
#[test]
fn a_waker_may_reenter_the_channel() {
    let (tx, mut rx) = channel(2);
    let waker = std::task::Waker::from(std::sync::Arc::new(SendsWhenWoken(tx.clone())));
    assert!(rx.poll_recv(&mut Context::from_waker(&waker)).is_pending());
    drop(waker); // the channel holds the only clone now
    tx.try_send(1).unwrap(); // wakes the receiver's waker, which sends 99
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(99));
}

#[cfg(not(loom))]
#[test]
fn dropping_the_receiver_releases_its_waker_while_senders_live() {
    let (tx, mut rx) = channel::<u8>(1);
    let (waker, counter) = counting_waker();
    assert!(rx.poll_recv(&mut Context::from_waker(&waker)).is_pending());
    drop(waker);
    assert_eq!(std::sync::Arc::strong_count(&counter), 2, "the channel holds a clone");
    drop(rx);
    assert_eq!(std::sync::Arc::strong_count(&counter), 1, "released with the receiver");
    assert!(tx.is_closed());
}

#[cfg(not(loom))]
#[test]
fn a_panicking_receiver_waker_leaves_the_channel_usable() {
    use crate::sync::test_waker::panicking_wake_waker;
    let (tx, mut rx) = channel(2);
    let (bad, _) = panicking_wake_waker();
    assert!(rx.poll_recv(&mut Context::from_waker(&bad)).is_pending());
    let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| tx.try_send(1)));
    assert!(sent.is_err(), "the waker's panic reaches the sender that woke it");
    // The value was queued before the wake-up, and the lock is not poisoned or held.
    tx.try_send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
}

/// A parked sender's waker that panics when the receiver is dropped: the drop finishes
/// its work first (queued values and the receiver's waker are released), then the panic
/// reaches the dropper; a drop during unwinding discards it instead of aborting.
#[cfg(not(loom))]
#[test]
fn a_panicking_sender_waker_does_not_cut_the_receivers_drop_short() {
    use crate::sync::test_waker::panicking_wake_waker;
    let queued = std::sync::Arc::new(0);
    let (tx, rx) = channel(1);
    tx.try_send(queued.clone()).unwrap(); // full
    let (bad, _) = panicking_wake_waker();
    let mut send = Box::pin(tx.send(std::sync::Arc::new(1)));
    assert!(send.as_mut().poll(&mut Context::from_waker(&bad)).is_pending());
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(rx)));
    assert!(dropped.is_err(), "the waker's panic reaches the dropper");
    assert_eq!(std::sync::Arc::strong_count(&queued), 1, "the queued value was dropped anyway");
    let (counter, _) = counting_waker();
    assert!(matches!(send.as_mut().poll(&mut Context::from_waker(&counter)), Poll::Ready(Err(_))));

    // The same drop during unwinding: the waker's panic is discarded, not a double panic.
    let (tx, rx) = channel(1);
    tx.try_send(std::sync::Arc::new(0)).unwrap();
    let mut send = Box::pin(tx.send(std::sync::Arc::new(1)));
    assert!(send.as_mut().poll(&mut Context::from_waker(&bad)).is_pending());
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _rx = rx; // dropped while the panic below unwinds
        panic!("unwinding");
    }));
    let message = unwound.unwrap_err();
    assert_eq!(message.downcast_ref::<&str>(), Some(&"unwinding"));
}

#[cfg(not(loom))]
#[test]
fn a_cancelled_send_with_a_permit_passes_it_to_the_next_in_line() {
    let (tx, mut rx) = channel(1);
    tx.try_send(0).unwrap();
    let (first_waker, first_woken) = counting_waker();
    let (second_waker, second_woken) = counting_waker();
    let mut first = Box::pin(tx.send(1));
    let mut second = pin!(tx.send(2));
    assert!(first.as_mut().poll(&mut Context::from_waker(&first_waker)).is_pending());
    assert!(second.as_mut().poll(&mut Context::from_waker(&second_waker)).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!((first_woken.get(), second_woken.get()), (1, 0), "the slot is reserved for the first");
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)), "a reserved slot is taken");
    drop(first); // cancelled with its permit: the permit moves on
    assert_eq!(second_woken.get(), 1, "the next in line is woken with the permit");
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)), "still reserved, for the second");
    assert_eq!(second.as_mut().poll(&mut Context::from_waker(&second_waker)), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(2), "1 was cancelled: never sent");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[cfg(not(loom))]
#[test]
fn a_cancelled_send_with_a_permit_and_nobody_behind_frees_the_slot() {
    let (tx, mut rx) = channel(2);
    tx.try_send(0).unwrap();
    tx.try_send(1).unwrap();
    let (waker, _) = counting_waker();
    let mut send = Box::pin(tx.send(2));
    assert!(send.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
    assert_eq!(rx.try_recv(), Ok(0));
    drop(send);
    tx.try_send(3).unwrap(); // the slot came back
    assert_eq!(tx.try_send(4), Err(TrySendError::Full(4)), "and no more than that slot");
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

#[cfg(not(loom))]
#[test]
fn a_waiting_send_polled_by_another_task_wakes_that_task() {
    let (tx, mut rx) = channel(1);
    tx.try_send(0).unwrap();
    let (old, old_woken) = counting_waker();
    let (new, new_woken) = counting_waker();
    let mut send = pin!(tx.send(1));
    assert!(send.as_mut().poll(&mut Context::from_waker(&old)).is_pending());
    assert!(send.as_mut().poll(&mut Context::from_waker(&new)).is_pending());
    assert_eq!(std::sync::Arc::strong_count(&old_woken), 2, "the old waker was released");
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!((old_woken.get(), new_woken.get()), (0, 1));
    assert_eq!(send.as_mut().poll(&mut Context::from_waker(&new)), Poll::Ready(Ok(())));
    assert_eq!(rx.try_recv(), Ok(1));
}

/// A waker whose `clone` panics while the send waits: the panic reaches the poller, and
/// dropping the future afterwards still takes it out of line (it must not keep a place
/// that would get the next permit, which nobody would use).
#[cfg(not(loom))]
#[test]
fn a_panicking_waker_clone_while_waiting_leaves_the_line_usable() {
    use crate::sync::test_waker::panicking_clone_waker;
    let (tx, mut rx) = channel(1);
    tx.try_send(0).unwrap();
    let (waker, _) = counting_waker();
    let mut send = Box::pin(tx.send(1));
    assert!(send.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
    let bad = panicking_clone_waker();
    let polled = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = send.as_mut().poll(&mut Context::from_waker(&bad));
    }));
    assert!(polled.is_err(), "the clone's panic reaches the poller");
    drop(send);
    assert_eq!(rx.try_recv(), Ok(0)); // no permit goes to the dropped send
    tx.try_send(2).unwrap();
    assert_eq!(rx.try_recv(), Ok(2));
}

#[cfg(not(loom))]
#[test]
fn a_send_holding_a_permit_gets_its_value_back_after_close() {
    let (tx, mut rx) = channel(1);
    tx.try_send(0).unwrap();
    let (waker, woken) = counting_waker();
    let mut send = pin!(tx.send(1));
    assert!(send.as_mut().poll(&mut Context::from_waker(&waker)).is_pending());
    assert_eq!(rx.try_recv(), Ok(0)); // the permit is granted...
    rx.close(); // ...and voided before the sender used it
    assert_eq!(woken.get(), 1, "woken once, by the permit; `close` has no waker left to wake");
    assert_eq!(send.as_mut().poll(&mut Context::from_waker(&waker)), Poll::Ready(Err(SendError(1))));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}
