//! (under construction by the lead: runtimes)
#![allow(missing_docs)]
pub(crate) mod context;
pub struct Runtime;
impl Runtime { pub fn block_on<F: std::future::Future>(&self, _f: F) -> F::Output { todo!() } }
pub struct Builder;
impl Builder {
    pub fn new_current_thread() -> Builder { Builder }
    pub fn build(&mut self) -> std::io::Result<Runtime> { todo!() }
}
