//! Misuse panics that `#[track_caller]` can attribute point at the caller's line.
//!
//! The location of a panic reaches only the panic hook, which is global to the process:
//! this file holds a single test, so no other test of this binary can panic while the
//! hook is swapped. (Panics that happen inside `poll`, where `#[track_caller]` cannot
//! reach, put the caller's line in the message instead; `time_sleep.rs` and
//! `net_cleanup.rs` test those.)
#![cfg(not(loom))]

use std::panic::{self, AssertUnwindSafe};
use std::sync::Mutex;
use std::time::Duration;

/// The `file:line` of the panic `f` raises.
fn panic_location(f: impl FnOnce()) -> String {
    static SEEN: Mutex<Option<String>> = Mutex::new(None);
    let previous = panic::take_hook();
    panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
        *SEEN.lock().unwrap() = at;
    }));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    panic::set_hook(previous);
    assert!(result.is_err(), "expected a panic");
    SEEN.lock().unwrap().take().expect("the hook saw the panic")
}

#[test]
fn misuse_panics_name_the_callers_line() {
    let here = |line: u32| format!("tests/panic_locations.rs:{line}");
    let at = panic_location(|| drop(clockwork::runtime::Handle::current()));
    assert_eq!(at, here(line!() - 1), "Handle::current");
    let at = panic_location(|| drop(clockwork::time::interval(Duration::ZERO)));
    assert_eq!(at, here(line!() - 1), "interval(ZERO)");
    // Outside a runtime. Each public entry point hands its work to an inner function after
    // the large-future size check, which must pass the caller's location on.
    let at = panic_location(|| drop(clockwork::spawn(async {})));
    assert_eq!(at, here(line!() - 1), "clockwork::spawn");
    let at = panic_location(|| drop(clockwork::task::spawn_blocking(|| ())));
    assert_eq!(at, here(line!() - 1), "task::spawn_blocking");
    let at = panic_location(|| drop(clockwork::task::Builder::new().spawn(async {})));
    assert_eq!(at, here(line!() - 1), "task::Builder::spawn");
    let at = panic_location(|| drop(clockwork::task::Builder::new().spawn_blocking(|| ())));
    assert_eq!(at, here(line!() - 1), "task::Builder::spawn_blocking");
    // `block_on` inside a runtime, on each flavour and through each entry point.
    let ct = clockwork::runtime::Builder::new_current_thread().build().unwrap();
    let mt = clockwork::runtime::Builder::new_multi_thread().worker_threads(1).build().unwrap();
    ct.block_on(async {
        let at = panic_location(|| clockwork::block_on(async {}));
        assert_eq!(at, here(line!() - 1), "clockwork::block_on in block_on");
        let at = panic_location(|| mt.block_on(async {}));
        assert_eq!(at, here(line!() - 1), "multi-thread Runtime::block_on in block_on");
        let at = panic_location(|| mt.handle().block_on(async {}));
        assert_eq!(at, here(line!() - 1), "Handle::block_on in block_on");
    });
    mt.block_on(async {
        let at = panic_location(|| ct.block_on(async {}));
        assert_eq!(at, here(line!() - 1), "current-thread Runtime::block_on in block_on");
    });
}
