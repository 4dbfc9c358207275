//! Cancelling a timer: a tombstone now, the bookkeeping in batches.
//!
//! **What this teaches.** With a million timers, what a cancel costs is cache misses,
//! and not only how many: also how many of them the CPU can wait for *at once*. While
//! one cancel waits for its entry to arrive from memory, the CPU already runs the next
//! cancels and starts fetching their entries, as far as its window of in-flight
//! instructions and stores reaches. Code that is short and writes only to addresses it
//! knows early keeps that window full of useful work.
//!
//! A cancel therefore does as little as it can:
//!
//! 1. It takes the value out of the slab (`Slab::take`): one cache miss, the slot
//!    itself, and one store, its generation moved on (odd to even: "no value"). From
//!    then on no key finds the value, so the timer's key, still sitting in its list's
//!    queue, is a **tombstone** (`list.rs`). The list is not searched, and the slot
//!    stays *detached*: not yet on the slab's free list, and its bit in the slab's
//!    occupied bitmap still set.
//! 2. It appends the slot's index to `unsettled`, a batch of at most [`SETTLE_BATCH`].
//!    Both the address written (the end of a small array) and the value (from the key)
//!    are known before the entry arrives. The timer's list is not read: the slot keeps
//!    it as its *tag* (`util/slab/`), outside the taken value, for `settle`.
//! 3. Every `SETTLE_BATCH` cancels, and before any expiry, [`Wheel::settle`] reads each
//!    slot's list from its tag, frees the slot (`Slab::free`: the slot joins the free
//!    list, its bit is cleared), then tells each list how many of its timers went: its
//!    live count drops, a key still at the back of its queue is taken back (newest
//!    cancels first, so that a run of them unwinds whole), and the garbage rules of
//!    `list.rs` (empty means empty; compaction) run.
//!
//! Why the batch: every instruction and store in `cancel` takes room in the CPU's window,
//! so the shorter a cancel, the more of them wait for their misses at once. Clearing the
//! bitmap bit inside `cancel` (a read and a write of a word in a 128 KiB array) made the
//! cancel phase of "insert 1M, cancel all" 6–9 % slower (DESIGN.md §6); in `settle` the
//! 64 slots just touched are still in cache. And decrementing the list's count inside
//! `cancel` writes to an address that is known only once the entry has arrived (the
//! entry says which list), and that store holds back the cancels behind it. With
//! compaction switched off in both builds, so that only the counting differed, counting
//! inside `cancel` made the cancel phase of "insert 1M, cancel all" two to three times
//! slower than counting in batches (DESIGN.md §6). Stores are what fill the window
//! first: a store leaves the CPU only after every older instruction is done, so while
//! the oldest cancel waits for memory, each store of the younger ones holds one of a few
//! dozen places. Removing the slot in full inside `cancel` (when this was measured: the
//! slot's tag, generation and free-list link, and the slab's free-list head and count,
//! five stores) instead of one store made the cancel phase about 8 % slower; in `settle`
//! those slots are in cache again, and nothing else waits on them. For the same reason `cancel` does not
//! copy the timer's list into the batch: that store's value came from the entry, so it
//! waited for the miss; the slot index comes from the key. Keeping the list in the
//! slot's tag instead of the entry made the whole row about 5 % faster, and shrank a
//! slot holding a `Waker` from 40 bytes to 32 (DESIGN.md §6).
//!
//! **Invariant.** For every list, `list.live()` = its live timers + the slots in
//! `unsettled` tagged with its id; the slab's detached slots are exactly `unsettled`'s.
//! [`Wheel::live`] subtracts them, so `next_expiration` and the inspector stay exact
//! between batches (a slot whose timers were all cancelled is not reported, even before
//! its list hears of it); `poll` settles first, because expiry takes whole lists and
//! needs their counts exact, and compaction needs every taken slot freed.
//!
//! Rejected alternatives:
//! * Counting in `cancel` (the first version of this design): simpler, and slower as
//!   above.
//! * One wheel-wide tombstone count and a sweep of every list when it gets too high:
//!   just as cheap per cancel, but a sweep pauses for the whole wheel at once, and slots
//!   holding only tombstones would stay "occupied" until then, so `next_expiration`
//!   would report them and the driver would wake up for nothing.
//!
//! Next to read: `display.rs`, the inspector that draws the levels and their lists.

use super::list::{List, ListId};
use super::{TimerKey, Wheel};

/// How many cancels may wait before the lists are told. Any small number works (`live`
/// scans the batch); 8 or 16 made "insert 1M, cancel all" slower (each settle has a
/// fixed cost), and 128 or 256 no faster.
pub(super) const SETTLE_BATCH: usize = 64;

/// The slab slots of the timers cancelled since the last settle: a fixed array and a
/// count, not a `Vec`, so that appending writes one `u32` and a count. The
/// cancel loop is made of misses, and the fewer instructions each cancel takes, the more
/// cancels the CPU keeps in flight at once (see the module docs).
///
/// The count is a `u8` and the array has 256 places, of which only the first
/// [`SETTLE_BATCH`] are used: indexing a 256-array with a `u8` needs no bounds check
/// and no masking, so a push is five instructions. The 768 unused bytes took the
/// cancel phase of "insert 1M, cancel all" from about 42 to 40 ns per timer, against a
/// `usize` count and `len % SETTLE_BATCH` (DESIGN.md §6).
#[derive(Clone, Copy, Debug)]
pub(super) struct Batch {
    cancels: [u32; 256],
    len: u8,
}

