//! Small building blocks shared by several parts of the runtime.

pub(crate) mod slab;
