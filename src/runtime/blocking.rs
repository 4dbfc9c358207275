//! The blocking pool behind `spawn_blocking`: threads for work that would stall a worker.
//!
//! **What this teaches.** A task that calls `std::fs::read` or `thread::sleep` holds its
//! worker thread hostage: no other task on it runs until the call returns. The fix is to
//! send the call to a *different* pool of threads, one that may block freely, and await
//! its result from the task. The pool:
//!
//! * takes jobs from a `crossbeam-channel` queue;
//! * gives each job a thread *when it is submitted*: it claims an idle thread, or starts a
//!   new one, or (at the cap, `Builder::max_blocking_threads`, default 512) queues it for
//!   the next thread that finishes (the table at [`PoolState`]);
//! * retires a thread after a keep-alive without work (`Builder::thread_keep_alive`,
//!   default [`DEFAULT_KEEP_ALIVE`]), so a burst does not leave hundreds of threads behind;
//! * skips a job whose task was aborted or cancelled before the job started: the job
//!   reads the task's cancel bit through a probe (`JoinHandle::cancel_probe`), so an
//!   abort counts at once, even on a current-thread runtime that nobody drives, where
//!   the task's future would be dropped only later;
//! * at shutdown, stops taking jobs and waits for the running ones to finish.
//!
//! The result travels back through a small shared slot plus the awaiting task's waker; a
//! panic in the job is caught on the pool thread and re-raised inside the awaiting task,
//! where the task harness turns it into `JoinError::is_panic()`.
//!
//! Next to read: `src/time/mod.rs`, the timers every runtime thread drives.

// std, not `crate::loom`: the pool runs real OS threads, which loom cannot model, and no
// loom model starts it. Its protocol is a channel plus a mutex-guarded count.
use crate::task::CancelProbe;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// How long an idle pool thread waits for a job before it exits, unless
/// `Builder::thread_keep_alive` says otherwise. Tokio's default, for the same reason: long
/// enough that a steady trickle of jobs reuses threads, short enough that a burst's
/// threads do not linger.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The runtime's entry to its blocking pool.
pub(crate) struct Spawner {
    inner: Arc<Pool>,
}

struct Pool {
    /// `None` once the pool shut down; dropping the sender wakes every idle thread.
    jobs: Mutex<Option<Sender<Job>>>,
    receiver: Receiver<Job>,
    state: Mutex<PoolState>,
    max_threads: usize,
    keep_alive: Duration,
}

/// Who is doing what. Every job sent is *owed* a receiving thread, and exactly one of the
/// three branches of [`Pool::assign`] pays the debt, under this lock:
///
/// | at submit | the job is received by | count changed |
/// |---|---|---|
/// | a thread is idle | that idle thread (now claimed) | `idle -= 1` |
/// | none idle, below the cap | a new thread, spawned for it | `threads += 1` |
/// | none idle, at the cap | the next thread to finish a job | `backlog += 1` |
///
/// Claiming at submit time is the point. The first version let a thread decrement `idle`
/// only after it received a job, so two jobs submitted back-to-back both saw one idle
/// thread, no thread was spawned for the second, and it waited behind the first (a
/// deadlock if the first waits for the second).
///
/// A thread that finishes a job takes a backlog entry if there is one, else adds itself to
/// `idle`. Receives are anonymous (any waiting thread may get any job), so only the sums
/// matter, and under the lock this stays true after every step:
///
/// `threads waiting in recv + backlog == idle + jobs in the channel`
///
/// With no backlog, every queued job therefore has a waiting thread. And a thread whose
/// keep-alive ran out may retire only by taking one unit of `idle` (which keeps the sum):
/// with `idle == 0`, every waiting thread is needed for a job already promised, so it
/// waits on.
#[derive(Default)]
struct PoolState {
    threads: usize,
    idle: usize,
    backlog: usize,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Spawner {
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> Spawner {
        let (tx, rx) = crossbeam_channel::unbounded();
        let pool = Pool {
            jobs: Mutex::new(Some(tx)),
            receiver: rx,
            state: Mutex::new(PoolState::default()),
            max_threads,
            keep_alive,
        };
        Spawner { inner: Arc::new(pool) }
    }

    /// Sends `f` to the pool now and returns a future for its result.
    pub(crate) fn run<F, R>(&self, f: F) -> BlockingTask<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let slot = Arc::new(Mutex::new(Slot { result: None, waker: None, probe: None }));
        let job_slot = slot.clone();
        let job: Job = Box::new(move || {
            // Nobody awaits the result any more (the task was aborted, or cancelled by a
            // shutdown, before the job started): do not start work nobody wants. The
            // probe sees an abort at once; the count, a task whose future was dropped.
            let cancelled = lock(&job_slot).probe.as_ref().is_some_and(CancelProbe::is_cancelled);
            if cancelled || Arc::strong_count(&job_slot) == 1 {
                return;
            }
            let result = catch_unwind(AssertUnwindSafe(f));
            let waker = {
                let mut slot = job_slot.lock().unwrap_or_else(|p| p.into_inner());
                slot.result = Some(result);
                slot.waker.take()
            };
            if let Some(waker) = waker {
                waker.wake(); // outside the lock: the waker may run arbitrary code
            }
        });
        let accepted = self.inner.submit(job);
        BlockingTask { slot, accepted }
    }

