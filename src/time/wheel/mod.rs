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
//!   search looks at six words at most, never at a list.
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
//! Next to read: `level.rs` (the arithmetic), then `list.rs` (the slot lists),
//! `display.rs` (the inspector) and `tests.rs` (the model test).

mod display;
mod level;
mod list;
#[cfg(all(test, not(loom)))]
mod tests;

use self::level::{level_for, slot_for, slot_start, Level, MAX_SPAN, NUM_LEVELS};
use self::list::{Entry, List, ListId};
use crate::util::slab::{Key, Slab};

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
    /// Boxed so a `Wheel` is small to move (6 × 64 lists inline would be ~9 KiB).
    levels: Box<[Level; NUM_LEVELS]>,
    /// Timers that are due now, in the order they will be handed out.
    due: List,
    /// Timers beyond the top level (their tick differs from `elapsed` above bit 35).
    overflow: List,
    /// A lower bound on the deadlines in `overflow` (`u64::MAX` if none can ever fire).
    /// Exact after every rescan; cancelling does not raise it (that would need a scan).
    overflow_min: u64,
    /// Every timer, wherever it is linked. Inserting reuses a freed slot when there is
    /// one, so a steady state of timers allocates nothing.
    entries: Slab<Entry<T>>,
}

/// The wheel's clock never reaches `u64::MAX`, so a `u64::MAX` deadline never fires.
const NEVER: u64 = u64::MAX;

impl<T> Wheel<T> {
    /// An empty wheel whose clock starts at tick `now`.
    pub fn new(now: u64) -> Self {
        Wheel {
            elapsed: now.min(NEVER - 1),
            levels: Box::default(),
            due: List::default(),
            overflow: List::default(),
            overflow_min: NEVER,
            entries: Slab::new(),
        }
    }

    /// Number of timers in the wheel (not yet handed out or cancelled).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// `true` if no timer is waiting.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The wheel's current tick: the largest `now` it has been advanced to.
    pub fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Adds a timer due at tick `deadline` (`u64::MAX` = never) and returns its key. O(1).
    pub fn insert(&mut self, deadline: u64, value: T) -> TimerKey {
        let key = self.entries.insert(Entry::new(deadline, value));
        self.link(key, deadline);
        TimerKey(key)
    }

    /// Removes a timer that has not been handed out yet and returns its value; `None` if
    /// it already fired or was cancelled. O(1): the entry unlinks itself from its list.
    pub fn cancel(&mut self, key: TimerKey) -> Option<T> {
        let entry = self.entries.remove(key.0)?;
        self.unlink_removed(&entry);
        Some(entry.value)
    }

    /// Moves a pending timer to a new deadline, keeping its key; `false` if the key is
    /// stale. The timer goes to the back of its new slot, as if newly inserted.
    pub fn reset(&mut self, key: TimerKey, deadline: u64) -> bool {
        let Some(entry) = self.entries.get_mut(key.0) else {
            return false;
        };
        entry.deadline = deadline;
        let id = entry.list;
        let mut list = self.take_list(id);
        list.unlink_live(&mut self.entries, key.0);
        self.put_list(id, list);
        self.link(key.0, deadline);
        true
    }

