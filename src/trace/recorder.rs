//! The recorder: one mutex-protected `Vec` of compact events per runtime, plus a task table.
//!
//! **What this teaches.** How to record from many threads without disturbing what you
//! record. Each event is ~40 bytes of plain numbers pushed under one short lock; names and
//! sentences are built only after the run, by the exporters. The task table is a hash map
//! with a trivial hasher (task ids are already unique integers), and each thread caches its
//! lane number, so a hook costs a lock, a push and, at most, one clock read.
//!
//! Rejected alternative: per-thread buffers merged at the end. They avoid the lock, but
//! the merge must sort by timestamp (and clocks of different cores can disagree by a few
//! nanoseconds, reordering a wake after the poll it caused) and a buffer of a thread that
//! is still running cannot be read by the thread taking the snapshot. One lock gives a
//! single total order for free, which the narration and the exact-sequence tests need; its
//! cost is measured in `DESIGN-trace.md`.
//!
//! Next to read: `hooks.rs`, what the runtime calls.

use super::event::{Cause, Event, Kind};
use super::{TaskInfo, Trace};
use std::cell::Cell;
use std::collections::HashMap;
use std::panic::Location;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// After this many events the recorder stops storing (and counts what it dropped), so a
/// long traced run cannot eat all memory. At ~40 bytes an event this is ~160 MB.
const MAX_EVENTS: usize = 4_000_000;

/// How a task is named, kept cheap until a snapshot renders it.
#[derive(Debug)]
enum Name {
    Given(Box<str>),
    At(&'static Location<'static>),
}

#[derive(Debug)]
struct TaskRecord {
    name: Name,
    info: TaskInfo,
    /// The cause of the latest wake, until the task is queued.
    pending_cause: Cause,
}

/// Everything one traced runtime recorded so far.
#[derive(Debug)]
pub(crate) struct Recorder {
    /// A process-unique number (never reused, unlike an address) for the lane cache.
    id: usize,
    start: Instant,
    inner: Mutex<Inner>,
    /// Where to write the exports when the runtime is dropped (`CLOCKWORK_TRACE`).
    pub(crate) export_dir: Option<PathBuf>,
}

#[derive(Debug, Default)]
struct Inner {
    events: Vec<Event>,
    dropped: usize,
    /// The task table, indexed by `id - first_id`. Task ids are handed out in order, so
    /// this is a dense array read and written almost sequentially. Rejected alternative: a
    /// hash map, whose scattered slots cost a cache miss per event on 100k tasks. Holes
    /// (ids taken by other runtimes meanwhile) are `None`.
    tasks: Vec<Option<TaskRecord>>,
    first_id: u64,
    threads: Vec<String>,
    /// Each thread's lane, for when the `LANE` cache belongs to another recorder.
    lanes: HashMap<std::thread::ThreadId, usize>,
}

std::thread_local! {
    /// This thread's lane in the last recorder it wrote to: `(recorder id, lane)`.
    static LANE: Cell<(usize, usize)> = const { Cell::new((0, 0)) };
}

impl Recorder {
    pub(crate) fn new(export_dir: Option<PathBuf>) -> Recorder {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let id = NEXT.fetch_add(1, Relaxed);
        Recorder { id, start: Instant::now(), inner: Mutex::new(Inner::default()), export_dir }
    }

    /// Time since the recorder started (one clock read).
    pub(crate) fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Locks the data and finds this thread's lane.
    fn lock(&self) -> (std::sync::MutexGuard<'_, Inner>, usize) {
        // A panic while holding this lock cannot leave the data half-written (each
        // operation is a push or a counter bump), so a poisoned lock is still usable.
        let mut inner = self.inner.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let lane = match LANE.with(Cell::get) {
            (owner, lane) if owner == self.id => lane,
            _ => {
                let lane = inner.new_lane();
                LANE.with(|l| l.set((self.id, lane)));
                lane
            }
        };
        (inner, lane)
    }

    /// Appends one event at time `at`.
    pub(crate) fn record_at(&self, at: Duration, kind: Kind) {
        let (mut inner, lane) = self.lock();
        inner.push(at, lane, kind);
    }

    /// Appends one event, stamped now.
    pub(crate) fn record(&self, kind: Kind) {
        self.record_at(self.now(), kind);
    }

    /// A task was spawned: remember its name, then record the spawn (and, if `queued`, its
    /// first schedule, with the same clock reading and lock).
    pub(crate) fn spawn(&self, task: u64, given: Option<&str>, at: &'static Location<'static>, queued: bool) {
        let name = given.map_or(Name::At(at), |n| Name::Given(n.into()));
        let record = TaskRecord { name, info: TaskInfo::default(), pending_cause: Cause::Spawned };
        let now = self.now();
        let (mut inner, lane) = self.lock();
        *inner.slot(task) = Some(record);
        inner.push(now, lane, Kind::Spawn { task });
        if queued {
            inner.push(now, lane, Kind::Schedule { task, cause: Cause::Spawned });
        }
    }

