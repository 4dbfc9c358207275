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
//! Removing can also be done in two steps, for a caller that removes many values in a
//! row and wants each removal to write as little as possible: [`Slab::take`] moves the
//! value out (one store; from then on no key finds a value there), and [`Slab::free`]
//! later bumps the generation and puts the slot on the free list. In between the slot
//! is *detached*: empty, still carrying its last value's generation, and not reusable. The timer wheel's `cancel` takes, and frees
//! its cancelled slots 64 at a time (`src/time/wheel/cancel.rs` says why: each memory
//! write in a loop of cache misses costs about 3 ns).
//!
//! Each slot also lends its owner a 32-bit **tag** while it is in use: the field that
//! links a vacant slot into the free list is idle while the slot is occupied or
//! detached, so it holds a small number of the owner's choosing, which stays readable
//! after [`Slab::take`] (until [`Slab::free`] reuses the field for the free list). The
//! timer wheel keeps each timer's list there, so that a cancel, which takes the value,
//! still leaves behind where its timer was for the batch that settles it.
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
//! generation decides (for a detached slot, which still has its last value's
//! generation, the missing value decides).
//!
//! Next to read: `src/task/mod.rs`.

/// Where a value lives in a [`Slab`]: its index and the generation it was inserted in,
/// packed into one `u64` (generation in the high half) so that storing a key, which the
/// timer wheel does once per timer, is one memory write rather than two.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key(u64);

impl Key {
    /// A key no slab ever hands out (index `u32::MAX` is never allocated).
    pub(crate) const INVALID: Key = Key::new(NONE, 0);

    const fn new(index: u32, generation: u32) -> Key {
        Key((generation as u64) << 32 | index as u64)
    }

    /// The slot index (stable while the value lives).
    pub(crate) fn index(self) -> usize {
        self.0 as u32 as usize
    }

    /// The generation the value was inserted in.
    fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The key as one `u64` (for event keys and trace ids).
    pub(crate) fn to_u64(self) -> u64 {
        self.0
    }

    /// The inverse of [`Key::to_u64`].
    pub(crate) fn from_u64(raw: u64) -> Key {
        Key(raw)
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Key {{ index: {}, generation: {} }}", self.index(), self.generation())
    }
}

/// One slot. A struct rather than an `enum { Occupied, Vacant }`, so that emptying it
/// ([`Slab::take`]) writes only `value`'s "none" marker, one small store where an enum
/// rewrites its tag and every field of the vacant variant, and so that every slot's
/// generation sits at the same place, readable without a branch on its kind.
#[derive(Debug)]
struct Slot<T> {
    /// While occupied or detached, the generation its value was inserted in; once
    /// vacant (freed), the generation the next value will get (one more), which no key
    /// handed out carries.
    generation: u32,
    /// While vacant: the next slot on the free list. While occupied or detached: the
    /// owner's *tag*, a `u32` it keeps beside the value and can still read after
    /// [`Slab::take`] (the timer wheel keeps each timer's list there).
    link: u32,
    /// The value, or `None` if the slot is detached or vacant.
    value: Option<T>,
}

/// The end of the free list.
const NONE: u32 = u32::MAX;

