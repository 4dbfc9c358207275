//! Chrome trace-event JSON, the format Perfetto (<https://ui.perfetto.dev>) and
//! `chrome://tracing` open.
//!
//! **What this teaches.** The format is a flat list of objects with a phase `ph`:
//! `"M"` names the process and each thread track, `"X"` is a slice with a start `ts` and a
//! duration `dur` (both in **microseconds**: there is no unit field; `displayTimeUnit` only
//! picks how a viewer prints times, and some Perfetto versions misread it as the unit of
//! `ts`, so it is left out), `"i"` is an instant, and `"s"`/`"f"` are the two ends of a flow
//! arrow. A viewer matches the ends by `id`, `cat` and `name` together, and draws the arrow
//! between *slices*: the start binds to the slice open on its thread at its `ts`; the end,
//! with `"bp": "e"`, to the slice enclosing it (without it, to the next slice that begins).
//!
//! So each wake must sit inside a slice. A wake made during a poll (a task woke another, or
//! itself) starts its arrow on that poll's slice; any other wake (the reactor, the timer
//! wheel, the runtime, a foreign thread) gets a short `wake` slice of its own, kept clear
//! of the next slice on its thread so that slices always nest. The arrow ends on the poll
//! the wake caused. Poll slices, wake slices and arrows share the category `task`: Chrome's
//! DevTools binds a flow event only to a slice of its own category, thread and time.
//!
//! **Order matters.** Perfetto reads events in time order and binds a flow end the moment
//! it reads it, so at equal `ts` the slice must come first. Older versions break ties by
//! file position, newer ones put longer slices first; this file is written already sorted
//! (time, then slices longest first, then the rest) so both agree. `tid`s start at 1:
//! Perfetto keeps thread 0 for the kernel's idle task.
//!
//! Written by hand (no serde): the only escaping needed is in task and thread names.
//!
//! Next to read: `svg.rs`.

use super::event::{Event, Kind};
use super::Trace;
use std::cmp::Reverse;
use std::collections::HashMap;
use std::fmt::Write;

/// The longest `wake` slice drawn for a wake outside any poll (in nanoseconds).
const WAKE_SLICE_NS: u64 = 500;

/// Escapes `s` for a JSON string literal.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// A short name for an instant event (what Perfetto shows on the track).
fn instant_label(trace: &Trace, kind: &Kind) -> String {
    match *kind {
        Kind::Spawn { task } => format!("spawn task {task} {}", trace.task_name(task)),
        Kind::Schedule { task, cause } => format!("queue task {task}: {cause}"),
        Kind::Cancel { task } => format!("cancel task {task}"),
        Kind::TimerInsert { deadline, .. } => format!("timer inserted (tick {deadline})"),
        Kind::TimerCancel { .. } => "timer cancelled".to_owned(),
        Kind::TimerCascade { level, slot } => format!("wheel cascade (level {level}, slot {slot})"),
        Kind::TimerFire { .. } => "timer fired".to_owned(),
        Kind::NextTimer { deadline, .. } => format!("next timer at tick {deadline}"),
        Kind::IoRegister { fd, .. } => format!("register fd {fd}"),
        Kind::IoInterest { interest, .. } => format!("wait for {interest}"),
        Kind::IoReady { readable, writable, .. } => format!("ready (read {readable}, write {writable})"),
        Kind::Park => "park".to_owned(),
        Kind::Unpark => "unpark".to_owned(),
        Kind::Steal { from, count } => format!("steal {count} from worker {from}"),
        ref other => format!("{other:?}"),
    }
}

/// Nanoseconds as the format's microseconds, exactly (`12.345`).
fn micros(ns: u64) -> String {
    format!("{}.{:03}", ns / 1000, ns % 1000)
}

/// When event `at` happened, in nanoseconds since the recorder started.
fn nanos(at: std::time::Duration) -> u64 {
    at.as_nanos() as u64
}

/// One JSON object, with the key it is sorted by (see "Order matters" above).
struct Item {
    ts: u64,
    /// 0 for a slice, 1 for anything else: at equal times, slices first.
    class: u8,
    /// Longer slices first, so a parent is open before its child binds anything.
    longer_first: Reverse<u64>,
    json: String,
}

/// The JSON objects of one trace, collected in event order and sorted at the end.
#[derive(Default)]
struct Items(Vec<Item>);

