//! A slab with generation-checked keys: O(1) insert, O(1) remove, and stale keys that fail
//! safely.
//!
//! **What this teaches.** Runtimes keep many short-lived records (tasks, timers, I/O
//! sources) and need to find one again in O(1) from a small key. A `Vec` with a free list
//! does that, but a plain index has a classic bug: after slot 7 is freed and reused, an old
//! key "7" silently reaches the *new* occupant. Each slot therefore carries a generation
//! counter that is bumped on every removal, and a key is `(index, generation)`: an old key
//! finds a newer generation and gets `None`.
//!
//! This is the same idea the reactor uses so that a reused file descriptor can never
//! receive a stale event, and the timer wheel uses so that cancelling a fired timer is a
//! harmless no-op. Rejected alternative: intrusive linked lists (tokio's choice), which
//! avoid the `Vec` but need `unsafe` and pinning at every use.
//!
//! **Odd generations are occupied.** A slot's generation is odd exactly while it holds
//! a value, and every key carries an odd generation, so one comparison answers both
//! "is this the value the key was given for?" and "is there a value at all?". Inserting
//! makes the generation odd, removing makes it even: each removal bumps it, so an old
//! key never matches again (until the `u32` wraps, after 2^31 reuses of one slot).
//! The value sits in a `MaybeUninit<T>` rather than an `Option<T>`: the generation
//! already says whether it is there, and an `Option` of a type with no spare bit
//! pattern (a `u64`) would add eight bytes to every slot for a second copy of that fact.
//! The price is `unsafe` at the few places that read or drop the value, each relying on
//! this one invariant (Miri runs the slab's tests).
//!
//! Removing can also be done in two steps, for a caller that removes many values in a
//! row and wants each removal to write as little as possible: [`Slab::take`] moves the
//! value out and bumps the generation (one store; from then on no key finds a value
//! there), and [`Slab::free`] later puts the slot on the free list. In between the slot
//! is *detached*: empty and not yet reusable. The timer wheel's `cancel` takes, and
//! frees its cancelled slots 64 at a time (`src/time/wheel/cancel.rs` says why: each
//! memory write in a loop of cache misses costs about 3 ns).
//!
//! Each slot also keeps a 32-bit **tag** for its owner: a small number of the owner's
//! choosing, stored beside the value, which stays readable after [`Slab::take`] (until
//! the slot is reused). The timer wheel keeps each timer's list there, so that a cancel,
//! which takes the value, still leaves behind where its timer was for the batch that
//! settles it.
//!
//! **The free list is a stack of indexes**, beside the slots, not a chain threaded
//! through the vacant slots (the textbook slab, and this one's first version). A chain
//! costs nothing extra, but to pop it `insert` must read the slot it is about to fill
//! to learn the next free one: after many removals in random order every insert waits
//! for a cache miss whose address the previous insert only just learned, so the misses
//! cannot overlap. Measured on the timer wheel, re-filling a million slots freed in
//! random order took 170–185 ns per insert with the chain, 70–95 with the stack. The
//! stack costs 4 bytes per vacant slot.
//!
//! Beside the slots the slab keeps a bitmap, one bit per slot, so that a scan asking
//! "is this key still here?" of many keys can rule out vacant slots without opening them
//! (the timer wheel's compaction, `src/time/wheel/list.rs`). A slot and its bit:
//!
//! | slot | on the free list | bit | got there by |
//! |---|---|---|---|
//! | occupied | no | set | `insert` |
//! | detached | no | set ("maybe") | `take` |
//! | vacant | yes | clear | `remove`, `free` after `take`, or `drain` |
//!
//! A clear bit is a promise (the slot is vacant); a set bit is only a hint, and the
//! generation decides.
//!
//! Next to read: its two parts, `key.rs` (the key) and `slot.rs` (a slot's states),
//! then `src/task/mod.rs`.

use std::mem::MaybeUninit;

mod key;
mod slot;

pub(crate) use key::Key;
use slot::{is_occupied_generation, Slot};

/// An index no slot ever has (so that no key packs to `u64::MAX`, the reactor's notify key).
const NONE: u32 = u32::MAX;

/// A `Vec` of slots, with a stack of the vacant ones' indexes.
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    /// Bit `i % 64` of word `i / 64` is set if slot `i` is occupied or detached, and
    /// clear if it is vacant: a summary of the slots, 1 bit each, that a scan can read
    /// instead of the slots themselves.
    occupied: Vec<u64>,
    /// Indexes of the vacant slots, most recently freed last.
    free: Vec<u32>,
    /// Slots not on the free list: occupied or detached.
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Drop for Slab<T> {
    /// Drops the values still in the slab: a `MaybeUninit` does not drop its contents.
    /// If one value's `drop` panics, the rest are still dropped while the panic unwinds
    /// (as a `Vec` does; a second panic then aborts).
    fn drop(&mut self) {
        /// The slots not yet visited. Its own drop empties them: it runs after the loop
        /// below, or while a panic from one value's drop unwinds out of that loop.
        struct Rest<'a, T>(std::slice::IterMut<'a, Slot<T>>);
        impl<T> Drop for Rest<'_, T> {
            fn drop(&mut self) {
                for slot in &mut self.0 {
                    drop(slot.take_any());
                }
            }
        }
        let mut rest = Rest(self.slots.iter_mut());
        for slot in rest.0.by_ref() {
            drop(slot.take_any()); // the slot is detached before its value's drop runs
        }
    }
}

