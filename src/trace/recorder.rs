//! The recorder: one buffer ("lane") per thread, merged into one story at snapshot time.
//!
//! **What this teaches.** How to record from many threads without disturbing what you
//! record. A hook appends a 16-byte record (`record.rs`) to *its own thread's* lane, an
//! append-only log that only that thread writes and that needs no lock (`log.rs`): no lock,
//! no atomic read-modify-write, no cache line shared with another worker. Everything that
//! needs the whole picture — task names, poll counts and durations, which wake led to which
//! schedule — is derived from the merged events by [`Recorder::snapshot`], so the hot path
//! updates no shared table at all, and takes no lock: even waker clones and drops are
//! records, summed per task by the snapshot.
//!
//! Rejected alternatives: one `Mutex<Vec<Event>>` and a live task table per runtime (the
//! first version: a total order for free, but two busy workers fought over one lock for
//! every event, and a traced multi-thread benchmark ran ten times slower); then a
//! `Mutex<Vec>` per lane (no contention, but still two atomic operations per event and a
//! copy of the whole buffer each time it grew: 5× slower traced than untraced).
//!
//! **Merging.** Each lane is already in its thread's order. Lanes are merged by timestamp,
//! never reordering a lane: a wake inside a poll carries the poll's start time (no clock
//! read), so a lane's stamps are first made non-decreasing (a running maximum) and the sort
//! is stable. A wake is always stamped before the poll it causes begins, so across threads
//! the merge keeps cause before effect.
//!
//! Next to read: `summary.rs`, what a snapshot derives.

use super::clock::Clock;
use super::event::{Cause, Event, Kind};
use super::hooks::FirstEntry;
use super::log::{Log, Spares, LARGEST_CHUNK};
use super::record::{self, Decoded, Record};
use super::summary;
use super::{TaskInfo, Trace};
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::Location;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// After this many records a lane stops storing (and counts the events it dropped), so a
/// long traced run cannot eat all memory: 64 MB of 16-byte records per thread, plus at most
/// as many cold events (see `record.rs`).
const MAX_EVENTS: usize = 4_000_000;

/// The first chunk of a lane's cold and name logs (the main log starts at `FIRST_CHUNK`).
const SMALL_CHUNK: usize = 64;

/// Event storage left by dropped recorders, reused by the next (see "Page faults" in `log.rs`).
static SPARES: Spares<Record> = Mutex::new(Vec::new());
/// The same for cold events (timers inserted, reactor waits: a few per driver turn).
static COLD_SPARES: Spares<(u64, Kind)> = Mutex::new(Vec::new());

/// How a task is named, kept cheap until a snapshot renders it.
#[derive(Debug, Clone)]
enum Name {
    Given(Box<str>),
    At(&'static Location<'static>),
}

/// A hasher for task ids (small, distinct integers), for the snapshot's maps: one
/// multiplication by 2^64/φ, which spreads consecutive ids over the whole table. Rejected
/// alternative: std's default SipHash, built to resist hash flooding by hostile keys, which
/// task ids are not (it was 3 % of a traced benchmark while a map was on the hot path).
#[derive(Default)]
pub(super) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        bytes.iter().for_each(|&b| self.write_u64(u64::from(b)));
    }
    fn write_u64(&mut self, id: u64) {
        self.0 = (self.0 ^ id).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

/// A map keyed by task id, hashed with [`IdHasher`].
pub(super) type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

/// What one thread recorded for one recorder. Written only by that thread (through
/// [`Owned`]), read by snapshots from any thread.
#[derive(Debug)]
struct Lane {
    thread: String,
    /// The events as 16-byte records (see `record.rs`), appended without a lock (`log.rs`).
    events: Log<Record>,
    /// The rare events too large for a record, in order: `(clock ticks, event)`.
    cold: Log<(u64, Kind)>,
    /// Tasks spawned from this thread. Not capped: the task table needs every name.
    /// Each task's name, and whether it is a `spawn_blocking` job.
    names: Log<(u64, Name, bool)>,
}

/// This thread's own lane: the only way to write to a lane. [`Recorder::with_lane`] makes
/// one only from the lane it registered under the current thread's id, so the thread
/// holding an `Owned` is its lane's one writer (what [`Log::push`] requires).
struct Owned<'a>(&'a Lane);

