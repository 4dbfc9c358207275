//! The exports of a real trace are well-formed: the SVG is well-formed XML with one box
//! per poll, the Mermaid diagram declares its participants, the narration speaks of the
//! reactor, and `CLOCKWORK_TRACE`-style `write_to` produces every file. (The Perfetto JSON
//! has its own file, `trace_json.rs`.)
//!
//! The XML check is a few dozen lines, written here rather than pulled in as a
//! dev-dependency: it only needs to accept what a correct exporter writes.
#![cfg(not(loom))]

#[path = "common/traced.rs"]
mod traced;

use clockwork::runtime::Builder;
use clockwork::trace::Kind;
use traced::traced_run;

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
}
