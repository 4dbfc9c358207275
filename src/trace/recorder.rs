//! The recorder: one mutex-protected `Vec` of compact events per runtime, plus a task table.
//!
//! **What this teaches.** How to record from many threads without disturbing what you
//! record. Each event is ~40 bytes of plain numbers pushed under one short lock; names and
//! sentences are built only after the run, by the exporters.
//!
//! Rejected alternative: per-thread buffers merged at the end. They avoid the lock, but
//! the merge must sort by timestamp (and clocks of different cores can disagree by a few
//! nanoseconds, reordering a wake after the poll it caused) and a buffer of an exited
//! thread must be flushed somewhere. One lock gives a single total order for free, which
//! is what the narration and the exact-sequence tests need; its cost is measured in
//! `DESIGN-trace.md`.
//!
//! Next to read: `narrate.rs`, the first exporter.

use super::event::{Cause, Event, Kind};
use super::{TaskInfo, Trace};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Instant;

/// After this many events the recorder stops storing (and counts what it dropped), so a
/// long traced run cannot eat all memory. At ~40 bytes an event this is ~160 MB.
const MAX_EVENTS: usize = 4_000_000;

/// Everything one traced runtime recorded so far.
#[derive(Debug)]
pub(crate) struct Recorder {
    start: Instant,
    inner: Mutex<Inner>,
    /// Where to write the exports when the runtime is dropped (`CLOCKWORK_TRACE`).
    pub(crate) export_dir: Option<PathBuf>,
}

#[derive(Debug, Default)]
struct Inner {
    events: Vec<Event>,
    dropped: usize,
    tasks: BTreeMap<u64, TaskInfo>,
    /// The cause of each task's latest wake, until the task is queued.
    pending_cause: HashMap<u64, Cause>,
    /// Process-wide thread number → index into `threads`.
    thread_index: HashMap<usize, usize>,
    threads: Vec<String>,
}

impl Recorder {
    pub(crate) fn new(export_dir: Option<PathBuf>) -> Recorder {
        Recorder { start: Instant::now(), inner: Mutex::new(Inner::default()), export_dir }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding this lock cannot leave the data half-written (each
        // operation is a push or a counter bump), so a poisoned lock is still usable.
        self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends one event, stamped with the time and the calling thread.
    pub(crate) fn record(&self, kind: Kind) {
        let at = self.start.elapsed();
        let mut inner = self.lock();
        inner.push(at, kind);
    }

    /// A task was spawned: remember its name, then record the spawn.
    pub(crate) fn spawn(&self, task: u64, name: String) {
        let at = self.start.elapsed();
        let mut inner = self.lock();
        inner.tasks.insert(task, TaskInfo { name, ..TaskInfo::default() });
        inner.pending_cause.insert(task, Cause::Spawned);
        inner.push(at, Kind::Spawn { task });
    }

    /// A waker of `task` was called by `cause`.
    pub(crate) fn wake(&self, task: u64, cause: Cause) {
        let at = self.start.elapsed();
        let mut inner = self.lock();
        inner.pending_cause.insert(task, cause);
        if let Some(info) = inner.tasks.get_mut(&task) {
            info.wakes += 1;
            info.self_wakes += u64::from(cause == Cause::SelfWake);
        }
        inner.push(at, Kind::Wake { task, cause });
    }

    /// `task` entered a run queue, because of its latest wake.
    pub(crate) fn schedule(&self, task: u64) {
        let at = self.start.elapsed();
        let mut inner = self.lock();
        let cause = inner.pending_cause.remove(&task).unwrap_or(Cause::Runtime);
        inner.push(at, Kind::Schedule { task, cause });
    }

    /// Counts a waker clone (`+1`) or drop (`-1`) of `task`.
    pub(crate) fn waker_count(&self, task: u64, cloned: bool) {
        let mut inner = self.lock();
        if let Some(info) = inner.tasks.get_mut(&task) {
            if cloned {
                info.waker_clones += 1;
            } else {
                info.waker_drops += 1;
            }
        }
    }

    /// The poll of `task` ended after `nanos`.
    pub(crate) fn poll_end(&self, task: u64, ready: bool, nanos: u64) {
        let at = self.start.elapsed();
        let mut inner = self.lock();
        if let Some(info) = inner.tasks.get_mut(&task) {
            info.polls += 1;
            info.longest_poll = info.longest_poll.max(std::time::Duration::from_nanos(nanos));
            info.completed = ready;
        }
        inner.push(at, Kind::PollEnd { task, ready });
    }

    /// A copy of everything recorded so far.
    pub(crate) fn snapshot(&self) -> Trace {
        let inner = self.lock();
        Trace {
            events: inner.events.clone(),
            tasks: inner.tasks.clone(),
            threads: inner.threads.clone(),
            dropped_events: inner.dropped,
        }
    }
}

impl Inner {
    fn push(&mut self, at: std::time::Duration, kind: Kind) {
        if self.events.len() >= MAX_EVENTS {
            self.dropped += 1;
            return;
        }
        let thread = self.thread();
        self.events.push(Event { at, thread, kind });
    }

    /// This thread's index in `threads`, registering it (with its name) on first sight.
    fn thread(&mut self) -> usize {
        let number = super::thread_number();
        if let Some(&index) = self.thread_index.get(&number) {
            return index;
        }
        let index = self.threads.len();
        let current = std::thread::current();
        self.threads.push(current.name().map_or_else(|| format!("thread-{number}"), str::to_owned));
        self.thread_index.insert(number, index);
        index
    }
}
