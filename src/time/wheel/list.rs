//! One timer list (a slot, the due list or the overflow list): a queue of slab keys, each
//! with its timer's deadline, in which a cancelled timer leaves a tombstone.
//!
//! **What this teaches.** With a million timers, the cost of a timer wheel is not its
//! arithmetic but its cache misses, so the lists are built to touch as little cold
//! memory as possible. Each list is a `VecDeque<Queued>` in arrival order, where a
//! [`Queued`] is a slab key and the timer's deadline (16 bytes), plus a count of its
//! *live* keys:
//!
//! * **insert** appends the key and deadline and bumps the count. The only cold memory
//!   it touches is the new slab entry; the queue's tail is hot.
//! * **cancel** removes the value from the slab and leaves its key in the queue as a
//!   **tombstone**: dead, because the slab bumped its slot's generation. No neighbour is
//!   touched and nothing is searched; the count is corrected later (`cancel.rs`). If
//!   the key is still the newest in its queue when the count is corrected (a timeout
//!   dropped soon after it was set, the pattern a runtime sees most), it is taken back
//!   instead, and leaves no garbage at all.
//! * **expiry** (firing, cascading, refilling from overflow) walks the queue in order and
//!   skips tombstones, so equal deadlines still leave first-in first-out. The deadline
//!   is read from the queue, in order, not from the slab: the slab slot is read only to
//!   ask whether the key is live.
//!
//! Why the deadline is here and not in the slab beside the value: a slot is then 16
//! bytes for a `u64` value (generation, tag, value) instead of 32, so a million timers
//! fill half the memory a random cancel has to reach into, and a cascade reads each
//! deadline from a queue it walks in order instead of from a slot anywhere in the slab.
//! The queue doubles (8 to 16 bytes a key), which cost more in a list full of
//! tombstones until cancels of the newest key took their key back (DESIGN.md §6).
//!
//! Garbage is bounded by two rules, applied whenever a list's live count drops:
//!
//! 1. **Empty means empty:** when the live count reaches 0, every key is dropped, and the
//!    slot's occupied bit is cleared. A slot of only tombstones is therefore never
//!    "occupied", and `next_expiration` never reports it.
//! 2. **Compaction:** when the tombstones exceed `TOMBSTONE_RATIO × live +
//!    TOMBSTONE_SLACK` (with a ratio of 3: when more than three quarters of the queue is
//!    garbage), a pass drops tombstones, keeping the order. It reads one bit per key
//!    from the slab's occupied bitmap (128 KiB for a million slots, so it stays in
//!    cache): a tombstone whose slot is vacant goes. A tombstone whose slot went to a
//!    newer timer since reads as occupied, so if more than `live + TOMBSTONE_SLACK`
//!    keys survive that, a second pass opens each survivor's slot and compares
//!    generations, which drops the rest. Afterwards at most `live + TOMBSTONE_SLACK`
//!    tombstones are left, so each pass drops more than `2 × live` of them (all of them
//!    if it opens slots): a pass costs a bounded number of bit reads, and at most three
//!    slot reads, per tombstone it drops, and each tombstone is dropped once. O(1)
//!    amortized. A queue is then never longer than `4 × live + TOMBSTONE_SLACK` keys
//!    (16 bytes each), however long its slot lives and however many timers come and go
//!    in it. The same pass shrinks a buffer that a burst left more than four times too
//!    big, so memory stays O(live).
//!
//! Why a ratio of 3 rather than the textbook "more than half": at a ratio of 1, the
//! passes cost up to two key checks per cancel, which added about 10 ns per timer to
//! "insert 1M, cancel all" (of about 90; DESIGN.md §6), to halve the worst-case
//! garbage. A single pass is still O(L): a cancel that triggers it waits for a whole
//! list (milliseconds for a slot of a million keys).
//!
//! A key in list `id` is live iff the slab still holds its generation *and* the slot's
//! tag says it is on `id` ([`is_live`]). The second test costs nothing on a walk (the
//! slot is read anyway) and keeps walks honest even if a slab slot's 32-bit generation wrapped
//! while an old key of it waited: handling a timer always moves it off this list, so no
//! timer is handled twice. Compaction, which reads no entry, reads the slab's occupied
//! bitmap first: most tombstones point at vacant slots, which the bitmap rules out
//! without opening them (a slot is 16 bytes; its bit is one of 512 in a cache line).
//! When it does open slots it checks the generation only, which is exact: a taken
//! slot's generation moved on in `take`. The bitmap, though, keeps a slot's bit until
//! the wheel frees the slot in `settle` (`cancel.rs`), so compaction runs only after
//! `settle`, or the bitmap would leave every unsettled tombstone to the slower filter.
//!
//! A timer that moves to another list (a cascade, or an overflow refill) moves by key:
//! the whole old queue is taken out and walked, so no copy of the key is left behind.
//! `Wheel::reset` instead re-keys the timer (cancel + insert), because its old key stays
//! in the old queue as a tombstone and would otherwise be live twice if the timer landed
//! in the same list again.
//!
//! Rejected alternative: a doubly linked list threaded through the slab by key (this
//! wheel's first design). It unlinks exactly and leaves no garbage, but insert writes
//! the old tail entry and cancel writes both neighbours: four to five random cache
//! misses per timer at 1M timers, about 2.5× slower on "insert 1M, cancel all" than
//! these queues (DESIGN.md §6). Also rejected: `swap_remove` with a back-index in each
//! entry (exact and O(1), but it reorders the slot, so equal deadlines would no longer
//! fire FIFO), and tokio's intrusive pointer lists (`unsafe` and pinned nodes).
//!
//! Next to read: `cancel.rs`, where cancels leave tombstones and lists learn of them.

