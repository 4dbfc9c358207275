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
//! * at shutdown, stops taking jobs and waits for the running ones to finish.
//!
//! **A job is a task.** `spawn_blocking(f)` makes an ordinary task whose future,
//! [`BlockingFn`], calls `f` on its first poll, and sends the task's first queue entry
//! here instead of to a run queue: the *pool thread* polls it (`scheduler.rs`). So the
//! task completes on the pool thread, and its `JoinHandle` resolves (and `is_finished`
//! turns true) without any runtime thread's help, even on a current-thread runtime that
//! nobody drives, as in tokio. A panic in `f` is caught by the task harness like any
//! poll's, and becomes `JoinError::is_panic()`. An abort before the pool thread starts the
//! task cancels it there (the harness sees the cancel bit and drops `f` unrun); once `f`
//! runs, nothing can stop it, and its result is delivered, as for any task whose poll
//! completes while it is aborted.
//!
//! Rejected alternative (this module's first design): an async task on the runtime that
//! awaits the job's result through a shared slot and a waker. The handle then resolved
//! only when a runtime thread polled that task again: never, on a current-thread runtime
//! that nobody drives, and late on a multi-thread runtime whose workers are all busy; an
//! abort needed a probe into the task's state so that the job could skip unwanted work.
//!
//! Next to read: `src/time/mod.rs`, the timers every runtime thread drives.

// std, not `crate::loom`: the pool runs real OS threads, which loom cannot model, and no
// loom model starts it. Its protocol is a channel plus a mutex-guarded count.
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

/// How long an idle pool thread waits for a job before it exits, unless
/// `Builder::thread_keep_alive` says otherwise. Tokio's default, for the same reason: long
/// enough that a steady trickle of jobs reuses threads, short enough that a burst's
/// threads do not linger.
pub(crate) const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The name of every pool thread (as the trace's timeline shows it).
const THREAD_NAME: &str = "clockwork-blocking";

/// A unit of work for a pool thread (in practice, "poll this blocking task").
pub(crate) type Job = Box<dyn FnOnce() + Send + 'static>;

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
    /// Stack size of each thread; `None`: std's default (2 MiB).
    stack_size: Option<usize>,
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
    #[cfg(test)]
    pub(crate) fn new(max_threads: usize, keep_alive: Duration) -> Spawner {
        Spawner::with_stack_size(max_threads, keep_alive, None)
    }

    /// [`Spawner::new`], with threads of `stack_size` bytes (`Builder::thread_stack_size`).
    pub(crate) fn with_stack_size(
        max_threads: usize,
        keep_alive: Duration,
        stack_size: Option<usize>,
    ) -> Spawner {
        let (tx, rx) = crossbeam_channel::unbounded();
        let pool = Pool {
            jobs: Mutex::new(Some(tx)),
            receiver: rx,
            state: Mutex::new(PoolState::default()),
            max_threads,
            keep_alive,
            stack_size,
        };
        Spawner { inner: Arc::new(pool) }
    }

    /// Sends `job` to the pool now; gives it back if the pool has shut down.
    pub(crate) fn submit(&self, job: Job) -> Result<(), Job> {
        self.inner.submit(job)
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
    /// Assigns a receiver to `job` (see [`PoolState`]) and sends it; gives it back if shut
    /// down.
    fn submit(self: &Arc<Self>, job: Job) -> Result<(), Job> {
        let jobs = lock(&self.jobs);
        let Some(sender) = jobs.as_ref() else { return Err(job) };
        let mut state = lock(&self.state);
        if state.idle > 0 {
            state.idle -= 1;
        } else if state.threads < self.max_threads && self.spawn_thread(&mut state) {
            // the new thread receives it
        } else {
            state.backlog += 1; // at the cap: the next thread to finish a job takes it
        }
        // Sent under both locks, so a shutdown cannot slip in between the count and the job.
        // The receiver lives in the pool beside the sender, so the send cannot fail.
        sender.send(job).map_err(|error| error.into_inner())
    }

    fn spawn_thread(self: &Arc<Self>, state: &mut PoolState) -> bool {
        let pool = self.clone();
        let mut builder = std::thread::Builder::new().name(THREAD_NAME.into());
        if let Some(size) = self.stack_size {
            builder = builder.stack_size(size);
        }
        let spawned = builder.spawn(move || pool.thread_main());
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

/// The future of a `spawn_blocking` task: calls `f` on its first poll, on the pool
/// thread that polls it, and is ready at once. It never returns `Pending`, so it never
/// needs its waker, and its task never goes back to a run queue.
pub(crate) struct BlockingFn<F>(Option<F>);

impl<F> BlockingFn<F> {
    pub(crate) fn new(f: F) -> Self {
        BlockingFn(Some(f))
    }
}

// `f` is only moved out, never pinned: the future is `Unpin` whatever `F` is.
impl<F> Unpin for BlockingFn<F> {}

impl<F: FnOnce() -> R, R> Future for BlockingFn<F> {
    type Output = R;

    fn poll(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<R> {
        let f = self.0.take().expect("a blocking task is polled once: it is ready at once");
        // Without the budget the harness gives every poll: `f` is not a poll, but a whole
        // blocking job, which may drive clockwork operations itself (`Handle::block_on`,
        // `futures::executor::block_on`, polls by hand). Left in place, the budget ran out
        // after 128 of them and every later one yielded for ever: a job spinning at full
        // CPU (a review found it). tokio lifts the budget here too.
        Poll::Ready(crate::task::coop::without_budget(f))
    }
}

#[cfg(test)]
#[path = "blocking_tests.rs"]
mod tests;
