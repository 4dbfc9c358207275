//! (under construction by the lead)
use crate::loom::sync::Arc;
/// The driver handle of the runtime whose context this thread is in, if any.
/// Timers and sockets call this once, on first use, and keep the `Arc`.
#[allow(dead_code)]
pub(crate) fn driver_handle() -> Option<Arc<crate::driver::Handle>> { todo!() }