impl Owned<'_> {
    /// Appends an event of one or two records. The second is stored only if the first
    /// was, so a full log drops (and counts) whole events.
    #[inline]
    fn push_records(&self, (first, second): (Record, Option<Record>)) {
        // SAFETY: an `Owned` is only made for the current thread's own lane (see above), so
        // every push on this log is made by this thread; `push` calls no outside code, so
        // pushes never run inside one another either.
        let stored = unsafe { self.0.events.push(first) };
        if let (true, Some(second)) = (stored, second) {
            // SAFETY: as above.
            unsafe { self.0.events.push(second) };
        }
    }

    /// Appends any event: as records (see `record.rs`), or whole in the cold log with a
    /// marker record in the main one.
    fn push(&self, at: u64, kind: Kind) {
        if let Some(records) = Record::encode(at, &kind) {
            return self.push_records(records);
        }
        // SAFETY: as in `push_records`.
        if unsafe { self.0.cold.push((at, kind)) } {
            self.push_records((Record::cold(), None));
        }
    }

    fn name(&self, task: u64, name: Name, blocking: bool) {
        // SAFETY: as in `push_records`.
        let _always = unsafe { self.0.names.push((task, name, blocking)) }; // no cap: always stored
    }

    /// Counts a clone (`cloned`) or a drop of one of `task`'s wakers: a record too.
    /// (A map of counts per lane, the previous way, cost a tenth of a traced run that
    /// creates 100k timers: every task was a new key.)
    fn count_waker(&self, task: u64, cloned: bool) {
        self.push_records((Record::waker(task, cloned), None));
    }
}

/// Everything one traced runtime recorded so far.
#[derive(Debug)]
pub(crate) struct Recorder {
    /// A process-unique number (never reused, unlike an address) for the lane cache.
    id: usize,
    clock: Clock,
    /// Every lane, in the order threads first recorded. Locked only to add a lane and to
    /// take a snapshot.
    lanes: Mutex<Vec<(std::thread::ThreadId, Arc<Lane>)>>,
    /// Where to write the exports when the runtime is dropped (`CLOCKWORK_TRACE`).
    pub(crate) export_dir: Option<PathBuf>,
}

std::thread_local! {
    /// This thread's lane in the recorder it last wrote to: `(recorder id, lane)`.
    static LANE: RefCell<Option<(usize, Arc<Lane>)>> = const { RefCell::new(None) };
}

