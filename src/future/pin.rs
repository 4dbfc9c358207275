//! `pin!`: tokio's macro for pinning a local future in place, built on `std::pin::pin!`.
//!
//! It lives in its own module, declared without `#[macro_use]`, so that inside this crate
//! `pin!` still means `std::pin::pin!` wherever that is imported; users reach this one as
//! `clockwork::pin!`.
//!
//! Next to read: `src/trace/mod.rs`, the recorder that shows all of this running.

/// Pins each named local future to the stack, in place: afterwards the name is a
/// `Pin<&mut _>` that can be polled again and again (`&mut fut` in a `select!` loop).
/// tokio's `pin!`, built safely on `std::pin::pin!`, which moves the value into a
/// temporary that lives as long as the new binding.
///
/// ```
/// # clockwork::block_on(async {
/// let sleep = clockwork::time::sleep(std::time::Duration::from_millis(1));
/// clockwork::pin!(sleep);
/// let mut polls = 0;
/// loop {
///     clockwork::select! {
///         _ = &mut sleep => break,
///         _ = clockwork::task::yield_now() => polls += 1,
///     }
/// }
/// # let _ = polls;
/// # });
/// ```
#[macro_export]
macro_rules! pin {
    ($($x:ident),* $(,)?) => {
        $( let mut $x = ::core::pin::pin!($x); )*
    };
}
