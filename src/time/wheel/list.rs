//! One timer list (a slot, the due list or the overflow list): a queue of slab keys with
//! lazy cancellation.
//!
//! **What this teaches.** With a million timers, the cost of a timer wheel is not its
//! arithmetic but its cache misses. Each list here is a `VecDeque<Key>` in arrival order
//! plus a count of its *live* keys:
//!
//! * **insert** appends the key and bumps the count. The only cold memory it touches is
//!   the new slab entry; the queue's tail is hot.
//! * **cancel** removes the entry from the slab and decrements the count. It does not
//!   search the queue: the key stays there as a **tombstone**, dead because the slab
//!   bumped its slot's generation. One cache miss (the entry) per cancel.
//! * **expiry** (firing, cascading, refilling from overflow) walks the queue in order and
//!   skips tombstones, so equal deadlines still leave first-in first-out.
//!
//! Garbage is bounded by two rules, applied whenever a list loses a live key:
//!
//! 1. **Empty means empty:** when the live count reaches 0, every key is dropped. A slot
//!    of only tombstones is therefore never "occupied", and `next_expiration` never
//!    reports it.
//! 2. **Compaction:** when tombstones outnumber live keys by more than
//!    [`TOMBSTONE_SLACK`], `retain` keeps only the live keys (in order). At that moment
//!    more than half of the queue is tombstones, so the O(length) pass costs less than
//!    two key checks per tombstone it removes, and each tombstone is removed once:
//!    amortized O(1) per cancel. Long-lived lists (high levels, overflow) under
//!    insert/cancel churn stay at most `2 × live + TOMBSTONE_SLACK` keys long.
//!
//! A key in list `id` is live iff the slab still holds its generation *and* the entry
//! says it is on `id` ([`is_live`]). The second test costs nothing (the entry is read
//! anyway) and keeps every walk honest even if a slab slot's 32-bit generation wrapped
//! while an old key of it waited: handling a timer always moves it off this list, so a
//! timer is never handled twice.
//!
//! A timer that moves to another list (a cascade, or an overflow refill) moves by key:
//! the whole old queue is taken out and walked, so no copy of the key is left behind.
//! `Wheel::reset` instead re-keys the timer (cancel + insert), because its old key stays
//! in the old queue as a tombstone and would otherwise be live twice if the timer landed
//! in the same list again.
//!
//! Rejected alternative: a doubly linked list threaded through the slab by key (this
//! wheel's first design). It unlinks exactly, with no garbage, but insert writes the old
//! tail entry and cancel writes both neighbours: four to five random cache misses per
//! timer at 1M timers (measurements: DESIGN.md §6). Also rejected: `swap_remove` with a back-index in each entry (exact and
//! O(1), but it reorders the slot, so equal deadlines would no longer fire FIFO), and
//! tokio's intrusive pointer lists (`unsafe` and pinned nodes).
//!
//! Next to read: `display.rs`, the inspector that draws the levels and their lists.

use crate::util::slab::{Key, Slab};
use std::collections::VecDeque;

/// Which list an entry is on, so that `cancel` can find its list's count in O(1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ListId {
    /// Due now: fired by the next `poll`/`advance`, in this order.
    Due,
    /// Slot `slot` of level `level`.
    Slot { level: u8, slot: u8 },
    /// Beyond the wheel's range; moved into a level when the clock comes close.
    Overflow,
}

/// One timer: its deadline, the list whose queue holds its live key, and the caller's
/// value. No links: the entry never needs to know its neighbours.
#[derive(Debug)]
pub(crate) struct Entry<T> {
    pub(crate) deadline: u64,
    pub(crate) list: ListId,
    pub(crate) value: T,
}

/// `true` iff `key`, found in the queue of list `id`, names a pending timer on that list
/// (see the module docs for why both tests).
pub(crate) fn is_live<T>(entries: &Slab<Entry<T>>, key: Key, id: ListId) -> bool {
    entries.get(key).is_some_and(|entry| entry.list == id)
}

