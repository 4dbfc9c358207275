//! Containing a panic completely, payload included.
//!
//! **What this teaches.** `catch_unwind` stops an unwinding panic and hands back its
//! *payload*: any value, whatever `panic_any` was given. Dropping that payload runs its
//! destructor, and a destructor may panic too. So `let _ = catch_unwind(..)`, the usual
//! way to say "ignore a panic here", is not a complete containment: the payload is dropped
//! just after, outside the `catch_unwind`, and a panicking payload escapes into the
//! runtime (a worker thread dies, or `block_on` panics for a task's sake). Every place
//! where the runtime swallows a panic (a waker's, a destructor's) drops the payload here.
//!
//! Rejected alternative: `mem::forget` every payload. Safe, but it leaks every caught
//! panic's message, and most payloads drop harmlessly.
//!
//! Next to read: `slab.rs`.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`; if it panics, the panic stops here, payload and all.
pub(crate) fn contain(f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        discard(payload);
    }
}

/// Drops a caught panic's payload, containing a panic of the payload's own destructor.
/// That second panic's payload is forgotten, not dropped: dropping it could panic again,
/// without end, and only a program built to do this gets here (a small leak, once).
pub(crate) fn discard(payload: Box<dyn Any + Send>) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// A payload whose destructor panics with another such payload, `depth` times.
    struct Bomb(u32);
    impl Drop for Bomb {
        fn drop(&mut self) {
            if self.0 > 0 {
                std::panic::panic_any(Bomb(self.0 - 1));
            }
        }
    }

    #[test]
    fn a_panicking_payload_does_not_escape() {
        contain(|| std::panic::panic_any(Bomb(1)));
        contain(|| std::panic::panic_any(Bomb(5)));
        contain(|| {}); // no panic: nothing to do
    }
}
