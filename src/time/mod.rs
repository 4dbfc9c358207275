//! Time: `sleep`, `timeout` and `interval`, on a hierarchical timer wheel.
//!
//! **What this teaches.** A runtime does not start a thread per timer. It keeps every
//! timer in one data structure, asks it "when is the next one due?" before parking, and
//! fires the due ones when it wakes. The pieces, in reading order:
//!
//! | file | idea |
//! |---|---|
//! | [`wheel`] | the hierarchical timing wheel: O(1) insert and cancel, no per-tick scan |
//! | `clock.rs` | `Instant` ⇄ 1 ms ticks: deadlines round up, now rounds down, so never early |
//! | `driver.rs` | the wheel of wakers behind a lock; wake outside it; unpark on earlier timers |
//! | `sleep.rs` | the leaf future: register on first poll, follow the waker, cancel on drop |
//! | `timeout.rs`, `interval.rs` | built from `Sleep` |
//!
//! Resolution is 1 ms and no timer ever fires early. `sleep(Duration::MAX)` (and any
//! deadline too far away to represent) simply never fires.
//!
//! Next to read: `src/time/wheel/mod.rs`.

pub(crate) mod clock;
pub(crate) mod driver;
pub mod error;
mod interval;
mod sleep;
mod timeout;
pub mod wheel;

#[cfg(test)]
mod loom_tests;

pub use interval::{interval, Interval};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, Timeout};

/// The time types this module works with are std's; re-exported so that code written
/// against `tokio::time::{Duration, Instant}` compiles with only the path changed.
pub use std::time::{Duration, Instant};
