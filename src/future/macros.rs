//! `join!` and `select!`: the combinators for any number of futures, as macros.
//!
//! **What this file teaches.** A macro can build the state machine of `join.rs` or
//! `select.rs` for `n` futures right in the caller's function: each future is pinned *on
//! the stack* with `core::pin::pin!` and polled in place by a `poll_fn` closure; no heap
//! allocation, no boxing. Both macros use one trick to give every future its own variable:
//! they recurse once per future, and an identifier written by the macro (`child`, `fut`)
//! is a *different* variable in each recursion step (macro hygiene). So no counting and
//! no generated names are needed.
//!
//! `select!` picks its first branch with [`select_start`](crate::future::select_start),
//! a per-thread pseudo-random number (see `select.rs` for why not rotation). A branch
//! whose output does not match its pattern is disabled and the others continue; when every
//! branch is disabled, the `else` branch runs (or, without one, `select!` panics).
//!
//! Limitation admitted: the pattern is first tested against a *reference* to the output,
//! so a `mut` binding of a non-`Copy` value (`Some(mut v) = ..`) does not compile; bind
//! `Some(v)` and write `let mut v = v;` in the handler. (tokio strips `mut` with a
//! procedural macro; we stay with `macro_rules!`.)
//!
//! Next to read: `pin.rs`, then `src/trace/mod.rs`.

/// Waits for every future; evaluates to a tuple of their outputs, in order.
///
/// The futures run concurrently in the current task (polled in place, pinned on the
/// stack). Each is a `MaybeDone`: `Pending(future)` until it returns `Ready`, then
/// `Done(output)` and never polled again; when all are `Done`, the outputs are taken as a
/// tuple. Each unfinished future is polled on every wake-up, starting one future further
/// on each time (as tokio's `join!` does): under the cooperative budget the first one
/// polled may spend it all, so a fixed order would let a busy first future starve the
/// rest (`join.rs` explains). With no futures, `join!()` is `()`, as in tokio. Use inside
/// `async` code only.
///
/// ```
/// # clockwork::block_on(async {
/// let (a, b, c) = clockwork::join!(async { 1 }, async { "two" }, async { 3.0 });
/// assert_eq!((a, b, c), (1, "two", 3.0));
/// let (only,) = clockwork::join!(async { 'x' });
/// assert_eq!(only, 'x');
/// let () = clockwork::join!();
/// # });
/// ```
#[macro_export]
macro_rules! join {
    // Step 1, once per future: wrap it with a fresh name `child` (hygiene keeps them apart).
    (@name [$($named:tt)*] $future:expr, $($rest:tt)*) => {
        $crate::join!(@name [$($named)* (child $future)] $($rest)*)
    };
    // Step 2: pin every child on the stack and poll them all until all are done.
    (@name [$(($name:ident $future:expr))*]) => {{
        $(
            let mut $name = ::core::pin::pin!($crate::future::MaybeDone::new(
                ::core::future::IntoFuture::into_future($future),
            ));
        )*
        let count: usize = 0 $( + { let _ = &$name; 1 } )*;
        let mut start: usize = 0; // the child polled first; one further on every poll
        $crate::future::poll_fn(|cx| {
            let mut all_done = true;
            // Children `start..` first, then `..start`: two passes, each child in exactly
            // one, so the order rotates without `count²` index checks. `&=`, not `&&`:
            // every unfinished child gets polled (and registers its waker).
            {
                let mut index = 0;
                $( if index >= start { all_done &= $name.as_mut().poll_done(cx); } index += 1; )*
                let _ = index;
            }
            {
                let mut index = 0;
                $( if index < start { all_done &= $name.as_mut().poll_done(cx); } index += 1; )*
                let _ = index;
            }
            start = if start + 1 == count { 0 } else { start + 1 };
            if !all_done {
                return ::core::task::Poll::Pending;
            }
            ::core::task::Poll::Ready(($(
                $name.as_mut().take_output().expect("join!: every child has finished"),
            )*))
        })
        .await
    }};
    ($($future:expr),+ $(,)?) => {
        $crate::join!(@name [] $($future,)+)
    };
    // No futures: nothing to wait for, but still an `.await` (as in tokio).
    () => {
        async {}.await
    };
}

