//! Chrome trace-event JSON, the format Perfetto (<https://ui.perfetto.dev>) and
//! `chrome://tracing` open.
//!
//! **What this teaches.** The format is a flat list of objects with a phase `ph`:
//! `"M"` names a track, `"X"` is a slice with a start `ts` and a duration `dur` (both in
//! microseconds), `"i"` is an instant, and `"s"`/`"f"` are the two ends of a flow arrow,
//! matched by `id`. A flow end binds to the slice that encloses it, so each wake gets a
//! tiny slice of its own on the waking thread, and the arrow ends at the start of the
//! poll it caused (`"bp": "e"`: bind to the enclosing slice).
//!
//! Written by hand (no serde): the only escaping needed is in task and thread names.
//!
//! Next to read: `svg.rs`.

use super::event::Kind;
use super::Trace;
use std::collections::HashMap;
use std::fmt::Write;

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

/// Microseconds, as Chrome wants them (fractional: nanosecond resolution survives).
fn micros(at: std::time::Duration) -> f64 {
    at.as_secs_f64() * 1e6
}

/// Starts a flow arrow at a wake of `task` (event number `n`), unless one is already
/// waiting for the task's next poll: one arrow per poll, later wakes add nothing new.
fn flow_start(
    flows: &mut HashMap<u64, usize>,
    items: &mut Vec<String>,
    task: u64,
    n: usize,
    ts: f64,
    tid: usize,
) {
    if let std::collections::hash_map::Entry::Vacant(slot) = flows.entry(task) {
        slot.insert(n);
        items.push(format!(
            r#"{{"ph":"s","id":{n},"name":"wake","cat":"wake","ts":{ts:.3},"pid":1,"tid":{tid}}}"#
        ));
    }
}

/// A short name for an instant event (what Perfetto shows on the track).
fn instant_label(trace: &Trace, kind: &Kind) -> String {
    match *kind {
        Kind::Spawn { task } => format!("spawn task {task} {}", trace.task_name(task)),
        Kind::Schedule { task, cause } => format!("queue task {task}: {cause}"),
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

/// The whole trace as one JSON document.
pub(super) fn chrome_json(trace: &Trace) -> String {
    let mut items: Vec<String> = Vec::new();
    for (tid, name) in trace.threads.iter().enumerate() {
        items.push(format!(
            r#"{{"ph":"M","name":"thread_name","pid":1,"tid":{tid},"args":{{"name":"{}"}}}}"#,
            escape(name)
        ));
    }
    let mut open: HashMap<u64, (f64, usize)> = HashMap::new(); // task → poll start
    let mut flows: HashMap<u64, usize> = HashMap::new(); // task → pending flow id
    let mut wait_start: HashMap<usize, f64> = HashMap::new(); // thread → reactor wait start
    for (n, event) in trace.events.iter().enumerate() {
        let (ts, tid) = (micros(event.at), event.thread);
        match event.kind {
            Kind::PollStart { task } => {
                open.insert(task, (ts, tid));
                if let Some(id) = flows.remove(&task) {
                    items.push(format!(
                        r#"{{"ph":"f","bp":"e","id":{id},"name":"wake","cat":"wake","ts":{ts:.3},"pid":1,"tid":{tid}}}"#
                    ));
                }
            }
            Kind::PollEnd { task, ready } => {
                let Some((start, tid)) = open.remove(&task) else { continue };
                let name = escape(&format!("task {task} {}", trace.task_name(task)));
                let result = if ready { "Ready" } else { "Pending" };
                items.push(format!(
                    r#"{{"ph":"X","name":"{name}","cat":"poll","ts":{start:.3},"dur":{:.3},"pid":1,"tid":{tid},"args":{{"task":{task},"result":"{result}"}}}}"#,
                    (ts - start).max(0.001)
                ));
            }
            Kind::Wake { task, cause } => {
                let label = escape(&format!("wake task {task}: {cause}"));
                items.push(format!(
                    r#"{{"ph":"X","name":"{label}","cat":"wake","ts":{ts:.3},"dur":0.5,"pid":1,"tid":{tid},"args":{{"task":{task}}}}}"#
                ));
                flow_start(&mut flows, &mut items, task, n, ts, tid);
            }
            Kind::ReactorWait { .. } => {
                wait_start.insert(tid, ts);
            }
            Kind::ReactorReturn { events } => {
                let start = wait_start.remove(&tid).unwrap_or(ts);
                items.push(format!(
                    r#"{{"ph":"X","name":"epoll_wait","cat":"reactor","ts":{start:.3},"dur":{:.3},"pid":1,"tid":{tid},"args":{{"events":{events}}}}}"#,
                    (ts - start).max(0.001)
                ));
            }
            ref other => {
                let name = escape(&instant_label(trace, other));
                items.push(format!(
                    r#"{{"ph":"i","s":"t","name":"{name}","cat":"runtime","ts":{ts:.3},"pid":1,"tid":{tid}}}"#
                ));
            }
        }
    }
    format!("{{\"traceEvents\":[\n{}\n],\"displayTimeUnit\":\"ns\"}}\n", items.join(",\n"))
}
