//! A hierarchical timer wheel, as a pure data structure: no threads, no clock, no I/O.
//!
//! **What this teaches.** How a runtime keeps a million timers with O(1) insert, O(1)
//! cancel and no per-tick scan: scheme 7 of Varghese & Lauck, *Hashed and Hierarchical
//! Timing Wheels* (SOSP 1987). Time is a `u64` count of 1 ms **ticks**; the caller says
//! what "now" is. This module is public for teaching and for benchmarks; the runtime's
//! time driver stores a [`Waker`](std::task::Waker) per timer in a `Wheel<Waker>`.
//!
//! ## Levels
//!
//! Six levels of 64 slots. A slot of level L covers `64^L` ticks, so each level is a
//! coarser clock hand than the one below it (like seconds, minutes, hours):
//!
//! | level | slot size | range of the level (64 slots) |
//! |---|---|---|
//! | 0 | 1 ms | 64 ms |
//! | 1 | 64 ms | 4.096 s |
//! | 2 | 4.096 s | ≈ 4.4 min (262 s) |
//! | 3 | ≈ 4.4 min | ≈ 4.7 h |
//! | 4 | ≈ 4.7 h | ≈ 12.4 days |
//! | 5 | ≈ 12.4 days | ≈ 2.2 years (`2^36` ms) |
//!
//! ## Arithmetic (all in `level.rs`, next to the constants)
//!
//! * `level_for(elapsed, deadline)`: the highest bit in which `elapsed ^ deadline` is set,
//!   divided by 6. Ticks that differ only in bits 0–5 share a level-0 block → level 0.
//! * `slot_for(deadline, level)`: bits `6·level .. 6·level+6` of the deadline.
//! * Next expiry: the lowest set bit (`trailing_zeros`) of the lowest non-empty level's
//!   `occupied` bitmap. Every level-L slot starts after every level-(L−1) slot, so the
//!   search looks at six words (and, just after cancels, a few live counts), never at
//!   the keys in a list.
//!
//! ## Cascading
//!
//! When the clock reaches the first tick of an occupied level-L slot (L > 0), its timers
//! are moved to where they now belong, which is always a lower level (or "due"). A timer
//! therefore moves at most five times on its way to level 0, and a level-0 slot holds
//! timers of exactly one tick, which fire in arrival order.
//!
//! ## Edges
//!
//! * A deadline at or before the wheel's current tick is due at once: the next
//!   `poll`/`advance` hands it out (a deadline in the past counts as "now").
//! * A deadline beyond the top level waits in an *overflow* list and enters the wheel when
//!   the clock is close enough; it never fires early.
//! * `u64::MAX` means "never" and never fires: the wheel's clock stops at `u64::MAX - 1`.
//!
//! ## Lists and cancellation
//!
//! Every timer's value lives in one slab (`util::slab`); a slot, the due list and the
//! overflow list each hold a queue of slab keys, each beside its timer's deadline, plus a
//! count of the live ones. Cancel only removes the value from the slab: the key left in
//! the queue is a *tombstone*, skipped when the slot expires and swept when a queue holds
//! too many. The counts are corrected in batches. `list.rs` (the queues, the garbage
//! bound) and `cancel.rs` (the batches) explain why: cache misses.
//!
//! Next to read: `level.rs` (the arithmetic), then `list.rs` (the slot lists),
//! `cancel.rs` (cancellation), `display.rs` (the inspector), `tests.rs` (the model test)
//! and `tombstone_tests.rs`.

mod cancel;
mod display;
mod level;
mod list;
#[cfg(all(test, not(loom)))]
mod tests;
#[cfg(all(test, not(loom)))]
mod tombstone_tests;

use self::cancel::Batch;
#[cfg(all(test, not(loom)))]
use self::cancel::SETTLE_BATCH;
use self::level::{level_for, slot_for, slot_start, Level, MAX_SPAN, NUM_LEVELS};
use self::list::{is_live, List, ListId, Queued};
use crate::util::slab::{Key, Slab};
use std::collections::VecDeque;

