//! The narration: one plain sentence per runtime decision, from the recorded events.
//!
//! **What this teaches.** Nothing new about the runtime — it *reads* the trace aloud. It is
//! the first exporter to study because it shows how little state a reader needs: the fd of
//! each socket, the last thing each task waited for, and the next timer before a sleep.
//!
//! Next to read: `json.rs`.

use super::event::{Cause, Event, Interest, Kind};
use super::Trace;
use std::collections::HashMap;
use std::fmt::Write;

/// What the narrator remembers between sentences.
#[derive(Default)]
struct Memory {
    /// Socket key → file descriptor.
    fds: HashMap<u64, i32>,
    /// Task → the socket direction it last waited for.
    waiting_on: HashMap<u64, (u64, Interest)>,
    /// Task → when its current poll started.
    poll_start: HashMap<u64, std::time::Duration>,
    /// Thread → the task it is polling now.
    polling: HashMap<usize, u64>,
    /// Task → what its current poll left waiting ("its waker is registered for ...").
    waits: HashMap<u64, Vec<String>>,
    /// The last "next timer" before a reactor wait.
    next_timer: Option<(u64, Option<(u8, u8)>)>,
    /// When the current reactor wait started.
    wait_start: std::time::Duration,
}

/// The whole narration, one line per event (some events are folded into others).
pub(super) fn narration(trace: &Trace) -> String {
    let mut memory = Memory::default();
    let mut out = String::new();
    for event in &trace.events {
        if let Some(sentence) = sentence(trace, &mut memory, event) {
            let thread = trace.threads.get(event.thread).map_or("?", String::as_str);
            let _ = writeln!(out, "{:>9.3} ms  {thread:<20} {sentence}", event.at.as_secs_f64() * 1e3);
        }
    }
    if trace.dropped_events > 0 {
        let _ =
            writeln!(out, "({} more events were not recorded: the recorder was full)", trace.dropped_events);
    }
    out
}

/// `task 3 `echo``.
fn task(trace: &Trace, id: u64) -> String {
    format!("task {id} `{}`", trace.task_name(id))
}

fn slot(slot: Option<(u8, u8)>) -> String {
    match slot {
        Some((level, slot)) => format!("level {level}, slot {slot}"),
        None => "the due list".to_owned(),
    }
}

fn sentence(trace: &Trace, memory: &mut Memory, event: &Event) -> Option<String> {
    Some(match event.kind {
        Kind::Spawn { task: id } => format!("{} is spawned", task(trace, id)),
        Kind::Wake { task: id, cause } => {
            if cause == Cause::SelfWake {
                memory.waits.entry(id).or_default().push("it woke itself, so it is queued again".to_owned());
            }
            if cause == Cause::Budget {
                let why = "it spent its budget, so it is queued again".to_owned();
                memory.waits.entry(id).or_default().push(why);
            }
            wake(trace, memory, id, cause)
        }
        Kind::Schedule { task: id, cause } => schedule(trace, id, cause),
        Kind::PollStart { task: id } => {
            memory.poll_start.insert(id, event.at);
            memory.polling.insert(event.thread, id);
            format!("polls {}", task(trace, id))
        }
        Kind::PollEnd { task: id, ready } => poll_end(trace, memory, event, id, ready),
        Kind::Cancel { task: id } => {
            format!("{} is cancelled: its future is dropped unfinished", task(trace, id))
        }
        Kind::TimerInsert { deadline, slot: s, .. } => {
            if let Some(&id) = memory.polling.get(&event.thread) {
                let wait = format!("its waker waits in the timer wheel (tick {deadline}, {})", slot(s));
                memory.waits.entry(id).or_default().push(wait);
            }
            format!("a timer for tick {deadline} goes into the wheel at {}", slot(s))
        }
        Kind::TimerCancel { .. } => "a timer is cancelled (its Sleep was dropped)".to_owned(),
        Kind::TimerCascade { level, slot } => {
            format!("the wheel cascades level {level}, slot {slot}: its timers move down to finer slots")
        }
        Kind::TimerFire { .. } => "a timer is due: the wheel hands out its waker".to_owned(),
        Kind::NextTimer { deadline, slot } => {
            memory.next_timer = Some((deadline, slot));
            return None; // said together with the reactor wait that follows
        }
        Kind::IoRegister { .. } | Kind::IoInterest { .. } | Kind::IoReady { .. } => {
            io_sentence(trace, memory, &event.kind)
        }
        Kind::ReactorWait { timeout } => reactor_wait(memory, event, timeout),
        Kind::ReactorReturn { events } => {
            let slept = event.at.saturating_sub(memory.wait_start);
            format!("epoll_wait returns after {slept:.1?} with {events} I/O event(s)")
        }
        Kind::Park => "finds no task to run and goes to sleep".to_owned(),
        Kind::Unpark => "wakes up and looks for tasks".to_owned(),
        Kind::Steal { from, count } => format!("steals {count} task(s) from worker {from}'s queue"),
    })
}

