//! The wheel against a reference model, and its edge cases.
//!
//! **What this teaches.** The cheapest way to trust a clever data structure is to run it
//! side by side with an obviously correct slow one. The model here is a
//! `BTreeMap<(deadline, seq), id>`: "fire everything `<= now` in key order" is the whole
//! specification. Random operation sequences (seeded, so every failure reproduces) then
//! compare the two after each step, and check the wheel's own invariants (live counts,
//! tombstone bound, bitmaps) as they go.
//!
//! Next to read: `tombstone_tests.rs`, lazy cancellation's own cases.

use super::level::{slot_span, MAX_SPAN, NUM_LEVELS};
use super::list::{is_live, List, ListId, TOMBSTONE_RATIO, TOMBSTONE_SLACK};
use super::{list_for, TimerKey, Wheel, NEVER, SETTLE_BATCH};
use std::collections::{BTreeMap, HashSet};

/// splitmix64: a tiny, good-enough generator, so the tests need no `rand` dependency.
pub(super) struct SplitMix(pub(super) u64);

impl SplitMix {
    pub(super) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(super) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// The specification: timers keyed by `(effective deadline, insertion number)`. A deadline
/// at or before the clock counts as "now", exactly like the wheel.
struct Model {
    now: u64,
    seq: u64,
    timers: BTreeMap<(u64, u64), u64>,
    where_is: BTreeMap<u64, (u64, u64)>,
}

impl Model {
    fn insert(&mut self, deadline: u64, id: u64) {
        let key = (deadline.max(self.now), self.seq);
        self.seq += 1;
        self.timers.insert(key, id);
        self.where_is.insert(id, key);
    }

    fn cancel(&mut self, id: u64) -> bool {
        match self.where_is.remove(&id) {
            Some(key) => self.timers.remove(&key).is_some(),
            None => false,
        }
    }

    fn advance(&mut self, now: u64) -> Vec<u64> {
        self.now = now.clamp(self.now, NEVER - 1);
        let mut fired = Vec::new();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > self.now {
                break;
            }
            let id = entry.remove();
            self.where_is.remove(&id);
            fired.push(id);
        }
        fired
    }

    fn earliest(&self) -> Option<u64> {
        self.timers.keys().next().map(|k| k.0).filter(|&d| d != NEVER)
    }
}

/// Checks every list against the slab: its live count (less unsettled cancels), the
/// tombstone bound, "empty means empty", the occupied bitmaps, and that each pending
/// timer's key is live exactly once, in the list its entry names. O(timers), so tests
/// call it now and then.
pub(super) fn check_invariants<T>(wheel: &Wheel<T>) {
    assert!(wheel.unsettled.len() < SETTLE_BATCH, "a full batch is settled at once");
    let mut live_keys = HashSet::new();
    let mut check = |list: &List, id: ListId| {
        for key in list.keys().map(|queued| queued.key) {
            // The slab's occupied bitmap, which compaction reads first, is exact except
            // for the slots of unsettled cancels (still "maybe").
            if !wheel.unsettled.cancels().iter().any(|&slot| slot as usize == key.index()) {
                let exact = wheel.entries.slot_is_occupied(key.index());
                assert_eq!(wheel.entries.is_occupied(key.index()), exact, "{id:?}: bit of {key:?}");
            }
        }
        for queued in list.keys().filter(|queued| is_live(&wheel.entries, queued.key, id)) {
            assert!(live_keys.insert(queued.key), "{id:?}: key {:?} is live twice", queued.key);
            // The deadline queued beside the key still belongs on this list.
            assert_eq!(list_for(wheel.elapsed, queued.deadline), id, "{queued:?} on {id:?}");
        }
        let live = list.keys().filter(|queued| is_live(&wheel.entries, queued.key, id)).count();
        assert_eq!(live, wheel.live(id), "{id:?}: live count");
        // The bound is kept on the list's own count, which still counts unsettled cancels.
        let tombstones = list.stored() - list.live();
        assert!(list.live() > 0 || tombstones == 0, "{id:?}: only tombstones left");
        let bound = TOMBSTONE_RATIO * list.live() + TOMBSTONE_SLACK;
        assert!(tombstones <= bound, "{id:?}: {tombstones} tombstones > {bound}");
    };
    check(&wheel.due, ListId::Due);
    check(&wheel.overflow, ListId::Overflow);
    for (level, lvl) in wheel.levels.iter().enumerate() {
        for (slot, list) in lvl.slots.iter().enumerate() {
            check(list, ListId::Slot { level: level as u8, slot: slot as u8 });
            let occupied = lvl.occupied >> slot & 1 == 1;
            assert_eq!(occupied, !list.is_empty(), "level {level} slot {slot}: bitmap");
        }
    }
    assert_eq!(live_keys.len(), wheel.len(), "every pending timer is on exactly one list");
}

