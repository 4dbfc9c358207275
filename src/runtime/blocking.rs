//! The blocking pool behind `spawn_blocking`: threads for work that would stall a worker.
//!
//! **What this teaches.** A task that calls `std::fs::read` or `thread::sleep` holds its
//! worker thread hostage: no other task on it runs until the call returns. The fix is to
//! send the call to a *different* pool of threads, one that may block freely, and await
//! its result from the task. The pool:
//!
//! * takes jobs from a `crossbeam-channel` queue;
//! * starts a new thread when a job arrives and no thread is idle, up to a cap
//!   (`Builder::max_blocking_threads`, default 512);
//! * retires a thread after [`IDLE_TIMEOUT`] without work, so a burst does not leave
//!   hundreds of threads behind;
//! * at shutdown, stops taking jobs and waits for the running ones to finish.
//!
//! The result travels back through a small shared slot plus the awaiting task's waker; a
//! panic in the job is caught on the pool thread and re-raised inside the awaiting task,
//! where the task harness turns it into `JoinError::is_panic()`.
//!
//! Next to read: `src/runtime/multi_thread/mod.rs`.

// std, not `crate::loom`: the pool runs real OS threads, which loom cannot model, and no
// loom model starts it. Its protocol is a channel plus a mutex-guarded counter.
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

/// How long an idle pool thread waits for a job before it exits.
pub(crate) const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The runtime's entry to its blocking pool.
pub(crate) struct Spawner {
    inner: Arc<Pool>,
}

struct Pool {
    jobs: Mutex<Option<Sender<Job>>>,
    receiver: Receiver<Job>,
    state: Mutex<PoolState>,
    max_threads: usize,
}

#[derive(Default)]
struct PoolState {
    threads: usize,
    idle: usize,
    handles: Vec<std::thread::JoinHandle<()>>,
}

impl Spawner {
    pub(crate) fn new(max_threads: usize) -> Spawner {
        let (tx, rx) = crossbeam_channel::unbounded();
        let pool = Pool {
            jobs: Mutex::new(Some(tx)),
            receiver: rx,
            state: Mutex::new(PoolState::default()),
            max_threads,
        };
        Spawner { inner: Arc::new(pool) }
    }

    /// Sends `f` to the pool now and returns a future for its result.
    pub(crate) fn run<F, R>(&self, f: F) -> BlockingTask<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let slot = Arc::new(Mutex::new(Slot { result: None, waker: None }));
        let job_slot = slot.clone();
        let job: Job = Box::new(move || {
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
        let sent = self
            .inner
            .jobs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .map(|tx| tx.send(job).is_ok())
            .unwrap_or(false);
        if sent {
            self.inner.spawn_thread_if_needed();
        }
        BlockingTask { slot, accepted: sent }
    }

    /// Stops accepting jobs and waits for the threads to finish their current job.
    pub(crate) fn shutdown(&self) {
        drop(self.inner.jobs.lock().unwrap_or_else(|p| p.into_inner()).take()); // disconnects the queue: idle threads exit
        let handles = std::mem::take(&mut self.inner.state.lock().unwrap_or_else(|p| p.into_inner()).handles);
        for handle in handles {
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

impl Pool {
    fn spawn_thread_if_needed(self: &Arc<Self>) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.idle > 0 || state.threads >= self.max_threads {
            return; // an idle thread will take the job, or the queue holds it until one frees
        }
        state.threads += 1;
        let pool = self.clone();
        let spawned =
            std::thread::Builder::new().name("clockwork-blocking".into()).spawn(move || pool.thread_main());
        match spawned {
            Ok(handle) => {
                state.handles.retain(|h| !h.is_finished());
                state.handles.push(handle);
            }
            Err(_) => state.threads -= 1, // out of threads: existing ones drain the queue
        }
    }

    fn thread_main(&self) {
        loop {
            self.state.lock().unwrap_or_else(|p| p.into_inner()).idle += 1;
            let job = self.receiver.recv_timeout(IDLE_TIMEOUT);
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            state.idle -= 1;
            match job {
                Ok(job) => {
                    drop(state);
                    job();
                }
                Err(RecvTimeoutError::Timeout) if !self.receiver.is_empty() => continue,
                Err(_) => {
                    // Idle for too long, or the pool shut down and the queue is empty.
                    state.threads -= 1;
                    return;
                }
            }
        }
    }
}

struct Slot<R> {
    result: Option<std::thread::Result<R>>,
    waker: Option<Waker>,
}

/// The future a `spawn_blocking` task awaits: the job's result, or its panic re-raised.
pub(crate) struct BlockingTask<R> {
    slot: Arc<Mutex<Slot<R>>>,
    accepted: bool,
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
