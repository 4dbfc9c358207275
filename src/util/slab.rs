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
//! Beside the slots the slab keeps a bitmap, one bit per slot, so that a scan asking
//! "is this key still here?" of many keys can rule out vacant slots without opening them
//! (the timer wheel's compaction, `src/time/wheel/list.rs`). A slot and its bit:
//!
//! | slot | bit | got there by |
//! |---|---|---|
//! | occupied | set | `insert` |
//! | vacant | clear | `remove`, or `refresh_occupied` after a lazy remove, or `drain` |
//! | vacant | set ("maybe") | `remove_lazily`, until `refresh_occupied` |
//!
//! A clear bit is a promise (the slot is vacant); a set bit is only a hint, and the
//! generation decides.
//!
//! Next to read: `src/task/mod.rs`.

/// Where a value lives in a [`Slab`]: its index and the generation it was inserted in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Key {
    index: u32,
    generation: u32,
}

impl Key {
    /// A key no slab ever hands out (index `u32::MAX` is never allocated).
    pub(crate) const INVALID: Key = Key { index: NONE, generation: 0 };

    /// The slot index (stable while the value lives).
    pub(crate) fn index(self) -> usize {
        self.index as usize
    }

    /// Packs the key into one `u64` (for event keys and trace ids).
    pub(crate) fn to_u64(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    /// The inverse of [`Key::to_u64`].
    pub(crate) fn from_u64(raw: u64) -> Key {
        Key { index: raw as u32, generation: (raw >> 32) as u32 }
    }
}

#[derive(Debug)]
enum Slot<T> {
    /// Holds a value inserted in `generation`.
    Occupied { generation: u32, value: T },
    /// Free; `next_free` links the free list; the next value gets `generation`.
    Vacant { generation: u32, next_free: u32 },
}

/// The end of the free list.
const NONE: u32 = u32::MAX;

/// A `Vec` of slots with a free list threaded through the vacant ones.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    /// Bit `i % 64` of word `i / 64` is set if slot `i` is occupied, and clear if it is
    /// vacant, except after [`Slab::remove_lazily`] (set until refreshed): a summary of
    /// the slots, 1 bit each, that a scan can read instead of the slots themselves.
    occupied: Vec<u64>,
    first_free: u32,
    len: usize,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Slab<T> {
    pub(crate) const fn new() -> Self {
        Slab { slots: Vec::new(), occupied: Vec::new(), first_free: NONE, len: 0 }
    }

    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Slab {
            slots: Vec::with_capacity(capacity),
            occupied: Vec::with_capacity(capacity.div_ceil(64)),
            first_free: NONE,
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores `value` and returns its key.
    pub(crate) fn insert(&mut self, value: T) -> Key {
        self.insert_with(|_| value)
    }

    /// Stores the value `make` builds from its own key (for records that know their key).
    pub(crate) fn insert_with(&mut self, make: impl FnOnce(Key) -> T) -> Key {
        let (index, generation) = match self.first_free {
            NONE => {
                let index = u32::try_from(self.slots.len())
                    .ok()
                    .filter(|&i| i != NONE)
                    .expect("slab is full: more than 4 billion live entries");
                self.slots.push(Slot::Vacant { generation: 0, next_free: NONE });
                if index % 64 == 0 {
                    self.occupied.push(0);
                }
                (index, 0)
            }
            index => match self.slots[index as usize] {
                Slot::Vacant { generation, next_free } => {
                    self.first_free = next_free;
                    (index, generation)
                }
                Slot::Occupied { .. } => unreachable!("free list points at an occupied slot"),
            },
        };
        let key = Key { index, generation };
        self.slots[index as usize] = Slot::Occupied { generation, value: make(key) };
        self.occupied[index as usize / 64] |= 1 << (index % 64);
        self.len += 1;
        key
    }

    /// Removes and returns the value at `key`, or `None` if the key is stale.
    pub(crate) fn remove(&mut self, key: Key) -> Option<T> {
        let value = self.remove_lazily(key)?;
        self.occupied[key.index() / 64] &= !(1 << (key.index % 64));
        Some(value)
    }

    /// Like [`Slab::remove`], but leaves the slot's bit in the occupied bitmap set until
    /// [`Slab::refresh_occupied`] is called for it: one fewer memory write for a caller
    /// that removes many values in a row and can tidy the bits later, in a batch (the
    /// timer wheel's `cancel`). Until then the bitmap says "maybe occupied", which is
    /// safe: [`Slab::is_occupied`] only promises that a *clear* bit means vacant.
    pub(crate) fn remove_lazily(&mut self, key: Key) -> Option<T> {
        let slot = self.slots.get_mut(key.index())?;
        match slot {
            Slot::Occupied { generation, .. } if *generation == key.generation => {}
            _ => return None,
        }
        let next_generation = key.generation.wrapping_add(1);
        let vacant = Slot::Vacant { generation: next_generation, next_free: self.first_free };
        let Slot::Occupied { value, .. } = std::mem::replace(slot, vacant) else {
            unreachable!("checked above")
        };
        self.first_free = key.index;
        self.len -= 1;
        Some(value)
    }

    pub(crate) fn get(&self, key: Key) -> Option<&T> {
        match self.slots.get(key.index())? {
            Slot::Occupied { generation, value } if *generation == key.generation => Some(value),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, key: Key) -> Option<&mut T> {
        match self.slots.get_mut(key.index())? {
            Slot::Occupied { generation, value } if *generation == key.generation => Some(value),
            _ => None,
        }
    }

    pub(crate) fn contains(&self, key: Key) -> bool {
        self.get(key).is_some()
    }

    /// The same answer as [`Slab::contains`], found by comparing generations only. That is
    /// enough: a vacant slot already holds the generation of its *next* value, which no
    /// key handed out so far carries. Since both kinds of slot hold a generation, the
    /// compiler can read it without first branching on which kind the slot is, which is
    /// what a scan over many keys of unpredictable liveness wants (the timer wheel's
    /// tombstone compaction: a branch per key would make the CPU wait for each slot's
    /// cache miss in turn instead of overlapping them).
    pub(crate) fn contains_by_generation(&self, key: Key) -> bool {
        match self.slots.get(key.index()) {
            Some(Slot::Occupied { generation, .. } | Slot::Vacant { generation, .. }) => {
                *generation == key.generation
            }
            None => false,
        }
    }

    /// `false` only if slot `index` is vacant, so that every key into it is stale; `true`
    /// if it may hold a value, of any generation (a key into it then still needs
    /// [`Slab::contains_by_generation`]). It is exact except for slots emptied by
    /// [`Slab::remove_lazily`] and not yet refreshed. Reads one bit of a dense bitmap
    /// (128 KiB for a million slots, so it stays in cache), not the slot: a scan over
    /// many keys, most of them stale (the timer wheel's compaction), asks this first and
    /// opens only the slots it must.
    pub(crate) fn is_occupied(&self, index: usize) -> bool {
        self.occupied.get(index / 64).is_some_and(|word| word >> (index % 64) & 1 == 1)
    }

    /// Whether slot `index` holds a value, read from the slot (for tests of the bitmap).
    #[cfg(test)]
    pub(crate) fn slot_is_occupied(&self, index: usize) -> bool {
        matches!(self.slots.get(index), Some(Slot::Occupied { .. }))
    }

    /// Makes slot `index`'s bit in the occupied bitmap exact again (after
    /// [`Slab::remove_lazily`]; the slot may have been filled again since).
    pub(crate) fn refresh_occupied(&mut self, index: usize) {
        let vacant = matches!(self.slots.get(index), Some(Slot::Vacant { .. }));
        if let Some(word) = self.occupied.get_mut(index / 64) {
            *word &= !(u64::from(vacant) << (index % 64));
        }
    }

    /// Iterates over every live `(key, value)`.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Key, &T)> {
        self.slots.iter().enumerate().filter_map(|(i, slot)| match slot {
            Slot::Occupied { generation, value } => {
                Some((Key { index: i as u32, generation: *generation }, value))
            }
            Slot::Vacant { .. } => None,
        })
    }

    /// Removes every value, leaving the slab empty (keys already handed out become stale).
    pub(crate) fn drain(&mut self) -> Vec<T> {
        let keys: Vec<Key> = self.iter().map(|(k, _)| k).collect();
        let values = keys.into_iter().filter_map(|k| self.remove(k)).collect();
        self.occupied.fill(0); // every slot is vacant, lazily removed ones included
        values
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn stale_key_misses_the_new_occupant() {
        let mut slab = Slab::new();
        let a = slab.insert("a");
        assert_eq!(slab.remove(a), Some("a"));
        let b = slab.insert("b");
        assert_eq!(a.index(), b.index(), "the slot is reused");
        assert_eq!(slab.get(a), None, "the old key must not see the new value");
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.get(b), Some(&"b"));
    }

    #[test]
    fn contains_by_generation_agrees_with_contains() {
        let mut slab = Slab::new();
        let mut keys: Vec<Key> = (0..8).map(|i| slab.insert(i)).collect();
        for round in 0..4 {
            slab.remove(keys[round * 2]); // free some slots, then reuse them
            keys.push(slab.insert(100 + round));
            for &key in keys.iter().chain([Key::INVALID, Key::from_u64(u64::MAX - 1)].iter()) {
                assert_eq!(slab.contains_by_generation(key), slab.contains(key), "{key:?}");
                assert_eq!(slab.is_occupied(key.index()), slab.slot_is_occupied(key.index()));
            }
        }
    }

    #[test]
    fn a_lazy_remove_leaves_the_bit_until_refreshed() {
        let mut slab = Slab::new();
        let keys: Vec<Key> = (0..130).map(|i| slab.insert(i)).collect();
        assert!((0..130).all(|i| slab.is_occupied(i)) && !slab.is_occupied(130));
        assert_eq!(slab.remove(keys[64]), Some(64));
        assert!(!slab.is_occupied(64), "an eager remove clears the bit");
        assert_eq!(slab.remove_lazily(keys[7]), Some(7));
        assert!(slab.is_occupied(7), "maybe occupied until refreshed");
        assert!(!slab.contains_by_generation(keys[7]), "but the key is stale at once");
        slab.refresh_occupied(7);
        assert!(!slab.is_occupied(7));
        // Refill before the refresh: the refresh must leave the new value's bit set.
        assert_eq!(slab.remove_lazily(keys[9]), Some(9));
        let again = slab.insert(99);
        assert_eq!(again.index(), 9);
        slab.refresh_occupied(9);
        assert!(slab.is_occupied(9), "the slot was filled again");
    }

    #[test]
    fn insert_with_sees_its_own_key_and_drain_empties() {
        let mut slab = Slab::new();
        let keys: Vec<Key> = (0..10).map(|_| slab.insert_with(|k| k)).collect();
        for k in &keys {
            assert_eq!(slab.get(*k), Some(k));
        }
        assert_eq!(slab.remove(keys[3]), Some(keys[3]));
        assert_eq!(slab.len(), 9);
        assert_eq!(slab.drain().len(), 9);
        assert!(slab.is_empty());
        assert_eq!(Key::from_u64(keys[5].to_u64()), keys[5]);
    }
}
