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
