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
//! panic's message, and most payloads drop harmlessly; here only the last of a chain of
//! more than eight payloads that each panic on drop is leaked.
//!
//! Next to read: `slab/mod.rs`.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Runs `f`; if it panics, the panic stops here, payload and all.
pub(crate) fn contain(f: impl FnOnce()) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
        discard(payload);
    }
}

/// Drops a caught panic's payload, containing a panic of the payload's own destructor,
/// whose payload is dropped the same way, and so on. After [`MAX_NESTED_PANICS`] rounds
/// the last payload is forgotten instead: a payload that panics on every drop with a new
/// such payload would otherwise loop for ever (a small leak, in a program built to do it).
pub(crate) fn discard(payload: Box<dyn Any + Send>) {
    let mut payload = payload;
    for _ in 0..MAX_NESTED_PANICS {
        match catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            Ok(()) => return,
            Err(again) => payload = again,
        }
    }
    std::mem::forget(payload);
}

/// How many payloads in a row, each panicking while dropped, [`discard`] drops before it
/// gives up and leaks the last one.
const MAX_NESTED_PANICS: usize = 8;

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
        contain(|| std::panic::panic_any(Bomb(5))); // every payload dropped: no leak
        contain(|| {}); // no panic: nothing to do
    }

    /// An endless chain stops (leaking its last payload). Not under Miri, which would
    /// rightly report that leak.
    #[cfg(not(miri))]
    #[test]
    fn an_endless_chain_of_panicking_payloads_ends() {
        contain(|| std::panic::panic_any(Bomb(u32::MAX)));
    }
}