/// A poisoned lock still holds consistent data here: each operation is one push or bump.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Recorder {
    pub(crate) fn new(export_dir: Option<PathBuf>) -> Recorder {
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let id = NEXT.fetch_add(1, Relaxed);
        Recorder { id, clock: Clock::new(), lanes: Mutex::new(Vec::new()), export_dir }
    }

    /// Clock ticks since the recorder started (one clock read; see `clock.rs`).
    #[inline]
    pub(crate) fn now(&self) -> u64 {
        self.clock.now()
    }

    /// [`now`](Recorder::now), possibly a little early: only for the end of this thread's
    /// own poll (see `clock.rs`).
    #[inline]
    pub(crate) fn now_unordered(&self) -> u64 {
        self.clock.now_unordered()
    }

    /// Runs `f` on this thread's lane, creating (or finding again) the lane on a cache miss.
    /// During thread teardown (the thread-local is gone) the event is dropped.
    #[inline]
    fn with_lane(&self, f: impl FnOnce(&Owned<'_>)) {
        let _ = LANE.try_with(|cache| {
            if let Some((id, lane)) = &*cache.borrow() {
                if *id == self.id {
                    return f(&Owned(lane));
                }
            }
            f(&Owned(&self.cache_lane(cache)));
        });
    }

    /// The cache missed: finds (or makes) this thread's lane and caches it. Out of line, so
    /// the hit path above stays small enough to inline into every hook.
    #[cold]
    #[inline(never)]
    fn cache_lane(&self, cache: &RefCell<Option<(usize, Arc<Lane>)>>) -> Arc<Lane> {
        let lane = self.lane_of_this_thread();
        *cache.borrow_mut() = Some((self.id, lane.clone()));
        lane
    }

    /// The lane registered under this thread's id (one per thread: ids are never reused).
    fn lane_of_this_thread(&self) -> Arc<Lane> {
        let me = std::thread::current();
        let mut lanes = lock(&self.lanes);
        if let Some((_, lane)) = lanes.iter().find(|(id, _)| *id == me.id()) {
            return lane.clone();
        }
        let lane = Arc::new(Lane {
            thread: me.name().map_or_else(|| format!("{:?}", me.id()), str::to_owned),
            events: Log::new(MAX_EVENTS, Some(&SPARES)),
            // Small first chunks: a thread that only ever wakes a task (a plain thread, the
            // blocking pool) gets a lane too, and most lanes see few cold events or spawns.
            cold: Log::with_chunks(SMALL_CHUNK, LARGEST_CHUNK, MAX_EVENTS, Some(&COLD_SPARES)),
            names: Log::with_chunks(SMALL_CHUNK, LARGEST_CHUNK, usize::MAX, None),
        });
        lanes.push((me.id(), lane.clone()));
        lane
    }

    /// Appends one event at time `at`.
    pub(crate) fn record_at(&self, at: u64, kind: Kind) {
        self.with_lane(|lane| lane.push(at, kind));
    }

    /// A poll of `task` started at `at` (the hot path: straight to a record).
    #[inline]
    pub(crate) fn poll_start(&self, at: u64, task: u64) {
        self.with_lane(|lane| lane.push_records((Record::poll_start(at, task), None)));
    }

    /// A poll of `task` returned at `at`.
    #[inline]
    pub(crate) fn poll_end(&self, at: u64, task: u64, ready: bool) {
        self.with_lane(|lane| lane.push_records((Record::poll_end(at, task, ready), None)));
    }

    /// Appends one event, stamped now.
    pub(crate) fn record(&self, kind: Kind) {
        self.record_at(self.now(), kind);
    }

    /// A task was spawned: remember its name, then record the spawn (and, if it went into
    /// a run queue, its first schedule, with the same clock reading).
    pub(crate) fn spawn(
        &self,
        task: u64,
        given: Option<&str>,
        at: &'static Location<'static>,
        first: FirstEntry,
    ) {
        let name = given.map_or(Name::At(at), |n| Name::Given(n.into()));
        let now = self.now();
        self.with_lane(|lane| {
            lane.name(task, name, first == FirstEntry::BlockingPool); // before the events: see `snapshot`
            lane.push_records((Record::spawn(now, task), None));
            if first == FirstEntry::RunQueue {
                lane.push_records(Record::schedule(now, task, Cause::Spawned));
            }
        });
    }

    /// A waker of `task` was called by `cause`; `consumed`: by value (also a drop).
    pub(crate) fn wake(&self, at: u64, task: u64, cause: Cause, consumed: bool) {
        self.with_lane(|lane| {
            lane.push_records(Record::wake(at, task, cause));
            if consumed {
                lane.count_waker(task, false);
            }
        });
    }

    /// `task` entered a run queue; the snapshot fills in the cause from its latest wake.
    pub(crate) fn schedule(&self, at: u64, task: u64) {
        self.with_lane(|lane| lane.push_records(Record::schedule(at, task, Cause::Runtime)));
    }

    /// Counts a waker clone or drop of `task`.
    pub(crate) fn waker_count(&self, task: u64, cloned: bool) {
        self.with_lane(|lane| lane.count_waker(task, cloned));
    }

    /// A copy of everything recorded so far, merged and summarised. The recording threads
    /// go on meanwhile: each lane contributes what it had published when it was read.
    pub(crate) fn snapshot(&self) -> Trace {
        let lanes: Vec<Arc<Lane>> = lock(&self.lanes).iter().map(|(_, lane)| lane.clone()).collect();
        let (mut trace, scale) = (Trace::default(), self.clock.scale());
        let (mut merged, mut wakers) = (Vec::new(), IdMap::<(u64, u64)>::default());
        for (index, lane) in lanes.iter().enumerate() {
            trace.threads.push(lane.thread.clone());
            let (mut records, mut cold) = (Vec::new(), Vec::new());
            lane.events.for_each(|record| records.push(*record));
            // After the records: every cold event that a marker read above points to is
            // published before its marker, so it is found here.
            lane.cold.for_each(|event| cold.push(event.clone()));
            let (mut key, mut n) = (0, 0);
            record::decode(&records, &cold, |decoded| match decoded {
                Decoded::Event(at, kind) => {
                    key = key.max(at); // never reorder a lane (see the module doc)
                    let event = Event { at: Duration::from_nanos(scale.nanos(at)), thread: index, kind };
                    merged.push((key, index, n, event));
                    n += 1;
                }
                Decoded::Waker { task, cloned } => {
                    let counts = wakers.entry(task).or_default();
                    *if cloned { &mut counts.0 } else { &mut counts.1 } += 1;
                }
            });
            trace.dropped_events += lane.events.dropped() + lane.cold.dropped();
        }
        // Names after all events: a task's name is pushed before anything about it is
        // recorded, so every task an event mentions is found (on whichever lane spawned it).
        for lane in &lanes {
            lane.names.for_each(|(id, name, blocking)| {
                let name = match name {
                    Name::Given(name) => name.to_string(),
                    Name::At(at) => format!("{}:{}", at.file(), at.line()),
                };
                trace.tasks.insert(*id, TaskInfo { name, blocking: *blocking, ..TaskInfo::default() });
            });
        }
        for (task, (clones, drops)) in wakers {
            summary::merged_counts(&mut trace.tasks, task, clones, drops);
        }
        merged.sort_by_key(|&(key, lane, n, _)| (key, lane, n));
        trace.events = merged.into_iter().map(|(.., event)| event).collect();
        summary::summarise(&mut trace);
        trace
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A lane of this test's thread whose logs hold `records` records and `cold` events.
    fn small_lane(records: usize, cold: usize) -> Lane {
        Lane {
            thread: "test".into(),
            events: Log::with_chunks(1, 2, records, None),
            cold: Log::with_chunks(1, 2, cold, None),
            names: Log::new(usize::MAX, None),
        }
    }

    /// What a snapshot would read from `lane`, and how many events it dropped.
    fn read(lane: &Lane) -> (Vec<(u64, Kind)>, usize) {
        let (mut records, mut cold, mut events) = (Vec::new(), Vec::new(), Vec::new());
        lane.events.for_each(|record| records.push(*record));
        lane.cold.for_each(|event| cold.push(event.clone()));
        record::decode(&records, &cold, |decoded| {
            if let Decoded::Event(at, kind) = decoded {
                events.push((at, kind));
            }
        });
        (events, lane.events.dropped() + lane.cold.dropped())
    }

    /// The `MAX_EVENTS` behaviour, on a tiny lane: a full log keeps whole events only (never
    /// the first half of a two-record wake, never a marker without its cold event) and
    /// counts every event it lost exactly once.
    #[test]
    fn a_full_lane_drops_whole_events_and_counts_each_once() {
        let lane = small_lane(4, 1);
        let owned = Owned(&lane); // the lane was made on this thread: it is the only writer
        owned.push(1, Kind::PollStart { task: 1 }); // record 1
        owned.push(2, Kind::Park); // the cold event, and its marker: record 2
        owned.push(3, Kind::Unpark); // the cold log is full: dropped
        owned.push_records(Record::wake(4, 2, Cause::Task(1))); // records 3 and 4
        owned.push_records(Record::wake(5, 2, Cause::Task(1))); // dropped
        owned.push(6, Kind::PollEnd { task: 1, ready: true }); // dropped
        let wake = Kind::Wake { task: 2, cause: Cause::Task(1) };
        assert_eq!(read(&lane), (vec![(1, Kind::PollStart { task: 1 }), (2, Kind::Park), (4, wake)], 3));

        let lane = small_lane(1, 1);
        Owned(&lane).push_records(Record::wake(7, 2, Cause::Task(1))); // only its first half fits
        assert_eq!(read(&lane), (vec![], 1), "half an event is no event, counted once");
    }
}