    /// A waker of `task` was called by `cause`. Returns `false` if the task is not ours.
    pub(crate) fn wake(&self, at: Duration, task: u64, cause: Cause, consumed: bool) -> bool {
        let (mut inner, lane) = self.lock();
        let Some(record) = inner.task(task) else { return false };
        record.pending_cause = cause;
        record.info.wakes += 1;
        record.info.self_wakes += u64::from(cause == Cause::SelfWake);
        record.info.waker_drops += u64::from(consumed);
        inner.push(at, lane, Kind::Wake { task, cause });
        true
    }

    /// `task` entered a run queue, because of its latest wake.
    pub(crate) fn schedule(&self, at: Duration, task: u64) {
        let (mut inner, lane) = self.lock();
        let cause = inner.task(task).map_or(Cause::Runtime, |r| r.pending_cause);
        inner.push(at, lane, Kind::Schedule { task, cause });
    }

    /// Counts a waker clone or drop of `task`. Returns `false` if the task is not ours.
    pub(crate) fn waker_count(&self, task: u64, cloned: bool) -> bool {
        let (mut inner, _) = self.lock();
        let Some(record) = inner.task(task) else { return false };
        if cloned {
            record.info.waker_clones += 1;
        } else {
            record.info.waker_drops += 1;
        }
        true
    }

    /// The poll of `task` that started at `start` ended at `end`.
    pub(crate) fn poll_end(&self, start: Duration, end: Duration, task: u64, ready: bool) {
        let (mut inner, lane) = self.lock();
        if let Some(record) = inner.task(task) {
            record.info.polls += 1;
            record.info.longest_poll = record.info.longest_poll.max(end.saturating_sub(start));
            record.info.completed = ready;
        }
        inner.push(end, lane, Kind::PollEnd { task, ready });
    }

    /// A copy of everything recorded so far.
    pub(crate) fn snapshot(&self) -> Trace {
        let (inner, _) = self.lock();
        let first = inner.first_id;
        let records = inner.tasks.iter().enumerate();
        let tasks = records.filter_map(|(i, r)| Some((first + i as u64, r.as_ref()?))).map(|(id, record)| {
            let name = match &record.name {
                Name::Given(name) => name.to_string(),
                Name::At(at) => format!("{}:{}", at.file(), at.line()),
            };
            (id, TaskInfo { name, ..record.info.clone() })
        });
        Trace {
            events: inner.events.clone(),
            tasks: tasks.collect(),
            threads: inner.threads.clone(),
            dropped_events: inner.dropped,
        }
    }
}

impl Inner {
    /// The record of `task`, if it was spawned on this recorder's runtime.
    fn task(&mut self, task: u64) -> Option<&mut TaskRecord> {
        let index = usize::try_from(task.checked_sub(self.first_id)?).ok()?;
        self.tasks.get_mut(index)?.as_mut()
    }

    /// The (new) slot for `task`. Ids grow, but two threads spawning at once may report
    /// them out of order, so an id below the base shifts the table (rare, and cheap then).
    fn slot(&mut self, task: u64) -> &mut Option<TaskRecord> {
        if self.tasks.is_empty() {
            self.first_id = task;
        } else if task < self.first_id {
            let shift = usize::try_from(self.first_id - task).expect("task ids fit in memory");
            self.tasks.splice(0..0, std::iter::repeat_with(|| None).take(shift));
            self.first_id = task;
        }
        let index = usize::try_from(task - self.first_id).expect("task ids fit in memory");
        if index >= self.tasks.len() {
            self.tasks.resize_with(index + 1, || None);
        }
        &mut self.tasks[index]
    }

    fn push(&mut self, at: Duration, thread: usize, kind: Kind) {
        if self.events.len() >= MAX_EVENTS {
            self.dropped += 1;
            return;
        }
        self.events.push(Event { at, thread, kind });
    }

    /// The calling thread's lane, registering it (by name) on first sight.
    fn new_lane(&mut self) -> usize {
        let current = std::thread::current();
        if let Some(&lane) = self.lanes.get(&current.id()) {
            return lane;
        }
        let name = current.name().map_or_else(|| format!("{:?}", current.id()), str::to_owned);
        self.threads.push(name);
        self.lanes.insert(current.id(), self.threads.len() - 1);
        self.threads.len() - 1
    }
}