/// How many tombstones a list may hold beyond its live count before it is compacted.
/// The slack keeps small lists from compacting over and over (a slot with one live timer
/// and a few cancelled ones just waits for its expiry).
pub(crate) const TOMBSTONE_SLACK: usize = 64;

/// An emptied list keeps a buffer of up to this many keys (2 KiB), so a steady state of
/// timers allocates nothing; a bigger buffer (left by a burst) is given back.
const KEEP_CAPACITY: usize = 256;

/// One list: keys in arrival order, some of them tombstones.
///
/// Invariants, restored by every method that removes a live key:
/// * `live` is the number of live keys in `keys` (each live timer appears exactly once);
/// * `live == 0` implies `keys` is empty;
/// * tombstones (`keys.len() - live`) are at most `live + TOMBSTONE_SLACK`.
#[derive(Debug, Default)]
pub(crate) struct List {
    keys: VecDeque<Key>,
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

    /// Number of tombstones waiting in the queue (for the inspector and tests).
    pub(crate) fn tombstones(&self) -> usize {
        self.keys.len() - self.live
    }

    /// Every key in order, tombstones included; callers filter with [`is_live`].
    pub(crate) fn keys(&self) -> impl Iterator<Item = Key> + '_ {
        self.keys.iter().copied()
    }

    /// Appends the key of a timer whose entry already names this list.
    pub(crate) fn push_back(&mut self, key: Key) {
        self.keys.push_back(key);
        self.live += 1;
    }

    /// Removes and returns the first live key (the tombstones before it go too).
    pub(crate) fn pop_front(&mut self, mut is_live: impl FnMut(Key) -> bool) -> Option<Key> {
        while let Some(key) = self.keys.pop_front() {
            if is_live(key) {
                self.live -= 1;
                if self.live == 0 || self.tombstones() > self.live + TOMBSTONE_SLACK {
                    self.collect_garbage(is_live);
                }
                return Some(key);
            }
        }
        debug_assert_eq!(self.live, 0, "a list ran out of keys while counting live ones");
        None
    }

    /// One live timer of this list has just left the slab (cancelled or reset): its key
    /// is a tombstone now. O(1) amortized.
    #[inline]
    pub(crate) fn forget_one(&mut self, is_live: impl FnMut(Key) -> bool) {
        debug_assert!(self.live > 0, "forgetting a timer on a list with no live timers");
        self.live -= 1;
        if self.live == 0 || self.tombstones() > self.live + TOMBSTONE_SLACK {
            self.collect_garbage(is_live);
        }
    }

    /// Applies the two garbage rules of the module docs. Kept out of line: it runs
    /// rarely, and a small `cancel` lets the CPU overlap more of them (see DESIGN §6).
    #[cold]
    #[inline(never)]
    fn collect_garbage(&mut self, mut is_live: impl FnMut(Key) -> bool) {
        if self.live == 0 {
            // Rule 1: only tombstones are left; no need to look at them.
            self.keys.clear();
            if self.keys.capacity() > KEEP_CAPACITY {
                self.keys = VecDeque::new();
            }
        } else if self.tombstones() > self.live + TOMBSTONE_SLACK {
            // Rule 2: more than half the queue is garbage, so this pass pays for itself.
            self.keys.retain(|&key| is_live(key));
        }
    }

    /// Takes every key out (live ones and tombstones, in order) and leaves the list
    /// empty; the caller moves the live timers elsewhere.
    pub(crate) fn take_keys(&mut self) -> VecDeque<Key> {
        self.live = 0;
        std::mem::take(&mut self.keys)
    }

    /// Gives an emptied buffer from [`List::take_keys`] back to this (still empty) list,
    /// so that the next timers here reuse its allocation.
    pub(crate) fn reuse(&mut self, mut keys: VecDeque<Key>) {
        debug_assert!(self.keys.is_empty(), "reusing a buffer on a list that refilled");
        keys.clear();
        if keys.capacity() <= KEEP_CAPACITY {
            self.keys = keys;
        }
    }
}