/// Waits for the first of several futures whose output matches its pattern, and runs
/// that branch's handler; the other futures are dropped (cancelled).
///
/// ```text
/// select! {
///     pattern = future => handler,
///     pattern = future, if condition => handler,        // optional precondition
///     ...
///     else => handler_when_every_branch_is_disabled,   // optional
/// }
/// ```
///
/// Every `condition` is evaluated first, then every `future` expression, each in order; a
/// branch whose condition is `false` starts disabled (its future is created but never
/// polled), as in tokio. Then the futures are polled in
/// place, starting at a pseudo-randomly chosen branch so that no branch can starve the
/// others; with `biased;` before the first branch (as in tokio), always in the order
/// written, for a caller who wants priorities and takes on the starvation. Each branch is a
/// small state machine:
///
/// ```text
///   Enabled --Ready(v), v matches its pattern--> wins: the others are dropped, its handler runs
///      |    --Ready(v), v does not match------> Disabled (never polled again)
///      +-- Pending: stays Enabled              every branch Disabled => `else` (or a panic)
/// ```
/// A handler runs in the enclosing function: `return`, `break`, `?` and `.await`
/// work in it as usual.
///
/// ```
/// # clockwork::block_on(async {
/// let (tx, mut rx) = clockwork::sync::mpsc::channel::<u32>(4);
/// tx.try_send(1).unwrap();
/// // Both branches are ready; `biased;` makes the first one win, every time.
/// let first = clockwork::select! {
///     biased;
///     _ = std::future::ready(()) => "ready",
///     Some(_) = rx.recv() => "message",
/// };
/// assert_eq!(first, "ready");
/// # });
/// ```
///
/// ```
/// # clockwork::block_on(async {
/// let (tx, mut rx) = clockwork::sync::mpsc::channel::<u32>(1);
/// tx.try_send(5).unwrap();
/// let got = clockwork::select! {
///     Some(n) = rx.recv() => n,
///     _ = std::future::pending::<()>() => unreachable!(),
/// };
/// assert_eq!(got, 5);
/// # });
/// ```
///
/// Patterns are written as in a `match` on the output, `mut` and `ref` bindings included
/// (this example is compiled as edition 2024, whose rules for bindings are stricter):
///
/// ```edition2024
/// # clockwork::block_on(async {
/// let (tx, mut rx) = clockwork::sync::mpsc::channel::<String>(1);
/// tx.try_send("hello".to_string()).unwrap();
/// let got = clockwork::select! {
///     Some(mut msg) = rx.recv() => { msg.push('!'); msg }
///     Some(ref msg) = std::future::pending::<Option<String>>() => msg.clone(),
/// };
/// assert_eq!(got, "hello!");
/// # });
/// ```
#[macro_export]
macro_rules! select {
    // Parsing, one branch per step. Each branch becomes
    // `(fut out on [pattern] [future] [handler])`: three fresh names (hygiene, as in
    // `join!`) for the pinned future, its matched output, and its "still enabled" flag.
    (@parse [$($done:tt)*] else => $else:expr $(,)?) => {
        $crate::select!(@run [$($done)*] [$else])
    };
    // Fast path: a pattern that is one name or `_` needs no cleaning (below), so it is
    // taken in the same step as its branch. One recursion step per branch, where the
    // token-by-token path takes one per token plus two: tokio's 64 branches of
    // `x = fut => x,` then fit in the compiler's default recursion limit (128).
    (@parse [$($done:tt)*] $p:ident = $f:expr => $body:block, $($rest:tt)*) => {
        $crate::select!(@parse [$($done)* (fut out on [$p] [$f] [true] [$body])] $($rest)*)
    };
    (@parse [$($done:tt)*] $p:ident = $f:expr => $body:block $($rest:tt)*) => {
        $crate::select!(@parse [$($done)* (fut out on [$p] [$f] [true] [$body])] $($rest)*)
    };
    (@parse [$($done:tt)*] $p:ident = $f:expr => $body:expr, $($rest:tt)*) => {
        $crate::select!(@parse [$($done)* (fut out on [$p] [$f] [true] [$body])] $($rest)*)
    };
    (@parse [$($done:tt)*] $p:ident = $f:expr => $body:expr) => {
        $crate::select!(@parse [$($done)* (fut out on [$p] [$f] [true] [$body])] )
    };
    (@parse [$($done:tt)*] _ = $f:expr => $body:block, $($rest:tt)*) => {
        $crate::select!(@parse [$($done)* (fut out on [_] [$f] [true] [$body])] $($rest)*)
    };
    (@parse [$($done:tt)*] _ = $f:expr => $body:block $($rest:tt)*) => {
        $crate::select!(@parse [$($done)* (fut out on [_] [$f] [true] [$body])] $($rest)*)
    };
    (@parse [$($done:tt)*] _ = $f:expr => $body:expr, $($rest:tt)*) => {
        $crate::select!(@parse [$($done)* (fut out on [_] [$f] [true] [$body])] $($rest)*)
    };
    (@parse [$($done:tt)*] _ = $f:expr => $body:expr) => {
        $crate::select!(@parse [$($done)* (fut out on [_] [$f] [true] [$body])] )
    };
    // A pattern is collected token by token up to its `=` (a pattern never contains a
    // lone `=`), not taken as one `$p:pat` fragment: the match that *tests* an output
    // needs a copy of it with `mut` and `ref` removed (`__select_test_pattern!`), and a
    // `pat` fragment cannot be taken apart again.
    (@parse [$($done:tt)*] $($rest:tt)+) => {
        $crate::select!(@pat [$($done)*] [] $($rest)+)
    };
    // With a precondition (`pat = fut, if cond => handler`, as in tokio): a branch whose
    // condition is false starts disabled; its future is still created, never polled.
    (@pat [$($done:tt)*] [$($p:tt)+] = $f:expr, if $c:expr => $body:block, $($rest:tt)*) => {
        $crate::select!(@parse [$($done)* (fut out on [$($p)+] [$f] [$c] [$body])] $($rest)*)
    };
    (@pat [$($done:tt)*] [$($p:tt)+] = $f:expr, if $c:expr => $body:block $($rest:tt)*) => {
        $crate::select!(@parse [$($done)* (fut out on [$($p)+] [$f] [$c] [$body])] $($rest)*)
    };
    (@pat [$($done:tt)*] [$($p:tt)+] = $f:expr, if $c:expr => $body:expr, $($rest:tt)*) => {
        $crate::select!(@parse [$($done)* (fut out on [$($p)+] [$f] [$c] [$body])] $($rest)*)
    };
    (@pat [$($done:tt)*] [$($p:tt)+] = $f:expr, if $c:expr => $body:expr) => {
        $crate::select!(@parse [$($done)* (fut out on [$($p)+] [$f] [$c] [$body])])
    };
    (@pat [$($done:tt)*] [$($p:tt)+] = $f:expr => $body:block, $($rest:tt)*) => {
        $crate::select!(@parse [$($done)* (fut out on [$($p)+] [$f] [true] [$body])] $($rest)*)
    };
    (@pat [$($done:tt)*] [$($p:tt)+] = $f:expr => $body:block $($rest:tt)*) => {
        $crate::select!(@parse [$($done)* (fut out on [$($p)+] [$f] [true] [$body])] $($rest)*)
    };
    (@pat [$($done:tt)*] [$($p:tt)+] = $f:expr => $body:expr, $($rest:tt)*) => {
        $crate::select!(@parse [$($done)* (fut out on [$($p)+] [$f] [true] [$body])] $($rest)*)
    };
    (@pat [$($done:tt)*] [$($p:tt)+] = $f:expr => $body:expr) => {
        $crate::select!(@parse [$($done)* (fut out on [$($p)+] [$f] [true] [$body])])
    };
    (@pat [$($done:tt)*] [$($p:tt)*] $t:tt $($rest:tt)*) => {
        $crate::select!(@pat [$($done)*] [$($p)* $t] $($rest)*)
    };
    (@parse [$($done:tt)*]) => {
        $crate::select!(@run [$($done)*] [::core::panic!(
            "select!: every branch is disabled (no output matched its pattern) and there is no `else` branch"
        )])
    };
    // The state machine: poll enabled branches from a random start until one output matches.
    // The futures live in an inner block, so they are all dropped *before* the winning
    // handler runs: a handler may then use what the futures borrowed (`rx.close()` after
    // `rx.recv()`).
    (@run [[$start:path] $(($fut:ident $out:ident $on:ident [$($p:tt)+] [$f:expr] [$c:expr] [$body:expr]))*] [$else:expr]) => {{
        let ($($out,)*) = {
            // Every precondition first, then every future, each in order (as in tokio).
            $( let mut $on: bool = $c; )*
            $(
                let mut $fut = ::core::pin::pin!(::core::future::IntoFuture::into_future($f));
                let mut $out = ::core::option::Option::None;
            )*
            let branches: usize = 0 $( + { let _ = &$on; 1 } )*;
            $crate::future::poll_fn(|cx| {
                let start = $start(branches);
                for step in 0..branches {
                    let which = (start + step) % branches;
                    let mut index = 0;
                    $(
                        if which == index && $on {
                            if let ::core::task::Poll::Ready(value) =
                                ::core::future::Future::poll($fut.as_mut(), cx)
                            {
                                $on = false; // finished: never poll it again
                                #[allow(unused_variables, unreachable_patterns)]
                                let matched = match &value {
                                    $crate::__select_test_pattern!($($p)+) => true,
                                    _ => false,
                                };
                                if matched {
                                    $out = ::core::option::Option::Some(value);
                                    return ::core::task::Poll::Ready(());
                                }
                            }
                        }
                        index += 1;
                    )*
                    let _ = index;
                }
                if false $( || $on )* {
                    ::core::task::Poll::Pending
                } else {
                    ::core::task::Poll::Ready(()) // every branch disabled: the `else` branch
                }
            })
            .await;
            ($($out,)*)
        };
        $(
            if let ::core::option::Option::Some(value) = $out {
                #[allow(unused_mut)] // `mut` so that a `ref mut` binding can borrow from it
                let mut value = value;
                match value {
                    $($p)+ => $body,
                    #[allow(unreachable_patterns)]
                    _ => ::core::unreachable!("select!: the pattern matched a moment ago"),
                }
            } else
        )*
        { $else }
    }};
    // `biased;` first: poll the branches in the order written, every time (tokio's
    // syntax), instead of from a random start. The chosen start function leads the list
    // of parsed branches.
    (biased; $($branches:tt)+) => {
        $crate::select!(@parse [[$crate::future::select_start_biased]] $($branches)+)
    };
    ($($branches:tt)+) => {
        $crate::select!(@parse [[$crate::future::select_start]] $($branches)+)
    };
}