/// Identifies one timer in one [`Wheel`]. Stale keys (timer fired or cancelled) are
/// detected by a generation counter and simply find nothing. A key is only meaningful to
/// the wheel that returned it: using it on another wheel is a logic error the wheel cannot
/// detect (it may name an unrelated timer there).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TimerKey(Key);

impl TimerKey {
    /// The key as one number (for traces).
    pub(crate) fn to_u64(self) -> u64 {
        self.0.to_u64()
    }
}

/// A hierarchical timer wheel holding one `T` per timer; see the [module docs](self).
pub struct Wheel<T> {
    /// The wheel's current tick: every deadline `<= elapsed` has been handed out or is in
    /// the `due` list. Never goes backwards.
    elapsed: u64,
    /// Boxed so a `Wheel` is small to move (6 × 64 lists inline would be ~15 KiB), and
    /// built level by level on the heap ([`new_levels`]): `Box::new([Level; 6])` would
    /// first build all 15 KiB on the stack, which overflowed loom's 32 KiB thread stacks.
    levels: Box<[Level]>,
    /// Timers that are due now, in the order they will be handed out.
    due: List,
    /// Timers beyond the top level (their tick differs from `elapsed` above bit 35).
    overflow: List,
    /// A lower bound on the deadlines in `overflow` (`u64::MAX` if none can ever fire).
    /// Exact after every rescan; cancelling does not raise it (that would need a scan).
    overflow_min: u64,
    /// Every pending timer. Its slot's tag ([`ListId::to_tag`]) names the one list whose
    /// queue holds its live key. Inserting reuses a freed slot when there is one, so a
    /// steady state of timers allocates nothing.
    entries: Slab<T>,
    /// The list and slab slot of each timer cancelled since the last [`Wheel::settle`]
    /// (fewer than `SETTLE_BATCH`): its list's live count still includes it, and its
    /// slot's bit in the slab's occupied bitmap is still set. `cancel` only appends here,
    /// so that it touches no list and no bitmap; `cancel.rs` explains why.
    unsettled: Batch,
}

/// [`NUM_LEVELS`] empty levels, each built on its own (~2.6 KiB of stack at a time).
fn new_levels() -> Box<[Level]> {
    (0..NUM_LEVELS).map(|_| Level::default()).collect()
}

/// The wheel's clock never reaches `u64::MAX`, so a `u64::MAX` deadline never fires.
const NEVER: u64 = u64::MAX;

impl<T> Wheel<T> {
    /// An empty wheel whose clock starts at tick `now`.
    pub fn new(now: u64) -> Self {
        Wheel {
            elapsed: now.min(NEVER - 1),
            levels: new_levels(),
            due: List::default(),
            overflow: List::default(),
            overflow_min: NEVER,
            entries: Slab::new(),
            unsettled: Batch::default(),
        }
    }

    /// Number of timers in the wheel (not yet handed out or cancelled).
    pub fn len(&self) -> usize {
        self.entries.len() - self.unsettled.cancels().len() // the slab counts detached slots
    }

    /// `true` if no timer is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The wheel's current tick: the largest `now` it has been advanced to.
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Adds a timer due at tick `deadline` (`u64::MAX` = never) and returns its key. O(1).
    #[inline]
    pub fn insert(&mut self, deadline: u64, value: T) -> TimerKey {
        let list = list_for(self.elapsed, deadline);
        let key = self.entries.insert_tagged(value, list.to_tag());
        self.push(list, key, deadline);
        TimerKey(key)
    }

