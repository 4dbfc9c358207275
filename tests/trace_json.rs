//! The Perfetto JSON export follows the Chrome trace-event format as Perfetto's importer
//! reads it: it parses, times are microseconds, every thread is named, the file is in time
//! order, slices nest, and every flow arrow binds from a wake to the poll the wake caused.
//!
//! The JSON parser is a few dozen lines, written here rather than pulled in as a
//! dev-dependency: it only needs to accept what a correct exporter writes.
#![cfg(not(loom))]

#[path = "common/traced.rs"]
mod traced;

use clockwork::runtime::Builder;
use clockwork::trace::{Kind, Trace};
use std::collections::BTreeMap;
use std::time::Duration;
use traced::traced_run;

// ===== a minimal JSON parser =====

#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(self.s.get(self.i), Some(&c), "expected {:?} at byte {}", c as char, self.i);
        self.i += 1;
    }
    fn value(&mut self) -> Json {
        self.ws();
        match self.s[self.i] {
            b'{' => self.object(),
            b'[' => self.array(),
            b'"' => Json::Str(self.string()),
            b't' => self.word("true", Json::Bool(true)),
            b'f' => self.word("false", Json::Bool(false)),
            b'n' => self.word("null", Json::Null),
            _ => self.number(),
        }
    }
    fn word(&mut self, w: &str, v: Json) -> Json {
        assert!(self.s[self.i..].starts_with(w.as_bytes()), "bad literal at {}", self.i);
        self.i += w.len();
        v
    }
    fn number(&mut self) -> Json {
        let start = self.i;
        while self.i < self.s.len() && b"+-.eE0123456789".contains(&self.s[self.i]) {
            self.i += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap();
        Json::Num(text.parse().unwrap_or_else(|_| panic!("bad number {text:?} at {start}")))
    }
    fn string(&mut self) -> String {
        self.eat(b'"');
        let mut out = Vec::new();
        loop {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'"' => return String::from_utf8(out).unwrap(),
                b'\\' => {
                    let e = self.s[self.i];
                    self.i += 1;
                    match e {
                        b'u' => {
                            let hex = std::str::from_utf8(&self.s[self.i..self.i + 4]).unwrap();
                            let ch = char::from_u32(u32::from_str_radix(hex, 16).unwrap()).unwrap();
                            out.extend(ch.to_string().bytes());
                            self.i += 4;
                        }
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        other => out.push(other),
                    }
                }
                c if c < 0x20 => panic!("raw control character in a JSON string at {}", self.i),
                c => out.push(c),
            }
        }
    }
    fn array(&mut self) -> Json {
        self.eat(b'[');
        let mut items = Vec::new();
        self.ws();
        if self.s[self.i] == b']' {
            self.i += 1;
            return Json::Arr(items);
        }
        loop {
            items.push(self.value());
            self.ws();
            self.i += 1;
            match self.s[self.i - 1] {
                b',' => continue,
                b']' => return Json::Arr(items),
                c => panic!("expected , or ] but found {:?} at {}", c as char, self.i),
            }
        }
    }
    fn object(&mut self) -> Json {
        self.eat(b'{');
        let mut map = BTreeMap::new();
        loop {
            self.ws();
            let key = self.string();
            self.eat(b':');
            map.insert(key, self.value());
            self.ws();
            self.i += 1;
            match self.s[self.i - 1] {
                b',' => continue,
                b'}' => return Json::Obj(map),
                c => panic!("expected , or }} but found {:?} at {}", c as char, self.i),
            }
        }
    }
}

fn parse_json(text: &str) -> Json {
    let mut p = Parser { s: text.as_bytes(), i: 0 };
    let v = p.value();
    p.ws();
    assert_eq!(p.i, text.len(), "trailing bytes after the JSON document");
    v
}

/// One JSON object (a trace event).
type Obj = BTreeMap<String, Json>;

/// A field of a JSON object, as a number.
fn num(e: &Obj, key: &str) -> f64 {
    match e.get(key) {
        Some(Json::Num(n)) => *n,
        other => panic!("{key} is not a number ({other:?}) in {e:?}"),
    }
}

/// A field of a JSON object, as a string.
fn text<'a>(e: &'a Obj, key: &str) -> &'a str {
    match e.get(key) {
        Some(Json::Str(s)) => s,
        other => panic!("{key} is not a string ({other:?}) in {e:?}"),
    }
}

