//! Time: the hierarchical timer wheel, and (soon) `sleep`, `timeout` and `interval`.
//!
//! **What this teaches.** A runtime does not start a thread per timer: it keeps every
//! timer in one data structure, asks it "when is the next one due?" before parking, and
//! fires the due ones when it wakes. [`wheel`] is that data structure.
//!
//! Next to read: `src/time/wheel/mod.rs`.

pub mod wheel;
