//! Combinators: futures made of other futures.
//!
//! **What this module teaches.** `join` and `select` are not runtime features: they are
//! ordinary futures whose `poll` polls their children, and each is a small state machine.
//! Read in this order:
//!
//! 1. `poll_fn.rs`: a future from a closure.

mod poll_fn;

pub use poll_fn::{poll_fn, PollFn};
