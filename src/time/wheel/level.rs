//! One level of the wheel (64 slots and an occupied bitmap) and all of the wheel's
//! arithmetic.
//!
//! **What this teaches.** Every question the wheel asks about time ("which level does this
//! deadline go on?", "which slot?", "when does that slot start?") is answered by a few
//! shifts and masks on the tick number, because every level has a power-of-two number of
//! slots. This file holds those answers as small pure functions next to the constants they
//! come from, and tests them exhaustively at the bottom.
//!
//! Next to read: `list.rs`, the queue of keys each slot holds.

use super::list::{List, Queued};
use crate::util::slab::{Key, Slab};
use std::collections::VecDeque;

/// Each level has `2^BITS_PER_LEVEL` slots.
pub(crate) const BITS_PER_LEVEL: u32 = 6;

/// Slots per level: 64, so that one `u64` can say which slots hold timers.
pub(crate) const SLOTS: usize = 1 << BITS_PER_LEVEL;

/// Masks the 6 bits of a tick that pick a slot within one level.
const SLOT_MASK: u64 = SLOTS as u64 - 1;

/// Number of levels. Six levels of 6 bits cover 36 bits of ticks.
pub(crate) const NUM_LEVELS: usize = 6;

/// Ticks covered by the whole wheel: `2^36` ms, about 2.2 years. A deadline whose tick
/// differs from the wheel's current tick above bit 35 does not fit in any level and waits
/// in the wheel's overflow list instead.
pub(crate) const MAX_SPAN: u64 = 1 << (BITS_PER_LEVEL * NUM_LEVELS as u32);

/// Ticks covered by one slot of `level`: `64^level` (1 ms, 64 ms, 4 096 ms, ...).
pub(crate) const fn slot_span(level: usize) -> u64 {
    1 << (BITS_PER_LEVEL * level as u32)
}

/// Ticks covered by all 64 slots of `level`: `64^(level + 1)`.
pub(crate) const fn level_span(level: usize) -> u64 {
    slot_span(level + 1)
}

/// The level a timer due at `deadline` belongs on, seen from the wheel's current tick
/// `elapsed` (requires `deadline > elapsed`).
///
/// The rule: find the highest bit in which the two ticks differ. Bits 0–5 differ only →
/// level 0; the highest differing bit is in 6–11 → level 1; and so on, six bits per level.
/// `x ^ y` has a 1 exactly where they differ, `ilog2` finds the highest one, and `/ 6`
/// turns a bit position into a level. `| SLOT_MASK` makes `ilog2` well defined (never of 0)
/// without changing the answer for levels ≥ 1, and sends "differ only in bits 0–5" to 0.
///
/// A result `>= NUM_LEVELS` means the deadline is beyond the wheel's range.
#[inline]
pub(crate) fn level_for(elapsed: u64, deadline: u64) -> usize {
    debug_assert!(deadline > elapsed, "level_for({elapsed}, {deadline}): deadline not in the future");
    let differing_bits = (elapsed ^ deadline) | SLOT_MASK;
    (differing_bits.ilog2() / BITS_PER_LEVEL) as usize
}

/// The slot of `level` that holds `deadline`: bits `6·level .. 6·level + 6` of the tick.
#[inline]
pub(crate) fn slot_for(deadline: u64, level: usize) -> usize {
    ((deadline >> (BITS_PER_LEVEL * level as u32)) & SLOT_MASK) as usize
}

/// The first tick covered by `slot` of `level`, in the level-span-aligned block of ticks
/// that contains `elapsed`.
///
/// Clearing the low bits of `elapsed` gives the start of its block; slot `s` starts `s`
/// slot spans later. The wheel *cascades* a slot (moves its timers down a level) when the
/// clock reaches this tick.
pub(crate) fn slot_start(elapsed: u64, level: usize, slot: usize) -> u64 {
    let block_start = elapsed & !(level_span(level) - 1);
    block_start + slot as u64 * slot_span(level)
}

/// One level: 64 slot lists and a bitmap with bit `s` set iff slot `s` is non-empty.
///
/// Only the methods below change a slot, and each keeps the bitmap in step with the
/// slot's live count, so the invariant lives in this one place.
#[derive(Debug)]
pub(crate) struct Level {
    /// Bit `s` is set iff `slots[s]` holds at least one *live* timer (tombstones alone
    /// never count: a list whose live count reaches 0 drops them).
    pub(crate) occupied: u64,
    /// The timers of each slot, oldest first.
    pub(crate) slots: [List; SLOTS],
}

impl Default for Level {
    fn default() -> Self {
        // `Default` is derived for arrays only up to 32 elements.
        Level { occupied: 0, slots: std::array::from_fn(|_| List::default()) }
    }
}

impl Level {
    /// The occupied slots, earliest first, found from the bitmap alone.
    ///
    /// Why no rotation: tokio rotates the bitmap by the current slot first, because its top
    /// level is a ring in which a slot "before" the current one can mean "next lap". Here
    /// every level is aligned to the wheel's current tick (`level_for` puts a timer on level
    /// L only if its tick agrees with `elapsed` above bit 6L+5 and is larger in bits
    /// 6L..6L+5), so every occupied slot lies strictly *after* the current one and the
    /// lowest set bit is the earliest slot. `debug_assert_after` checks that invariant.
    pub(crate) fn occupied_slots(&self) -> impl Iterator<Item = usize> {
        let mut bits = self.occupied;
        std::iter::from_fn(move || {
            let slot = (bits != 0).then(|| bits.trailing_zeros() as usize)?;
            bits &= bits - 1; // clear the lowest set bit
            Some(slot)
        })
    }