impl Default for Batch {
    fn default() -> Self {
        Batch { cancels: [0; 256], len: 0 }
    }
}

impl Batch {
    /// Appends the slab slot of a cancelled timer; `true` if the batch is now full and
    /// must be settled (the push that fills it has it settled, so the count never
    /// passes [`SETTLE_BATCH`]).
    #[inline]
    fn push(&mut self, slot: usize) -> bool {
        let len = self.len;
        self.cancels[len as usize] = slot as u32;
        self.len = len.wrapping_add(1);
        len as usize + 1 == SETTLE_BATCH
    }

    /// Empties the batch and returns the positions its cancels held (they stay readable
    /// in `cancels` until the next push).
    fn take(&mut self) -> std::ops::Range<usize> {
        0..std::mem::replace(&mut self.len, 0) as usize
    }

    /// The slab slot of each cancel in the batch, oldest first.
    pub(super) fn cancels(&self) -> &[u32] {
        &self.cancels[..self.len as usize]
    }

    #[cfg(all(test, not(loom)))]
    pub(super) fn len(&self) -> usize {
        self.len as usize
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<T> Wheel<T> {
    /// Removes a timer that has not been handed out yet and returns its value; `None` if
    /// it already fired or was cancelled. O(1) amortized: the entry leaves the slab, its
    /// key stays in its list as a tombstone, and the list hears of it in the next batch
    /// (see [Lists and cancellation](super#lists-and-cancellation)).
    #[inline]
    pub fn cancel(&mut self, key: TimerKey) -> Option<T> {
        let value = self.entries.take(key.0)?;
        if self.unsettled.push(key.0.index()) {
            self.settle();
        }
        Some(value)
    }

    /// Moves a pending timer to a new deadline and returns its **new** key; `None` if the
    /// key is stale. The timer goes to the back of its new slot, as if newly inserted.
    ///
    /// This is exactly `cancel` followed by `insert`, so the old key goes stale. Why not
    /// keep the key: the old key stays in the old list as a tombstone, and if the timer
    /// landed in that same list again, the list would hold two live copies of one key.
    pub fn reset(&mut self, key: TimerKey, deadline: u64) -> Option<TimerKey> {
        let value = self.cancel(key)?;
        Some(self.insert(deadline, value))
    }

    /// Frees the batch's slab slots and tells each list (read from the slot's tag before
    /// the free reuses that field) about its timers cancelled since the last settle:
    /// first every count, then the garbage rules, so that a compaction
    /// (which drops every dead key) never runs on a count that still includes some of
    /// them. Out of line, so that `cancel` stays small. The batch is emptied by setting
    /// its length, not replaced, which would copy and clear its 1 KiB. The loop that
    /// frees the slots keeps each one's list in the batch, over the slot index it no
    /// longer needs, for the loop that applies the garbage rules.
    #[inline(never)]
    pub(super) fn settle(&mut self) {
        let batch = self.unsettled.take();
        // Newest first, so that a run of cancels of a list's newest keys unwinds whole
        // (`List::note_cancelled` takes back a key still at the back of its queue).
        for i in batch.clone().rev() {
            let slot = self.unsettled.cancels[i] as usize;
            let tag = self.entries.tag(slot);
            self.unsettled.cancels[i] = tag; // the slot index is done with; the list is needed below
            self.entries.free(slot);
            self.list_mut(ListId::from_tag(tag)).note_cancelled(slot);
        }
        for i in batch {
            let id = ListId::from_tag(self.unsettled.cancels[i]);
            let entries = &self.entries;
            match id {
                ListId::Due => self.due.collect_garbage(entries),
                ListId::Slot { level, slot } => {
                    self.levels[level as usize].collect_garbage(slot as usize, entries)
                }
                ListId::Overflow => self.overflow.collect_garbage(entries),
            }
        }
    }

    /// Live timers on list `id`: its count, less the cancels it has not heard of yet
    /// (their slots, detached, still carry their list as a tag).
    pub(super) fn live(&self, id: ListId) -> usize {
        let tag = id.to_tag();
        let cancelled =
            self.unsettled.cancels().iter().filter(|&&slot| self.entries.tag(slot as usize) == tag).count();
        self.list(id).live() - cancelled
    }

    /// The list `id` names.
    pub(super) fn list(&self, id: ListId) -> &List {
        match id {
            ListId::Due => &self.due,
            ListId::Slot { level, slot } => &self.levels[level as usize].slots[slot as usize],
            ListId::Overflow => &self.overflow,
        }
    }

    fn list_mut(&mut self, id: ListId) -> &mut List {
        match id {
            ListId::Due => &mut self.due,
            ListId::Slot { level, slot } => &mut self.levels[level as usize].slots[slot as usize],
            ListId::Overflow => &mut self.overflow,
        }
    }
}
