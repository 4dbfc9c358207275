//! Unit tests for the combinators, polled by hand so each state transition is visible.

use super::{join, join_all, poll_fn, select, Either};
use crate::sync::test_waker::{block_on, counting_waker};
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::{pin, Pin};
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// A future that is pending until `gate` is opened, and counts its polls.
fn gated(gate: Rc<Cell<bool>>, polls: Rc<Cell<u32>>, output: u32) -> impl Future<Output = u32> {
    let waker_slot: Rc<Cell<Option<Waker>>> = Rc::default();
    poll_fn(move |cx| {
        polls.set(polls.get() + 1);
        if gate.get() {
            Poll::Ready(output)
        } else {
            waker_slot.set(Some(cx.waker().clone()));
            Poll::Pending
        }
    })
}

/// A future that never finishes: each poll logs `id` and wakes its own task at once, as a
/// child does that runs out of cooperative budget.
fn self_waking(id: u8, log: Rc<RefCell<Vec<u8>>>) -> impl Future<Output = ()> {
    poll_fn(move |cx| {
        log.borrow_mut().push(id);
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

/// Polls `future` `times` times by hand; returns the log, one `Vec` per poll.
fn polls_logged(future: impl Future, log: &Rc<RefCell<Vec<u8>>>, times: usize) -> Vec<Vec<u8>> {
    let (waker, _) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    (0..times)
        .map(|_| {
            assert!(future.as_mut().poll(&mut cx).is_pending());
            log.take()
        })
        .collect()
}

#[test]
fn join_waits_for_both_and_does_not_repoll_the_finished_one() {
    let (waker, _) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let (gate, polls_a) = (Rc::new(Cell::new(false)), Rc::new(Cell::new(0)));
    let mut both = pin!(join(async { 1 }, gated(gate.clone(), polls_a.clone(), 2)));
    assert!(both.as_mut().poll(&mut cx).is_pending());
    gate.set(true);
    assert_eq!(both.as_mut().poll(&mut cx), Poll::Ready((1, 2)));
    assert_eq!(polls_a.get(), 2);
}

#[test]
#[should_panic(expected = "polled after it completed")]
fn join_polled_after_completion_panics() {
    let (waker, _) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut both = pin!(join(async { 1 }, async { 2 }));
    assert!(both.as_mut().poll(&mut cx).is_ready());
    let _ = both.as_mut().poll(&mut cx);
}

/// Under the budget the child polled first may take all of it: the first child must change.
#[test]
fn join_alternates_which_child_is_polled_first() {
    let log: Rc<RefCell<Vec<u8>>> = Rc::default();
    let both = join(self_waking(b'a', Rc::clone(&log)), self_waking(b'b', Rc::clone(&log)));
    assert_eq!(polls_logged(both, &log, 4), [b"ab", b"ba", b"ab", b"ba"]);
}

#[test]
fn join_macro_rotates_which_child_is_polled_first() {
    let log: Rc<RefCell<Vec<u8>>> = Rc::default();
    let all = async {
        let [a, b, c] = [b'a', b'b', b'c'].map(|id| self_waking(id, Rc::clone(&log)));
        crate::join!(a, b, c)
    };
    assert_eq!(polls_logged(all, &log, 4), [b"abc", b"bca", b"cab", b"abc"]);
}

#[test]
fn join_all_polls_woken_children_round_robin() {
    let log: Rc<RefCell<Vec<u8>>> = Rc::default();
    let all = join_all([b'a', b'b', b'c'].map(|id| self_waking(id, Rc::clone(&log))));
    assert_eq!(polls_logged(all, &log, 4), [b"abc", b"bca", b"cab", b"abc"]);
}

/// Only `b` and `d` of five keep waking: the first place still alternates between them.
#[test]
fn join_all_round_robin_skips_children_nobody_woke() {
    let log: Rc<RefCell<Vec<u8>>> = Rc::default();
    let all = join_all([b'a', b'b', b'c', b'd', b'e'].map(|id| {
        let busy = id == b'b' || id == b'd';
        let log = Rc::clone(&log);
        poll_fn(move |cx| {
            log.borrow_mut().push(id);
            if busy {
                cx.waker().wake_by_ref();
            }
            Poll::<()>::Pending
        })
    }));
    assert_eq!(polls_logged(all, &log, 4), [&b"abcde"[..], b"bd", b"db", b"bd"]);
}

/// A chain: child `i` waits for its oneshot, then completes child `i - 1`'s. Every wake-up
/// leads to exactly one poll, and the work per wake-up must not grow with `n` (the old flag
/// scan looked at all `n` children per poll: `n²` in all).
#[test]
fn join_all_chain_costs_linear_work() {
    let n = if cfg!(miri) { 60 } else { 2000 };
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..n).map(|_| crate::sync::oneshot::channel()).unzip();
    let mut senders: Vec<_> = senders.into_iter().map(Some).collect();
    let last = senders[n - 1].take().expect("not taken yet");
    let polls: Rc<[Cell<u32>]> = (0..n).map(|_| Cell::new(0)).collect();
    let children = receivers.into_iter().enumerate().map(|(i, mut rx)| {
        let (polls, mut previous) = (polls.clone(), i.checked_sub(1).and_then(|p| senders[p].take()));
        poll_fn(move |cx| {
            polls[i].set(polls[i].get() + 1);
            std::task::ready!(Pin::new(&mut rx).poll(cx)).unwrap();
            if let Some(tx) = previous.take() {
                tx.send(()).unwrap();
            }
            Poll::Ready(i)
        })
    });
    let mut all = join_all(children.collect::<Vec<_>>());
    last.send(()).unwrap();
    let (waker, _) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut parent_polls = 0;
    let outputs = loop {
        parent_polls += 1;
        if let Poll::Ready(outputs) = Pin::new(&mut all).poll(&mut cx) {
            break outputs;
        }
    };
    assert_eq!(outputs, (0..n).collect::<Vec<_>>());
    assert_eq!(parent_polls, n);
    let expected_polls = |i| if i == n - 1 { 1 } else { 2 }; // the first poll, plus one per wake
    assert!((0..n).all(|i| polls[i].get() == expected_polls(i)), "a child was polled without a wake");
    assert_eq!(all.children_examined(), 2 * n - 1, "n for the first poll, then 1 per wake-up");
}

/// A child woken twice before its next poll is polled once; a waker that outlives its
/// `JoinAll` may still be woken (from another thread too) without harm.
#[test]
fn join_all_merges_repeated_wakes_and_survives_late_ones() {
    let slot: Rc<RefCell<Option<Waker>>> = Rc::default();
    let polls = Rc::new(Cell::new(0));
    let child = {
        let (slot, polls) = (slot.clone(), polls.clone());
        poll_fn(move |cx| {
            polls.set(polls.get() + 1);
            *slot.borrow_mut() = Some(cx.waker().clone());
            Poll::<()>::Pending
        })
    };
    let (waker, parent_wakes) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut all = join_all([child]);
    assert!(Pin::new(&mut all).poll(&mut cx).is_pending());
    let child_waker = slot.take().expect("registered");
    child_waker.wake_by_ref();
    child_waker.wake_by_ref();
    assert_eq!(parent_wakes.get(), 1, "the second wake found the child queued already");
    assert!(Pin::new(&mut all).poll(&mut cx).is_pending());
    assert!(Pin::new(&mut all).poll(&mut cx).is_pending()); // a spurious parent poll
    assert_eq!(polls.get(), 2);
    drop(all);
    std::thread::spawn(move || child_waker.wake()).join().unwrap();
    assert_eq!(parent_wakes.get(), 1, "the dropped JoinAll let go of the parent's waker");
}

#[test]
fn join_all_keeps_input_order_and_polls_only_woken_children() {
    let (tx0, rx0) = crate::sync::oneshot::channel::<u32>();
    let (tx1, rx1) = crate::sync::oneshot::channel::<u32>();
    let polls = Rc::new([Cell::new(0), Cell::new(0)]);
    let children = [rx0, rx1].into_iter().enumerate().map(|(i, mut rx)| {
        let polls = polls.clone();
        poll_fn(move |cx| {
            polls[i].set(polls[i].get() + 1);
            Pin::new(&mut rx).poll(cx).map(Result::unwrap)
        })
    });
    let (waker, woken) = counting_waker();
    let mut cx = Context::from_waker(&waker);
    let mut all = pin!(join_all(children));
    assert!(all.as_mut().poll(&mut cx).is_pending());
    tx1.send(11).unwrap(); // wakes child 1 only
    assert_eq!(woken.get(), 1);
    assert!(all.as_mut().poll(&mut cx).is_pending());
    assert_eq!((polls[0].get(), polls[1].get()), (1, 2), "child 0 was not woken");
    tx0.send(10).unwrap();
    assert_eq!(all.as_mut().poll(&mut cx), Poll::Ready(vec![10, 11]));
    assert_eq!((polls[0].get(), polls[1].get()), (2, 2), "child 1 finished: not polled again");
}

#[test]
fn join_all_of_nothing_is_ready_at_once() {
    let none: Vec<std::future::Ready<u8>> = vec![];
    assert_eq!(block_on(join_all(none)), Vec::<u8>::new());
}

#[test]
fn select_returns_the_ready_side() {
    let left = block_on(select(async { 'l' }, std::future::pending::<()>()));
    assert_eq!(left, Either::Left('l'));
    let right = block_on(select(std::future::pending::<()>(), async { 'r' }));
    assert_eq!(right, Either::Right('r'));
}

#[test]
fn select_is_fair_when_both_are_always_ready() {
    let mut lefts = 0;
    for _ in 0..1000 {
        if let Either::Left(()) = block_on(select(async {}, async {})) {
            lefts += 1;
        }
    }
    assert!((350..=650).contains(&lefts), "left won {lefts} of 1000");
}

#[test]
fn join_macro_any_arity() {
    block_on(async {
        let () = crate::join!();
        assert_eq!(crate::join!(async { 1 }), (1,));
        assert_eq!(crate::join!(async { 1 }, async { 'b' }), (1, 'b'));
        assert_eq!(crate::join!(async { 1 }, async { 2 }, async { 3 }), (1, 2, 3));
        let four = crate::join!(async { 1 }, async { 2 }, async { 3 }, async { "four" },);
        assert_eq!(four, (1, 2, 3, "four"));
    });
}

#[test]
fn join_macro_runs_children_concurrently() {
    block_on(async {
        let (tx, rx) = crate::sync::oneshot::channel();
        // Sequential awaiting would deadlock: the receiver waits for the sender.
        let (got, ()) = crate::join!(rx, async move { tx.send(5).unwrap() });
        assert_eq!(got, Ok(5));
    });
}

#[test]
fn select_macro_one_to_four_branches() {
    block_on(async {
        let one = crate::select! { x = async { 1 } => x };
        assert_eq!(one, 1);
        let two = crate::select! {
            x = std::future::pending::<u32>() => x,
            y = async { 2 } => { y }
        };
        assert_eq!(two, 2);
        let three = crate::select! {
            _ = std::future::pending::<()>() => 0,
            _ = std::future::pending::<()>() => 0,
            z = async { 3 } => z,
        };
        assert_eq!(three, 3);
        let four = crate::select! {
            _ = std::future::pending::<()>() => 0,
            w = async { 4 } => w,
            _ = std::future::pending::<()>() => 0,
            _ = std::future::pending::<()>() => 0,
        };
        assert_eq!(four, 4);
    });
}

#[test]
fn select_macro_disables_a_branch_whose_pattern_does_not_match() {
    block_on(async {
        let (tx, mut rx) = crate::sync::mpsc::channel::<u32>(1);
        drop(tx);
        let (gate_tx, gate_rx) = crate::sync::oneshot::channel();
        gate_tx.send(9).unwrap();
        let got = crate::select! {
            Some(v) = rx.recv() => v,
            Ok(v) = gate_rx => v,
        };
        assert_eq!(got, 9, "the None from recv() must not end the select");
    });
}

#[test]
fn select_macro_else_runs_when_every_branch_is_disabled() {
    block_on(async {
        let got = crate::select! {
            Some(v) = async { None::<u32> } => v,
            Ok(v) = async { Err::<u32, ()>(()) } => v,
            else => 42,
        };
        assert_eq!(got, 42);
    });
}

#[test]
#[should_panic(expected = "every branch is disabled")]
fn select_macro_without_else_panics_when_every_branch_is_disabled() {
    block_on(async {
        crate::select! {
            Some(v) = async { None::<u32> } => v,
        }
    });
}

#[test]
fn select_macro_handlers_can_break_and_await() {
    block_on(async {
        let (tx, mut rx) = crate::sync::mpsc::channel::<u32>(4);
        for n in 1..=3 {
            tx.try_send(n).unwrap();
        }
        drop(tx);
        let mut sum = 0;
        loop {
            crate::select! {
                v = rx.recv() => match v {
                    Some(v) => sum += async { v }.await,
                    None => break,
                },
            }
        }
        assert_eq!(sum, 6);
    });
}

#[test]
fn select_macro_is_fair() {
    block_on(async {
        let mut wins = [0u32; 3];
        for _ in 0..3000 {
            let i = crate::select! {
                _ = async {} => 0,
                _ = async {} => 1,
                _ = async {} => 2,
            };
            wins[i] += 1;
        }
        assert!(wins.iter().all(|&w| (700..=1300).contains(&w)), "wins: {wins:?}");
    });
}

#[test]
fn select_macro_drops_the_futures_before_the_handler_runs() {
    block_on(async {
        let (tx, mut rx) = crate::sync::mpsc::channel::<u32>(2);
        tx.try_send(1).unwrap();
        // The handler needs `&mut rx`, which `rx.recv()` borrowed: only fine if the futures
        // are gone by the time the handler runs.
        let got = crate::select! {
            Some(v) = rx.recv() => {
                rx.close();
                v
            }
        };
        assert_eq!(got, 1);
        assert!(tx.is_closed());
    });
}

/// A child that panics in the middle of a batch does not strand the children after it:
/// a caller that catches the panic and polls again still gets every other output.
#[test]
fn join_all_polled_again_after_a_child_panics_polls_the_rest() {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    let mut cx = Context::from_waker(futures_task::noop_waker_ref());
    let panicked = std::cell::Cell::new(false);
    let children = (0..4).map(|i| {
        let panicked = &panicked;
        std::future::poll_fn(move |_| {
            if i == 1 && !panicked.replace(true) {
                panic!("child 1 panics once");
            }
            Poll::Ready(i)
        })
    });
    let mut all = crate::future::join_all(children);
    let first = catch_unwind(AssertUnwindSafe(|| Pin::new(&mut all).poll(&mut cx)));
    assert!(first.is_err(), "child 1 panicked through the first poll");
    // Children 2 and 3 were in the batch but not polled: they were put back.
    let again = Pin::new(&mut all).poll(&mut cx);
    assert!(again.is_pending(), "child 1 is not ready again until woken: {again:?}");
    assert_eq!(all.children_examined(), 1 + 1 + 2, "0 and 1, then 2 and 3");
}