use crate::util::slab::{Key, Slab};
use std::collections::VecDeque;

/// Which list a timer is on, so that a cancel can find its list's count in O(1). The
/// slab stores it as its slot's tag ([`ListId::to_tag`]), outside the entry, so that it
/// is still there after `cancel` has taken the entry out: the batch that settles the
/// cancel reads it then, from a slot back in cache (`cancel.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListId {
    /// Due now: fired by the next `poll`/`advance`, in this order.
    Due,
    /// Slot `slot` of level `level`.
    Slot { level: u8, slot: u8 },
    /// Beyond the wheel's range; moved into a level when the clock comes close.
    Overflow,
}

impl ListId {
    /// The list as the `u32` tag its timers' slab slots carry: 0 and 1 for `Due` and
    /// `Overflow`, then one number per slot of each level.
    pub(crate) fn to_tag(self) -> u32 {
        match self {
            ListId::Due => 0,
            ListId::Overflow => 1,
            ListId::Slot { level, slot } => 2 + 64 * level as u32 + slot as u32,
        }
    }

    /// The inverse of [`ListId::to_tag`].
    #[inline]
    pub(crate) fn from_tag(tag: u32) -> ListId {
        match tag {
            0 => ListId::Due,
            1 => ListId::Overflow,
            n => ListId::Slot { level: ((n - 2) / 64) as u8, slot: ((n - 2) % 64) as u8 },
        }
    }
}

/// One place in a list's queue: a timer's key and its deadline. The deadline lives here,
/// not in the slab beside the value, so that a slab slot is only its generation, its tag
/// and the value (16 bytes for a `u64` value).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Queued {
    pub(crate) key: Key,
    pub(crate) deadline: u64,
}

/// `true` iff `key`, found in the queue of list `id`, names a pending timer on that list
/// (see the module docs for why both tests).
pub(crate) fn is_live<T>(entries: &Slab<T>, key: Key, id: ListId) -> bool {
    entries.get_tagged(key).is_some_and(|(_, tag)| tag == id.to_tag())
}

/// A list is compacted when its tombstones exceed `TOMBSTONE_RATIO × live +
/// TOMBSTONE_SLACK` (see the module docs for the choice of 3).
pub(crate) const TOMBSTONE_RATIO: usize = 3;

/// The slack keeps small lists from compacting over and over: a slot with one live timer
/// and a few cancelled ones just waits for its expiry.
pub(crate) const TOMBSTONE_SLACK: usize = 64;

/// An emptied list keeps a buffer of up to this many keys (4 KiB), so a steady state of
/// timers allocates nothing; a bigger buffer (left by a burst) is given back.
const KEEP_CAPACITY: usize = 256;

/// One list: keys in arrival order, some of them tombstones.
///
/// Invariants, restored by every method that lowers `live`:
/// * `live` counts the live keys in `keys` plus the list's unsettled cancels
///   (`cancel.rs`); each live timer's key appears exactly once;
/// * `live == 0` implies `keys` is empty;
/// * `keys.len() - live` is at most `TOMBSTONE_RATIO × live + TOMBSTONE_SLACK`.
#[derive(Debug, Default)]
pub(crate) struct List {
    keys: VecDeque<Queued>,
    live: usize,
}

impl List {
    /// `true` if no live timer is on this list (there are then no tombstones either).
    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Number of live timers on this list.
    pub(crate) fn live(&self) -> usize {
        self.live
    }

    /// Number of keys in the queue, tombstones included (for the inspector and tests).
    pub(crate) fn stored(&self) -> usize {
        self.keys.len()
    }