/// A deadline from a mix that reaches every level, the overflow list, the past and "never".
fn random_deadline(rng: &mut SplitMix, now: u64) -> u64 {
    match rng.below(20) {
        0 => now.saturating_sub(rng.below(100)), // in the past (or now)
        1 => now,
        2 => NEVER,
        3 => NEVER - 1 - rng.below(3),
        4 => now.saturating_add(MAX_SPAN + rng.below(MAX_SPAN * 4)), // beyond the wheel
        5 => now.saturating_add(slot_span(rng.below(NUM_LEVELS as u64) as usize)), // boundary
        _ => {
            let bits = rng.below(38) as u32;
            now.saturating_add(rng.below(1 << bits) + 1)
        }
    }
}

/// How far to move the clock: mostly small steps, sometimes to the next expiry, rarely huge.
fn random_advance(rng: &mut SplitMix, wheel: &Wheel<u64>) -> u64 {
    let now = wheel.elapsed();
    match rng.below(16) {
        0 => now.saturating_add(rng.below(MAX_SPAN * 8)),
        1 => now.saturating_add(1 << rng.below(45)),
        2 | 3 => wheel.next_expiration().unwrap_or(now),
        4 => now.saturating_sub(rng.below(10)), // a clock that goes backwards
        _ => {
            let bits = rng.below(14);
            now.saturating_add(rng.below(1 << bits))
        }
    }
}

fn run_against_model(seed: u64, ops: usize, start: u64) {
    let mut rng = SplitMix(seed);
    let mut wheel = Wheel::new(start);
    let mut model = Model { now: start, seq: 0, timers: BTreeMap::new(), where_is: BTreeMap::new() };
    let mut keys: Vec<(u64, TimerKey)> = Vec::new();
    for step in 0..ops as u64 {
        match rng.below(11) {
            0..=4 => {
                let deadline = random_deadline(&mut rng, wheel.elapsed());
                keys.push((step, wheel.insert(deadline, step)));
                model.insert(deadline, step);
            }
            5 | 6 if !keys.is_empty() => {
                let (id, key) = keys.swap_remove(rng.below(keys.len() as u64) as usize);
                let expected = model.cancel(id).then_some(id);
                assert_eq!(wheel.cancel(key), expected, "seed {seed} step {step}: cancel {id}");
                assert_eq!(wheel.cancel(key), None, "seed {seed} step {step}: second cancel");
            }
            7 if !keys.is_empty() => {
                // reset = cancel + insert under a new key; the value (the id) stays.
                let i = rng.below(keys.len() as u64) as usize;
                let (id, key) = keys[i];
                let deadline = random_deadline(&mut rng, wheel.elapsed());
                let pending = model.cancel(id);
                let new_key = wheel.reset(key, deadline);
                assert_eq!(new_key.is_some(), pending, "seed {seed} step {step}: reset {id}");
                if let Some(new_key) = new_key {
                    model.insert(deadline, id);
                    keys[i] = (id, new_key);
                    assert_eq!(wheel.cancel(key), None, "seed {seed} step {step}: old key is stale");
                }
            }
            _ => {
                let now = random_advance(&mut rng, &wheel);
                let mut fired = Vec::new();
                wheel.advance(now, |_, id| fired.push(id));
                assert_eq!(fired, model.advance(now), "seed {seed} step {step}: advance to {now}");
                assert_eq!(wheel.elapsed(), model.now, "seed {seed} step {step}");
            }
        }
        assert_eq!(wheel.len(), model.timers.len(), "seed {seed} step {step}");
        if let Some(earliest) = model.earliest() {
            let next = wheel.next_expiration().expect("a timer can fire, so there is a next expiry");
            assert!(next <= earliest, "seed {seed} step {step}: next {next} > earliest {earliest}");
        }
        if step % 64 == 0 {
            check_invariants(&wheel);
        }
    }
    check_invariants(&wheel);
}

