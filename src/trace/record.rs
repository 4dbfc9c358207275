//! Events as 16-byte records: what a lane actually stores.
//!
//! **What this teaches.** Memory is part of the cost of recording. A traced poll makes four
//! events (its start, a wake, its end, a re-queue). Stored as a timestamp plus the public
//! [`Kind`] enum, which is as large as its largest variant, that was 160 bytes for a 45 ns
//! poll, and every fresh page of it had to be zeroed by the kernel on first touch: page
//! faults were half the cost of a traced run. Real tracers (ftrace, Perfetto's protobuf
//! packets, Fuchsia's trace records) store small fixed-layout binary records instead.
//!
//! Here the events that make up nearly every trace (a task's spawn, polls, wakes and
//! schedules, a timer firing or being cancelled, and the clones and drops of a task's
//! wakers, which are counted rather than shown) fit in two words:
//!
//! ```text
//! word 0: | tag (8 bits) | clock ticks (56 bits) |
//! word 1: | task (or timer) id (64 bits)          |
//! ```
//!
//! The tag says which event, including the small extras: `Ready` or `Pending`, and the
//! cause of a wake or schedule. A wake (or schedule) by another task names a second task,
//! so it takes two records, the second a [`tag::WAKER`]. Everything else (timers,
//! sockets, parking, stealing: a handful of events per poll of the driver, not per task
//! poll) is stored whole in a second, "cold" log, and its record in the main log is only a
//! [`tag::COLD`] marker: "the next cold event goes here".
//!
//! Rejected alternative: shrinking [`Kind`] itself. It is public, and readable fields
//! (`Option<u64>`, `Option<Duration>`) are worth more to its readers than bytes.
//!
//! Next to read: `log.rs`, where the records go.

use super::event::{Cause, Kind};

/// One stored event (see the module doc for the layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Record {
    head: u64,
    task: u64,
}

/// The tags: which event a [`Record`] holds.
pub(super) mod tag {
    /// The next event of the cold log goes here.
    pub(crate) const COLD: u8 = 0;
    pub(crate) const SPAWN: u8 = 1;
    pub(crate) const POLL_START: u8 = 2;
    pub(crate) const POLL_PENDING: u8 = 3;
    pub(crate) const POLL_READY: u8 = 4;
    /// A wake by another task; the next record (a `WAKER`) names that task.
    pub(crate) const WAKE_BY_TASK: u8 = 5;
    /// A schedule caused by another task; the next record (a `WAKER`) names that task.
    pub(crate) const SCHEDULE_BY_TASK: u8 = 6;
    pub(crate) const WAKER: u8 = 7;
    /// A timer fired; word 1 is the timer, not a task.
    pub(crate) const TIMER_FIRE: u8 = 8;
    /// A timer was cancelled; word 1 is the timer.
    pub(crate) const TIMER_CANCEL: u8 = 9;
    /// One more live waker of the task (not an event: a count, see `Decoded::Waker`).
    pub(crate) const WAKER_CLONE: u8 = 10;
    /// One live waker of the task fewer.
    pub(crate) const WAKER_DROP: u8 = 11;
    /// A wake: plus the cause's code (see `cause_code`).
    pub(crate) const WAKE: u8 = 0x10;
    /// A schedule: plus the cause's code.
    pub(crate) const SCHEDULE: u8 = 0x20;
}

const STAMP_BITS: u32 = 56;
const STAMP_MAX: u64 = (1 << STAMP_BITS) - 1;

/// The causes that need no second task id, as small codes (the rest: `None`).
#[inline]
fn cause_code(cause: Cause) -> Option<u8> {
    Some(match cause {
        Cause::Spawned => 0,
        Cause::SelfWake => 1,
        Cause::Timer => 2,
        Cause::Reactor => 3,
        Cause::Runtime => 4,
        Cause::Foreign => 5,
        Cause::Budget => 6,
        Cause::Task(_) => return None,
    })
}

fn cause_of(code: u8) -> Cause {
    const CAUSES: [Cause; 7] = [
        Cause::Spawned,
        Cause::SelfWake,
        Cause::Timer,
        Cause::Reactor,
        Cause::Runtime,
        Cause::Foreign,
        Cause::Budget,
    ];
    CAUSES[usize::from(code)]
}

