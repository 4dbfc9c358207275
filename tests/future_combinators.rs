//! `join`, `join_all`, `select` and the macros, on the runtime.
#![cfg(not(loom))] // dev-dependencies are not built under loom

mod common;
use common::{on_both, within};

use clockwork::future::{join, join_all, select, Either};
use clockwork::runtime::Builder;
use clockwork::sync::{mpsc, oneshot};
use std::future::Future;
use std::sync::{Arc, Mutex};

/// Finishes after `turns` yields and returns `value`.
async fn after(turns: usize, value: usize) -> usize {
    for _ in 0..turns {
        clockwork::task::yield_now().await;
    }
    value
}

#[test]
fn join_keeps_argument_order() {
    within(60, || {
        on_both(|_flavour, rt| {
            assert_eq!(rt.block_on(join(after(5, 1), after(0, 2))), (1, 2));
        });
    });
}

#[test]
fn join_all_keeps_input_order_whatever_the_finishing_order() {
    within(60, || {
        on_both(|_flavour, rt| {
            let outputs = rt.block_on(join_all((0..20).map(|i| after(20 - i, i))));
            assert_eq!(outputs, (0..20).collect::<Vec<_>>());
        });
    });
}

#[test]
fn join_all_waits_for_spawned_tasks() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let handles = (0..10).map(|i| clockwork::spawn(after(i, i * i)));
                let squares: Vec<usize> = join_all(handles).await.into_iter().map(Result::unwrap).collect();
                assert_eq!(squares, (0..10).map(|i| i * i).collect::<Vec<_>>());
            });
        });
    });
}

#[test]
fn select_lets_the_faster_side_win() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                assert_eq!(select(after(10, 1), after(1, 2)).await, Either::Right(2));
                assert_eq!(select(after(1, 1), after(10, 2)).await, Either::Left(1));
            });
        });
    });
}

#[test]
fn select_starves_neither_branch() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let (mut left, mut right) = (0, 0);
                for _ in 0..2000 {
                    match select(after(0, 0), after(0, 0)).await {
                        Either::Left(_) => left += 1,
                        Either::Right(_) => right += 1,
                    }
                }
                assert!(left > 600 && right > 600, "left {left}, right {right}");
            });
        });
    });
}

#[test]
fn join_macro_one_to_four() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                assert_eq!(clockwork::join!(after(1, 1)), (1,));
                assert_eq!(clockwork::join!(after(3, 1), after(1, 2)), (1, 2));
                assert_eq!(clockwork::join!(after(3, 1), after(2, 2), after(1, 3)), (1, 2, 3));
                let four =
                    clockwork::join!(after(0, 1), after(4, 2), after(2, 3), clockwork::spawn(after(1, 4)));
                assert_eq!((four.0, four.1, four.2, four.3.unwrap()), (1, 2, 3, 4));
            });
        });
    });
}

#[test]
fn select_macro_one_to_four() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let one = clockwork::select! { v = after(2, 1) => v };
                assert_eq!(one, 1);
                let two = clockwork::select! { v = after(9, 1) => v, v = after(1, 2) => v };
                assert_eq!(two, 2);
                let three = clockwork::select! {
                    v = after(9, 1) => v,
                    v = after(9, 2) => v,
                    v = after(1, 3) => v,
                };
                assert_eq!(three, 3);
                let (tx, rx) = oneshot::channel::<usize>();
                clockwork::spawn(async move { tx.send(4).unwrap() });
                let never = std::future::pending::<usize>;
                let four = clockwork::select! {
                    v = never() => v,
                    v = never() => v,
                    v = never() => v,
                    Ok(v) = rx => v,
                };
                assert_eq!(four, 4);
            });
        });
    });
}

#[test]
fn select_macro_starves_no_branch() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let mut wins = [0; 4];
                for _ in 0..4000 {
                    let i = clockwork::select! {
                        v = after(0, 0) => v,
                        v = after(0, 1) => v,
                        v = after(0, 2) => v,
                        v = after(0, 3) => v,
                    };
                    wins[i] += 1;
                }
                assert!(wins.iter().all(|&w| w > 600), "wins: {wins:?}");
            });
        });
    });
}