/// Miri runs every test about a thousand times slower, so the big ones shrink under it.
pub(super) fn scaled(n: u64) -> u64 {
    if cfg!(miri) {
        (n / 500).max(200)
    } else {
        n
    }
}

#[test]
fn matches_the_model_on_random_operations() {
    let seeds = if cfg!(miri) { 2 } else { 12 };
    for seed in 0..seeds {
        run_against_model(seed, scaled(6_000) as usize, 0);
    }
}

#[test]
fn matches_the_model_near_the_end_of_time() {
    run_against_model(99, scaled(4_000) as usize, NEVER - 3 * MAX_SPAN);
    run_against_model(7, scaled(4_000) as usize, (1 << 40) - 5); // just before a top-level block boundary
}

pub(super) fn fire_all(wheel: &mut Wheel<u64>, now: u64) -> Vec<u64> {
    let mut fired = Vec::new();
    wheel.advance(now, |_, v| fired.push(v));
    fired
}

#[test]
fn zero_past_and_now_fire_on_the_next_advance_in_insertion_order() {
    let mut wheel = Wheel::new(100);
    wheel.insert(100, 1); // exactly now
    wheel.insert(0, 2); // long past
    wheel.insert(99, 3); // just past
    assert_eq!(wheel.next_expiration(), Some(100));
    assert_eq!(fire_all(&mut wheel, 100), [1, 2, 3], "due now, without the clock moving");
    assert!(wheel.is_empty());
}

#[test]
fn one_timer_per_tick_across_level_boundaries() {
    let mut wheel = Wheel::new(0);
    for tick in 0..1024 {
        wheel.insert(tick, tick);
    }
    for now in 0..1024 {
        assert_eq!(fire_all(&mut wheel, now), [now], "tick {now}");
    }
    assert!(wheel.is_empty());
}

/// Around every level boundary (`64^L - 1`, `64^L`, `64^L + 1` ticks ahead, up to and past
/// the top level), from an aligned and an unaligned clock: each timer fires exactly at its
/// tick, never a tick early.
#[test]
fn every_level_boundary_fires_exactly_on_time() {
    for start in [0, 12_345] {
        for level in 1..=NUM_LEVELS {
            for delta in [slot_span(level) - 1, slot_span(level), slot_span(level) + 1] {
                let mut wheel = Wheel::new(start);
                let deadline = start + delta;
                wheel.insert(deadline, deadline);
                assert_eq!(fire_all(&mut wheel, deadline - 1), [] as [u64; 0], "{start} + {delta}");
                assert_eq!(fire_all(&mut wheel, deadline), [deadline], "{start} + {delta}");
            }
        }
    }
}

/// The 193 ms timer sits on level 1 (slot 3, processed at tick 192); processing at 62
/// must not touch it, at 192 it cascades to level 0, and 192 again must not lose it.
#[test]
fn timer_at_193_processed_at_62_192_192() {
    let mut wheel = Wheel::new(0);
    wheel.insert(193, 193);
    assert_eq!(fire_all(&mut wheel, 62), [] as [u64; 0]);
    assert_eq!(wheel.next_expiration(), Some(192));
    assert_eq!(fire_all(&mut wheel, 192), [] as [u64; 0]);
    assert_eq!(fire_all(&mut wheel, 192), [] as [u64; 0]);
    assert_eq!(wheel.next_expiration(), Some(193));
    assert_eq!(fire_all(&mut wheel, 193), [193]);
}

#[test]
fn cancel_after_fire_and_twice_is_none() {
    let mut wheel = Wheel::new(0);
    let a = wheel.insert(5, 'a');
    let b = wheel.insert(500, 'b');
    wheel.advance(10, |key, v| assert_eq!((key, v), (a, 'a')));
    assert_eq!(wheel.cancel(a), None, "already fired");
    let c = wheel.insert(20, 'c'); // may reuse a's slab slot: a's key must stay dead
    assert_eq!(wheel.cancel(a), None);
    assert_eq!(wheel.cancel(b), Some('b'));
    assert_eq!(wheel.cancel(b), None);
    assert_eq!(wheel.get(c), Some(&'c'));
}

