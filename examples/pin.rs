//! Why a self-referential future must not move, and what `Pin` forbids.
//!
//! What it teaches: an `async` block that borrows one of its own locals across an
//! `.await` stores both the value and a pointer to it inside the same future. If the
//! future moved after that pointer was taken, the pointer would dangle. `Pin<&mut F>` is
//! the promise "this value will not move again"; `poll` requires it, so the compiler
//! stops you from moving a future after polling it (unless it is `Unpin`).
//!
//! We build a tiny self-referential struct by hand (with raw pointers, so it compiles)
//! and show the dangling pointer a move produces; then the same struct behind `Pin`, where
//! the move is a compile error (shown in a comment, since it cannot compile).
//!
//! Run it: `cargo run --example pin`.

use std::future::Future;
use std::marker::PhantomPinned;
use std::pin::Pin;

/// Holds a string and a pointer into its own `data` field.
struct SelfRef {
    data: [u8; 5],
    /// Points at `self.data` once `init` ran. Raw, because a reference can't name `self`.
    ptr: *const [u8; 5],
    _pinned: PhantomPinned, // opts out of `Unpin`: moving it after pinning is forbidden
}

impl SelfRef {
    fn new(text: &[u8; 5]) -> SelfRef {
        SelfRef { data: *text, ptr: std::ptr::null(), _pinned: PhantomPinned }
    }

    fn init(&mut self) {
        self.ptr = &self.data;
    }

    /// Whether `ptr` still points at our own `data`.
    fn points_at_itself(&self) -> bool {
        std::ptr::eq(self.ptr, &self.data)
    }

    fn init_pinned(self: Pin<&mut Self>) {
        // SAFETY: we only write a field; nothing is moved out of the pinned value.
        let this = unsafe { self.get_unchecked_mut() };
        this.ptr = &this.data;
    }
}

fn main() {
    println!("1. Without Pin: initialise the self-pointer, then move the value.");
    let mut a = SelfRef::new(b"hello");
    a.init();
    println!("   before the move: points at itself? {}", a.points_at_itself());
    let b = a; // a move: the bytes are copied to a new address, the pointer is not updated
    println!(
        "   after the move:  points at itself? {}  <- dangling: it points at the old place",
        b.points_at_itself()
    );

    println!("\n2. With Pin: pin it on the heap, then initialise.");
    let mut pinned: Pin<Box<SelfRef>> = Box::pin(SelfRef::new(b"world"));
    pinned.as_mut().init_pinned();
    println!("   points at itself? {}", pinned.points_at_itself());
    // Moving it out is now a compile error, because SelfRef is !Unpin:
    //     let moved: SelfRef = *Pin::into_inner(pinned);
    //     error[E0277]: `PhantomPinned` cannot be unpinned
    let moved_box = pinned; // moving the *Box* is fine: the heap value stays where it is
    println!("   after moving the Box: points at itself? {}", moved_box.points_at_itself());

    println!("\n3. The same for futures: an async block that borrows its own local.");
    let fut = async {
        let local = [1u8, 2, 3];
        let borrow = &local; // a pointer into the future itself...
        std::future::ready(()).await; // ...kept alive across a suspension point
        borrow.len()
    };
    // `poll` takes `Pin<&mut Self>`: we must pin before polling, so it can never move after.
    let mut fut = Box::pin(fut);
    let waker = futures_task::noop_waker();
    let out = fut.as_mut().poll(&mut std::task::Context::from_waker(&waker));
    println!("   polled through Pin<Box<_>>: {out:?}");
    println!(
        "\nclockwork keeps every task's future pinned in its heap cell from spawn to drop (src/task/raw.rs)."
    );
}
