//! Channels: how tasks hand values to each other, and how a waiting task gets woken.
//!
//! **What this module teaches.** Every channel is two things: a place where values wait
//! (a cell, or a queue), and a *waker protocol* that says who wakes whom and when. Read
//! the files in this order:
//!
//! 1. `atomic_waker.rs`: one waker slot and the rule "register, then check".
//! 2. [`oneshot`]: one value, a state word and that slot; lock-free.
//! 3. [`mpsc`]: a bounded queue behind a mutex, with a FIFO line of waiting senders.
//!
//! Then `src/future/`, where the same protocols appear in combinators.

pub(crate) mod atomic_waker;
pub mod mpsc;
pub mod oneshot;

#[cfg(test)]
pub(crate) mod test_waker;