impl<T> std::fmt::Debug for Slab<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slab").field("len", &self.len).field("slots", &self.slots.len()).finish()
    }
}

impl<T> Slab<T> {
    /// An empty slab (no allocation until the first insert).
    pub(crate) const fn new() -> Self {
        Slab { slots: Vec::new(), occupied: Vec::new(), free: Vec::new(), len: 0 }
    }

    /// Number of slots in use: values, plus slots emptied by [`Slab::take`] and not yet
    /// given back by [`Slab::free`].
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// `true` if no slot is in use.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores `value` and returns its key.
    pub(crate) fn insert(&mut self, value: T) -> Key {
        self.insert_with(|_| value)
    }

    /// Stores the value `make` builds from its own key (for records that know their key).
    /// Reuses the most recently freed slot, if any (it is likely still in cache).
    pub(crate) fn insert_with(&mut self, make: impl FnOnce(Key) -> T) -> Key {
        self.insert_tagged_with(make, 0)
    }

    /// Stores `value` with `tag` beside it (see [`Slab::tag`]) and returns its key.
    #[inline]
    pub(crate) fn insert_tagged(&mut self, value: T, tag: u32) -> Key {
        self.insert_tagged_with(|_| value, tag)
    }

    /// [`Slab::insert_with`], with a tag.
    #[inline]
    fn insert_tagged_with(&mut self, make: impl FnOnce(Key) -> T, tag: u32) -> Key {
        let key = match self.free.last() {
            None => self.push(make, tag),
            Some(&index) => {
                let generation = self.slots[index as usize].generation.wrapping_add(1);
                debug_assert!(is_occupied_generation(generation), "the free list holds an occupied slot");
                let key = Key::new(index, generation);
                let value = make(key); // before any change: `make` may panic
                let slot = &mut self.slots[index as usize];
                self.free.pop();
                slot.tag = tag;
                slot.value.write(value);
                slot.generation = generation; // odd: the value is there
                key
            }
        };
        self.occupied[key.index() / 64] |= 1 << (key.index() % 64);
        self.len += 1;
        key
    }

    /// Appends a new slot holding the value `make` builds (the free list is empty).
    fn push(&mut self, make: impl FnOnce(Key) -> T, tag: u32) -> Key {
        let index = u32::try_from(self.slots.len())
            .ok()
            .filter(|&i| i != NONE)
            .expect("slab is full: more than 4 billion live entries");
        let key = Key::new(index, 1);
        self.slots.push(Slot { generation: 1, tag, value: MaybeUninit::new(make(key)) });
        if index % 64 == 0 {
            self.occupied.push(0);
        }
        key
    }

