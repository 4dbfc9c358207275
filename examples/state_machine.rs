//! An `async fn` beside the hand-written `enum` future it compiles to, both polled by hand.
//!
//! What it teaches: `async fn` is sugar for a state machine. Each `.await` is a point
//! where `poll` can return `Pending`; the compiler turns the function into an `enum` with
//! one variant per suspension point, holding the variables alive across it. Here we write
//! that `enum` ourselves, poll both versions with a waker that just counts, and print
//! every state the hand-written one passes through.
//!
//! Run it: `cargo run --example state_machine`.

use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// A leaf future: `Pending` the first time (after asking to be woken), `Ready` the second.
struct OneStep {
    polled: bool,
}

impl Future for OneStep {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if self.polled {
            Poll::Ready(10)
        } else {
            self.polled = true;
            cx.waker().wake_by_ref(); // "I'm ready to make progress: poll me again"
            Poll::Pending
        }
    }
}

fn one_step() -> OneStep {
    OneStep { polled: false }
}

/// The `async fn` version.
async fn add_two_steps(start: u32) -> u32 {
    let a = one_step().await;
    let b = one_step().await;
    start + a + b
}

/// What the compiler generates for `add_two_steps`, written out by hand.
enum AddTwoSteps {
    /// Not started: holds the arguments.
    Start { start: u32 },
    /// Suspended at the first `.await`: holds `start` and the inner future.
    AwaitingA { start: u32, inner: OneStep },
    /// Suspended at the second `.await`: holds `start`, `a` and the inner future.
    AwaitingB { start: u32, a: u32, inner: OneStep },
    /// Returned `Ready`; polling again is a bug.
    Done,
}

impl Future for AddTwoSteps {
    type Output = u32;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        // `AddTwoSteps` is `Unpin` (no field borrows another), so `get_mut` is fine here.
        let this = self.as_mut().get_mut();
        loop {
            match this {
                AddTwoSteps::Start { start } => {
                    println!("    state: Start {{ start: {start} }} -> AwaitingA");
                    *this = AddTwoSteps::AwaitingA { start: *start, inner: one_step() };
                }
                AddTwoSteps::AwaitingA { start, inner } => match Pin::new(inner).poll(cx) {
                    Poll::Pending => {
                        println!("    state: AwaitingA: inner returned Pending, so we do too");
                        return Poll::Pending;
                    }
                    Poll::Ready(a) => {
                        println!("    state: AwaitingA -> AwaitingB (a = {a})");
                        *this = AddTwoSteps::AwaitingB { start: *start, a, inner: one_step() };
                    }
                },
                AddTwoSteps::AwaitingB { start, a, inner } => match Pin::new(inner).poll(cx) {
                    Poll::Pending => {
                        println!("    state: AwaitingB: inner returned Pending, so we do too");
                        return Poll::Pending;
                    }
                    Poll::Ready(b) => {
                        let sum = *start + *a + b;
                        println!("    state: AwaitingB -> Done (returns {sum})");
                        *this = AddTwoSteps::Done;
                        return Poll::Ready(sum);
                    }
                },
                AddTwoSteps::Done => panic!("AddTwoSteps polled after it returned Ready"),
            }
        }
    }
}

/// A waker that only counts how often it was woken.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `future` by hand until it is `Ready`, printing each poll.
fn poll_by_hand<F: Future<Output = u32>>(label: &str, future: F) -> u32 {
    let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    for poll in 1.. {
        println!("  {label}: poll #{poll}");
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            println!(
                "  {label}: Ready({v}) after {poll} polls, woken {} times",
                counter.0.load(Ordering::SeqCst)
            );
            return v;
        }
    }
    unreachable!()
}

fn main() {
    println!("The async fn, polled by hand:");
    let from_async = poll_by_hand("async fn", add_two_steps(1));
    println!("\nThe hand-written enum, polled by hand:");
    let from_enum = poll_by_hand("enum", AddTwoSteps::Start { start: 1 });
    assert_eq!(from_async, from_enum);
    println!("\nSame answer, same number of polls: the enum is what the compiler writes for you.");
    println!(
        "Sizes: async fn future = {} bytes, hand-written enum = {} bytes.",
        std::mem::size_of_val(&add_two_steps(1)),
        std::mem::size_of::<AddTwoSteps>()
    );
}
