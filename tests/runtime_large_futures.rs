//! Large futures and `spawn_blocking` closures do not overflow the stack on their way into
//! a task: every public entry point boxes a value above `BOX_FUTURE_THRESHOLD` before it
//! moves it further (`src/task/mod.rs`). Before that, a 256 KiB future overflowed a 2 MiB
//! thread and aborted the whole process (an external audit's `big_cw` probes), because an
//! unoptimised build kept a copy of it in each of half a dozen frames.
//!
//! Two copies stay, in a debug build, and these tests size their futures for them: the
//! caller's own (the future is built in its frame) and one in the entry point's frame
//! (the by-value argument, copied once before it is boxed). So a thread spawns a future
//! of up to a little under half its stack; tokio's entry points are the same. Hence:
//! * from outside a runtime, a 1 MiB future, on a thread given a 4 MiB stack (before the
//!   fix, the copies of the spawn path needed about 7 MiB);
//! * from inside a task (a worker's or a test thread's 2 MiB stack), 512 KiB.

// Integration tests drive real threads; loom only runs the in-crate models.
#![cfg(not(loom))]

mod common;

use clockwork::runtime::{Handle, Runtime};
use clockwork::task::{self, JoinHandle};
use common::on_both;

const MIB: usize = 1024 * 1024;
/// The largest size the tests spawn from inside a task (see the module doc).
const IN_TASK: usize = 512 * 1024;

/// A future of at least `N` bytes: `buf` lives across an `.await`, so it is part of the
/// future's state, not of its poll's stack frame. Its output is 1.
async fn big<const N: usize>() -> usize {
    let mut buf = [0u8; N];
    task::yield_now().await;
    buf[7] = 1;
    std::hint::black_box(&mut buf);
    buf.iter().map(|&b| usize::from(b)).sum()
}

/// Runs `test` on a thread with a 4 MiB stack: room for the caller's and the entry
/// point's copies of a 1 MiB value, not for the spawn path's old half dozen.
fn on_4_mib_stack(test: impl FnOnce() + Send + 'static) {
    let thread = std::thread::Builder::new().stack_size(4 * MIB).spawn(test).unwrap();
    if let Err(panic) = thread.join() {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn the_test_future_is_as_large_as_it_claims() {
    on_4_mib_stack(|| {
        let size = std::mem::size_of_val(&big::<MIB>());
        assert!(size >= MIB, "{size}");
    });
}

/// One spawn each, through one entry point. Each is its own function (a non-capturing
/// closure) because an unoptimised build gives every temporary of a function its own
/// stack slot: four 1 MiB futures built in one function made a 4 MiB frame.
type Case = (&'static str, fn(&Runtime) -> usize);

const FROM_OUTSIDE: [Case; 6] = [
    ("Runtime::spawn", |rt| rt.block_on(rt.spawn(big::<MIB>())).unwrap()),
    ("Handle::spawn", |rt| rt.block_on(rt.handle().spawn(big::<MIB>())).unwrap()),
    ("Builder::spawn_on", |rt| {
        let task = task::Builder::new().name("big").spawn_on(big::<MIB>(), &rt.handle()).unwrap();
        rt.block_on(task).unwrap()
    }),
    ("spawn under Runtime::enter", |rt| {
        let task = {
            let _guard = rt.enter();
            clockwork::spawn(big::<MIB>())
        };
        rt.block_on(task).unwrap()
    }),
    ("Runtime::block_on", |rt| rt.block_on(big::<MIB>())),
    ("Handle::block_on", |rt| rt.handle().block_on(big::<MIB>())),
];

/// Spawns (or starts a blocking job) from inside a task; see [`in_a_task`].
type InTask = (&'static str, fn() -> JoinHandle<usize>);

const FROM_A_TASK: [InTask; 7] = [
    ("clockwork::spawn", || clockwork::spawn(big::<IN_TASK>())),
    ("task::spawn", || task::spawn(big::<IN_TASK>())),
    ("Builder::spawn", || task::Builder::new().spawn(big::<IN_TASK>()).unwrap()),
    ("Handle::spawn", || Handle::current().spawn(big::<IN_TASK>())),
    ("task::spawn_blocking", || {
        let buf = one_at_3::<IN_TASK>();
        task::spawn_blocking(move || sum_of(&buf))
    }),
    ("Builder::spawn_blocking", || {
        let buf = one_at_3::<IN_TASK>();
        task::Builder::new().spawn_blocking(move || sum_of(&buf)).unwrap()
    }),
    ("Handle::spawn_blocking", || {
        let buf = one_at_3::<IN_TASK>();
        Handle::current().spawn_blocking(move || sum_of(&buf))
    }),
];

fn one_at_3<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    buf[3] = 1;
    buf
}

fn sum_of(buf: &[u8]) -> usize {
    buf.iter().map(|&b| usize::from(b)).sum()
}

/// Calls `start` inside a spawned task: on the multi-thread runtime that is a worker
/// (2 MiB stack), on the current-thread one this test's thread (2 MiB too).
fn in_a_task(rt: &Runtime, start: fn() -> JoinHandle<usize>) -> usize {
    rt.block_on(async move { clockwork::spawn(async move { start().await.unwrap() }).await.unwrap() })
}

#[test]
fn spawn_and_block_on_a_1_mib_future_from_outside_a_runtime() {
    on_4_mib_stack(|| {
        on_both(|flavour, rt| {
            for (entry, case) in FROM_OUTSIDE {
                assert_eq!(case(&rt), 1, "{flavour}: {entry}");
            }
        });
        assert_eq!(clockwork::block_on(big::<MIB>()), 1, "clockwork::block_on");
    });
}

#[test]
fn spawn_a_large_future_or_blocking_job_from_inside_a_task() {
    on_both(|flavour, rt| {
        for (entry, start) in FROM_A_TASK {
            assert_eq!(in_a_task(&rt, start), 1, "{flavour}: {entry}");
        }
    });
}

#[test]
fn spawn_blocking_with_a_1_mib_capture_from_outside_a_runtime() {
    on_4_mib_stack(|| {
        on_both(|flavour, rt| {
            let buf = one_at_3::<MIB>();
            assert_eq!(rt.block_on(rt.spawn_blocking(move || sum_of(&buf))).unwrap(), 1, "{flavour}");
        });
    });
}

/// `Builder::thread_stack_size` gives workers and blocking threads room for what a
/// default 2 MiB worker cannot hold in a debug build: a 1 MiB future (or blocking
/// closure) built and spawned inside a task, plus a 1 MiB array on the blocking thread.
#[test]
fn thread_stack_size_lets_a_worker_spawn_a_1_mib_future() {
    let rt = clockwork::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_stack_size(8 * MIB)
        .build()
        .unwrap();
    let spawned = rt.block_on(rt.spawn(async { clockwork::spawn(big::<MIB>()).await.unwrap() }));
    assert_eq!(spawned.unwrap(), 1);
    let blocking = rt.block_on(rt.spawn(async {
        let buf = one_at_3::<MIB>();
        task::spawn_blocking(move || {
            let copy = std::hint::black_box(one_at_3::<MIB>());
            sum_of(&buf) + sum_of(&copy)
        })
        .await
        .unwrap()
    }));
    assert_eq!(blocking.unwrap(), 2);
}

#[test]
#[should_panic(expected = "Builder::thread_stack_size(0)")]
fn a_zero_stack_size_is_refused() {
    clockwork::runtime::Builder::new_multi_thread().thread_stack_size(0);
}