/// `select!`'s pattern with every `mut` and `ref` removed, for the match that only *tests*
/// an output through a reference: `Some(mut msg)` must test as `Some(msg)`, or a `msg` that
/// is not `Copy` would be moved out of the reference (edition 2021), and edition 2024
/// rejects `mut` and `ref` under a reference outright. The winning output is then matched
/// by value against the pattern as written. (tokio does the same with a procedural macro.)
///
/// A token muncher with an explicit stack, because a macro call inside a group would have
/// to expand to a whole pattern: `@go [done] [stack] rest`, where each stack frame holds a
/// group being rebuilt (`paren`, `bracket` or `brace`), the tokens before it and the tokens
/// after it.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_test_pattern {
    (@go [$($o:tt)*] [$($s:tt)*] mut $($r:tt)*) => {
        $crate::__select_test_pattern!(@go [$($o)*] [$($s)*] $($r)*)
    };
    (@go [$($o:tt)*] [$($s:tt)*] ref $($r:tt)*) => {
        $crate::__select_test_pattern!(@go [$($o)*] [$($s)*] $($r)*)
    };
    (@go [$($o:tt)*] [$($s:tt)*] ($($g:tt)*) $($r:tt)*) => {
        $crate::__select_test_pattern!(@go [] [(paren [$($o)*] [$($r)*]) $($s)*] $($g)*)
    };
    (@go [$($o:tt)*] [$($s:tt)*] [$($g:tt)*] $($r:tt)*) => {
        $crate::__select_test_pattern!(@go [] [(bracket [$($o)*] [$($r)*]) $($s)*] $($g)*)
    };
    (@go [$($o:tt)*] [$($s:tt)*] {$($g:tt)*} $($r:tt)*) => {
        $crate::__select_test_pattern!(@go [] [(brace [$($o)*] [$($r)*]) $($s)*] $($g)*)
    };
    (@go [$($o:tt)*] [$($s:tt)*] $t:tt $($r:tt)*) => {
        $crate::__select_test_pattern!(@go [$($o)* $t] [$($s)*] $($r)*)
    };
    // The tokens of a group ran out: close it and go on after it.
    (@go [$($o:tt)*] [(paren [$($before:tt)*] [$($after:tt)*]) $($s:tt)*]) => {
        $crate::__select_test_pattern!(@go [$($before)* ($($o)*)] [$($s)*] $($after)*)
    };
    (@go [$($o:tt)*] [(bracket [$($before:tt)*] [$($after:tt)*]) $($s:tt)*]) => {
        $crate::__select_test_pattern!(@go [$($before)* [$($o)*]] [$($s)*] $($after)*)
    };
    (@go [$($o:tt)*] [(brace [$($before:tt)*] [$($after:tt)*]) $($s:tt)*]) => {
        $crate::__select_test_pattern!(@go [$($before)* {$($o)*}] [$($s)*] $($after)*)
    };
    (@go [$($o:tt)*] []) => {
        $($o)*
    };
    ($($t:tt)+) => {
        $crate::__select_test_pattern!(@go [] [] $($t)+)
    };
}
