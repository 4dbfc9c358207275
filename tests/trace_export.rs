//! The exports of a real trace are well-formed: the JSON parses and carries what Perfetto
//! needs, the SVG is well-formed XML with one box per poll, the Mermaid diagram declares
//! its participants, and `CLOCKWORK_TRACE`-style `write_to` produces every file.
//!
//! The parsers are a few dozen lines each, written here rather than pulled in as
//! dev-dependencies: they only need to accept what a correct exporter writes.
#![cfg(not(loom))]

use clockwork::net::{TcpListener, TcpStream};
use clockwork::runtime::Builder;
use clockwork::task;
use clockwork::trace::{Kind, Trace};
use std::collections::BTreeMap;
use std::time::Duration;

/// A short program that uses spawn, yield, a timer and a TCP round trip.
fn traced_run() -> Trace {
    let rt = Builder::new_current_thread().trace(true).build().unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = task::Builder::new().name("echo \"server\"").spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut buf = [0; 4];
            stream.read_exact(&mut buf).await.unwrap();
            stream.write_all(&buf).await.unwrap();
        });
        let client = task::Builder::new().name("client <&>").spawn(async move {
            task::yield_now().await;
            clockwork::time::sleep(Duration::from_millis(1)).await;
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.write_all(b"ping").await.unwrap();
            let mut buf = [0; 4];
            stream.read_exact(&mut buf).await.unwrap();
        });
        server.unwrap().await.unwrap();
        client.unwrap().await.unwrap();
    });
    rt.trace().unwrap()
}

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

#[test]
fn chrome_json_parses_and_has_what_perfetto_needs() {
    let trace = traced_run();
    let Json::Obj(doc) = parse_json(&trace.chrome_json()) else { panic!("not an object") };
    let Some(Json::Arr(events)) = doc.get("traceEvents") else { panic!("no traceEvents") };
    let mut slices = 0;
    let (mut flow_starts, mut flow_ends) = (Vec::new(), Vec::new());
    for event in events {
        let Json::Obj(e) = event else { panic!("event is not an object") };
        for field in ["ph", "pid", "tid", "name"] {
            assert!(e.contains_key(field), "{field} missing in {e:?}");
        }
        let Some(Json::Str(ph)) = e.get("ph") else { panic!("ph is not a string") };
        if ph != "M" {
            assert!(matches!(e.get("ts"), Some(Json::Num(_))), "ts missing in {e:?}");
        }
        match ph.as_str() {
            "X" if e.get("cat") == Some(&Json::Str("poll".into())) => {
                assert!(matches!(e.get("dur"), Some(Json::Num(d)) if *d > 0.0));
                slices += 1;
            }
            "s" => flow_starts.push(e.get("id").cloned()),
            "f" => flow_ends.push(e.get("id").cloned()),
            _ => {}
        }
    }
    let polls = trace.events.iter().filter(|e| matches!(e.kind, Kind::PollEnd { .. })).count();
    assert_eq!(slices, polls, "one slice per poll");
    assert!(!flow_ends.is_empty(), "wakes are linked to polls");
    for end in &flow_ends {
        assert!(flow_starts.contains(end), "flow end {end:?} has no start");
    }
    let names = format!("{events:?}");
    assert!(names.contains("echo \\\"server\\\"") || names.contains("echo \"server\""));
}

// ===== a minimal XML well-formedness check =====

/// Checks tags nest and close, attributes are quoted, and `&` only starts an entity.
/// Returns every start tag as (name, attributes text).
fn check_xml(text: &str) -> Vec<(String, String)> {
    let mut stack: Vec<String> = Vec::new();
    let mut tags = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open]);
        let close = rest[open..].find('>').expect("unclosed tag") + open;
        let tag = &rest[open + 1..close];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.trim()), "mismatched </{name}>");
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let (name, attrs) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
            assert_eq!(attrs.matches('"').count() % 2, 0, "unbalanced quotes in <{tag}>");
            check_text(&attrs.replace('<', "?"));
            tags.push((name.to_owned(), attrs.to_owned()));
            if !self_closing {
                stack.push(name.to_owned());
            }
        }
        rest = &rest[close + 1..];
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed elements: {stack:?}");
    tags
}

fn check_text(text: &str) {
    for (i, _) in text.match_indices('&') {
        let entity = &text[i..text[i..].find(';').map_or(text.len(), |j| i + j + 1)];
        assert!(["&amp;", "&lt;", "&gt;", "&quot;"].contains(&entity), "bad entity {entity:?}");
    }
}

#[test]
fn svg_is_well_formed_with_one_box_per_poll() {
    let trace = traced_run();
    let svg = trace.svg();
    let tags = check_xml(&svg);
    assert_eq!(tags[0].0, "svg");
    let boxes =
        tags.iter().filter(|(name, attrs)| name == "rect" && attrs.contains("class=\"poll\"")).count();
    let polls = trace.events.iter().filter(|e| matches!(e.kind, Kind::PollEnd { .. })).count();
    assert_eq!(boxes, polls);
    assert!(
        tags.iter().any(|(name, attrs)| name == "path" && attrs.contains("class=\"wake\"")),
        "wake arrows"
    );
    for lane in ["reactor", "timer wheel", "thread "] {
        assert!(svg.contains(lane), "lane {lane} missing");
    }
    assert!(svg.contains("client &lt;&amp;&gt;"), "task names are escaped");
}

#[test]
fn mermaid_declares_its_participants_and_shows_the_readiness_loop() {
    let trace = traced_run();
    let mmd = trace.mermaid(200);
    assert!(mmd.starts_with("sequenceDiagram\n"));
    for line in
        ["participant R as runtime", "participant X as reactor", "participant OS", "X->>OS: epoll_wait"]
    {
        assert!(mmd.contains(line), "{line:?} missing in\n{mmd}");
    }
    assert!(mmd.contains("store waker (readable)") && mmd.contains("X->>R: wake task"));
    assert!(trace.mermaid(5).contains("truncated"));
}

#[test]
fn narration_names_fds_and_the_reactor() {
    let narration = traced_run().narration();
    assert!(narration.contains("is registered with the reactor"), "{narration}");
    assert!(narration.contains("the reactor wakes task"), "{narration}");
    assert!(narration.contains("epoll_wait sleeps"), "{narration}");
}

#[test]
fn write_to_writes_every_export() {
    let trace = traced_run();
    let dir = std::env::temp_dir().join(format!("clockwork-trace-test-{}", std::process::id()));
    trace.write_to(&dir).unwrap();
    for file in ["narration.txt", "trace.json", "timeline.svg", "sequence.mmd", "lints.txt"] {
        assert!(dir.join(file).exists(), "{file} missing");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_multi_thread_trace_has_a_lane_per_worker() {
    let rt = Builder::new_multi_thread().worker_threads(2).trace(true).build().unwrap();
    rt.block_on(async {
        let handles: Vec<_> = (0..8).map(|i| clockwork::spawn(async move { i })).collect();
        for h in handles {
            h.await.unwrap();
        }
    });
    let trace = rt.trace().unwrap();
    let polls = trace.events.iter().filter(|e| matches!(e.kind, Kind::PollEnd { .. })).count();
    assert_eq!(polls, 8);
    for e in trace.events.iter().filter(|e| matches!(e.kind, Kind::PollStart { .. })) {
        assert!(trace.threads[e.thread].starts_with("clockwork-worker-"), "{}", trace.threads[e.thread]);
    }
    check_xml(&trace.svg());
    parse_json(&trace.chrome_json());
}
