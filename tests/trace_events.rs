//! The trace of a fixed program on the current-thread runtime is exactly the expected
//! sequence of events, and the lints find a deliberately lost waker.
#![cfg(not(loom))]

use clockwork::runtime::Builder;
use clockwork::task;
use clockwork::trace::{Cause, Kind, LintKind};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// Events that take part in the story of tasks (timers and parks depend on the machine).
fn task_events(kinds: impl Iterator<Item = Kind>) -> Vec<Kind> {
    kinds
        .filter(|k| {
            matches!(
                k,
                Kind::Spawn { .. }
                    | Kind::Wake { .. }
                    | Kind::Schedule { .. }
                    | Kind::PollStart { .. }
                    | Kind::PollEnd { .. }
            )
        })
        .collect()
}

#[test]
fn a_fixed_program_has_exactly_the_expected_events() {
    let rt = Builder::new_current_thread().trace(true).build().unwrap();
    let (a, b) = rt.block_on(async {
        let a = task::Builder::new().name("yielder").spawn(async { task::yield_now().await }).unwrap();
        let b = task::Builder::new().name("quick").spawn(async {}).unwrap();
        let ids = (a.id(), b.id());
        a.await.unwrap();
        b.await.unwrap();
        ids
    });
    let trace = rt.trace().unwrap();
    assert_eq!(trace.task_name(a), "yielder");
    assert_eq!(trace.task_name(b), "quick");
    let got = task_events(trace.events.iter().map(|e| e.kind.clone()));
    let expected = vec![
        Kind::Spawn { task: a },
        Kind::Schedule { task: a, cause: Cause::Spawned },
        Kind::Spawn { task: b },
        Kind::Schedule { task: b, cause: Cause::Spawned },
        Kind::PollStart { task: a },
        Kind::Wake { task: a, cause: Cause::SelfWake },
        Kind::PollEnd { task: a, ready: false },
        Kind::Schedule { task: a, cause: Cause::SelfWake },
        Kind::PollStart { task: b },
        Kind::PollEnd { task: b, ready: true },
        Kind::PollStart { task: a },
        Kind::PollEnd { task: a, ready: true },
    ];
    println!("{}", trace.narration());
    assert_eq!(got, expected);
    // Nothing else happened: the root future was woken by each completion, so the loop
    // never had to park in the driver (no reactor wait, no park).
    let all: Vec<Kind> = trace.events.iter().map(|e| e.kind.clone()).collect();
    assert_eq!(all, expected);
    let main = trace.events.iter().all(|e| trace.threads[e.thread] == std::thread::current().name().unwrap());
    assert!(main, "a current-thread runtime records on the block_on thread only");
}

/// A future with the classic bug: it returns `Pending` without keeping its waker anywhere.
struct ForgetsItsWaker;

impl Future for ForgetsItsWaker {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        Poll::Pending
    }
}

/// A future done right: it stores a clone of its waker before returning `Pending`.
struct KeepsItsWaker(Option<std::task::Waker>);

