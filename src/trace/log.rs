//! An append-only log with one writer, any number of readers, and no lock.
//!
//! **What this teaches.** How one thread can hand data to others without a lock: write
//! the data first, then *publish* it with one `Release` store of a length. A reader that
//! loads the length with `Acquire` sees every slot below it fully written. This is the
//! core of every lock-free queue, in its simplest form: one writer, nothing is ever
//! removed, nothing ever moves.
//!
//! The log is a linked list of fixed-capacity chunks (the first holds [`FIRST_CHUNK`]
//! values, each next one twice as many, up to [`LARGEST_CHUNK`]). A chunk, once allocated,
//! never moves and is freed only with the log, so a reader can hold `&T` into it while the
//! writer appends. A `Vec` could not do that: growing it moves (and copies) every element.
//!
//! **The publication invariant.** For every chunk:
//!
//! 1. slots `0..len` are initialised, and nobody writes them again;
//! 2. only the writer touches slots `len..capacity`, and it stores `len + 1` (`Release`)
//!    only after slot `len` is written;
//! 3. `next` is stored once (`Release`), only after `len == capacity` was stored.
//!
//! A reader loads `next` first and `len` second (both `Acquire`). If it saw a next chunk, the
//! `len` it then loads is the final one (3), so what it reads is always a *prefix* of all
//! that was pushed: it may miss the newest values, never one in the middle.
//!
//! **Page faults.** A traced benchmark writes megabytes of events, and the kernel must zero
//! every fresh page on first touch (a traced `yield_many` ran 1.4× longer on fresh pages).
//! So a log can be given a pool of spare slot arrays ([`Spares`]): when it drops, its
//! full-size chunks' arrays go there (up to 16 MB), and the next log reuses them, already
//! mapped. A program with one traced runtime gains nothing; one that builds many (a test
//! suite, the peer benchmarks) stops paying for the same pages again and again.
//!
//! Rejected alternatives: a `Mutex<Vec<T>>` per thread (the recorder's previous lane:
//! nobody else took the lock, yet each event still paid two atomic read-modify-writes, and
//! each growth copied the whole buffer); a thread-local `Vec` flushed when the thread parks
//! or exits (no atomics at all, but a snapshot taken mid-run would silently miss whatever a
//! busy worker had not flushed, and a worker that never parks never flushes).
//!
//! Next to read: `clock.rs`, where the timestamps come from.

use crate::loom::cell::UnsafeCell;
use crate::loom::sync::atomic::AtomicUsize;
use crate::loom::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};
use std::sync::Mutex;

// `src/loom.rs` swaps in loom's atomics; it has no `AtomicPtr`, so this module picks it here.
#[cfg(loom)]
use loom::sync::atomic::AtomicPtr;
#[cfg(not(loom))]
use std::sync::atomic::AtomicPtr;

/// Values in the first chunk (small: every thread that records anything gets a log).
pub(super) const FIRST_CHUNK: usize = 1 << 10;
/// The largest chunk (65,536 values: 1 MB of 16-byte event records).
pub(super) const LARGEST_CHUNK: usize = 1 << 16;

/// How much memory a pool of spare slot arrays may keep.
const MAX_SPARE_BYTES: usize = 16 << 20;

/// The storage of one chunk: `capacity` slots, each empty or holding a value.
type Slots<T> = Box<[UnsafeCell<MaybeUninit<T>>]>;

/// A pool of spare, empty [`LARGEST_CHUNK`]-sized slot arrays (see "Page faults" above).
pub(super) type Spares<T> = Mutex<Vec<Slots<T>>>;

/// A fixed-capacity block of slots; see the module doc for the invariant.
struct Chunk<T> {
    slots: Slots<T>,
    /// How many slots are published.
    len: AtomicUsize,
    /// The following chunk, or null.
    next: AtomicPtr<Chunk<T>>,
}

impl<T> Chunk<T> {
    /// A new, empty chunk on the heap, as a raw pointer (it is freed by `Log::drop`); its
    /// slots come from `spares` if one of the right size is there.
    fn allocate(capacity: usize, spares: Option<&Spares<T>>) -> NonNull<Chunk<T>> {
        let spare = spares.and_then(|spares| {
            let mut spares = spares.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let fits = spares.last().is_some_and(|slots| slots.len() == capacity);
            if fits {
                spares.pop()
            } else {
                None
            }
        });
        let slots =
            spare.unwrap_or_else(|| (0..capacity).map(|_| UnsafeCell::new(MaybeUninit::uninit())).collect());
        let chunk = Chunk { slots, len: AtomicUsize::new(0), next: AtomicPtr::new(ptr::null_mut()) };
        NonNull::from(Box::leak(Box::new(chunk)))
    }
}

/// An append-only log: one writer ([`Log::push`]), any number of readers ([`Log::for_each`]).
pub(super) struct Log<T: 'static> {
    /// The first chunk. Chunks are kept as raw pointers, never as `Box`es, because a `Box`
    /// claims unique access, which the readers' shared pointers would contradict.
    head: NonNull<Chunk<T>>,
    /// The chunk the writer appends to. Only the writer uses it: an atomic (with `Relaxed`
    /// loads and stores) only so that `push` can take `&self`.
    tail: AtomicPtr<Chunk<T>>,
    /// Slots allocated so far, in all chunks (writer only, like `tail`).
    allocated: AtomicUsize,
    /// The most values the log will hold; later pushes are counted in `dropped`.
    max_len: usize,
    /// No chunk gets more slots than this.
    largest: usize,
    /// Where full-size slot arrays go when the log drops, and come from when it grows.
    spares: Option<&'static Spares<T>>,
    dropped: AtomicUsize,
}