    /// The value of a pending timer (e.g. to update a stored waker).
    pub fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        self.entries.get_mut(key.0)
    }

    /// The value of a pending timer.
    pub fn get(&self, key: TimerKey) -> Option<&T> {
        self.entries.get(key.0)
    }

    /// The deadline a pending timer was inserted with (or last reset to). O(length of
    /// its list): the deadline is kept beside the key in the list's queue, not in the
    /// slab (`list.rs` says why), so this searches that queue. For tests and teaching;
    /// the runtime's `Sleep` keeps its own deadline.
    pub fn deadline(&self, key: TimerKey) -> Option<u64> {
        let (_, tag) = self.entries.get_tagged(key.0)?;
        let list = self.list(ListId::from_tag(tag));
        list.keys().find(|queued| queued.key == key.0).map(|queued| queued.deadline)
    }

    /// The earliest tick at which `poll`/`advance` may have work: a lower bound on the
    /// next deadline, and exact for timers already at level 0. For a timer on a higher
    /// level it is the tick its slot cascades; for the overflow list it may be an old,
    /// cancelled deadline. `None` if no timer can ever fire. O(levels), no list is read:
    /// a slot holding only tombstones is never marked occupied.
    pub fn next_expiration(&self) -> Option<u64> {
        if self.live(ListId::Due) > 0 {
            return Some(self.elapsed);
        }
        if let Some((_, _, start)) = self.next_slot() {
            return Some(start);
        }
        (self.overflow_min != NEVER).then_some(self.overflow_min)
    }

    /// The level and slot a timer due at `deadline` would be linked into now (`None`: it
    /// is due already, or beyond the top level). For traces and the inspector.
    pub(crate) fn slot_of(&self, deadline: u64) -> Option<(u8, u8)> {
        let level = level_for(self.elapsed, deadline);
        (deadline > self.elapsed && level < NUM_LEVELS)
            .then(|| (level as u8, slot_for(deadline, level) as u8))
    }

    /// Hands out one timer due at or before `now`, or `None` once there is none; the
    /// wheel's clock is then `now`. Timers come out in deadline order, and in insertion
    /// order among equal deadlines. A `now` earlier than the clock is treated as the clock,
    /// and `now` is capped at `u64::MAX - 1` so that `u64::MAX` (never) cannot come due.
    pub fn poll(&mut self, now: u64) -> Option<(TimerKey, T)> {
        let now = now.clamp(self.elapsed, NEVER - 1);
        if !self.unsettled.is_empty() {
            self.settle(); // expiry below takes whole lists: their counts must be exact
        }
        loop {
            if let Some(key) = self.due.pop_front(&self.entries, ListId::Due) {
                let value = self.entries.remove(key).expect("pop_front returns live keys only");
                return Some((TimerKey(key), value));
            }
            match self.next_slot() {
                Some((level, slot, start)) if start <= now => self.expire_slot(level, slot, start),
                _ => {
                    if self.move_clock_to(now) {
                        return None;
                    }
                }
            }
        }
    }

    /// Hands every timer due at or before `now` to `fire`, in the order of [`Wheel::poll`].
    pub fn advance(&mut self, now: u64, mut fire: impl FnMut(TimerKey, T)) {
        while let Some((key, value)) = self.poll(now) {
            fire(key, value);
        }
    }

    /// Removes every timer and returns their values (for a driver shutting down).
    pub fn drain(&mut self) -> Vec<T> {
        self.levels = new_levels();
        self.due = List::default();
        self.overflow = List::default();
        self.overflow_min = NEVER;
        self.unsettled = Batch::default();
        self.entries.drain()
    }

    // ===== internals =====

    /// Appends `key` (whose entry already names `id`) to list `id`.
    #[inline]
    fn push(&mut self, id: ListId, key: Key, deadline: u64) {
        match id {
            ListId::Due => self.due.push_back(key, deadline),
            ListId::Slot { level, slot } => self.levels[level as usize].push(slot as usize, key, deadline),
            ListId::Overflow => {
                self.overflow_min = self.overflow_min.min(deadline);
                self.overflow.push_back(key, deadline);
            }
        }
    }

    /// Moves every live timer among `keys`, just taken out of list `from`, to the list its
    /// deadline belongs to now, in order; tombstones are dropped. Leaves `keys` empty.
    fn relink_all(&mut self, keys: &mut VecDeque<Queued>, from: ListId) {
        for Queued { key, deadline } in keys.drain(..) {
            if !is_live(&self.entries, key, from) {
                continue; // a tombstone: its timer was cancelled or reset
            }
            let to = list_for(self.elapsed, deadline);
            self.entries.set_tag(key, to.to_tag());
            let from_level_0 = matches!(from, ListId::Slot { level: 0, .. });
            debug_assert!(!from_level_0 || to == ListId::Due, "a level-0 slot held a later tick {deadline}");
            self.push(to, key, deadline);
        }
    }

    /// The earliest slot with a live timer: `(level, slot, first tick of the slot)`. An
    /// occupied slot is skipped only if all its timers were cancelled since the last
    /// settle, so after a settle this is the earliest occupied slot.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        self.levels.iter().enumerate().find_map(|(level, lvl)| {
            lvl.debug_assert_after(level, slot_for(self.elapsed, level));
            let slot = lvl
                .occupied_slots()
                .find(|&slot| self.live(ListId::Slot { level: level as u8, slot: slot as u8 }) > 0)?;
            Some((level, slot, slot_start(self.elapsed, level, slot)))
        })
    }

    /// The clock has reached `start`, the first tick of `slot` on `level`: move its timers
    /// to where they belong now. Those due at `start` join `due` in arrival order; the
    /// rest go to a lower level. None can come back to this slot, so its emptied buffer
    /// can be handed back to it afterwards.
    fn expire_slot(&mut self, level: usize, slot: usize, start: u64) {
        debug_assert!(start >= self.elapsed, "slot start {start} is behind the clock {}", self.elapsed);
        self.elapsed = start;
        crate::trace::cascade(level, slot);
        let mut keys = self.levels[level].take(slot);
        self.relink_all(&mut keys, ListId::Slot { level: level as u8, slot: slot as u8 });
        self.levels[level].give_back(slot, keys);
    }

    /// Moves the clock to `now` when no slot is due before it. Returns `false` if that
    /// brought overflow timers into range which must be looked at first.
    fn move_clock_to(&mut self, now: u64) -> bool {
        let mut target = now;
        if self.overflow_min <= now {
            // Something in overflow may be due by `now`: stop the clock at the earliest
            // one, so timers still come out in deadline order.
            self.overflow_min = self.exact_overflow_min();
            target = target.min(self.overflow_min);
        }
        let new_top_block = target / MAX_SPAN != self.elapsed / MAX_SPAN;
        self.elapsed = target;
        if new_top_block && !self.overflow.is_empty() {
            self.refill_from_overflow();
            return false;
        }
        debug_assert_eq!(target, now, "overflow timer due in the wheel's own top block");
        true
    }

    /// Walks the overflow list (rare: once per `2^36`-tick block the clock enters).
    fn exact_overflow_min(&self) -> u64 {
        let live = self.overflow.keys().filter(|queued| is_live(&self.entries, queued.key, ListId::Overflow));
        live.map(|queued| queued.deadline).min().unwrap_or(NEVER)
    }

    /// Re-links every overflow timer relative to the new clock; those still too far stay.
    fn refill_from_overflow(&mut self) {
        let mut keys = self.overflow.take_keys();
        self.overflow_min = NEVER;
        self.relink_all(&mut keys, ListId::Overflow);
    }
}

/// The list a timer due at `deadline` belongs on when the clock reads `elapsed`.
#[inline]
fn list_for(elapsed: u64, deadline: u64) -> ListId {
    if deadline <= elapsed {
        return ListId::Due;
    }
    match level_for(elapsed, deadline) {
        level if level < NUM_LEVELS => {
            ListId::Slot { level: level as u8, slot: slot_for(deadline, level) as u8 }
        }
        _ => ListId::Overflow,
    }
}

impl<T> Default for Wheel<T> {
    /// An empty wheel starting at tick 0.
    fn default() -> Self {
        Wheel::new(0)
    }
}
