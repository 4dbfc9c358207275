//! Task lifecycle tests: a test scheduler whose queue we drive by hand, futures that count
//! their polls and drops, and an assertion on every counter after every step.
//!
//! These run three ways: as unit tests (`cargo test`), under Miri (the unsafe core), and
//! the `loom_*` models in `loom_tests.rs` reuse [`TestSched`] under loom.

use super::{JoinHandle, Notified, OwnedTasks, Schedule, Task};
use crate::loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use crate::loom::sync::{Arc, Mutex};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A scheduler with a hand-driven FIFO and counters.
#[derive(Clone)]
pub(super) struct TestSched(Arc<Inner>);

pub(super) struct Inner {
    queue: Mutex<VecDeque<Notified<TestSched>>>,
    owned: OwnedTasks<TestSched>,
    pub(super) schedules: AtomicUsize,
}

impl Schedule for TestSched {
    fn schedule(&self, task: Notified<Self>) {
        self.0.schedules.fetch_add(1, SeqCst);
        self.0.queue.lock().push_back(task);
    }

    fn release(&self, task: &Task<Self>) -> Option<Task<Self>> {
        self.0.owned.remove(task)
    }
}

impl TestSched {
    pub(super) fn new() -> TestSched {
        TestSched(Arc::new(Inner {
            queue: Mutex::new(VecDeque::new()),
            owned: OwnedTasks::new(),
            schedules: AtomicUsize::new(0),
        }))
    }

    pub(super) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (join, notified) = self.0.owned.bind(future, self.clone());
        if let Some(notified) = notified {
            self.0.queue.lock().push_back(notified);
        }
        join
    }

    /// Runs one queued task; `false` if the queue was empty.
    pub(super) fn tick(&self) -> bool {
        let task = self.0.queue.lock().pop_front();
        match task {
            Some(task) => {
                task.run();
                true
            }
            None => false,
        }
    }

    pub(super) fn run_until_idle(&self) -> usize {
        let mut n = 0;
        while self.tick() {
            n += 1;
        }
        n
    }

    pub(super) fn schedules(&self) -> usize {
        self.0.schedules.load(SeqCst)
    }

    #[cfg_attr(loom, allow(dead_code))] // used by the lifecycle tests, not the models
    pub(super) fn queued(&self) -> usize {
        self.0.queue.lock().len()
    }

    /// Cancels every task and empties the queue (breaks the Arc cycle through the tasks).
    pub(super) fn shutdown(&self) {
        for task in self.0.owned.close_and_drain() {
            task.shutdown();
        }
        let queued = std::mem::take(&mut *self.0.queue.lock());
        drop(queued);
    }
}

/// Counters shared between a test and its futures.
#[derive(Clone, Default)]
pub(super) struct Counts(Arc<CountsInner>);

#[derive(Default)]
pub(super) struct CountsInner {
    pub(super) polls: AtomicUsize,
    pub(super) future_drops: AtomicUsize,
    pub(super) output_drops: AtomicUsize,
}

impl Counts {
    #[cfg_attr(loom, allow(dead_code))]
    pub(super) fn polls(&self) -> usize {
        self.0.polls.load(SeqCst)
    }
    pub(super) fn future_drops(&self) -> usize {
        self.0.future_drops.load(SeqCst)
    }
    pub(super) fn output_drops(&self) -> usize {
        self.0.output_drops.load(SeqCst)
    }
}

/// The output of [`Script`]: counts its own drop.
pub(super) struct Output(Counts);

impl Drop for Output {
    fn drop(&mut self) {
        self.0 .0.output_drops.fetch_add(1, SeqCst);
    }
}

/// A future that returns `Pending` `pending` times (stashing its waker), then `Ready`.
pub(super) struct Script {
    pub(super) counts: Counts,
    pub(super) pending: usize,
    pub(super) stash: Arc<Mutex<Option<Waker>>>,
    pub(super) wake_self: bool,
}

impl Script {
    pub(super) fn new(counts: &Counts, pending: usize) -> Script {
        Script { counts: counts.clone(), pending, stash: Arc::new(Mutex::new(None)), wake_self: false }
    }
}