/// Microseconds (as written) back to whole nanoseconds.
fn ns(micros: f64) -> u64 {
    (micros * 1000.0).round() as u64
}

/// The Chrome trace-event format, as Perfetto's JSON importer reads it: `ts`/`dur` in µs,
/// no `displayTimeUnit` (some Perfetto versions take it as the unit of `ts`), metadata
/// naming the process and every thread, and tids from 1 (Perfetto keeps 0 for the idle task).
#[test]
fn chrome_json_follows_the_trace_event_format() {
    let trace = traced_run();
    let json = trace.chrome_json();
    check_format(&trace, &json);
    assert!(json.contains(r#"echo \"server\""#), "names are escaped");
}

/// The same checks on two workers, with wakes that cross threads (oneshot round trips).
#[test]
fn a_multi_thread_trace_binds_its_flows_too() {
    let rt = Builder::new_multi_thread().worker_threads(2).trace(true).build().unwrap();
    rt.block_on(async {
        let pairs: Vec<_> = (0..8)
            .map(|_| {
                let (ping, ping_rx) = clockwork::sync::oneshot::channel();
                let (pong, pong_rx) = clockwork::sync::oneshot::channel::<()>();
                clockwork::spawn(async move {
                    ping_rx.await.unwrap();
                    pong.send(()).unwrap();
                });
                clockwork::spawn(async move {
                    ping.send(()).unwrap();
                    pong_rx.await.unwrap();
                })
            })
            .collect();
        for pair in pairs {
            pair.await.unwrap();
        }
    });
    let trace = rt.trace().unwrap();
    assert!(trace.threads.len() >= 2, "{:?}", trace.threads);
    check_format(&trace, &trace.chrome_json());
}

/// Every format rule of this file's module doc, checked on `json`, the export of `trace`.
fn check_format(trace: &Trace, json: &str) {
    let Json::Obj(doc) = parse_json(json) else { panic!("not an object") };
    assert_eq!(doc.keys().collect::<Vec<_>>(), ["traceEvents"], "no displayTimeUnit: ts is in µs");
    let Some(Json::Arr(events)) = doc.get("traceEvents") else { panic!("no traceEvents") };
    let events: Vec<&Obj> =
        events.iter().map(|e| if let Json::Obj(e) = e { e } else { panic!("{e:?}") }).collect();
    let mut thread_names = BTreeMap::new();
    let mut last_ts = 0.0;
    let mut polls = Vec::new();
    for e in &events {
        assert_eq!(num(e, "pid"), 1.0);
        let ph = text(e, "ph");
        if ph == "M" {
            if text(e, "name") == "thread_name" {
                let Some(Json::Obj(args)) = e.get("args") else { panic!("no args in {e:?}") };
                thread_names.insert(num(e, "tid") as usize, text(args, "name").to_owned());
            }
            continue;
        }
        let tid = num(e, "tid") as usize;
        assert!((1..=trace.threads.len()).contains(&tid), "tid {tid} names no thread");
        assert!(!text(e, "name").is_empty() && !text(e, "cat").is_empty(), "{e:?}");
        assert!(num(e, "ts") >= last_ts, "events are written in time order: {e:?}");
        last_ts = num(e, "ts");
        match ph {
            "X" => assert!(num(e, "dur") > 0.0, "{e:?}"),
            "f" => assert_eq!(text(e, "bp"), "e", "a flow end binds to its enclosing slice"),
            "s" | "i" => {}
            other => panic!("unexpected phase {other}"),
        }
        if ph == "X" && text(e, "name").starts_with("task ") {
            polls.push((ns(num(e, "ts")), ns(num(e, "dur")), tid));
        }
    }
    let expected: BTreeMap<usize, String> =
        trace.threads.iter().enumerate().map(|(i, name)| (i + 1, name.clone())).collect();
    assert_eq!(thread_names, expected, "one thread_name per thread");
    // One slice per poll, at the recorded times (in µs, to the nanosecond).
    let mut recorded = Vec::new();
    let mut starts = BTreeMap::new();
    for event in &trace.events {
        match event.kind {
            Kind::PollStart { task } => drop(starts.insert(task, event.at)),
            Kind::PollEnd { task, .. } => {
                let start = starts.remove(&task).unwrap();
                let dur = (event.at - start).as_nanos() as u64;
                recorded.push((start.as_nanos() as u64, dur.max(1), event.thread + 1));
            }
            _ => {}
        }
    }
    polls.sort();
    recorded.sort();
    assert_eq!(polls, recorded, "poll slices match the recorded polls");
    check_flows_bind_like_perfetto(trace, &events);
}

/// Replays the file the way Perfetto's importer binds flows: events in file order, a stack
/// of open slices per thread (a slice is open from `ts` until just before `ts + dur`). Every
/// slice must nest in the one open around it; a flow start (`s`) binds to the innermost open
/// slice; a flow end (`f`, `bp: "e"`) must find the poll its wake caused open; the two ends
/// share `id`, `cat` and `name` (Perfetto's key for a version-1 flow).
fn check_flows_bind_like_perfetto(trace: &Trace, events: &[&Obj]) {
    let mut open: BTreeMap<usize, Vec<(u64, u64, &Obj)>> = BTreeMap::new();
    let mut starts = BTreeMap::new();
    let mut ends = 0;
    for e in events.iter().filter(|e| text(e, "ph") != "M") {
        let (ts, tid) = (ns(num(e, "ts")), num(e, "tid") as usize);
        let stack = open.entry(tid).or_default();
        while stack.last().is_some_and(|&(_, end, _)| end <= ts) {
            stack.pop();
        }
        let key = || (num(e, "id") as usize, text(e, "cat").to_owned(), text(e, "name").to_owned());
        match text(e, "ph") {
            "X" => {
                let end = ts + ns(num(e, "dur"));
                if let Some(&(_, parent_end, parent)) = stack.last() {
                    assert!(end <= parent_end, "{e:?} overlaps {parent:?} instead of nesting");
                }
                stack.push((ts, end, e));
            }
            "s" => {
                assert!(stack.last().is_some(), "flow start {e:?} has no enclosing slice");
                assert!(starts.insert(key().0, key()).is_none(), "flow id used twice");
            }
            "f" => {
                let (id, cat, name) = key();
                assert_eq!(starts.get(&id), Some(&(id, cat, name)), "flow end {e:?} matches no start");
                let Kind::Wake { task, .. } = trace.events[id].kind else {
                    panic!("flow {id} is not a wake")
                };
                let Some(&(start, _, slice)) = stack.last() else {
                    panic!("flow end {e:?} encloses nothing")
                };
                let Some(Json::Obj(args)) = slice.get("args") else { panic!("{slice:?}") };
                assert_eq!(
                    (num(args, "task") as u64, start),
                    (task, ts),
                    "flow end binds to the poll it caused"
                );
                ends += 1;
            }
            _ => {}
        }
    }
    assert!(ends > 0, "wakes are linked to polls");
}

/// A wake outside any poll (here: by the reactor) gets a `wake` slice of its own, which
/// must end before the next poll on its thread begins, however close that poll is.
#[test]
fn a_wake_slice_never_overlaps_the_next_poll() {
    use clockwork::trace::{Cause, Event, TaskInfo};
    let at = |ns: u64, kind: Kind| Event { at: Duration::from_nanos(ns), thread: 0, kind };
    let named = |name: &str| TaskInfo { name: name.into(), ..TaskInfo::default() };
    let trace = Trace {
        events: vec![
            at(1_000, Kind::PollStart { task: 1 }),
            at(1_000, Kind::Wake { task: 2, cause: Cause::Task(1) }),
            at(1_050, Kind::PollEnd { task: 1, ready: false }),
            at(2_000, Kind::Wake { task: 1, cause: Cause::Reactor }),
            at(2_100, Kind::PollStart { task: 2 }),
            at(2_700, Kind::PollEnd { task: 2, ready: true }),
            at(2_800, Kind::PollStart { task: 1 }),
            at(2_900, Kind::PollEnd { task: 1, ready: true }),
        ],
        tasks: [(1, named("a")), (2, named("b"))].into(),
        threads: vec!["main".into()],
        dropped_events: 0,
    };
    let Json::Obj(doc) = parse_json(&trace.chrome_json()) else { panic!("not an object") };
    let Some(Json::Arr(events)) = doc.get("traceEvents") else { panic!("no traceEvents") };
    let events: Vec<_> = events.iter().map(|e| if let Json::Obj(e) = e { e } else { panic!() }).collect();
    check_flows_bind_like_perfetto(&trace, &events);
    let wake = events.iter().find(|e| text(e, "name").starts_with("wake task 1")).unwrap();
    assert!(ns(num(wake, "ts")) + ns(num(wake, "dur")) < 2_100, "{wake:?}");
}