// SAFETY: a `Log` owns its values (sending it sends them: `T: Send`), and `&Log` lets any
// thread read published values (`T: Sync`). Writing through `&Log` needs the caller's
// promise in `push` that only one thread writes.
unsafe impl<T: Send + 'static> Send for Log<T> {}
// SAFETY: as above; readers only ever see published, never-again-written slots (invariant).
unsafe impl<T: Send + Sync + 'static> Sync for Log<T> {}

impl<T: 'static> Log<T> {
    /// An empty log that stores at most `max_len` values, recycling through `spares`.
    pub(super) fn new(max_len: usize, spares: Option<&'static Spares<T>>) -> Log<T> {
        Log::with_chunks(FIRST_CHUNK, LARGEST_CHUNK, max_len, spares)
    }

    /// An empty log whose chunks grow from `first` to `largest` slots (the tests use tiny
    /// chunks, so that a few pushes already cross chunk boundaries).
    pub(super) fn with_chunks(
        first: usize,
        largest: usize,
        max_len: usize,
        spares: Option<&'static Spares<T>>,
    ) -> Log<T> {
        assert!(first > 0 && largest >= first, "chunks hold at least one value");
        let first = first.min(max_len);
        let head = Chunk::allocate(first, spares);
        Log {
            head,
            tail: AtomicPtr::new(head.as_ptr()),
            allocated: AtomicUsize::new(first),
            max_len,
            largest,
            spares,
            dropped: AtomicUsize::new(0),
        }
    }

    /// Appends `value` and publishes it (`true`), or counts it as dropped if the log is full.
    ///
    /// # Safety
    ///
    /// The caller must be the log's only writer: every `push` on this log is made by one
    /// thread (or, more generally, each `push` happens-before the next one). Readers may run
    /// concurrently.
    #[inline]
    pub(super) unsafe fn push(&self, value: T) -> bool {
        // SAFETY: `tail` always points to a chunk of this log, freed only in `drop`.
        let mut chunk = unsafe { &*self.tail.load(Relaxed) };
        let mut len = chunk.len.load(Relaxed); // only we store `len`: this is the latest
        if len == chunk.slots.len() {
            match self.grow(chunk) {
                Some(next) => chunk = next,
                None => {
                    self.dropped.fetch_add(1, Relaxed);
                    return false;
                }
            }
            len = 0;
        }
        // SAFETY: slot `len` is not published yet (invariant 2): no reader looks at it, and
        // the caller promised that no other `push` runs, so this access is exclusive.
        chunk.slots[len].with_mut(|slot| unsafe { slot.write(MaybeUninit::new(value)) });
        // Publish: the write above happens-before any `Acquire` load that sees the new length.
        chunk.len.store(len + 1, Release);
        true
    }

    /// Links a new chunk after the full `last` (the tail) and makes it the tail; `None` once
    /// `max_len` slots exist. Kept out of line: it runs once per chunk.
    #[cold]
    fn grow(&self, last: &Chunk<T>) -> Option<&Chunk<T>> {
        let allocated = self.allocated.load(Relaxed);
        let capacity = (last.slots.len() * 2).min(self.largest).min(self.max_len - allocated);
        if capacity == 0 {
            return None;
        }
        let next = Chunk::allocate(capacity, self.spares);
        self.allocated.store(allocated + capacity, Relaxed);
        last.next.store(next.as_ptr(), Release); // invariant 3: `last.len == capacity` is stored
        self.tail.store(next.as_ptr(), Relaxed);
        // SAFETY: just allocated; freed only in `drop`, which needs `&mut self`.
        Some(unsafe { next.as_ref() })
    }

    /// Calls `f` on every published value, oldest first. Safe to call from any thread while
    /// the writer pushes: it sees a prefix of the log (see the module doc).
    pub(super) fn for_each(&self, mut f: impl FnMut(&T)) {
        let mut chunk = self.head.as_ptr();
        while !chunk.is_null() {
            // SAFETY: `head` and every `next` point to chunks freed only in `drop`.
            let c = unsafe { &*chunk };
            let next = c.next.load(Acquire); // `next` before `len`: see the module doc
            let len = c.len.load(Acquire);
            for slot in &c.slots[..len] {
                // SAFETY: slots below an Acquire-loaded `len` are initialised and never
                // written again (invariant 1), so a shared reference is sound.
                slot.with(|value| f(unsafe { (*value).assume_init_ref() }));
            }
            chunk = next;
        }
    }

    /// How many pushes found the log full.
    pub(super) fn dropped(&self) -> usize {
        self.dropped.load(Relaxed)
    }
}

impl<T: 'static> std::fmt::Debug for Log<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Log").field("dropped", &self.dropped()).finish_non_exhaustive()
    }
}

impl<T: 'static> Drop for Log<T> {
    fn drop(&mut self) {
        let mut chunk = self.head.as_ptr();
        while !chunk.is_null() {
            // SAFETY: every chunk was made by `Box::leak` in `Chunk::allocate` and is freed
            // exactly once, here; `&mut self` means no reader or writer is left.
            let c = unsafe { Box::from_raw(chunk) };
            for slot in &c.slots[..c.len.load(Acquire)] {
                // SAFETY: published slots are initialised (invariant 1), and each is dropped once.
                slot.with_mut(|value| unsafe { (*value).assume_init_drop() });
            }
            chunk = c.next.load(Acquire);
            // Every slot is empty again: the array may serve another log.
            if let Some(spares) = self.spares.filter(|_| c.slots.len() == self.largest) {
                let mut spares = spares.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                if (spares.len() + 1) * std::mem::size_of_val(&*c.slots) <= MAX_SPARE_BYTES {
                    spares.push(c.slots);
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "log_tests.rs"]
mod tests;