#[test]
fn max_deadline_never_fires_even_after_huge_jumps() {
    let mut wheel = Wheel::new(0);
    let never = wheel.insert(NEVER, 0);
    let far = wheel.insert(3 * MAX_SPAN + 17, 1);
    assert_eq!(fire_all(&mut wheel, 3 * MAX_SPAN + 16), [] as [u64; 0]);
    assert_eq!(fire_all(&mut wheel, 3 * MAX_SPAN + 17), [1], "far timer on time");
    assert_eq!(wheel.cancel(far), None);
    // Past the top level span, then short timers: the next expiry must still be right.
    wheel.insert(wheel.elapsed() + 5, 2);
    wheel.insert(wheel.elapsed() + 70_000, 3);
    assert_eq!(wheel.next_expiration(), Some(wheel.elapsed() + 5));
    let later = wheel.elapsed() + 100_000;
    assert_eq!(fire_all(&mut wheel, later), [2, 3]);
    assert_eq!(wheel.next_expiration(), None, "only the never-timer is left");
    assert_eq!(fire_all(&mut wheel, NEVER), [] as [u64; 0]);
    assert_eq!(wheel.elapsed(), NEVER - 1);
    assert_eq!(wheel.cancel(never), Some(0));
}

#[test]
fn reset_moves_a_timer_earlier_later_and_into_the_past() {
    let mut wheel = Wheel::new(0);
    let first = wheel.insert(1_000, 'x');
    let later = wheel.reset(first, 5_000).expect("pending");
    assert_eq!(wheel.deadline(first), None, "reset re-keys: the old key is stale");
    assert_eq!(fire_all_chars(&mut wheel, 4_999), "");
    let past = wheel.reset(later, 10).expect("still pending");
    assert_eq!(wheel.deadline(past), Some(10)); // clock at 4 999: 10 is in the past
    assert_eq!(fire_all_chars(&mut wheel, 4_999), "x");
    assert_eq!(wheel.reset(past, 6_000), None, "a fired timer cannot be reset");
    assert_eq!(wheel.reset(first, 6_000), None, "nor can one through an old key");
    check_invariants(&wheel);
}

fn fire_all_chars(wheel: &mut Wheel<char>, now: u64) -> String {
    let mut fired = String::new();
    wheel.advance(now, |_, c| fired.push(c));
    fired
}

/// 1M timers: insert, cancel half, and the rest fire in (deadline, insertion) order.
#[test]
fn a_million_timers_cancel_half_rest_fire_in_order() {
    let n = scaled(1_000_000);
    let mut rng = SplitMix(42);
    let mut wheel = Wheel::new(0);
    let deadlines: Vec<u64> = (0..n).map(|_| 1 + rng.below(1 << 22)).collect();
    let keys: Vec<TimerKey> = (0..n).map(|i| wheel.insert(deadlines[i as usize], i)).collect();
    for i in (0..n).step_by(2) {
        assert_eq!(wheel.cancel(keys[i as usize]), Some(i));
    }
    assert_eq!(wheel.len(), n as usize / 2);
    check_invariants(&wheel);
    let mut last = (0, 0);
    let mut count = 0;
    wheel.advance(1 << 22, |_, i| {
        let now = (deadlines[i as usize], i);
        assert!(i % 2 == 1 && now > last, "{now:?} after {last:?}");
        last = now;
        count += 1;
    });
    assert_eq!(count, n / 2);
    assert!(wheel.is_empty() && wheel.next_expiration().is_none());
}

#[test]
fn inspector_shows_levels_bitmaps_and_counts() {
    let mut wheel = Wheel::new(3_000);
    wheel.insert(4_300, ());
    wheel.insert(3_001, ());
    wheel.insert(3_001, ());
    let shown = wheel.to_string();
    assert!(shown.contains("3 timer(s)"), "{shown}");
    assert!(shown.contains("slot 57: 2 timer(s), processed at tick 3001"), "{shown}");
    assert!(shown.contains("slot  1: 1 timer(s), processed at tick 4096"), "{shown}");
    let debug = format!("{wheel:?}");
    assert!(
        debug.contains("occupied: 0000000000000000000000000000000000000000000000000000000000000010"),
        "{debug}"
    );
}