/// Patterns as people write them with tokio: `mut` and `ref` bindings, nested groups,
/// `@` bindings and or-patterns. A branch's output is tested through a reference, and
/// `mut x` or `ref x` under a reference would not compile (or would move a `String` out
/// of it); the macro tests a copy of the pattern without them.
#[test]
fn select_macro_takes_mut_and_ref_bindings_in_any_group() {
    struct Pair {
        name: String,
        count: usize,
    }
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let got = clockwork::select! {
                    Some(mut msg) = async { Some(String::from("hi")) } => { msg.push('!'); msg }
                };
                assert_eq!(got, "hi!");
                let got = clockwork::select! {
                    Some(ref msg) = async { Some(String::from("ref")) } => msg.clone(),
                };
                assert_eq!(got, "ref");
                let got = clockwork::select! {
                    (Some(mut a), [first, ref mut rest @ ..]) = async { (Some(1), [10, 20, 30]) } => {
                        a += first;
                        rest[0] += 1;
                        a + rest[0] + rest[1]
                    }
                };
                assert_eq!(got, 11 + 21 + 30);
                let got = clockwork::select! {
                    Pair { mut name, count: n @ 1..=9 } = async { Pair { name: "p".into(), count: 3 } } => {
                        name.push_str("air");
                        format!("{name}{n}")
                    }
                };
                assert_eq!(got, "pair3");
                // A pattern that does not match disables its branch, as before.
                let (tx, rx) = oneshot::channel::<String>();
                clockwork::spawn(async move { tx.send("late".into()).unwrap() });
                let got = clockwork::select! {
                    Ok(mut v) | Err(mut v) = std::future::pending::<Result<String, String>>() => {
                        v.push('?');
                        v
                    }
                    Some(mut v) = async { None::<String> } => { v.push('?'); v }
                    Ok(mut v) = rx => { v.push('!'); v }
                };
                assert_eq!(got, "late!");
            });
        });
    });
}

/// tokio's precondition: `pattern = future, if condition => handler`. A false condition
/// disables the branch before anything is polled; when every branch is disabled, the
/// `else` branch runs.
#[test]
fn select_macro_preconditions_disable_branches() {
    within(60, || {
        on_both(|_flavour, rt| {
            rt.block_on(async {
                let polled = std::sync::atomic::AtomicBool::new(false);
                let watch = async {
                    polled.store(true, std::sync::atomic::Ordering::SeqCst);
                    1
                };
                let got = clockwork::select! {
                    v = watch, if 1 + 1 == 3 => v,
                    v = after(3, 2) => v,
                };
                assert_eq!(got, 2);
                assert!(!polled.load(std::sync::atomic::Ordering::SeqCst), "a disabled branch was polled");
                let (tx, mut rx) = clockwork::sync::mpsc::channel::<u32>(4);
                for i in 0..3 {
                    tx.try_send(i).unwrap();
                }
                drop(tx);
                let mut seen = Vec::new();
                let mut open = true;
                loop {
                    clockwork::select! {
                        Some(mut v) = rx.recv(), if open => { v += 10; seen.push(v) }
                        else => break,
                    }
                    open = seen.len() < 2;
                }
                assert_eq!(seen, [10, 11]);
            });
        });
    });
}

/// tokio's `select!` takes 64 branches (its `many_branches` test); so does ours, within the
/// compiler's default recursion limit, for name and `_` patterns (one step per branch).
#[test]
fn select_takes_sixty_four_branches() {
    let v: u32 = clockwork::block_on(async {
        clockwork::select! {
            x = async { 0 } => x, x = async { 1 } => x, x = async { 2 } => x, x = async { 3 } => x, x = async { 4 } => x, x = async { 5 } => x, x = async { 6 } => x, x = async { 7 } => x,
            x = async { 8 } => x, x = async { 9 } => x, x = async { 10 } => x, x = async { 11 } => x, x = async { 12 } => x, x = async { 13 } => x, x = async { 14 } => x, x = async { 15 } => x,
            x = async { 16 } => x, x = async { 17 } => x, x = async { 18 } => x, x = async { 19 } => x, x = async { 20 } => x, x = async { 21 } => x, x = async { 22 } => x, x = async { 23 } => x,
            x = async { 24 } => x, x = async { 25 } => x, x = async { 26 } => x, x = async { 27 } => x, x = async { 28 } => x, x = async { 29 } => x, x = async { 30 } => x, x = async { 31 } => x,
            x = async { 32 } => x, x = async { 33 } => x, x = async { 34 } => x, x = async { 35 } => x, x = async { 36 } => x, x = async { 37 } => x, x = async { 38 } => x, x = async { 39 } => x,
            x = async { 40 } => x, x = async { 41 } => x, x = async { 42 } => x, x = async { 43 } => x, x = async { 44 } => x, x = async { 45 } => x, x = async { 46 } => x, x = async { 47 } => x,
            x = async { 48 } => x, x = async { 49 } => x, x = async { 50 } => x, x = async { 51 } => x, x = async { 52 } => x, x = async { 53 } => x, x = async { 54 } => x, x = async { 55 } => x,
            x = async { 56 } => x, x = async { 57 } => x, x = async { 58 } => x, x = async { 59 } => x, x = async { 60 } => x, x = async { 61 } => x, x = async { 62 } => x, x = async { 63 } => x,
        }
    });
    assert!(v < 64);
    let w: u32 = clockwork::block_on(async {
        clockwork::select! {
            _ = std::future::pending::<()>() => 0,
            _ = std::future::pending::<()>() => { 1 }
            n = async { 2 } => { n },
            _ = std::future::pending::<()>() => 3
        }
    });
    assert_eq!(w, 2);
}

