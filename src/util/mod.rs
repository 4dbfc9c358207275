//! Small building blocks shared by several parts of the runtime.

pub(crate) mod panic;
// Parts of the slab's API are used only by the timer wheel and the reactor.
#[allow(dead_code)]
pub(crate) mod slab;