    /// The value of a pending timer (e.g. to update a stored waker).
    pub fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        self.entries.get_mut(key.0).map(|entry| &mut entry.value)
    }

    /// The value of a pending timer.
    pub fn get(&self, key: TimerKey) -> Option<&T> {
        self.entries.get(key.0).map(|entry| &entry.value)
    }

    /// The deadline a pending timer was inserted with (or last reset to).
    pub fn deadline(&self, key: TimerKey) -> Option<u64> {
        self.entries.get(key.0).map(|entry| entry.deadline)
    }

    /// The earliest tick at which `poll`/`advance` may have work: a lower bound on the
    /// next deadline, and exact for timers already at level 0. For a timer on a higher
    /// level it is the tick its slot cascades; for the overflow list it may be an old,
    /// cancelled deadline. `None` if no timer can ever fire. O(levels), no list is read.
    pub fn next_expiration(&self) -> Option<u64> {
        if !self.due.is_empty() {
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
        loop {
            if let Some(key) = self.due.pop_front(&mut self.entries) {
                let entry = self.entries.remove(key).expect("due list holds live entries");
                return Some((TimerKey(key), entry.value));
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
        *self.levels = Default::default();
        self.due = List::default();
        self.overflow = List::default();
        self.overflow_min = NEVER;
        self.entries.drain().into_iter().map(|entry| entry.value).collect()
    }

    // ===== internals =====

    /// Links the (unlinked) entry at `key` into the list its deadline belongs to now.
    fn link(&mut self, key: Key, deadline: u64) {
        let id = if deadline <= self.elapsed {
            ListId::Due
        } else {
            match level_for(self.elapsed, deadline) {
                level if level < NUM_LEVELS => {
                    ListId::Slot { level: level as u8, slot: slot_for(deadline, level) as u8 }
                }
                _ => {
                    self.overflow_min = self.overflow_min.min(deadline);
                    ListId::Overflow
                }
            }
        };
        let mut list = self.take_list(id);
        list.push_back(&mut self.entries, key, id);
        self.put_list(id, list);
    }

    /// Repairs the list of an entry that was just removed from the slab.
    fn unlink_removed(&mut self, removed: &Entry<T>) {
        let mut list = self.take_list(removed.list);
        list.unlink(&mut self.entries, removed);
        self.put_list(removed.list, list);
    }

    /// Copies a list head out (lists are two keys, `Copy`), so that it can be edited
    /// together with the slab; `put_list` stores it back and keeps the bitmap in step.
    fn take_list(&self, id: ListId) -> List {
        match id {
            ListId::Due => self.due,
            ListId::Overflow => self.overflow,
            ListId::Slot { level, slot } => self.levels[level as usize].slots[slot as usize],
        }
    }

    fn put_list(&mut self, id: ListId, list: List) {
        match id {
            ListId::Due => self.due = list,
            ListId::Overflow => self.overflow = list,
            ListId::Slot { level, slot } => {
                let level = &mut self.levels[level as usize];
                let slot = slot as usize;
                level.slots[slot] = list;
                if list.is_empty() {
                    level.clear_occupied(slot);
                } else {
                    level.set_occupied(slot);
                }
            }
        }
    }

    /// The earliest occupied slot: `(level, slot, first tick of the slot)`.
    fn next_slot(&self) -> Option<(usize, usize, u64)> {
        self.levels.iter().enumerate().find_map(|(level, lvl)| {
            let slot = lvl.first_occupied()?;
            lvl.debug_assert_after(level, slot_for(self.elapsed, level));
            Some((level, slot, slot_start(self.elapsed, level, slot)))
        })
    }

    /// The clock has reached `start`, the first tick of `slot` on `level`: move its timers
    /// to where they belong now. Those due at `start` join `due` in arrival order; the
    /// rest go to a lower level. None can come back to this slot, so the list can be
    /// drained in place.
    fn expire_slot(&mut self, level: usize, slot: usize, start: u64) {
        debug_assert!(start >= self.elapsed, "slot start {start} is behind the clock {}", self.elapsed);
        self.elapsed = start;
        let id = ListId::Slot { level: level as u8, slot: slot as u8 };
        crate::trace::cascade(level, slot);
        let mut list = self.take_list(id);
        self.put_list(id, List::default());
        while let Some(key) = list.pop_front(&mut self.entries) {
            let deadline = self.entries.get(key).expect("slot lists hold live entries").deadline;
            debug_assert!(level > 0 || deadline == start, "level 0 slot at {start} holds {deadline}");
            self.link(key, deadline);
        }
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
        let mut min = NEVER;
        let mut cursor = self.overflow.head();
        while let Some(key) = cursor {
            min = min.min(self.entries.get(key).expect("overflow holds live entries").deadline);
            cursor = List::next_of(&self.entries, key);
        }
        min
    }

    /// Re-links every overflow timer relative to the new clock; those still too far stay.
    fn refill_from_overflow(&mut self) {
        let mut list = std::mem::take(&mut self.overflow);
        self.overflow_min = NEVER;
        while let Some(key) = list.pop_front(&mut self.entries) {
            let deadline = self.entries.get(key).expect("overflow holds live entries").deadline;
            self.link(key, deadline);
        }
    }
}

impl<T> Default for Wheel<T> {
    /// An empty wheel starting at tick 0.
    fn default() -> Self {
        Wheel::new(0)
    }
}