impl Record {
    #[inline]
    fn new(tag: u8, at: u64, task: u64) -> Record {
        // 2^56 ticks is about 300 days of a 3 GHz counter; a later stamp stays at the last.
        Record { head: u64::from(tag) << STAMP_BITS | at.min(STAMP_MAX), task }
    }

    fn tag(self) -> u8 {
        (self.head >> STAMP_BITS) as u8
    }

    fn at(self) -> u64 {
        self.head & STAMP_MAX
    }

    /// The marker for an event stored in the cold log.
    pub(super) fn cold() -> Record {
        Record::new(tag::COLD, 0, 0)
    }

    /// A waker of `task` was cloned (`cloned`) or dropped. No timestamp: only counted.
    #[inline]
    pub(super) fn waker(task: u64, cloned: bool) -> Record {
        Record::new(if cloned { tag::WAKER_CLONE } else { tag::WAKER_DROP }, 0, task)
    }

    /// `task` was spawned.
    #[inline]
    pub(super) fn spawn(at: u64, task: u64) -> Record {
        Record::new(tag::SPAWN, at, task)
    }

    /// A poll of `task` started.
    #[inline]
    pub(super) fn poll_start(at: u64, task: u64) -> Record {
        Record::new(tag::POLL_START, at, task)
    }

    /// A poll of `task` returned `Ready` (`ready`) or `Pending`.
    #[inline]
    pub(super) fn poll_end(at: u64, task: u64, ready: bool) -> Record {
        Record::new(if ready { tag::POLL_READY } else { tag::POLL_PENDING }, at, task)
    }

    /// `cause` woke `task`: one record, or two if the cause is another task.
    #[inline]
    pub(super) fn wake(at: u64, task: u64, cause: Cause) -> (Record, Option<Record>) {
        Record::caused(tag::WAKE, tag::WAKE_BY_TASK, at, task, cause)
    }

    /// `task` was queued because of `cause`.
    #[inline]
    pub(super) fn schedule(at: u64, task: u64, cause: Cause) -> (Record, Option<Record>) {
        Record::caused(tag::SCHEDULE, tag::SCHEDULE_BY_TASK, at, task, cause)
    }

    #[inline]
    fn caused(base: u8, by_task: u8, at: u64, task: u64, cause: Cause) -> (Record, Option<Record>) {
        match cause_code(cause) {
            Some(code) => (Record::new(base + code, at, task), None),
            None => {
                let Cause::Task(waker) = cause else { unreachable!("only a task has no code") };
                (Record::new(by_task, at, task), Some(Record::new(tag::WAKER, at, waker)))
            }
        }
    }

    /// `kind` at `at` as one record, or two (a wake by another task); `None`: it goes to
    /// the cold log.
    pub(super) fn encode(at: u64, kind: &Kind) -> Option<(Record, Option<Record>)> {
        Some(match *kind {
            Kind::Spawn { task } => (Record::spawn(at, task), None),
            Kind::PollStart { task } => (Record::poll_start(at, task), None),
            Kind::PollEnd { task, ready } => (Record::poll_end(at, task, ready), None),
            Kind::Wake { task, cause } => Record::wake(at, task, cause),
            Kind::Schedule { task, cause } => Record::schedule(at, task, cause),
            Kind::TimerFire { timer } => (Record::new(tag::TIMER_FIRE, at, timer), None),
            Kind::TimerCancel { timer } => (Record::new(tag::TIMER_CANCEL, at, timer), None),
            _ => return None,
        })
    }
}

/// What a record decodes to.
#[derive(Debug, PartialEq)]
pub(super) enum Decoded {
    /// An event at a tick stamp.
    Event(u64, Kind),
    /// A waker of `task` was cloned (`cloned`) or dropped.
    Waker { task: u64, cloned: bool },
}

