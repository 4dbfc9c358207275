//! The recorder: one buffer ("lane") per thread, merged into one story at snapshot time.
//!
//! **What this teaches.** How to record from many threads without disturbing what you
//! record. A hook pushes ~50 bytes of plain numbers onto *its own thread's* lane, under a
//! mutex that nobody else takes until a snapshot: no cache line bounces between workers.
//! Everything that needs the whole picture — task names, poll counts and durations, which
//! wake led to which schedule — is derived from the merged events by [`Recorder::snapshot`],
//! so the hot path updates no shared table at all.
//!
//! Rejected alternative (the first version): one `Mutex<Vec<Event>>` and a live task table
//! per runtime. It gives a total order for free, but two busy workers then fight over one
//! lock for every event, which made a traced multi-thread benchmark ten times slower.
//!
//! **Merging.** Each lane is already in its thread's order. Lanes are merged by timestamp,
//! never reordering a lane: a wake inside a poll carries the poll's start time (no clock
//! read), so a lane's stamps are first made non-decreasing (a running maximum) and the sort
//! is stable. A wake is always stamped before the poll it causes begins, so across threads
//! the merge keeps cause before effect.
//!
//! Next to read: `hooks.rs`, what the runtime calls.

use super::event::{Cause, Event, Kind};
use super::{TaskInfo, Trace};
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::panic::Location;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// After this many events a lane stops storing (and counts what it dropped), so a long
/// traced run cannot eat all memory. At ~56 bytes an event this is ~220 MB per thread.
const MAX_EVENTS: usize = 4_000_000;

/// How a task is named, kept cheap until a snapshot renders it.
#[derive(Debug, Clone)]
enum Name {
    Given(Box<str>),
    At(&'static Location<'static>),
}

/// What one thread recorded for one recorder.
#[derive(Debug, Default)]
struct Lane {
    thread: String,
    events: Vec<(Duration, Kind)>,
    dropped: usize,
    /// Tasks spawned from this thread.
    names: Vec<(u64, Name)>,
    /// Task → (waker clones, waker drops) seen on this thread.
    wakers: HashMap<u64, (u64, u64)>,
}

type SharedLane = Arc<Mutex<Lane>>;

/// Everything one traced runtime recorded so far.
#[derive(Debug)]
pub(crate) struct Recorder {
    /// A process-unique number (never reused, unlike an address) for the lane cache.
    id: usize,
    start: Instant,
    /// Every lane, in the order threads first recorded. Locked only to add a lane and to
    /// take a snapshot.
    lanes: Mutex<Vec<(std::thread::ThreadId, SharedLane)>>,
    /// Where to write the exports when the runtime is dropped (`CLOCKWORK_TRACE`).
    pub(crate) export_dir: Option<PathBuf>,
}

std::thread_local! {
    /// This thread's lane in the recorder it last wrote to: `(recorder id, lane)`.
    static LANE: RefCell<Option<(usize, SharedLane)>> = const { RefCell::new(None) };
}