/// The socket events: registration, a task waiting, the kernel's answer.
fn io_sentence(trace: &Trace, memory: &mut Memory, kind: &Kind) -> String {
    match *kind {
        Kind::IoRegister { source, fd } => {
            memory.fds.insert(source, fd);
            format!("fd {fd} is registered with the reactor (edge-triggered, both directions)")
        }
        Kind::IoInterest { task: Some(id), source, interest } => {
            memory.waiting_on.insert(id, (source, interest));
            let fd = memory.fds.get(&source).copied().unwrap_or(-1);
            memory
                .waits
                .entry(id)
                .or_default()
                .push(format!("its waker is registered for fd {fd} {interest}"));
            format!("{} stores its waker in the reactor, waiting for fd {fd} {interest}", task(trace, id))
        }
        Kind::IoInterest { task: None, source, interest } => {
            let fd = memory.fds.get(&source).copied().unwrap_or(-1);
            format!("the block_on future waits for fd {fd} {interest}")
        }
        Kind::IoReady { source, readable, writable } => {
            let fd = memory.fds.get(&source).copied().unwrap_or(-1);
            let what = match (readable, writable) {
                (true, true) => "readable and writable",
                (true, false) => "readable",
                (false, true) => "writable",
                (false, false) => "closed or in error",
            };
            format!("the kernel reports fd {fd} {what}")
        }
        _ => unreachable!("only socket events are passed here"),
    }
}

fn wake(trace: &Trace, memory: &Memory, id: u64, cause: Cause) -> String {
    let who = task(trace, id);
    match cause {
        Cause::Reactor => match memory.waiting_on.get(&id) {
            Some((source, interest)) => {
                let fd = memory.fds.get(source).copied().unwrap_or(-1);
                format!("the reactor wakes {who}: fd {fd} is {interest}")
            }
            None => format!("the reactor wakes {who}"),
        },
        Cause::Timer => format!("the timer wheel wakes {who}: its deadline passed"),
        Cause::Task(by) => format!("{} wakes {who}", task(trace, by)),
        Cause::SelfWake => format!("{who} wakes itself while it runs (a yield)"),
        Cause::Budget => format!(
            "{who} has spent its cooperative budget: its socket or channel is still ready, but \
             it must yield, and wakes itself to come back after the others"
        ),
        Cause::Runtime => format!("the runtime wakes {who} (from the block_on future or shutdown)"),
        Cause::Foreign => format!("another thread wakes {who}: it is queued and the runtime unparked"),
        Cause::Spawned => format!("{who} is woken at spawn"),
    }
}

fn schedule(trace: &Trace, id: u64, cause: Cause) -> String {
    let who = task(trace, id);
    match cause {
        Cause::Spawned => format!("{who} goes into the run queue (just spawned)"),
        Cause::SelfWake | Cause::Budget => {
            format!("{who} goes to the back of the run queue, behind every ready task")
        }
        _ => format!("{who} goes into the run queue"),
    }
}

fn poll_end(trace: &Trace, memory: &mut Memory, event: &Event, id: u64, ready: bool) -> String {
    let took = memory.poll_start.remove(&id).map(|start| event.at.saturating_sub(start)).unwrap_or_default();
    memory.polling.remove(&event.thread);
    let waits = memory.waits.remove(&id).unwrap_or_default();
    if ready {
        return format!("{} returned Ready after {took:.1?}: it is complete", task(trace, id));
    }
    let why = match waits.is_empty() {
        true => "it sleeps until its waker is called".to_owned(),
        false => waits.join("; "),
    };
    format!("{} returned Pending after {took:.1?}; {why}", task(trace, id))
}

fn reactor_wait(memory: &mut Memory, event: &Event, timeout: Option<std::time::Duration>) -> String {
    memory.wait_start = event.at;
    let why = match memory.next_timer.take() {
        Some((deadline, s)) => format!(" — the next timer (tick {deadline}) is at {}", slot(s)),
        None => " — no timer is pending".to_owned(),
    };
    match timeout {
        Some(t) if t.is_zero() => "epoll_wait only looks (timeout 0): there is more work".to_owned(),
        Some(t) => format!("epoll_wait sleeps for at most {t:.1?}{why}"),
        None => format!("epoll_wait sleeps until an event or an unpark{why}"),
    }
}
