//! A slab key: a slot index and a generation packed into one `u64`.
//!
//! Part of [`super`] (read its module doc first); next to read: `slot.rs`.

use super::{slot::is_occupied_generation, NONE};

/// Where a value lives in a [`Slab`](super::Slab): its index and the generation it was inserted in,
/// packed into one `u64` (generation in the high half) so that storing a key, which the
/// timer wheel does once per timer, is one memory write rather than two.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key(u64);

impl Key {
    /// A key no slab ever hands out (index `u32::MAX` is never allocated).
    pub(crate) const INVALID: Key = Key::new(NONE, 1);

    /// **Invariant: a key's generation is odd**, like the generation of an occupied
    /// slot; [`Slab::take`](super::Slab::take) and `Slot::get` rely on it, so that one
    /// comparison tells
    /// them the value is there. Every constructor keeps it.
    #[inline]
    pub(super) const fn new(index: u32, generation: u32) -> Key {
        assert!(is_occupied_generation(generation), "a key's generation is odd");
        Key((generation as u64) << 32 | index as u64)
    }

    /// The slot index (stable while the value lives).
    pub(crate) fn index(self) -> usize {
        self.0 as u32 as usize
    }

    /// The generation the value was inserted in (odd, for a key a slab handed out).
    pub(super) fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The key as one `u64` (for event keys and trace ids).
    pub(crate) fn to_u64(self) -> u64 {
        self.0
    }

    /// The inverse of [`Key::to_u64`]. A number no key produced (its generation even)
    /// becomes a key with the next generation, so the invariant holds for every key.
    pub(crate) fn from_u64(raw: u64) -> Key {
        Key(raw | ODD_GENERATION)
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key {{ index: {}, generation: {} }}", self.index(), self.generation())
    }
}

/// The lowest bit of a key's generation, in the packed `u64`.
const ODD_GENERATION: u64 = 1 << 32;