/// A poisoned lock still holds consistent data here: each operation is one push or bump.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Recorder {
    pub(crate) fn new(export_dir: Option<PathBuf>) -> Recorder {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let id = NEXT.fetch_add(1, Relaxed);
        Recorder { id, start: Instant::now(), lanes: Mutex::new(Vec::new()), export_dir }
    }

    /// Time since the recorder started (one clock read).
    pub(crate) fn now(&self) -> Duration {
        self.start.elapsed()
    }

    /// Runs `f` on this thread's lane, creating (or finding again) the lane on a cache miss.
    /// During thread teardown (the thread-local is gone) the event is dropped.
    fn with_lane(&self, f: impl FnOnce(&mut Lane)) {
        let _ = LANE.try_with(|cache| {
            let mut cache = cache.borrow_mut();
            let hit = matches!(&*cache, Some((id, _)) if *id == self.id);
            if !hit {
                *cache = Some((self.id, self.lane_of_this_thread()));
            }
            let (_, lane) = cache.as_ref().expect("just filled");
            let mut lane = lock(lane);
            f(&mut lane);
        });
    }

    fn lane_of_this_thread(&self) -> SharedLane {
        let me = std::thread::current();
        let mut lanes = lock(&self.lanes);
        if let Some((_, lane)) = lanes.iter().find(|(id, _)| *id == me.id()) {
            return lane.clone();
        }
        let thread = me.name().map_or_else(|| format!("{:?}", me.id()), str::to_owned);
        let lane = Arc::new(Mutex::new(Lane { thread, ..Lane::default() }));
        lanes.push((me.id(), lane.clone()));
        lane
    }

    /// Appends one event at time `at`.
    pub(crate) fn record_at(&self, at: Duration, kind: Kind) {
        self.with_lane(|lane| lane.push(at, kind));
    }

    /// Appends one event, stamped now.
    pub(crate) fn record(&self, kind: Kind) {
        self.record_at(self.now(), kind);
    }

    /// A task was spawned: remember its name, then record the spawn (and, if `queued`, its
    /// first schedule, with the same clock reading).
    pub(crate) fn spawn(&self, task: u64, given: Option<&str>, at: &'static Location<'static>, queued: bool) {
        let name = given.map_or(Name::At(at), |n| Name::Given(n.into()));
        let now = self.now();
        self.with_lane(|lane| {
            lane.names.push((task, name));
            lane.push(now, Kind::Spawn { task });
            if queued {
                lane.push(now, Kind::Schedule { task, cause: Cause::Spawned });
            }
        });
    }

    /// A waker of `task` was called by `cause`; `consumed`: by value (also a drop).
    pub(crate) fn wake(&self, at: Duration, task: u64, cause: Cause, consumed: bool) {
        self.with_lane(|lane| {
            lane.wakers.entry(task).or_default().1 += u64::from(consumed);
            lane.push(at, Kind::Wake { task, cause });
        });
    }

    /// `task` entered a run queue; the snapshot fills in the cause from its latest wake.
    pub(crate) fn schedule(&self, at: Duration, task: u64) {
        self.record_at(at, Kind::Schedule { task, cause: Cause::Runtime });
    }

    /// Counts a waker clone or drop of `task`.
    pub(crate) fn waker_count(&self, task: u64, cloned: bool) {
        self.with_lane(|lane| {
            let counts = lane.wakers.entry(task).or_default();
            if cloned {
                counts.0 += 1;
            } else {
                counts.1 += 1;
            }
        });
    }

    /// A copy of everything recorded so far, merged and summarised.
    pub(crate) fn snapshot(&self) -> Trace {
        let lanes: Vec<SharedLane> = lock(&self.lanes).iter().map(|(_, lane)| lane.clone()).collect();
        let mut trace = Trace::default();
        let mut merged = Vec::new();
        for (index, lane) in lanes.iter().enumerate() {
            let lane = lock(lane);
            trace.threads.push(lane.thread.clone());
            trace.dropped_events += lane.dropped;
            for (id, name) in &lane.names {
                let name = match name {
                    Name::Given(name) => name.to_string(),
                    Name::At(at) => format!("{}:{}", at.file(), at.line()),
                };
                trace.tasks.insert(*id, TaskInfo { name, ..TaskInfo::default() });
            }
            let mut key = Duration::ZERO;
            for (n, (at, kind)) in lane.events.iter().enumerate() {
                key = key.max(*at); // never reorder a lane (see the module doc)
                merged.push((key, index, n, Event { at: *at, thread: index, kind: kind.clone() }));
            }
            for (task, (clones, drops)) in &lane.wakers {
                merged_counts(&mut trace.tasks, *task, *clones, *drops);
            }
        }
        merged.sort_by_key(|&(key, lane, n, _)| (key, lane, n));
        trace.events = merged.into_iter().map(|(.., event)| event).collect();
        summarise(&mut trace);
        trace
    }
}

impl Lane {
    fn push(&mut self, at: Duration, kind: Kind) {
        if self.events.len() >= MAX_EVENTS {
            self.dropped += 1;
            return;
        }
        self.events.push((at, kind));
    }
}

/// Adds one lane's waker counts to a task (counts for foreign tasks are ignored).
fn merged_counts(tasks: &mut BTreeMap<u64, TaskInfo>, task: u64, clones: u64, drops: u64) {
    if let Some(info) = tasks.get_mut(&task) {
        info.waker_clones += clones;
        info.waker_drops += drops;
    }
}

/// Drops events of tasks this runtime never spawned (a waker of another runtime's task
/// called on one of our threads), fills in each schedule's cause, and counts polls and
/// wakes per task.
fn summarise(trace: &mut Trace) {
    let mut last_cause: HashMap<u64, Cause> = HashMap::new();
    let mut poll_start: HashMap<u64, Duration> = HashMap::new();
    let tasks = &mut trace.tasks;
    trace.events.retain_mut(|event| {
        let Some(task) = task_of(&event.kind) else { return true };
        let Some(info) = tasks.get_mut(&task) else { return false };
        match &mut event.kind {
            Kind::Spawn { .. } => drop(last_cause.insert(task, Cause::Spawned)),
            Kind::Wake { cause, .. } => {
                info.wakes += 1;
                info.self_wakes += u64::from(*cause == Cause::SelfWake);
                last_cause.insert(task, *cause);
            }
            Kind::Schedule { cause, .. } => *cause = last_cause.get(&task).copied().unwrap_or(Cause::Runtime),
            Kind::PollStart { .. } => drop(poll_start.insert(task, event.at)),
            Kind::PollEnd { ready, .. } => {
                let took =
                    poll_start.remove(&task).map_or(Duration::ZERO, |start| event.at.saturating_sub(start));
                info.polls += 1;
                info.longest_poll = info.longest_poll.max(took);
                info.completed = *ready;
            }
            _ => {}
        }
        true
    });
}

/// The task an event is about, for the task-level events.
fn task_of(kind: &Kind) -> Option<u64> {
    match *kind {
        Kind::Spawn { task }
        | Kind::Wake { task, .. }
        | Kind::Schedule { task, .. }
        | Kind::PollStart { task }
        | Kind::PollEnd { task, .. } => Some(task),
        _ => None,
    }
}