/// Turns a lane's records (a published prefix) back into events, taking the cold events
/// from `cold` in order. Stops early at a wake whose second record is not published yet.
pub(super) fn decode(records: &[Record], cold: &[(u64, Kind)], mut f: impl FnMut(Decoded)) {
    let mut cold = cold.iter();
    let mut records = records.iter().copied().peekable();
    while let Some(record) = records.next() {
        let (at, task) = (record.at(), record.task);
        let kind = match record.tag() {
            tag::COLD => match cold.next() {
                Some((at, kind)) => {
                    f(Decoded::Event(*at, kind.clone()));
                    continue;
                }
                None => return, // cannot happen: a cold event is published before its marker
            },
            tag::SPAWN => Kind::Spawn { task },
            tag::POLL_START => Kind::PollStart { task },
            tag::POLL_PENDING => Kind::PollEnd { task, ready: false },
            tag::POLL_READY => Kind::PollEnd { task, ready: true },
            tag::TIMER_FIRE => Kind::TimerFire { timer: task },
            tag::TIMER_CANCEL => Kind::TimerCancel { timer: task },
            t @ (tag::WAKER_CLONE | tag::WAKER_DROP) => {
                f(Decoded::Waker { task, cloned: t == tag::WAKER_CLONE });
                continue;
            }
            t @ (tag::WAKE_BY_TASK | tag::SCHEDULE_BY_TASK) => {
                let Some(waker) = records.next_if(|next| next.tag() == tag::WAKER) else {
                    return; // its second half is not published yet
                };
                let cause = Cause::Task(waker.task);
                if t == tag::WAKE_BY_TASK {
                    Kind::Wake { task, cause }
                } else {
                    Kind::Schedule { task, cause }
                }
            }
            t if t & 0xf0 == tag::WAKE => Kind::Wake { task, cause: cause_of(t - tag::WAKE) },
            t if t & 0xf0 == tag::SCHEDULE => Kind::Schedule { task, cause: cause_of(t - tag::SCHEDULE) },
            other => unreachable!("no record has tag {other:#x}"),
        };
        f(Decoded::Event(at, kind));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stores `events` the way a lane does (plus a waker clone and drop), then decodes them.
    fn round_trip(events: &[(u64, Kind)]) -> Vec<(u64, Kind)> {
        let (mut records, mut cold) = (Vec::new(), Vec::new());
        for (at, kind) in events {
            match Record::encode(*at, kind) {
                Some((first, second)) => records.extend(std::iter::once(first).chain(second)),
                None => {
                    cold.push((*at, kind.clone()));
                    records.push(Record::cold());
                }
            }
        }
        records.insert(1, Record::waker(3, true));
        records.push(Record::waker(3, false));
        let (mut out, mut wakers) = (Vec::new(), Vec::new());
        decode(&records, &cold, |decoded| match decoded {
            Decoded::Event(at, kind) => out.push((at, kind)),
            Decoded::Waker { task, cloned } => wakers.push((task, cloned)),
        });
        assert_eq!(wakers, [(3, true), (3, false)]);
        out
    }

    #[test]
    fn every_kind_survives_the_round_trip() {
        let causes = [
            Cause::Spawned,
            Cause::Budget,
            Cause::Task(7),
            Cause::SelfWake,
            Cause::Timer,
            Cause::Reactor,
            Cause::Runtime,
            Cause::Foreign,
        ];
        let mut events = vec![
            (1, Kind::Spawn { task: 3 }),
            (2, Kind::PollStart { task: u64::MAX }),
            (3, Kind::PollEnd { task: 3, ready: false }),
            (4, Kind::PollEnd { task: 3, ready: true }),
            (5, Kind::TimerInsert { timer: 9, deadline: 40, slot: Some((1, 2)) }),
            (6, Kind::IoInterest { task: None, source: 4, interest: super::super::Interest::Writable }),
            (7, Kind::ReactorWait { timeout: Some(std::time::Duration::from_millis(3)) }),
            (8, Kind::TimerFire { timer: 11 }),
            (9, Kind::TimerCancel { timer: 12 }),
            (9, Kind::Cancel { task: 3 }),
            (STAMP_MAX, Kind::Park),
        ];
        for (n, cause) in causes.into_iter().enumerate() {
            events.push((10 + n as u64, Kind::Wake { task: 5, cause }));
            events.push((20 + n as u64, Kind::Schedule { task: 5, cause }));
        }
        assert_eq!(round_trip(&events), events);
    }

    #[test]
    fn a_half_published_wake_is_left_for_the_next_snapshot() {
        let (first, second) = Record::encode(5, &Kind::Wake { task: 1, cause: Cause::Task(2) }).unwrap();
        let spawn = Record::encode(4, &Kind::Spawn { task: 1 }).unwrap().0;
        let mut seen = Vec::new();
        decode(&[spawn, first], &[], |decoded| seen.push(decoded));
        assert_eq!(seen, [Decoded::Event(4, Kind::Spawn { task: 1 })]);
        assert!(second.is_some());
    }

    #[test]
    fn a_record_is_two_words() {
        assert_eq!(std::mem::size_of::<Record>(), 16);
    }
}
