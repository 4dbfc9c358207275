//! Small pieces of tokio's surface beyond the contract, so that code ported with
//! `use clockwork as tokio` compiles and behaves: `Builder::enable_*`, `Runtime::enter`,
//! `pin!`, `select! { biased; .. }` (in `future_combinators.rs`), `Elapsed` as an
//! `io::Error`, and a `Runtime` that may cross `catch_unwind`.

// Integration tests drive real threads; loom only runs the in-crate models.
#![cfg(not(loom))]

mod common;

use clockwork as tokio;
use std::time::Duration;

#[test]
fn a_tokio_style_builder_chain_builds_both_flavours() {
    let ct = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let mt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .enable_time()
        .build()
        .unwrap();
    assert_eq!(ct.block_on(async { tokio::spawn(async { 1 }).await.unwrap() }), 1);
    assert_eq!(mt.block_on(async { tokio::spawn(async { 2 }).await.unwrap() }), 2);
}

#[test]
fn enter_makes_spawn_work_outside_block_on_and_restores_the_previous_runtime() {
    common::on_both(|name, rt| {
        assert!(tokio::runtime::Handle::try_current().is_none());
        let task = {
            let _guard = rt.enter();
            assert!(tokio::runtime::Handle::try_current().is_some(), "{name}");
            tokio::spawn(async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                3
            })
        };
        assert!(tokio::runtime::Handle::try_current().is_none(), "{name}: the guard restored nothing");
        assert_eq!(rt.block_on(task).unwrap(), 3, "{name}");
    });
}

#[test]
fn elapsed_converts_to_a_timed_out_io_error() {
    async fn read_with_deadline() -> std::io::Result<usize> {
        let never = std::future::pending::<std::io::Result<usize>>();
        tokio::time::timeout(Duration::from_millis(1), never).await?
    }
    common::on_both(|name, rt| {
        let error = rt.block_on(read_with_deadline()).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::TimedOut, "{name}");
    });
}

#[test]
fn pin_lets_a_future_be_polled_across_loop_turns() {
    common::on_both(|name, rt| {
        let turns = rt.block_on(async {
            let deadline = tokio::time::sleep(Duration::from_millis(5));
            tokio::pin!(deadline);
            let mut turns = 0u32;
            loop {
                tokio::select! {
                    _ = &mut deadline => break turns,
                    _ = tokio::time::sleep(Duration::from_millis(1)) => turns += 1,
                }
            }
        });
        assert!(turns >= 1, "{name}: {turns}");
    });
}

#[test]
fn a_runtime_may_cross_catch_unwind() {
    fn unwind_safe<T: std::panic::UnwindSafe + std::panic::RefUnwindSafe>(_: &T) {}
    common::on_both(|name, rt| {
        unwind_safe(&rt);
        let caught = std::panic::catch_unwind(|| rt.block_on(async { panic!("in block_on") }));
        assert!(caught.is_err(), "{name}");
        assert_eq!(
            rt.block_on(async { tokio::spawn(async { 4 }).await.unwrap() }),
            4,
            "{name}: still usable"
        );
    });
}

/// `task`'s output if `rt` runs it: a current-thread runtime's task runs only inside its
/// own `block_on`, so a task spawned on another runtime gives `None` (after the timeout).
fn output_on<T>(rt: &tokio::Runtime, task: tokio::task::JoinHandle<T>) -> Option<T> {
    rt.block_on(tokio::time::timeout(Duration::from_secs(10), task)).ok().map(Result::unwrap)
}

fn current_thread() -> tokio::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

#[test]
fn nested_enter_guards_each_restore_the_runtime_before_them() {
    let (outer, inner) = (current_thread(), current_thread());
    let first = outer.enter();
    {
        let _second = inner.enter();
        assert_eq!(output_on(&inner, tokio::spawn(async { 2 })), Some(2), "inner is current");
    }
    assert_eq!(output_on(&outer, tokio::spawn(async { 1 })), Some(1), "outer is current again");
    drop(first);
    assert!(tokio::runtime::Handle::try_current().is_none());
}

#[test]
#[should_panic(expected = "`EnterGuard` values dropped out of order")]
fn enter_guards_dropped_out_of_order_panic() {
    let (rt1, rt2) = (current_thread(), current_thread());
    let first = rt1.enter();
    let second = rt2.enter();
    drop(first);
    drop(second);
}

#[test]
fn after_guards_dropped_out_of_order_no_runtime_stays_current() {
    let (rt1, rt2) = (current_thread(), current_thread());
    let caught = std::panic::catch_unwind(|| {
        let first = rt1.enter();
        let second = rt2.enter();
        drop(first); // panics; `second` is dropped by the unwinding
        drop(second);
    });
    let message = common::panic_message(caught.unwrap_err().as_ref());
    assert!(message.contains("dropped out of order"), "{message}");
    assert!(tokio::runtime::Handle::try_current().is_none(), "a runtime stayed current");
    // The depth is back to zero: guards nest as usual again.
    {
        let _guard = rt2.enter();
        assert!(tokio::runtime::Handle::try_current().is_some());
    }
    assert!(tokio::runtime::Handle::try_current().is_none());
}

/// A guard cut off by an out-of-order drop stays cut off even when newer guards have
/// since reached its depth again (found by a review: a depth check alone let it restore
/// a stale runtime here).
#[test]
fn a_cut_off_guard_restores_nothing_after_new_guards_reach_its_depth() {
    let (rt1, rt2, rt3, rt4) = (current_thread(), current_thread(), current_thread(), current_thread());
    let first = rt1.enter();
    let second = rt2.enter();
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(first)));
    assert!(caught.is_err(), "out of order");
    let third = rt3.enter();
    let fourth = rt4.enter();
    drop(second); // cut off: must not put rt1 back
    assert_eq!(output_on(&rt4, tokio::spawn(async { 4 })), Some(4), "rt4 is still current");
    drop(fourth);
    assert_eq!(output_on(&rt3, tokio::spawn(async { 3 })), Some(3), "rt3 is current again");
    drop(third);
    assert!(tokio::runtime::Handle::try_current().is_none());
}

#[test]
fn a_guard_kept_past_the_block_on_it_was_made_in_is_caught() {
    let (rt, other) = (current_thread(), current_thread());
    let mut kept = None;
    // `block_on`'s own context guard is then dropped while the newer one lives.
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        rt.block_on(async { kept = Some(other.enter()) })
    }));
    let message = common::panic_message(caught.unwrap_err().as_ref());
    assert!(message.contains("dropped out of order"), "{message}");
    drop(kept); // rewound past already: restores nothing
    assert!(tokio::runtime::Handle::try_current().is_none());
    assert_eq!(rt.block_on(async { tokio::spawn(async { 5 }).await.unwrap() }), 5, "still usable");
}
