//! Combinators: futures made of other futures.
//!
//! **What this module teaches.** `join` and `select` are not runtime features: they are
//! ordinary futures whose `poll` polls their children, and each is a small state machine.
//! Read in this order:
//!
//! 1. `poll_fn.rs`: a future from a closure.
//! 2. `maybe_done.rs`: a child future that remembers its output (and pinning, explained).
//! 3. `join.rs` and `join_all.rs`: wait for all children.
//! 4. `select.rs`: wait for the first child, fairly.
//! 5. `macros.rs`: `join!` and `select!` for any number of futures.

mod join;
mod join_all;
mod maybe_done;
mod poll_fn;
mod select;
#[macro_use]
mod macros;
mod pin;

pub use join::{join, Join};
pub use join_all::{join_all, JoinAll};
pub use poll_fn::{poll_fn, PollFn};
pub use select::{select, Either, Select};

#[doc(hidden)]
pub use maybe_done::MaybeDone;
#[doc(hidden)]
pub use select::{select_start, select_start_biased};

#[cfg(all(test, not(loom)))]
mod tests;
