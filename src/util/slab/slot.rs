//! One slab slot and its state table: occupied, detached, vacant.
//!
//! Part of [`super`] (read its module doc first); next to read: `src/task/mod.rs`.

use super::Key;
use std::mem::MaybeUninit;

/// One slot. A struct rather than an `enum { Occupied, Vacant }`, so that emptying it
/// ([`Slab::take`](super::Slab::take)) writes only the generation, one small store where
/// an enum rewrites its tag and every field of the vacant variant, and so that every slot's generation
/// sits at the same place, readable without a branch on its kind.
///
/// | state | generation | `value` | `tag` | bit | on the free list |
/// |---|---|---|---|---|---|
/// | occupied | odd: its key's | initialized | the owner's | set | no |
/// | detached (`take`n, not yet `free`d) | even | moved out | the owner's | set | no |
/// | vacant | even | uninitialized | stale | clear | yes |
pub(super) struct Slot<T> {
    /// Odd while the slot holds a value (the generation of its key), even otherwise;
    /// see [`is_occupied_generation`].
    pub(super) generation: u32,
    /// The owner's *tag*, a `u32` it keeps beside the value and can still read after
    /// [`Slab::take`](super::Slab::take) (the timer wheel keeps each timer's list there).
    pub(super) tag: u32,
    /// Initialized iff `generation` is odd (the slab's one `unsafe` invariant).
    pub(super) value: MaybeUninit<T>,
}

impl<T> Slot<T> {
    /// The value, if `key`'s generation is the slot's.
    #[inline]
    pub(super) fn get(&self, key: Key) -> Option<&T> {
        // SAFETY: a key's generation is odd (`Key`'s invariant), so if it is the slot's,
        // the slot's is odd, and then `value` is initialized (the invariant on `value`).
        (self.generation == key.generation()).then(|| unsafe { self.value.assume_init_ref() })
    }

    /// [`Slot::get`], mutably.
    #[inline]
    pub(super) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        // SAFETY: as in `get`.
        (self.generation == key.generation()).then(|| unsafe { self.value.assume_init_mut() })
    }

    /// Moves the value out if `key`'s generation is the slot's, leaving the slot
    /// detached (even generation): one compare, one store.
    #[inline]
    pub(super) fn take(&mut self, key: Key) -> Option<T> {
        // A key's generation is odd (`Key`'s invariant), so equal means occupied.
        (self.generation == key.generation()).then(|| self.move_out())
    }

    /// Moves the value out if the slot is occupied, whatever its generation, leaving it
    /// detached (for `drain` and the slab's `Drop`, which hold no keys).
    pub(super) fn take_any(&mut self) -> Option<T> {
        is_occupied_generation(self.generation).then(|| self.move_out())
    }

    /// The one place a value leaves a slot. The caller has checked that the generation
    /// is odd.
    #[inline]
    fn move_out(&mut self) -> T {
        debug_assert!(is_occupied_generation(self.generation), "move_out of an empty slot");
        // Even from here on: detached.
        self.generation = self.generation.wrapping_add(1);
        // SAFETY: the generation was odd (both callers check), so `value` was initialized;
        // it is now even, so nothing will read or drop the value again: it is moved out
        // exactly once.
        unsafe { self.value.assume_init_read() }
    }
}

/// `true` for the generations of occupied slots (odd ones). The parity survives the
/// `u32` wrapping, since `2^32` is even.
#[inline]
pub(super) const fn is_occupied_generation(generation: u32) -> bool {
    generation & 1 == 1
}