    /// Removes and returns the value at `key`, or `None` if the key is stale.
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let value = self.take(key)?;
        self.free(key.index());
        Some(value)
    }

    /// The first half of [`Slab::remove`]: moves the value out and bumps the generation,
    /// so that no key finds it, but leaves the slot *detached* (off the free list, with
    /// its tag and its bit) until [`Slab::free`] is called for it. `None` (and no change)
    /// if `key` is stale. Writes one field of one slot, the generation, for a caller that
    /// removes many values in a row and can give the slots back later, in a batch (the
    /// timer wheel's `cancel`): one comparison, one read, one store.
    #[inline]
    pub(crate) fn take(&mut self, key: Key) -> Option<T> {
        self.slots.get_mut(key.index())?.take(key)
    }

    /// The second half of [`Slab::remove`]: gives back slot `index`, detached by
    /// [`Slab::take`], so that it can be reused: the slot joins the free list and its
    /// bit is cleared (its generation moved on in `take`). Each detached slot must be
    /// freed once.
    #[inline]
    pub(crate) fn free(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        debug_assert!(!is_occupied_generation(slot.generation), "free of an occupied slot {index}");
        // A vacant slot's generation is even too: its bit tells it from a detached one,
        // so a second `free` (which would put the index on the stack twice) is caught.
        debug_assert!(self.is_occupied(index), "free of a vacant slot {index} (freed twice?)");
        self.free.push(index as u32);
        self.occupied[index / 64] &= !(1 << (index % 64));
        self.len -= 1;
    }

    /// The tag of slot `index`, which must be occupied or detached (a vacant slot's is
    /// its last owner's, meaningless).
    #[inline]
    pub(crate) fn tag(&self, index: usize) -> u32 {
        debug_assert!(self.is_occupied(index), "the tag of vacant slot {index}");
        self.slots[index].tag
    }

    /// The value at `key` and its tag, or `None` if the key is stale.
    pub(crate) fn get_tagged(&self, key: Key) -> Option<(&T, u32)> {
        let slot = self.slots.get(key.index())?;
        Some((slot.get(key)?, slot.tag))
    }

    /// Replaces the tag of the value at `key`. Panics if the key is stale: the caller
    /// has just found the value, so a stale key here is a bug in the caller.
    pub(crate) fn set_tag(&mut self, key: Key, tag: u32) {
        match self.slots.get_mut(key.index()) {
            Some(slot) if slot.get(key).is_some() => slot.tag = tag,
            _ => panic!("set_tag with a stale key {key:?}"),
        }
    }

    /// The value at `key`, or `None` if the key is stale.
    pub(crate) fn get(&self, key: Key) -> Option<&T> {
        self.slots.get(key.index())?.get(key)
    }

    /// The value at `key`, mutably, or `None` if the key is stale.
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        self.slots.get_mut(key.index())?.get_mut(key)
    }

    /// `true` if `key` still names a value.
    pub(crate) fn contains(&self, key: Key) -> bool {
        self.get(key).is_some()
    }

    /// The same answer as [`Slab::contains`], computed without a branch on the slot's
    /// contents: the generations compare equal only if the slot holds the key's value
    /// (a detached or vacant slot's generation is even, every key's odd). That is what a scan
    /// over many keys of unpredictable liveness wants (the timer wheel's tombstone
    /// compaction: a branch per key would make the CPU wait for each slot's cache miss
    /// in turn instead of overlapping them).
    pub(crate) fn contains_by_generation(&self, key: Key) -> bool {
        self.slots.get(key.index()).is_some_and(|slot| slot.generation == key.generation())
    }

    /// `false` only if slot `index` is vacant, so that every key into it is stale; `true`
    /// if it may hold a value, of any generation (a key into it then still needs
    /// [`Slab::contains_by_generation`]). It is exact except for detached slots, which
    /// read `true`. Reads one bit of a dense bitmap (128 KiB for a million slots, so it
    /// stays in cache), not the slot: a scan over many keys, most of them stale (the
    /// timer wheel's compaction), asks this first and opens only the slots it must.
    pub(crate) fn is_occupied(&self, index: usize) -> bool {
        self.occupied.get(index / 64).is_some_and(|word| word >> (index % 64) & 1 == 1)
    }

    /// The size of one slot holding a `T` (for tests that pin the layout).
    #[cfg(test)]
    pub(crate) const fn slot_size() -> usize {
        std::mem::size_of::<Slot<T>>()
    }

    /// Whether slot `index` holds a value, read from the slot (for tests of the bitmap).
    #[cfg(test)]
    pub(crate) fn slot_is_occupied(&self, index: usize) -> bool {
        self.slots.get(index).is_some_and(|slot| is_occupied_generation(slot.generation))
    }

    /// Iterates over every live `(key, value)`.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Key, &T)> {
        self.slots.iter().enumerate().filter(|(_, slot)| is_occupied_generation(slot.generation)).map(
            |(i, slot)| {
                let key = Key::new(i as u32, slot.generation);
                (key, slot.get(key).expect("an odd generation holds a value"))
            },
        )
    }

    /// Removes every value, detached slots included, leaving the slab empty (keys already
    /// handed out become stale, because every slot that held a value moves on a
    /// generation).
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let mut values = Vec::with_capacity(self.len);
        self.drain_into(&mut values);
        values
    }

    /// [`Slab::drain`] into `out`, for a caller that drains often and keeps one buffer (the
    /// reactor, at every readiness event). Visits only the slots the bitmap marks in use,
    /// so a slab that once held many values and now holds few drains in time for the few
    /// (plus one word read per 64 slots). Each freed slot joins the free list.
    pub(crate) fn drain_into(&mut self, out: &mut Vec<T>) {
        if self.len == 0 {
            return; // every slot is vacant, and every key to one is stale already
        }
        for word_index in 0..self.occupied.len() {
            let mut word = std::mem::take(&mut self.occupied[word_index]);
            while word != 0 {
                let index = word_index * 64 + word.trailing_zeros() as usize;
                word &= word - 1; // clear the lowest set bit
                let slot = &mut self.slots[index];
                // Takes the value of an occupied slot (its generation becomes even, so
                // every key to it goes stale); a detached slot is stale already.
                out.extend(slot.take_any());
                self.free.push(index as u32);
            }
        }
        self.len = 0;
    }
}

#[cfg(all(test, not(loom)))]
mod tests;
