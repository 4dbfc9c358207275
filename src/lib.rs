//! # clockwork
//!
//! An async runtime built to be read. See the README (below) for the two commands that set
//! everything up, and the reading order.
//!
//! ## Layout: where each idea lives
//!
//! | module | idea |
//! |---|---|
//! | [`loom`](https://github.com/tokio-rs/loom) swap (`src/loom.rs`) | every atomic and lock comes from one place, so loom can check them |
//! | `task/` | one heap allocation per task: state word, future, output; the hand-built waker |
//! | [`runtime`] | `block_on`, the current-thread and multi-thread schedulers, shutdown |
//! | `driver.rs`, `park.rs` | what a runtime thread does when it has nothing to run |
//! | [`time`] | the hierarchical timer wheel and `sleep` / `timeout` / `interval` |
//! | `reactor/`, [`net`] | readiness from epoll/kqueue through `polling`, TCP and UDP |
//! | [`sync`], [`future`] | channels and combinators: waker protocols you write yourself |
//! | [`trace`] | the event recorder and its exports: narration, Perfetto JSON, SVG, Mermaid, lints |
//!
#![doc = include_str!("../README.md")]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(missing_docs)]

pub(crate) mod loom;
pub(crate) mod util;

pub(crate) mod driver;
pub(crate) mod park;

pub mod future;
pub mod net;
pub(crate) mod reactor;
pub mod runtime;
pub mod sync;
pub mod task;
pub mod time;
pub mod trace;

pub use runtime::Runtime;

/// Runs `future` to completion on a new current-thread runtime and returns its output.
///
/// Spawning, timers, networking and channels all work inside it. The runtime is dropped
/// when `block_on` returns, which drops every task that has not finished.
///
/// # Panics
///
/// Panics if called from inside a runtime (a task, or another `block_on`): blocking the
/// thread there would stall every other task on it. Use `.await` instead.
///
/// ```
/// let answer = clockwork::block_on(async { 6 * 7 });
/// assert_eq!(answer, 42);
/// ```
#[track_caller]
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    // Boxed if large before it goes further (see `task::BOX_FUTURE_THRESHOLD`).
    if const { task::is_large::<F>() } {
        block_on_inner(Box::pin(future))
    } else {
        block_on_inner(future)
    }
}

#[track_caller]
fn block_on_inner<F: std::future::Future>(future: F) -> F::Output {
    runtime::Builder::new_current_thread()
        .build()
        .expect("failed to build a current-thread runtime")
        .block_on(future)
}

/// Spawns a task on the runtime of the current context; see [`task::spawn`].
///
/// # Panics
///
/// Panics when called outside a runtime.
#[track_caller]
pub fn spawn<F>(future: F) -> task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    if const { task::is_large::<F>() } {
        task::spawn(Box::pin(future))
    } else {
        task::spawn(future)
    }
}
