//! (under construction by the lead: the task core)
#![allow(missing_docs)]
use std::future::Future;
pub struct JoinHandle<T>(std::marker::PhantomData<T>);
pub fn spawn<F>(_future: F) -> JoinHandle<F::Output>
where F: Future + Send + 'static, F::Output: Send + 'static { todo!() }
