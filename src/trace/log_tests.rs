//! Tests of the append-only log: plain ones, and loom models of a reader racing the writer.
//!
//! **What this teaches.** The log's one promise is that a reader never sees a slot that
//! is not fully written, and never a gap: whatever it reads is a prefix of what was pushed.
//! Loom checks that under every interleaving (and every legal reordering of the
//! `Release`/`Acquire` pairs) of a writer crossing chunk boundaries and a reader walking the
//! chunks. Chunks here hold one or two values, so four pushes already link three chunks.
//! Under a normal `cargo test` each model runs once; Miri runs them too
//! (`cargo +nightly miri test --lib -- trace::`) and checks the raw-pointer code.
//!
//! Run exhaustively with
//! `RUSTFLAGS="--cfg loom -C debug-assertions" LOOM_MAX_PREEMPTIONS=2 cargo test --lib --release loom_log`.

use super::Log;
use crate::loom::model;
use crate::loom::sync::Arc;
use crate::loom::thread;

/// Everything a reader sees right now.
fn read<T: Clone>(log: &Log<T>) -> Vec<T> {
    let mut seen = Vec::new();
    log.for_each(|value| seen.push(value.clone()));
    seen
}

/// A reader racing a writer sees a prefix of `0, 1, 2, 3`, never a gap or a torn value;
/// after the join it sees everything.
#[test]
fn loom_log_reader_sees_a_prefix() {
    model(|| {
        let log = Arc::new(Log::with_chunks(1, 2, usize::MAX, None));
        let writer = {
            let log = log.clone();
            thread::spawn(move || {
                for i in 0..4u64 {
                    // SAFETY: this thread is the log's only writer.
                    let _ = unsafe { log.push(i) };
                }
            })
        };
        let seen = read(&log);
        assert_eq!(seen, (0..seen.len() as u64).collect::<Vec<_>>(), "a prefix");
        writer.join().unwrap();
        assert_eq!(read(&log), vec![0, 1, 2, 3]);
    });
}

/// Values that own memory (a `String`) are read whole while written, and freed once when
/// the log drops (Miri reports a leak or a double free).
#[test]
fn loom_log_publishes_owned_values() {
    model(|| {
        let log = Arc::new(Log::with_chunks(1, 1, usize::MAX, None));
        let writer = {
            let log = log.clone();
            thread::spawn(move || {
                for word in ["wake", "poll"] {
                    // SAFETY: this thread is the log's only writer.
                    let _ = unsafe { log.push(word.to_owned()) };
                }
            })
        };
        let seen = read(&log);
        assert!(seen.len() <= 2 && seen.iter().zip(["wake", "poll"]).all(|(a, b)| a == b), "{seen:?}");
        writer.join().unwrap();
        assert_eq!(read(&log), ["wake", "poll"]);
    });
}

/// A full log keeps its first `max_len` values and counts the rest, while a reader reads.
#[test]
fn loom_log_counts_what_it_drops() {
    model(|| {
        let log = Arc::new(Log::with_chunks(1, 2, 2, None));
        let writer = {
            let log = log.clone();
            thread::spawn(move || {
                for i in 0..3u64 {
                    // SAFETY: this thread is the log's only writer.
                    let _ = unsafe { log.push(i) };
                }
            })
        };
        let seen = read(&log);
        assert!(seen.len() <= 2 && seen.iter().copied().eq(0..seen.len() as u64), "{seen:?}");
        writer.join().unwrap();
        assert_eq!(read(&log), vec![0, 1]);
        assert_eq!(log.dropped(), 1);
    });
}

/// Chunk sizes double up to the largest, and the cap is exact even mid-chunk.
#[cfg(not(loom))]
#[test]
fn chunks_grow_and_the_cap_is_exact() {
    let log = Log::with_chunks(2, 8, 21, None);
    for i in 0..100u32 {
        // SAFETY: this thread is the log's only writer.
        let _ = unsafe { log.push(i) };
    }
    assert_eq!(read(&log), (0..21).collect::<Vec<_>>()); // chunks of 2, 4, 8, 7
    assert_eq!(log.dropped(), 79);
    let empty: Log<u8> = Log::with_chunks(4, 4, 0, None);
    // SAFETY: this thread is the log's only writer.
    let _ = unsafe { empty.push(1) };
    assert_eq!((read(&empty), empty.dropped()), (vec![], 1));
}

/// A reader on another thread while the writer pushes thousands of values (real threads,
/// real chunk sizes): every snapshot is a prefix.
#[cfg(not(loom))]
#[test]
fn a_reader_on_another_thread_sees_prefixes() {
    let count = if cfg!(miri) { 300 } else { 200_000 };
    let log = std::sync::Arc::new(Log::new(usize::MAX, None));
    let writer = {
        let log = log.clone();
        std::thread::spawn(move || {
            for i in 0..count {
                // SAFETY: this thread is the log's only writer.
                let _ = unsafe { log.push(i) };
            }
        })
    };
    while !writer.is_finished() {
        let seen = read(&log);
        assert!(seen.iter().copied().eq(0..seen.len()), "not a prefix");
    }
    writer.join().unwrap();
    assert_eq!(read(&log).len(), count);
}

/// A dropped log leaves its full-size slot arrays in the pool (emptied: Miri checks each
/// value is dropped once), and the next log takes them back instead of allocating.
#[cfg(not(loom))]
#[test]
fn spare_chunks_are_recycled() {
    static SPARES: super::Spares<String> = std::sync::Mutex::new(Vec::new());
    let spares = || SPARES.lock().unwrap().len();
    let fill = |log: &Log<String>| {
        for i in 0..7 {
            // SAFETY: this thread is the log's only writer.
            let _ = unsafe { log.push(i.to_string()) };
        }
    };
    let first = Log::with_chunks(1, 2, usize::MAX, Some(&SPARES));
    fill(&first); // chunks of 1, 2, 2, 2
    drop(first);
    assert_eq!(spares(), 3, "the three full-size arrays");
    let second = Log::with_chunks(1, 2, usize::MAX, Some(&SPARES));
    fill(&second);
    assert_eq!(spares(), 0, "all three reused");
    assert_eq!(read(&second), (0..7).map(|i| i.to_string()).collect::<Vec<_>>());
}
