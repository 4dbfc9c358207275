//! The wheel's inspector: `Display` draws the levels, `Debug` lists their bitmaps.
//!
//! **What this teaches.** A data structure you can print is a data structure you can
//! watch. `examples/wheel.rs` prints a wheel after every step so you can see a timer
//! cascade from level 2 to level 0. Each list counts its live timers, so the counts
//! cost nothing; a slot that still holds tombstones (keys of cancelled timers, see
//! `list.rs`) shows how many, so you can watch cancellation stay lazy.
//!
//! Next to read: `tests.rs`, the wheel checked against a `BTreeMap` model.

use super::level::{slot_span, slot_start, NUM_LEVELS, SLOTS};
use super::list::ListId;
use super::Wheel;
use std::fmt;

impl<T> Wheel<T> {
    /// `(slot, live timers, tombstones)` for every occupied slot of `level`.
    fn occupied_slots(&self, level: usize) -> Vec<(usize, usize, usize)> {
        let counts = |slot: usize| {
            let id = ListId::Slot { level: level as u8, slot: slot as u8 };
            let live = self.live(id);
            (slot, live, self.list(id).stored() - live)
        };
        self.levels[level].occupied_slots().map(counts).collect()
    }
}

/// "1 ms", "4.096 s", "4.4 min" … for the slot size column.
fn human(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1_000..=59_999 => format!("{:.3} s", ms as f64 / 1e3),
        60_000..=3_599_999 => format!("{:.1} min", ms as f64 / 6e4),
        3_600_000..=86_399_999 => format!("{:.1} h", ms as f64 / 3.6e6),
        _ => format!("{:.1} days", ms as f64 / 8.64e7),
    }
}

/// One character per slot: `.` empty, `1`–`9` timers, `*` ten or more.
fn bitmap_row(slots: &[(usize, usize, usize)]) -> String {
    let mut row = vec!['.'; SLOTS];
    for &(slot, n, _) in slots {
        row[slot] = if n < 10 { char::from_digit(n as u32, 10).unwrap_or('*') } else { '*' };
    }
    row.into_iter().collect()
}

impl<T> fmt::Display for Wheel<T> {
    /// Draws the wheel: one row of 64 slot cells per level, then the occupied slots with
    /// their timer counts (and tombstones, if any) and the tick at which each will be
    /// processed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "wheel at tick {} ms: {} timer(s) ({} due now, {} beyond the top level)",
            self.elapsed,
            self.len(),
            self.live(ListId::Due),
            self.live(ListId::Overflow)
        )?;
        for level in 0..NUM_LEVELS {
            let slots = self.occupied_slots(level);
            let size = human(slot_span(level));
            writeln!(f, "  level {level} ({size:>9} slots) |{}|", bitmap_row(&slots))?;
            for (slot, n, dead) in slots {
                let start = slot_start(self.elapsed, level, slot);
                let dead = if dead > 0 { format!(" + {dead} tombstone(s)") } else { String::new() };
                writeln!(f, "      slot {slot:2}: {n} timer(s){dead}, processed at tick {start}")?;
            }
        }
        Ok(())
    }
}

/// A level's bitmap in binary (bit 0 on the right) and its `(slot, timers, tombstones)`
/// triples.
struct LevelDebug(u64, Vec<(usize, usize, usize)>);

impl fmt::Debug for LevelDebug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Level")
            .field("occupied", &format_args!("{:064b}", self.0))
            .field("timers_and_tombstones_per_slot", &self.1)
            .finish()
    }
}

/// The non-empty levels of a wheel, as a map from level number to [`LevelDebug`].
struct LevelsDebug<'a, T>(&'a Wheel<T>);

impl<T> fmt::Debug for LevelsDebug<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wheel = self.0;
        f.debug_map()
            .entries(
                (0..NUM_LEVELS)
                    .filter(|&l| wheel.levels[l].occupied != 0)
                    .map(|l| (l, LevelDebug(wheel.levels[l].occupied, wheel.occupied_slots(l)))),
            )
            .finish()
    }
}

impl<T> fmt::Debug for Wheel<T> {
    /// The raw state: clock, counts, and each non-empty level's bitmap and slot counts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wheel")
            .field("elapsed", &self.elapsed)
            .field("len", &self.len())
            .field("due", &self.live(ListId::Due))
            .field("overflow", &self.live(ListId::Overflow))
            .field("overflow_min", &self.overflow_min)
            .field("levels", &LevelsDebug(self))
            .finish()
    }
}