/// A `Vec` of slots with a free list threaded through the vacant ones.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    /// Bit `i % 64` of word `i / 64` is set if slot `i` is occupied or detached, and
    /// clear if it is vacant: a summary of the slots, 1 bit each, that a scan can read
    /// instead of the slots themselves.
    occupied: Vec<u64>,
    first_free: u32,
    /// Slots not on the free list: occupied or detached.
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Slab<T> {
    /// An empty slab (no allocation until the first insert).
    pub(crate) const fn new() -> Self {
        Slab { slots: Vec::new(), occupied: Vec::new(), first_free: NONE, len: 0 }
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
    fn insert_tagged_with(&mut self, make: impl FnOnce(Key) -> T, tag: u32) -> Key {
        let key = match self.first_free {
            NONE => self.push(make, tag),
            index => {
                let slot = &mut self.slots[index as usize];
                debug_assert!(slot.value.is_none(), "the free list points at an occupied slot");
                self.first_free = slot.link;
                let key = Key::new(index, slot.generation);
                slot.link = tag;
                slot.value = Some(make(key));
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
        let key = Key::new(index, 0);
        self.slots.push(Slot { generation: 0, link: tag, value: Some(make(key)) });
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

    /// The first half of [`Slab::remove`]: moves the value out, so that no key finds it,
    /// but leaves the slot *detached* (off the free list, with its generation and its
    /// bit) until [`Slab::free`] is called for it. `None` (and no change) if `key` is
    /// stale. Writes one field of one slot, for a caller that removes many values in a
    /// row and can give the slots back later, in a batch (the timer wheel's `cancel`).
    /// The explicit `is_none` test before `Option::take` is for the compiler: without
    /// it, the inlined code copied the value to the stack and back.
    #[inline]
    pub(crate) fn take(&mut self, key: Key) -> Option<T> {
        let slot = self.slots.get_mut(key.index())?;
        if slot.generation != key.generation() || slot.value.is_none() {
            return None;
        }
        slot.value.take() // the generation moves on in `free`
    }

    /// The second half of [`Slab::remove`]: gives back slot `index`, detached by
    /// [`Slab::take`], so that it can be reused: the generation moves on (every old key
    /// to the slot is now stale by generation too), the slot joins the free list and its
    /// bit is cleared. Each detached slot must be freed once.
    pub(crate) fn free(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        debug_assert!(slot.value.is_none(), "free of an occupied slot {index}");
        slot.generation = slot.generation.wrapping_add(1);
        slot.link = self.first_free;
        self.first_free = index as u32;
        self.occupied[index / 64] &= !(1 << (index % 64));
        self.len -= 1;
    }

    /// The tag of slot `index`, which must be occupied or detached (a vacant slot's
    /// field holds its free-list link instead, and this would return that).
    pub(crate) fn tag(&self, index: usize) -> u32 {
        debug_assert!(self.is_occupied(index), "the tag of vacant slot {index}");
        self.slots[index].link
    }

    /// The value at `key` and its tag, or `None` if the key is stale.
    pub(crate) fn get_tagged(&self, key: Key) -> Option<(&T, u32)> {
        let slot = self.slots.get(key.index())?;
        let value = slot.value.as_ref().filter(|_| slot.generation == key.generation())?;
        Some((value, slot.link))
    }

    /// Replaces the tag of the value at `key`. Panics if the key is stale: the caller
    /// has just found the value, and a tag written into a vacant slot would break its
    /// free list.
    pub(crate) fn set_tag(&mut self, key: Key, tag: u32) {
        match self.slots.get_mut(key.index()) {
            Some(slot) if slot.generation == key.generation() && slot.value.is_some() => slot.link = tag,
            _ => panic!("set_tag with a stale key {key:?}"),
        }
    }

    /// The value at `key`, or `None` if the key is stale.
    pub(crate) fn get(&self, key: Key) -> Option<&T> {
        let slot = self.slots.get(key.index())?;
        (slot.generation == key.generation()).then_some(slot.value.as_ref()).flatten()
    }

    /// The value at `key`, mutably, or `None` if the key is stale.
    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        let slot = self.slots.get_mut(key.index())?;
        (slot.generation == key.generation()).then_some(slot.value.as_mut()).flatten()
    }

    /// `true` if `key` still names a value.
    pub(crate) fn contains(&self, key: Key) -> bool {
        self.get(key).is_some()
    }

    /// The same answer as [`Slab::contains`], found by comparing generations only, for a
    /// slab with no detached slot (free them first). That is enough: a vacant slot
    /// already holds the generation of its *next* value, which no key handed out so far
    /// carries; a detached one still holds its last value's, so its old keys would pass. Reading only the generation spares a branch on
    /// whether the slot holds a value, which is what a scan over many keys of
    /// unpredictable liveness wants (the timer wheel's tombstone compaction: a branch per
    /// key would make the CPU wait for each slot's cache miss in turn instead of
    /// overlapping them).
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
        self.slots.get(index).is_some_and(|slot| slot.value.is_some())
    }

    /// Iterates over every live `(key, value)`.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Key, &T)> {
        self.slots.iter().enumerate().filter_map(|(i, slot)| {
            let key = Key::new(i as u32, slot.generation);
            slot.value.as_ref().map(|value| (key, value))
        })
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
                out.extend(slot.value.take());
                // Every key to a slot that held a value, or was detached, must go stale.
                slot.generation = slot.generation.wrapping_add(1);
                slot.link = self.first_free;
                self.first_free = index as u32;
            }
        }
        self.len = 0;
    }
}

#[cfg(all(test, not(loom)))]
#[path = "slab_tests.rs"]
mod tests;