    /// Stops accepting jobs and waits for the threads to finish their current job.
    pub(crate) fn shutdown(&self) {
        drop(lock(&self.inner.jobs).take()); // disconnects the queue: idle threads exit
        let handles = std::mem::take(&mut lock(&self.inner.state).handles);
        for handle in handles {
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
    }

    /// `(threads, idle)` right now, for tests.
    #[cfg(test)]
    pub(crate) fn counts(&self) -> (usize, usize) {
        let state = lock(&self.inner.state);
        (state.threads, state.idle)
    }
}

/// Locks without poisoning: no user code runs under these locks.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Pool {
    /// Assigns a receiver to `job` (see [`PoolState`]) and sends it; `false` if shut down.
    fn submit(self: &Arc<Self>, job: Job) -> bool {
        let jobs = lock(&self.jobs);
        let Some(sender) = jobs.as_ref() else { return false };
        let mut state = lock(&self.state);
        if state.idle > 0 {
            state.idle -= 1;
        } else if state.threads < self.max_threads && self.spawn_thread(&mut state) {
            // the new thread receives it
        } else {
            state.backlog += 1; // at the cap: the next thread to finish a job takes it
        }
        // Sent under both locks, so a shutdown cannot slip in between the count and the job.
        sender.send(job).is_ok()
    }

    fn spawn_thread(self: &Arc<Self>, state: &mut PoolState) -> bool {
        let pool = self.clone();
        let spawned =
            std::thread::Builder::new().name("clockwork-blocking".into()).spawn(move || pool.thread_main());
        match spawned {
            Ok(handle) => {
                state.threads += 1;
                state.handles.retain(|h| !h.is_finished());
                state.handles.push(handle);
                true
            }
            Err(_) => false, // out of threads: existing ones drain the queue
        }
    }

    /// A pool thread: receive a job, run it, account for being free again; retire when
    /// the keep-alive runs out and nobody is owed a receiver.
    fn thread_main(&self) {
        loop {
            match self.receiver.recv_timeout(self.keep_alive) {
                Ok(job) => {
                    job();
                    self.finished_job();
                }
                Err(RecvTimeoutError::Timeout) => {
                    if self.try_retire() {
                        return;
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    // Shut down and drained: nothing will be owed again.
                    let mut state = lock(&self.state);
                    state.idle = state.idle.saturating_sub(1);
                    state.threads -= 1;
                    return;
                }
            }
        }
    }

    /// After a job: take a backlog entry if one waits (the job is already queued, and we
    /// are the thread it was promised to), else become an idle thread anyone may claim.
    fn finished_job(&self) {
        let mut state = lock(&self.state);
        if state.backlog > 0 {
            state.backlog -= 1;
        } else {
            state.idle += 1;
        }
    }

    /// Retires this thread if an unclaimed idle unit exists (see [`PoolState`]).
    fn try_retire(&self) -> bool {
        let mut state = lock(&self.state);
        if state.idle == 0 {
            return false; // every waiting thread is owed a claimed job: wait on
        }
        state.idle -= 1;
        state.threads -= 1;
        true
    }
}

struct Slot<R> {
    result: Option<std::thread::Result<R>>,
    waker: Option<Waker>,
    /// The awaiting task's cancel probe, set right after the task is spawned.
    probe: Option<CancelProbe>,
}

/// The future a `spawn_blocking` task awaits: the job's result, or its panic re-raised.
pub(crate) struct BlockingTask<R> {
    slot: Arc<Mutex<Slot<R>>>,
    accepted: bool,
}

impl<R> BlockingTask<R> {
    /// Lets the job see, before it starts, whether the task awaiting it was aborted
    /// (call it with the task's probe right after spawning the task).
    pub(crate) fn probe_setter(&self) -> impl FnOnce(CancelProbe) {
        let slot = self.slot.clone();
        move |probe| lock(&slot).probe = Some(probe)
    }
}

impl<R> Future for BlockingTask<R> {
    type Output = R;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<R> {
        assert!(self.accepted, "spawn_blocking after the runtime shut down: the blocking pool is closed");
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        match slot.result.take() {
            Some(Ok(value)) => Poll::Ready(value),
            Some(Err(panic)) => {
                drop(slot);
                resume_unwind(panic) // caught by the task harness → JoinError::is_panic
            }
            None => {
                if !slot.waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                    slot.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
#[path = "blocking_tests.rs"]
mod tests;