impl Future for Script {
    type Output = Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        self.counts.0.polls.fetch_add(1, SeqCst);
        if self.pending == 0 {
            return Poll::Ready(Output(self.counts.clone()));
        }
        self.pending -= 1;
        *self.stash.lock() = Some(cx.waker().clone());
        if self.wake_self {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        self.counts.0.future_drops.fetch_add(1, SeqCst);
    }
}

/// Polls a `JoinHandle` once with a no-op waker.
pub(super) fn poll_join<T>(join: &mut JoinHandle<T>) -> Poll<Result<T, super::JoinError>> {
    let waker = futures_task::noop_waker();
    Pin::new(join).poll(&mut Context::from_waker(&waker))
}

#[cfg(all(test, not(loom)))]
mod lifecycle {
    use super::*;

    #[test]
    fn spawn_run_complete_join() {
        let sched = TestSched::new();
        let counts = Counts::default();
        let mut join = sched.spawn(Script::new(&counts, 0));
        assert_eq!((counts.polls(), sched.queued(), sched.schedules()), (0, 1, 0));
        assert!(poll_join(&mut join).is_pending());
        assert!(sched.tick());
        assert_eq!((counts.polls(), counts.future_drops(), counts.output_drops()), (1, 1, 0));
        assert!(join.is_finished());
        let Poll::Ready(Ok(output)) = poll_join(&mut join) else { panic!("output expected") };
        drop(output);
        assert_eq!(counts.output_drops(), 1);
        drop(join);
        sched.shutdown();
    }

    #[test]
    fn wake_after_pending_schedules_exactly_once() {
        let sched = TestSched::new();
        let counts = Counts::default();
        let script = Script::new(&counts, 1);
        let stash = script.stash.clone();
        let join = sched.spawn(script);
        sched.tick();
        assert_eq!((counts.polls(), sched.queued()), (1, 0));
        let waker = stash.lock().take().unwrap();
        waker.wake_by_ref();
        waker.wake_by_ref(); // already NOTIFIED: no second schedule
        assert_eq!((sched.schedules(), sched.queued()), (1, 1));
        sched.tick();
        assert_eq!((counts.polls(), counts.future_drops()), (2, 1));
        waker.wake(); // stale: the task is complete
        assert_eq!(sched.schedules(), 1);
        drop(join);
        assert_eq!(counts.output_drops(), 1, "the detached output was dropped by the handle");
        sched.shutdown();
    }

    #[test]
    fn wake_during_poll_requeues_after_the_poll() {
        let sched = TestSched::new();
        let counts = Counts::default();
        let mut script = Script::new(&counts, 2);
        script.wake_self = true;
        let join = sched.spawn(script);
        assert_eq!(sched.run_until_idle(), 3, "two yields, then Ready");
        assert_eq!((counts.polls(), counts.future_drops(), counts.output_drops()), (3, 1, 0));
        drop(join);
        assert_eq!(counts.output_drops(), 1);
        sched.shutdown();
    }

    #[test]
    fn dropping_the_handle_first_lets_the_task_drop_its_output() {
        let sched = TestSched::new();
        let counts = Counts::default();
        drop(sched.spawn(Script::new(&counts, 0)));
        sched.tick();
        assert_eq!((counts.future_drops(), counts.output_drops()), (1, 1));
        sched.shutdown();
    }

    #[test]
    fn abort_idle_task_is_cancelled_by_the_scheduler() {
        let sched = TestSched::new();
        let counts = Counts::default();
        let mut join = sched.spawn(Script::new(&counts, 5));
        sched.tick();
        join.abort();
        assert_eq!((sched.schedules(), counts.future_drops()), (1, 0), "abort only queues it");
        sched.tick();
        assert_eq!((counts.polls(), counts.future_drops()), (1, 1), "dropped, not polled");
        let Poll::Ready(Err(err)) = poll_join(&mut join) else { panic!() };
        assert!(err.is_cancelled());
        join.abort(); // no effect once complete
        assert_eq!(sched.schedules(), 1);
        sched.shutdown();
    }