    /// Keys the queue's buffer can hold without growing (for tests of the memory bound).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn capacity(&self) -> usize {
        self.keys.capacity()
    }

    /// Number of keys known to be tombstones.
    fn tombstones(&self) -> usize {
        self.keys.len() - self.live
    }

    /// `true` if either garbage rule of the module docs is due.
    fn needs_sweep(&self) -> bool {
        self.live == 0 || self.tombstones() > TOMBSTONE_RATIO * self.live + TOMBSTONE_SLACK
    }

    /// Every key in order, tombstones included; callers filter with [`is_live`].
    pub(crate) fn keys(&self) -> impl Iterator<Item = Queued> + '_ {
        self.keys.iter().copied()
    }

    /// Appends the key of a timer whose entry already names this list.
    #[inline]
    pub(crate) fn push_back(&mut self, key: Key, deadline: u64) {
        self.keys.push_back(Queued { key, deadline });
        self.live += 1;
    }

    /// Removes and returns the first live key of this list, `id` (the tombstones before
    /// it go too).
    pub(crate) fn pop_front<T>(&mut self, entries: &Slab<T>, id: ListId) -> Option<Key> {
        while let Some(queued) = self.keys.pop_front() {
            if is_live(entries, queued.key, id) {
                self.live -= 1;
                self.collect_garbage(entries);
                return Some(queued.key);
            }
        }
        debug_assert_eq!(self.live, 0, "a list ran out of keys while counting live ones");
        None
    }

    /// One live timer of this list has left the slab (cancelled or reset): its key is
    /// a tombstone now. Call [`List::collect_garbage`] once every such count is in.
    #[inline]
    pub(crate) fn note_cancelled(&mut self, slot: usize) {
        debug_assert!(self.live > 0, "a cancel on a list with no live timers");
        self.live -= 1;
        // The newest key is the cancelled timer's own (a timeout dropped soon after it
        // was set): take it back instead of leaving a tombstone. The key at the back
        // with this slot is this timer's: an older key of the slot would sit before it.
        if self.keys.back().is_some_and(|queued| queued.key.index() == slot) {
            self.keys.pop_back();
        }
    }

    /// Applies the two garbage rules of the module docs, if either is due. O(1)
    /// amortized, given that the live count is exact.
    #[inline]
    pub(crate) fn collect_garbage<T>(&mut self, entries: &Slab<T>) {
        if self.needs_sweep() {
            self.sweep(entries);
        }
    }

    /// The rare part of [`List::collect_garbage`], kept out of line.
    #[cold]
    #[inline(never)]
    fn sweep<T>(&mut self, entries: &Slab<T>) {
        if self.live == 0 {
            // Rule 1: only tombstones are left; no need to look at them.
            self.keys.clear();
            if self.keys.capacity() > KEEP_CAPACITY {
                self.keys = VecDeque::new();
            }
            return;
        }
        // Rule 2: most of the queue is garbage, so this pays for itself. First keep the
        // keys whose slot is occupied at all, read from the slab's bitmap (no slot is
        // opened). A tombstone can survive that only if its slot was given to a newer
        // timer since. Only if such survivors are many (more than one per live key, plus
        // the slack) does a second filter open each survivor's slot and compare
        // generations. When slots are not reused, as in "insert 1M, cancel all", the
        // bitmap alone finds every tombstone and no slot is read at all.
        let keys = self.keys.make_contiguous();
        let mut kept = keep(keys, |queued| entries.is_occupied(queued.key.index()));
        if kept - self.live > self.live + TOMBSTONE_SLACK {
            kept = keep(&mut keys[..kept], |queued| entries.contains_by_generation(queued.key));
        }
        self.keys.truncate(kept);
        // Give back what a burst left behind, so that the buffer, too, stays O(live).
        if self.keys.capacity() > 4 * kept + KEEP_CAPACITY {
            self.keys.shrink_to(2 * kept + KEEP_CAPACITY);
        }
    }

    /// Takes every key out (live ones and tombstones, in order) and leaves the list
    /// empty; the caller moves the live timers elsewhere.
    pub(crate) fn take_keys(&mut self) -> VecDeque<Queued> {
        self.live = 0;
        std::mem::take(&mut self.keys)
    }

    /// Gives an emptied buffer from [`List::take_keys`] back to this (still empty) list,
    /// so that the next timers here reuse its allocation.
    pub(crate) fn reuse(&mut self, mut keys: VecDeque<Queued>) {
        debug_assert!(self.keys.is_empty(), "reusing a buffer on a list that refilled");
        keys.clear();
        if keys.capacity() <= KEEP_CAPACITY {
            self.keys = keys;
        }
    }
}

/// Moves the keys for which `pass` holds to the front of `keys`, in order, and returns
/// how many there are. Each key is copied and the write position moves on only if it
/// passes, rather than `retain`'s "copy it if it passes": the answers are a coin flip
/// here, and a branch on each would make the CPU wait for each key's answer in turn
/// instead of overlapping the memory reads of many keys.
fn keep(keys: &mut [Queued], mut pass: impl FnMut(Queued) -> bool) -> usize {
    let mut kept = 0;
    for i in 0..keys.len() {
        let key = keys[i];
        keys[kept] = key;
        kept += usize::from(pass(key));
    }
    kept
}