    /// Checks the alignment invariant above: no slot at or before `current` is occupied.
    pub(crate) fn debug_assert_after(&self, level: usize, current: usize) {
        let at_or_before = if current + 1 >= SLOTS { u64::MAX } else { (2u64 << current) - 1 };
        debug_assert!(
            self.occupied & at_or_before == 0,
            "level {level}: a slot at or before the current slot {current} is occupied: {:064b}",
            self.occupied
        );
    }

    /// Appends a timer's key to `slot` (its entry already names this slot).
    #[inline]
    pub(crate) fn push(&mut self, slot: usize, key: Key, deadline: u64) {
        self.slots[slot].push_back(key, deadline);
        self.set_occupied(slot);
    }

    /// Applies the garbage rules to `slot` (see [`List::collect_garbage`]) and clears
    /// its bit if no live timer is left.
    pub(crate) fn collect_garbage<T>(&mut self, slot: usize, entries: &Slab<T>) {
        self.slots[slot].collect_garbage(entries);
        if self.slots[slot].is_empty() {
            self.clear_occupied(slot);
        }
    }

    /// Empties `slot` for expiry and returns its keys (tombstones included), in order.
    pub(crate) fn take(&mut self, slot: usize) -> VecDeque<Queued> {
        self.clear_occupied(slot);
        self.slots[slot].take_keys()
    }

    /// Hands the emptied buffer of [`Level::take`] back to `slot` for reuse.
    pub(crate) fn give_back(&mut self, slot: usize, keys: VecDeque<Queued>) {
        self.slots[slot].reuse(keys);
    }

    #[inline]
    fn set_occupied(&mut self, slot: usize) {
        self.occupied |= 1 << slot;
    }

    fn clear_occupied(&mut self, slot: usize) {
        self.occupied &= !(1 << slot);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn constants_are_derived_from_each_other() {
        assert_eq!(SLOTS, 64);
        assert_eq!(MAX_SPAN, 1 << 36);
        assert_eq!(level_span(NUM_LEVELS - 1), MAX_SPAN);
        let spans: Vec<u64> = (0..NUM_LEVELS).map(slot_span).collect();
        assert_eq!(spans, [1, 64, 4_096, 262_144, 16_777_216, 1_073_741_824]);
    }

    /// Every (level, slot) position: a deadline at the start of that slot lands there.
    #[test]
    fn slot_for_every_position() {
        for level in 0..NUM_LEVELS {
            for slot in 0..SLOTS {
                let tick = slot as u64 * slot_span(level);
                assert_eq!(slot_for(tick, level), slot, "level {level} slot {slot}");
                let last = tick + slot_span(level) - 1;
                assert_eq!(slot_for(last, level), slot, "end of level {level} slot {slot}");
                // Higher bits do not leak into the slot number.
                assert_eq!(slot_for(tick + 7 * level_span(level), level), slot);
            }
        }
    }

    /// From `elapsed = 0`, each range `[64^L, 64^(L+1))` is level L, up to the wheel's end.
    #[test]
    fn level_for_every_boundary_from_zero() {
        assert_eq!(level_for(0, 1), 0);
        assert_eq!(level_for(0, 63), 0);
        for level in 1..=NUM_LEVELS {
            let first = slot_span(level);
            assert_eq!(level_for(0, first), level, "first tick of level {level}");
            assert_eq!(level_for(0, first - 1), level - 1, "last tick before level {level}");
        }
        assert_eq!(level_for(0, MAX_SPAN), NUM_LEVELS, "beyond the wheel");
        assert!(level_for(0, u64::MAX) >= NUM_LEVELS);
    }

    /// Exhaustive over small ticks: the level is the one whose aligned block first holds
    /// both ticks, and the slot then starts after `elapsed` and at or before `deadline`.
    /// (Miri, about a thousand times slower, checks a corner of the same square.)
    #[test]
    fn level_and_slot_agree_with_a_brute_force_definition() {
        let (clocks, ahead) = if cfg!(miri) { (70, 300) } else { (700, 5_000) };
        for elapsed in 0..clocks {
            for deadline in elapsed + 1..elapsed + ahead {
                let level = level_for(elapsed, deadline);
                let brute = (0..).find(|&l| elapsed / level_span(l) == deadline / level_span(l));
                assert_eq!(Some(level), brute, "elapsed {elapsed} deadline {deadline}");
                let slot = slot_for(deadline, level);
                let start = slot_start(elapsed, level, slot);
                assert!(start > elapsed && start <= deadline, "{elapsed} {deadline} {start}");
                assert!(deadline < start + slot_span(level));
            }
        }
    }

    #[test]
    fn occupied_slots_come_lowest_bit_first() {
        let mut level = Level::default();
        assert_eq!(level.occupied_slots().next(), None);
        level.set_occupied(40);
        level.set_occupied(9);
        level.set_occupied(63);
        assert_eq!(level.occupied_slots().collect::<Vec<_>>(), [9, 40, 63]);
        level.clear_occupied(9);
        assert_eq!(level.occupied_slots().next(), Some(40));
        level.debug_assert_after(0, 39);
    }
}