impl Future for KeepsItsWaker {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0 = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn a_lost_waker_is_reported_by_name_and_a_kept_one_is_not() {
    let rt = Builder::new_current_thread().trace(true).build().unwrap();
    let (lost, kept) = rt.block_on(async {
        let lost = task::Builder::new().name("forgetful").spawn(ForgetsItsWaker).unwrap();
        let kept = task::Builder::new().name("careful").spawn(KeepsItsWaker(None)).unwrap();
        task::yield_now().await; // both run once and return Pending
        (lost.id(), kept.id())
    });
    let lints = rt.lints();
    let lost_lints: Vec<_> = lints.iter().filter(|l| l.kind == LintKind::LostWaker).collect();
    assert_eq!(lost_lints.len(), 1, "{lints:#?}");
    assert_eq!(lost_lints[0].task, Some(lost));
    assert_eq!(lost_lints[0].name, "forgetful");
    assert!(lost_lints[0].to_string().contains("task") && lost_lints[0].to_string().contains("forgetful"));
    assert!(!lints.iter().any(|l| l.task == Some(kept)), "{lints:#?}");
}

#[test]
fn long_polls_and_busy_self_wakes_are_reported() {
    let rt = Builder::new_current_thread().trace(true).build().unwrap();
    rt.block_on(async {
        let spinner = task::Builder::new().name("spinner").spawn(async {
            for _ in 0..20 {
                task::yield_now().await;
            }
        });
        spinner.unwrap().await.unwrap();
        let blocker = task::Builder::new().name("blocker").spawn(async {
            let start = std::time::Instant::now();
            while start.elapsed() < std::time::Duration::from_millis(15) {} // blocks the thread
        });
        blocker.unwrap().await.unwrap();
        // The same wait where it belongs: its one poll, on a pool thread, is no lint.
        let job = task::Builder::new().name("pooled").spawn_blocking(|| {
            std::thread::sleep(std::time::Duration::from_millis(15));
        });
        job.unwrap().await.unwrap();
    });
    let lints = rt.lints();
    assert!(
        lints.iter().any(|l| l.name == "spinner" && matches!(l.kind, LintKind::BusySelfWake { .. })),
        "{lints:#?}"
    );
    assert!(
        lints.iter().any(|l| l.name == "blocker" && matches!(l.kind, LintKind::LongPoll { .. })),
        "{lints:#?}"
    );
    assert!(!lints.iter().any(|l| l.name == "pooled"), "{lints:#?}");
}

/// A task draining a channel that is always ready is made to yield by the cooperative
/// budget: the trace says so (`Cause::Budget`), and the busy self-wake lint, which is for
/// tasks that spin on their own, leaves it alone.
#[test]
fn a_budget_yield_is_traced_as_such_and_is_not_a_busy_self_wake() {
    let rt = Builder::new_current_thread().trace(true).build().unwrap();
    let drainer = rt.block_on(async {
        let (tx, mut rx) = clockwork::sync::mpsc::channel(10_000);
        for i in 0..10_000u32 {
            tx.try_send(i).unwrap();
        }
        drop(tx);
        let drainer = task::Builder::new()
            .name("drainer")
            .spawn(async move {
                let mut sum = 0u64;
                while let Some(i) = rx.recv().await {
                    sum += u64::from(i);
                }
                sum
            })
            .unwrap();
        let id = drainer.id();
        assert_eq!(drainer.await.unwrap(), (0..10_000u64).sum::<u64>());
        id
    });
    let trace = rt.trace().unwrap();
    let budget_wakes =
        trace.events.iter().filter(|e| e.kind == Kind::Wake { task: drainer, cause: Cause::Budget }).count();
    // 10 000 messages at 128 per poll: 78 forced yields.
    assert_eq!(budget_wakes, 10_000 / 128, "{}", trace.narration());
    let lints = rt.lints();
    assert!(!lints.iter().any(|l| l.task == Some(drainer)), "{lints:#?}");
}

#[test]
fn unnamed_tasks_are_named_by_their_spawn_location() {
    let rt = Builder::new_current_thread().trace(true).build().unwrap();
    let id = rt.block_on(async { clockwork::spawn(async {}).id() });
    let trace = rt.trace().unwrap();
    assert!(trace.task_name(id).starts_with("tests/trace_events.rs:"), "{}", trace.task_name(id));
    let id2 = rt.spawn(async {}).id();
    assert!(rt.trace().unwrap().task_name(id2).starts_with("tests/trace_events.rs:"));
}

#[test]
fn timers_are_traced_from_insert_to_fire_and_wake_their_task() {
    let rt = Builder::new_current_thread().trace(true).build().unwrap();
    let id = rt.block_on(async {
        let sleeper = task::Builder::new().name("sleeper").spawn(async {
            clockwork::time::sleep(std::time::Duration::from_millis(3)).await;
        });
        let sleeper = sleeper.unwrap();
        let id = sleeper.id();
        sleeper.await.unwrap();
        id
    });
    let trace = rt.trace().unwrap();
    let kinds: Vec<_> = trace.events.iter().map(|e| &e.kind).collect();
    let insert = kinds.iter().position(|k| matches!(k, Kind::TimerInsert { .. })).expect("insert");
    let fire = kinds.iter().position(|k| matches!(k, Kind::TimerFire { .. })).expect("fire");
    let wake = kinds.iter().position(|k| **k == Kind::Wake { task: id, cause: Cause::Timer }).expect("wake");
    assert!(insert < fire && fire < wake);
    assert!(trace.narration().contains("the timer wheel wakes task"));
    assert!(rt.lints().is_empty(), "{:#?}", rt.lints());
}

#[test]
fn tracing_off_records_nothing() {
    let rt = Builder::new_current_thread().build().unwrap();
    rt.block_on(async { clockwork::spawn(async {}).await.unwrap() });
    assert!(rt.trace().is_none());
    assert!(rt.lints().is_empty());
}

/// The long-poll lint exempts a blocking job's own poll, not whatever runs on a pool
/// thread: a job that drives the current-thread runtime itself (`Handle::block_on`, the
/// core being free) runs ordinary tasks there, and their long polls still count.
#[test]
fn a_long_poll_driven_from_a_blocking_job_is_still_reported() {
    let rt = Builder::new_current_thread().trace(true).build().unwrap();
    let handle = rt.handle().clone();
    let job = rt.spawn_blocking(move || {
        handle.block_on(async {
            let slow = task::Builder::new().name("driven").spawn(async {
                let start = std::time::Instant::now();
                while start.elapsed() < std::time::Duration::from_millis(15) {} // blocks the thread
            });
            slow.unwrap().await.unwrap();
        })
    });
    futures::executor::block_on(job).unwrap(); // nobody else drives the runtime
    let lints = rt.lints();
    assert!(
        lints.iter().any(|l| l.name == "driven" && matches!(l.kind, LintKind::LongPoll { .. })),
        "{lints:#?}"
    );
    assert!(
        !lints.iter().any(|l| matches!(l.kind, LintKind::LongPoll { .. }) && l.name != "driven"),
        "{lints:#?}"
    );
}

/// A task that ended cancelled is no lost waker: cancelling dropped its future, and with it
/// every waker clone the future held. Three ways to end cancelled: aborted while waiting on
/// a timer, aborted while waiting with no waker kept, aborting itself mid-poll. A
/// forgetful task left alone is still reported.
#[test]
fn cancelled_tasks_are_not_reported_as_lost_wakers() {
    use clockwork::sync::oneshot;
    for mut builder in [Builder::new_current_thread(), Builder::new_multi_thread()] {
        let rt = builder.trace(true).build().unwrap();
        let (cancelled, left_alone) = rt.block_on(async {
            // Each task says when its first poll has run; `Err` once its future is dropped.
            let polled = |wait: Pin<Box<dyn Future<Output = ()> + Send>>| {
                let (tx, rx) = oneshot::channel::<()>();
                (
                    task::spawn(async move {
                        tx.send(()).unwrap();
                        wait.await
                    }),
                    rx,
                )
            };
            let (sleeping, sleeping_polled) = polled(Box::pin(clockwork::time::sleep(Duration::MAX)));
            let (forgetful, forgetful_polled) = polled(Box::pin(ForgetsItsWaker));
            let (alone, alone_polled) = polled(Box::pin(ForgetsItsWaker));
            let ((), (), ()) = (
                sleeping_polled.await.unwrap(),
                forgetful_polled.await.unwrap(),
                alone_polled.await.unwrap(),
            );
            let (me_tx, me_rx) = oneshot::channel::<task::JoinHandle<()>>();
            let (gone_tx, gone_rx) = oneshot::channel::<()>();
            let selfish = task::spawn(async move {
                let _gone = gone_tx; // dropped with the future
                me_rx.await.unwrap().abort();
                task::yield_now().await; // Pending, with the abort pending: cancelled here
            });
            let ids = [sleeping.id(), forgetful.id(), selfish.id()];
            me_tx.send(selfish).unwrap();
            sleeping.abort();
            forgetful.abort();
            assert!(sleeping.await.unwrap_err().is_cancelled());
            assert!(forgetful.await.unwrap_err().is_cancelled());
            assert!(gone_rx.await.is_err(), "the self-aborted task's future was dropped");
            (ids, alone.id())
        });
        let trace = rt.trace().unwrap();
        for id in cancelled {
            assert!(trace.tasks[&id].cancelled, "task {id}: {:?}", trace.tasks[&id]);
            assert!(trace.events.iter().any(|e| e.kind == Kind::Cancel { task: id }));
        }
        let lost: Vec<_> = rt.lints().into_iter().filter(|l| l.kind == LintKind::LostWaker).collect();
        assert_eq!(lost.iter().map(|l| l.task).collect::<Vec<_>>(), [Some(left_alone)], "{lost:#?}");
    }
}
