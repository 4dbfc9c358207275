//! A self-contained SVG timeline: readable in any browser, with no tool and no script.
//!
//! **What this teaches.** How to draw concurrency so a reader can follow one task. Each
//! runtime thread gets a lane, plus a lane for the reactor and one for the timer wheel.
//! Each poll is a box in its thread's lane (green: `Ready`, orange: `Pending`), labelled
//! with the task; each wake is an arrow from where it happened to the poll it caused.
//!
//! The x axis is **event order**, not wall time: every event takes one step, and times are
//! written under the axis. Rejected alternative: a linear time axis, on which a 2 µs poll
//! next to a 10 ms sleep is an invisible sliver; order is what a reader needs to follow
//! cause and effect, and the labels keep the real times.
//!
//! Next to read: `mermaid.rs`.

use super::event::{Cause, Kind};
use super::Trace;
use std::collections::HashMap;
use std::fmt::Write;

const STEP: f64 = 16.0;
const LANE: f64 = 46.0;
const LEFT: f64 = 170.0;
const TOP: f64 = 90.0;
const READY: &str = "#5cb85c";
const PENDING: &str = "#f0ad4e";

/// Escapes text for XML.
fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Where each kind of event is drawn: thread lanes first, then the reactor and the wheel.
struct Lanes {
    threads: usize,
}

impl Lanes {
    fn reactor(&self) -> usize {
        self.threads
    }
    fn timers(&self) -> usize {
        self.threads + 1
    }
    fn y(&self, lane: usize) -> f64 {
        TOP + lane as f64 * LANE
    }
}