impl Items {
    /// A complete slice (`"X"`) on thread `tid`; `rest` holds its other fields.
    fn slice(&mut self, ts: u64, dur: u64, tid: usize, rest: &str) {
        let dur = dur.max(1); // a zero-length slice would enclose nothing
        let (t, d) = (micros(ts), micros(dur));
        let json = format!(r#"{{"ph":"X","ts":{t},"dur":{d},"pid":1,"tid":{tid},{rest}}}"#);
        self.0.push(Item { ts, class: 0, longer_first: Reverse(dur), json });
    }

    /// Any other event at `ts` on thread `tid` (instants, flow ends): `fields` starts with `ph`.
    fn other(&mut self, ts: u64, tid: usize, fields: &str) {
        let json = format!(r#"{{{fields},"ts":{},"pid":1,"tid":{tid}}}"#, micros(ts));
        self.0.push(Item { ts, class: 1, longer_first: Reverse(0), json });
    }

    /// The objects in the order every viewer reads correctly (stable: ties keep their order).
    fn sorted(mut self) -> Vec<String> {
        self.0.sort_by_key(|item| (item.ts, item.class, item.longer_first));
        self.0.into_iter().map(|item| item.json).collect()
    }
}

/// What the exporter remembers while it walks the events.
#[derive(Default)]
struct State {
    items: Items,
    /// Task → (poll start, tid) of each poll in progress.
    open: HashMap<u64, (u64, usize)>,
    /// Task → the id of the flow arrow waiting for its next poll.
    flows: HashMap<u64, usize>,
    /// Thread → when its `epoll_wait` began.
    wait_start: HashMap<usize, u64>,
}

impl State {
    /// Starts flow arrow `id` at `ts` towards the next poll of `task`, unless one already
    /// waits for it: one arrow per poll, later wakes add nothing new.
    fn flow_start(&mut self, task: u64, id: usize, ts: u64, tid: usize) {
        if let std::collections::hash_map::Entry::Vacant(slot) = self.flows.entry(task) {
            slot.insert(id);
            self.items.other(ts, tid, &format!(r#""ph":"s","id":{id},"name":"wake","cat":"task""#));
        }
    }

    /// A wake of `task`: its arrow starts on the poll running on this thread, else on a
    /// `wake` slice that ends before `next_slice` (the next slice on this thread) begins.
    fn wake(&mut self, event: &Event, n: usize, task: u64, next_slice: Option<u64>) {
        let (ts, tid) = (nanos(event.at), event.thread + 1);
        let poll = self.open.values().find(|&&(_, t)| t == tid).map(|&(start, _)| start);
        let start = poll.unwrap_or_else(|| {
            let Kind::Wake { cause, .. } = event.kind else { unreachable!("a wake") };
            let name = escape(&format!("wake task {task}: {cause}"));
            let room = next_slice.map_or(WAKE_SLICE_NS, |next| next.saturating_sub(ts) / 2);
            let rest = format!(r#""name":"{name}","cat":"task","args":{{"task":{task}}}"#);
            self.items.slice(ts, room.min(WAKE_SLICE_NS), tid, &rest);
            ts
        });
        self.flow_start(task, n, start, tid);
    }
}

/// For each event, when the next slice (a poll or an `epoll_wait`) begins on its thread.
fn next_slice_starts(trace: &Trace) -> Vec<Option<u64>> {
    let mut next: HashMap<usize, u64> = HashMap::new();
    let mut starts = vec![None; trace.events.len()];
    for (n, event) in trace.events.iter().enumerate().rev() {
        starts[n] = next.get(&event.thread).copied();
        if matches!(event.kind, Kind::PollStart { .. } | Kind::ReactorWait { .. }) {
            next.insert(event.thread, nanos(event.at));
        }
    }
    starts
}

/// The whole trace as one JSON document.
pub(super) fn chrome_json(trace: &Trace) -> String {
    let mut out = vec![r#"{"ph":"M","name":"process_name","pid":1,"args":{"name":"clockwork"}}"#.to_owned()];
    for (index, name) in trace.threads.iter().enumerate() {
        let (tid, name) = (index + 1, escape(name));
        out.push(format!(
            r#"{{"ph":"M","name":"thread_name","pid":1,"tid":{tid},"args":{{"name":"{name}"}}}}"#
        ));
    }
    let next_slice = next_slice_starts(trace);
    let mut state = State::default();
    for (n, event) in trace.events.iter().enumerate() {
        event_items(trace, &mut state, n, event, next_slice[n]);
    }
    out.extend(state.items.sorted());
    format!("{{\"traceEvents\":[\n{}\n]}}\n", out.join(",\n"))
}

/// The JSON objects for event number `n`.
fn event_items(trace: &Trace, state: &mut State, n: usize, event: &Event, next_slice: Option<u64>) {
    let (ts, tid) = (nanos(event.at), event.thread + 1);
    match event.kind {
        Kind::PollStart { task } => {
            state.open.insert(task, (ts, tid));
            if let Some(id) = state.flows.remove(&task) {
                let fields = format!(r#""ph":"f","bp":"e","id":{id},"name":"wake","cat":"task""#);
                state.items.other(ts, tid, &fields);
            }
        }
        Kind::PollEnd { task, ready } => {
            let Some((start, tid)) = state.open.remove(&task) else { return };
            let name = escape(&format!("task {task} {}", trace.task_name(task)));
            let result = if ready { "Ready" } else { "Pending" };
            let rest =
                format!(r#""name":"{name}","cat":"task","args":{{"task":{task},"result":"{result}"}}"#);
            state.items.slice(start, ts.saturating_sub(start), tid, &rest);
        }
        Kind::Wake { task, .. } => state.wake(event, n, task, next_slice),
        Kind::ReactorWait { .. } => drop(state.wait_start.insert(tid, ts)),
        Kind::ReactorReturn { events } => {
            let start = state.wait_start.remove(&tid).unwrap_or(ts);
            let rest = format!(r#""name":"epoll_wait","cat":"reactor","args":{{"events":{events}}}"#);
            state.items.slice(start, ts.saturating_sub(start), tid, &rest);
        }
        ref other => {
            let name = escape(&instant_label(trace, other));
            state.items.other(ts, tid, &format!(r#""ph":"i","s":"t","name":"{name}","cat":"runtime""#));
        }
    }
}