/// `biased;` polls the branches in the order written, every time (tokio's syntax); without
/// it the start is random, so over 100 rounds both ready branches win sometimes.
#[test]
fn select_biased_polls_in_order() {
    clockwork::block_on(async {
        let mut wins = [0; 2];
        for _ in 0..100 {
            let first = clockwork::select! {
                biased;
                _ = std::future::ready(()) => 0,
                _ = std::future::ready(()) => 1,
            };
            wins[first] += 1;
        }
        assert_eq!(wins, [100, 0]);
        let mut unbiased = [0; 2];
        for _ in 0..100 {
            let first = clockwork::select! {
                _ = std::future::ready(()) => 0,
                _ = std::future::ready(()) => 1,
            };
            unbiased[first] += 1;
        }
        assert!(unbiased[0] > 0 && unbiased[1] > 0, "{unbiased:?}");
    });
}

/// Which branch received each value, in order.
type Log = Arc<Mutex<Vec<u8>>>;

/// Values in each pre-filled channel of the fairness tests: many budgets' worth (128 each).
const VALUES: u32 = 1000;

/// A channel holding `VALUES` values and no sender: always ready until empty.
fn filled() -> mpsc::Receiver<u32> {
    let (tx, rx) = mpsc::channel(VALUES as usize);
    for v in 0..VALUES {
        tx.try_send(v).unwrap();
    }
    rx
}

/// Receives every value in `rx`, logging `name` for each. Every `recv` spends budget.
async fn drain(name: u8, mut rx: mpsc::Receiver<u32>, log: Log) {
    while rx.recv().await.is_some() {
        log.lock().unwrap().push(name);
    }
}

/// Runs `join_drains(a, b, log)` (a join of `drain(b'a', a, ..)` and `drain(b'b', b, ..)`)
/// inside a budgeted poll on both flavours: `clockwork::block_on`, a task on a 2-worker
/// runtime, and that runtime's own `block_on` (whose future has a budget too).
/// Until one branch is empty, neither may run for more than a few budgets in a row: with
/// a fixed polling order, `a` took every budget and `b` got its first value after all of
/// `a`'s (tokio's `join!` interleaves every 128).
fn assert_join_is_fair<F>(
    join_drains: impl Fn(mpsc::Receiver<u32>, mpsc::Receiver<u32>, Log) -> F + Send + 'static,
) where
    F: Future<Output = ()> + Send + 'static,
{
    within(60, move || {
        let multi = Builder::new_multi_thread().worker_threads(2).build().unwrap();
        for flavour in ["block_on", "multi_thread task", "multi_thread block_on"] {
            let log = Log::default();
            let joined = join_drains(filled(), filled(), log.clone());
            match flavour {
                "block_on" => clockwork::block_on(joined),
                "multi_thread task" => multi.block_on(multi.spawn(joined)).unwrap(),
                _ => multi.block_on(joined),
            }
            let log = log.lock().unwrap();
            assert_eq!(log.len(), 2 * VALUES as usize);
            let mut runs: Vec<usize> = log.chunk_by(|x, y| x == y).map(<[u8]>::len).collect();
            runs.pop(); // the last run may be long: the other branch had finished
            assert!(runs.len() >= 2, "{flavour}: no interleaving at all: runs {runs:?}");
            assert!(runs.iter().all(|&run| run <= 300), "{flavour}: a branch starved: runs {runs:?}");
        }
    });
}

#[test]
fn join_macro_is_fair_under_the_budget() {
    assert_join_is_fair(|a, b, log| async move {
        let ((), ()) = clockwork::join!(drain(b'a', a, log.clone()), drain(b'b', b, log));
    });
}

#[test]
fn join_is_fair_under_the_budget() {
    assert_join_is_fair(|a, b, log| async move {
        let ((), ()) = join(drain(b'a', a, log.clone()), drain(b'b', b, log)).await;
    });
}

#[test]
fn join_all_is_fair_under_the_budget() {
    assert_join_is_fair(|a, b, log| async move {
        let outputs = join_all([drain(b'a', a, log.clone()), drain(b'b', b, log)]).await;
        assert_eq!(outputs.len(), 2);
    });
}