/// The SVG document.
pub(super) fn svg(trace: &Trace) -> String {
    let lanes = Lanes { threads: trace.threads.len() };
    let width = (LEFT + (trace.events.len() as f64 + 2.0) * STEP + 20.0).max(900.0);
    let height = lanes.y(lanes.timers() + 1) + 40.0;
    let mut body = String::new();
    draw_lanes(trace, &lanes, width, &mut body);
    draw_events(trace, &lanes, &mut body);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" font-family="sans-serif" font-size="11">"#
    );
    out.push_str(r##"<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#337ab7"/></marker></defs>"##);
    out.push('\n');
    let _ = writeln!(out, r#"<rect width="{width:.0}" height="{height:.0}" fill="white"/>"#);
    legend(&mut out);
    task_key(trace, &mut out);
    out.push_str(&body);
    out.push_str("</svg>\n");
    out
}

fn legend(out: &mut String) {
    let _ = writeln!(
        out,
        r##"<text x="10" y="20" font-size="14" font-weight="bold">clockwork timeline: one lane per thread, one box per poll</text>
<rect x="10" y="32" width="14" height="10" fill="{READY}"/><text x="28" y="41">poll returned Ready</text>
<rect x="150" y="32" width="14" height="10" fill="{PENDING}"/><text x="168" y="41">poll returned Pending</text>
<line x1="300" y1="37" x2="330" y2="37" stroke="#337ab7" marker-end="url(#arrow)"/><text x="336" y="41">wake → the poll it caused</text>
<rect x="500" y="32" width="14" height="10" fill="#ccd"/><text x="518" y="41">epoll_wait (sleeping in the reactor)</text>
<circle cx="735" cy="37" r="4" fill="#a94442"/><text x="744" y="41">timer inserted / fired</text>
<text x="10" y="60" fill="#555">x axis: event order (one step per event, not to scale); times in ms under the axis.</text>"##
    );
}

/// One line naming the tasks drawn (boxes are labelled by id only, to stay narrow).
fn task_key(trace: &Trace, out: &mut String) {
    let mut polled: Vec<u64> = trace
        .events
        .iter()
        .filter_map(|e| match e.kind {
            Kind::PollStart { task } => Some(task),
            _ => None,
        })
        .collect();
    polled.sort_unstable();
    polled.dedup();
    let mut key: Vec<String> =
        polled.iter().take(16).map(|&id| format!("{id} = {}", trace.task_name(id))).collect();
    if polled.len() > 16 {
        key.push(format!("… and {} more", polled.len() - 16));
    }
    let _ = writeln!(out, r##"<text x="10" y="78" fill="#333">tasks: {}</text>"##, xml(&key.join(" · ")));
}

fn draw_lanes(trace: &Trace, lanes: &Lanes, width: f64, out: &mut String) {
    let mut names: Vec<String> = trace.threads.iter().map(|t| format!("thread {t}")).collect();
    names.push("reactor".to_owned());
    names.push("timer wheel".to_owned());
    for (lane, name) in names.iter().enumerate() {
        let y = lanes.y(lane);
        let fill = if lane % 2 == 0 { "#f7f7f7" } else { "#efefef" };
        let _ =
            writeln!(out, r#"<rect x="0" y="{y:.0}" width="{width:.0}" height="{LANE:.0}" fill="{fill}"/>"#);
        let _ = writeln!(
            out,
            r#"<text x="8" y="{:.0}" font-weight="bold">{}</text>"#,
            y + LANE / 2.0 + 4.0,
            xml(name)
        );
    }
    let axis = lanes.y(lanes.timers() + 1) + 14.0;
    for (n, event) in trace.events.iter().enumerate().step_by(10) {
        let x = LEFT + n as f64 * STEP;
        let _ = writeln!(
            out,
            r##"<text x="{x:.0}" y="{axis:.0}" fill="#555">{:.2}</text>"##,
            event.at.as_secs_f64() * 1e3
        );
    }
}

/// Polls, wakes, reactor waits and timers, in one pass over the events.
fn draw_events(trace: &Trace, lanes: &Lanes, out: &mut String) {
    let x = |n: usize| LEFT + n as f64 * STEP;
    let mut poll_start: HashMap<u64, usize> = HashMap::new();
    let mut wake_from: HashMap<u64, (f64, f64)> = HashMap::new(); // task → arrow start
    let mut wait_start: HashMap<usize, usize> = HashMap::new();
    for (n, event) in trace.events.iter().enumerate() {
        let lane_y = lanes.y(event.thread);
        match event.kind {
            Kind::PollStart { task } => {
                poll_start.insert(task, n);
                if let Some(from) = wake_from.remove(&task) {
                    wake_arrow(out, from, (x(n), lane_y + 8.0));
                }
            }
            Kind::PollEnd { task, ready } => {
                let start = poll_start.remove(&task).unwrap_or(n);
                poll_box(trace, out, x(start), x(n) + STEP * 0.8, lane_y, task, ready);
            }
            Kind::Wake { task, cause } => {
                let lane = match cause {
                    Cause::Reactor => lanes.reactor(),
                    Cause::Timer => lanes.timers(),
                    _ => event.thread,
                };
                let y = lanes.y(lane) + LANE - 8.0;
                let _ = writeln!(
                    out,
                    r##"<circle cx="{:.1}" cy="{y:.1}" r="3" fill="#337ab7"><title>wake task {task}: {}</title></circle>"##,
                    x(n),
                    xml(&cause.to_string())
                );
                wake_from.entry(task).or_insert((x(n), y));
            }
            Kind::ReactorWait { .. } => {
                wait_start.insert(event.thread, n);
            }
            Kind::ReactorReturn { events } => {
                let start = wait_start.remove(&event.thread).unwrap_or(n);
                reactor_box(out, lanes, x(start), x(n), events);
            }
            Kind::TimerInsert { deadline, .. } => {
                timer_mark(out, x(n), lanes, &format!("timer inserted for tick {deadline}"))
            }
            Kind::TimerFire { .. } => timer_mark(out, x(n), lanes, "timer fired"),
            _ => {}
        }
    }
}

/// A curved arrow from a wake (`from`) to the start of the poll it caused (`to`).
fn wake_arrow(out: &mut String, (x0, y0): (f64, f64), (x1, y1): (f64, f64)) {
    let _ = writeln!(
        out,
        r##"<path class="wake" d="M{x0:.1},{y0:.1} C{:.1},{y0:.1} {:.1},{y1:.1} {x1:.1},{y1:.1}" fill="none" stroke="#337ab7" stroke-width="1.2" marker-end="url(#arrow)"/>"##,
        x0 + 20.0,
        x1 - 20.0
    );
}

fn reactor_box(out: &mut String, lanes: &Lanes, x0: f64, x1: f64, events: usize) {
    let y = lanes.y(lanes.reactor()) + 10.0;
    let _ = writeln!(
        out,
        r##"<rect x="{x0:.1}" y="{y:.1}" width="{:.1}" height="16" fill="#ccd"><title>epoll_wait: {events} event(s)</title></rect>"##,
        x1 - x0 + STEP * 0.8
    );
}

fn timer_mark(out: &mut String, x: f64, lanes: &Lanes, title: &str) {
    let y = lanes.y(lanes.timers()) + 16.0;
    let _ = writeln!(
        out,
        r##"<circle cx="{x:.1}" cy="{y:.1}" r="4" fill="#a94442"><title>{}</title></circle>"##,
        xml(title)
    );
}

fn poll_box(trace: &Trace, out: &mut String, x0: f64, x1: f64, lane_y: f64, task: u64, ready: bool) {
    let (fill, result) = if ready { (READY, "Ready") } else { (PENDING, "Pending") };
    let name = xml(trace.task_name(task));
    let _ = writeln!(
        out,
        r##"<rect class="poll" x="{x0:.1}" y="{:.1}" width="{:.1}" height="20" rx="3" fill="{fill}" stroke="#444" stroke-width="0.5"><title>task {task} `{name}` returned {result}</title></rect>"##,
        lane_y + 4.0,
        x1 - x0
    );
    let _ =
        writeln!(out, r#"<text x="{:.1}" y="{:.1}" font-size="10">{task}</text>"#, x0 + 2.0, lane_y + 18.0);
}