    #[test]
    fn abort_before_first_poll_never_polls() {
        let sched = TestSched::new();
        let counts = Counts::default();
        let mut join = sched.spawn(Script::new(&counts, 0));
        join.abort(); // already NOTIFIED: just marks it
        assert_eq!(sched.schedules(), 0);
        sched.tick();
        assert_eq!((counts.polls(), counts.future_drops()), (0, 1));
        assert!(matches!(poll_join(&mut join), Poll::Ready(Err(e)) if e.is_cancelled()));
        sched.shutdown();
    }

    #[test]
    fn panic_in_poll_becomes_a_join_error() {
        let sched = TestSched::new();
        let mut join = sched.spawn(async { panic!("kaboom") });
        sched.tick();
        let Poll::Ready(Err(err)) = poll_join(&mut join) else { panic!() };
        assert!(err.is_panic());
        assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "kaboom");
        sched.shutdown();
    }

    #[test]
    fn shutdown_drops_idle_and_queued_futures() {
        let sched = TestSched::new();
        let counts = Counts::default();
        let script = Script::new(&counts, 3);
        let stash = script.stash.clone();
        let j1 = sched.spawn(script);
        sched.tick(); // idle, waker stashed
        let j2 = sched.spawn(Script::new(&counts, 0)); // queued, never polled
        sched.shutdown();
        assert_eq!(counts.future_drops(), 2);
        assert!(j1.is_finished() && j2.is_finished());
        let waker = stash.lock().take().unwrap();
        waker.wake(); // stale after shutdown: no-op, frees its reference
        drop((j1, j2));
    }

    #[test]
    fn spawning_on_a_closed_list_cancels_at_once() {
        let sched = TestSched::new();
        sched.shutdown();
        let counts = Counts::default();
        let mut join = sched.spawn(Script::new(&counts, 0));
        assert_eq!((sched.queued(), counts.future_drops()), (0, 1));
        assert!(matches!(poll_join(&mut join), Poll::Ready(Err(e)) if e.is_cancelled()));
    }

    #[test]
    fn join_waker_is_replaced_and_woken_once() {
        use std::sync::atomic::AtomicUsize as StdCount;
        struct Flag(StdCount);
        impl std::task::Wake for Flag {
            fn wake(self: std::sync::Arc<Self>) {
                self.0.fetch_add(1, SeqCst);
            }
        }
        let sched = TestSched::new();
        let counts = Counts::default();
        let mut join = sched.spawn(Script::new(&counts, 0));
        let (a, b) =
            (std::sync::Arc::new(Flag(StdCount::new(0))), std::sync::Arc::new(Flag(StdCount::new(0))));
        let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
        assert!(Pin::new(&mut join).poll(&mut Context::from_waker(&wa)).is_pending());
        assert!(Pin::new(&mut join).poll(&mut Context::from_waker(&wb)).is_pending());
        sched.tick();
        assert_eq!((a.0.load(SeqCst), b.0.load(SeqCst)), (0, 1), "only the latest waker is woken");
        assert!(Pin::new(&mut join).poll(&mut Context::from_waker(&wb)).is_ready());
        drop(join);
        assert_eq!(std::sync::Arc::strong_count(&b), 2, "the runtime released its clone (ours + wb)");
        sched.shutdown();
    }

    #[test]
    fn waker_clone_storm_keeps_the_count_straight() {
        let sched = TestSched::new();
        let counts = Counts::default();
        let script = Script::new(&counts, 1);
        let stash = script.stash.clone();
        let join = sched.spawn(script);
        sched.tick();
        let waker = stash.lock().take().unwrap();
        let n = if cfg!(miri) { 50 } else { 10_000 };
        let clones: Vec<Waker> = (0..n).map(|_| waker.clone()).collect();
        for w in &clones {
            w.wake_by_ref();
        }
        assert_eq!(sched.schedules(), 1);
        drop(clones);
        sched.run_until_idle();
        assert_eq!(counts.future_drops(), 1);
        drop((waker, join));
        sched.shutdown();
    }
}
