//! Lazy cancellation's own cases: tombstones, compaction, the settle batch, re-keying.
//!
//! **What this teaches.** The model test in `tests.rs` says *what* the wheel hands out;
//! these tests pin down *how much garbage* it may keep while doing so, and the corner
//! cases of keys that outlive their timers: a cancelled key sitting next to a new timer
//! in the same slab slot, a cancel after the timer fired, a reset into the same slot.
//! Each test ends with `check_invariants`, which counts every list's live keys by hand.
//!
//! Next to read: `src/time/clock.rs`, where `Instant`s become the wheel's ticks.

use super::level::{slot_span, MAX_SPAN};
use super::list::{ListId, TOMBSTONE_RATIO, TOMBSTONE_SLACK};
use super::tests::{check_invariants, fire_all, scaled, SplitMix};
use super::{TimerKey, Wheel, SETTLE_BATCH};

/// Keys (live and tombstones) stored in list `id`.
fn stored<T>(wheel: &Wheel<T>, id: ListId) -> usize {
    wheel.list(id).stored()
}

/// Level 1, slot 1: where a timer due at tick 100 waits when the clock reads 0.
const SLOT_AT_100: ListId = ListId::Slot { level: 1, slot: 1 };

#[test]
fn cancel_leaves_a_tombstone_that_expiry_skips() {
    let mut wheel = Wheel::new(0);
    let keys: Vec<TimerKey> = (0..3).map(|i| wheel.insert(100, i)).collect();
    assert_eq!(wheel.cancel(keys[1]), Some(1));
    assert_eq!(stored(&wheel, SLOT_AT_100), 3, "the key stays, as a tombstone");
    assert_eq!(wheel.live(SLOT_AT_100), 2, "but it no longer counts, even before a settle");
    let shown = wheel.to_string();
    assert!(shown.contains("slot  1: 2 timer(s) + 1 tombstone(s), processed at tick 64"), "{shown}");
    check_invariants(&wheel);
    assert_eq!(fire_all(&mut wheel, 100), [0, 2]);
    assert!(wheel.is_empty());
    check_invariants(&wheel);
}

/// Rule 1: a slot whose timers were all cancelled is never reported, whether or not its
/// list has heard of the cancels yet, and once it has, the slot holds no keys at all.
#[test]
fn a_slot_of_only_tombstones_is_not_reported() {
    let mut wheel = Wheel::new(0);
    let early: Vec<TimerKey> = (0..3).map(|i| wheel.insert(100, i)).collect();
    wheel.insert(5_000, 9); // level 2, slot 1: processed at tick 4096
    assert_eq!(wheel.next_expiration(), Some(64));
    for key in early {
        wheel.cancel(key);
    }
    assert_eq!(wheel.next_expiration(), Some(4_096), "unsettled cancels are subtracted");
    check_invariants(&wheel);
    assert_eq!(fire_all(&mut wheel, 10), [] as [u64; 0]); // poll settles
    assert_eq!(stored(&wheel, SLOT_AT_100), 0, "empty means empty");
    assert_eq!(wheel.levels[1].occupied, 0);
    assert_eq!(wheel.next_expiration(), Some(4_096));
    check_invariants(&wheel);
}

/// Rule 2 on the lists that live longest: a top-level slot, the overflow list and the due
/// list, each keeping one live timer while `n` timers come and go next to it.
#[test]
fn churn_next_to_a_long_lived_timer_keeps_every_list_small() {
    let n = scaled(1_000_000);
    for deadline in [1 << 35, 3 * MAX_SPAN, 0] {
        let mut wheel = Wheel::new(1);
        let keeper = wheel.insert(deadline, u64::MAX);
        let id = ListId::from_tag(wheel.entries.get_tagged(keeper.0).expect("pending").1);
        // Between settles a list still counts its unsettled cancels as live.
        let bound = (TOMBSTONE_RATIO + 1) * SETTLE_BATCH + TOMBSTONE_SLACK;
        let mut longest = 0;
        for i in 0..n {
            let key = wheel.insert(deadline, i);
            assert_eq!(wheel.cancel(key), Some(i));
            longest = longest.max(stored(&wheel, id));
        }
        assert!(longest <= bound && bound < 1_000, "{id:?}: {longest} keys stored, bound {bound}");
        wheel.settle();
        let settled_bound = TOMBSTONE_RATIO + 1 + TOMBSTONE_SLACK;
        assert!(stored(&wheel, id) <= settled_bound, "{id:?}: {}", stored(&wheel, id));
        check_invariants(&wheel);
        assert_eq!(wheel.cancel(keeper), Some(u64::MAX), "{id:?}: the keeper survived");
    }
}

/// Compaction reads the slab's occupied bitmap first, which cannot tell a tombstone from
/// a live key once the tombstone's slab slot holds a newer timer. Here thousands of
/// tombstones wait in a list whose slots all went to timers on another list, and then
/// the list's own timers are cancelled: the bitmap finds almost nothing, so the
/// generation pass must, or the garbage bound breaks.
#[test]
fn tombstones_whose_slots_were_reused_are_still_swept() {
    let mut wheel = Wheel::new(0);
    let live: Vec<TimerKey> = (0..1_000).map(|i| wheel.insert(100, i)).collect();
    let doomed: Vec<TimerKey> = (0..2_900).map(|i| wheel.insert(100, i)).collect();
    let mut elsewhere = Vec::new();
    for (i, &key) in doomed.iter().enumerate() {
        // Fewer tombstones than 3 per live timer: no compaction yet. (The last one is
        // the list's newest key when it is cancelled, so it is taken back, not left.)
        assert_eq!(wheel.cancel(key), Some(i as u64));
        wheel.settle(); // frees the slot, so that the next insert reuses it
        let moved = wheel.insert(10_000, i as u64);
        assert_eq!(moved.0.index(), key.0.index(), "the slot went to a timer on another list");
        elsewhere.push(moved);
    }
    assert_eq!(stored(&wheel, SLOT_AT_100), 3_899, "no compaction yet");
    for (i, &key) in live.iter().enumerate().take(990) {
        assert_eq!(wheel.cancel(key), Some(i as u64));
        if i % 64 == 0 {
            check_invariants(&wheel); // the garbage bound, among others
        }
    }
    wheel.settle();
    check_invariants(&wheel);
    assert!(stored(&wheel, SLOT_AT_100) <= (TOMBSTONE_RATIO + 1) * 10 + TOMBSTONE_SLACK);
    assert_eq!(fire_all(&mut wheel, 100), (990..1_000).collect::<Vec<u64>>());
    assert!(elsewhere.iter().all(|&key| wheel.get(key).is_some()), "every moved timer waits");
}

/// Compaction drops tombstones without disturbing the order of the survivors, including
/// when several cancels of the same list arrive in one batch.
#[test]
fn compaction_keeps_arrival_order() {
    let mut rng = SplitMix(5);
    let mut wheel = Wheel::new(0);
    let n = if cfg!(miri) { 400 } else { 1_000 }; // enough to compact either way
    let keys: Vec<TimerKey> = (0..n).map(|i| wheel.insert(100, i)).collect();
    let mut survivors = Vec::new();
    for (i, &key) in keys.iter().enumerate() {
        if rng.below(10) < 8 {
            assert_eq!(wheel.cancel(key), Some(i as u64));
            if i % if cfg!(miri) { 97 } else { 7 } == 0 {
                check_invariants(&wheel); // slow under Miri: it scans every list
            }
        } else {
            survivors.push(i as u64);
        }
    }
    assert_eq!(fire_all(&mut wheel, 10), [] as [u64; 0]); // settles
    let live = survivors.len();
    assert!(stored(&wheel, SLOT_AT_100) <= TOMBSTONE_RATIO * live + TOMBSTONE_SLACK);
    assert!(stored(&wheel, SLOT_AT_100) < n as usize, "compaction ran");
    assert_eq!(fire_all(&mut wheel, 100), survivors);
}

/// After a burst, compaction gives the buffer back too, not only the tombstones.
#[test]
fn a_burst_leaves_no_big_buffer_behind() {
    let burst = if cfg!(miri) { 2_000 } else { 100_000 };
    let mut wheel = Wheel::new(0);
    let keys: Vec<TimerKey> = (0..burst).map(|i| wheel.insert(100, i)).collect();
    assert!(wheel.list(SLOT_AT_100).capacity() >= burst as usize);
    for &key in &keys[10..] {
        wheel.cancel(key);
    }
    wheel.settle();
    assert_eq!(wheel.live(SLOT_AT_100), 10);
    let capacity = wheel.list(SLOT_AT_100).capacity();
    assert!(capacity < 1_000, "the burst's buffer stayed: room for {capacity} keys");
    assert_eq!(fire_all(&mut wheel, 100), (0..10).collect::<Vec<u64>>());
    check_invariants(&wheel);
}

/// A cancelled key stays in its slot while the slab hands its slot (once the cancel is
/// settled) to a new timer in the same wheel slot: same slab index, next generation.
/// Only the new timer fires, once.
#[test]
fn reinsert_into_a_slot_holding_a_stale_key_of_the_same_slab_slot() {
    for settle_between in [false, true] {
        let mut wheel = Wheel::new(0);
        wheel.insert(100, 0); // keeps the slot live, so the tombstone stays
        let old = wheel.insert(100, 1);
        wheel.insert(100, 3); // so that `old` is not the newest key: it stays as a tombstone
        assert_eq!(wheel.cancel(old), Some(1));
        if settle_between {
            assert_eq!(fire_all(&mut wheel, 5), [] as [u64; 0]);
        }
        let new = wheel.insert(100, 2);
        // The slab reuses a cancelled timer's slot only once its batch is settled.
        assert_eq!(old.0.index() == new.0.index(), settle_between, "slot reuse");
        assert_ne!(old, new);
        assert_eq!(stored(&wheel, SLOT_AT_100), 4);
        check_invariants(&wheel);
        assert_eq!(wheel.cancel(old), None, "the old key must not reach the new timer");
        assert_eq!(fire_all(&mut wheel, 100), [0, 3, 2]);
        assert_eq!(wheel.cancel(new), None, "fired");
        check_invariants(&wheel);
    }
}

/// A timer cancelled while its key is still the newest of its list (a timeout whose
/// future finished first) leaves no tombstone: settle takes the key back. Settle walks
/// its batch newest first, so a run of such cancels on one list unwinds completely;
/// a key with a newer one behind it stays as a tombstone.
#[test]
fn cancelling_the_newest_key_of_a_list_leaves_no_tombstone() {
    let mut wheel = Wheel::new(0);
    let keeper = wheel.insert(100, 0);
    for round in 0..3 * SETTLE_BATCH as u64 {
        let key = wheel.insert(100, round);
        assert_eq!(wheel.cancel(key), Some(round));
    }
    wheel.settle();
    assert_eq!(stored(&wheel, SLOT_AT_100), 1, "only the keeper's key is left");
    let burst: Vec<TimerKey> = (0..10).map(|i| wheel.insert(100, i)).collect();
    for &key in &burst {
        wheel.cancel(key); // oldest first: each but the last has a newer key behind it
    }
    wheel.settle();
    assert_eq!(stored(&wheel, SLOT_AT_100), 1, "one batch, walked newest first, unwinds all ten");
    let middle = wheel.insert(100, 1);
    wheel.insert(100, 2);
    wheel.cancel(middle);
    wheel.settle();
    assert_eq!(stored(&wheel, SLOT_AT_100), 3, "a tombstone before a newer key stays");
    check_invariants(&wheel);
    assert_eq!(fire_all(&mut wheel, 100), [0, 2]);
    assert_eq!(wheel.cancel(keeper), None);
}

/// A cancel that finds nothing (already fired, or cancelled twice) records nothing.
#[test]
fn cancel_after_fire_records_nothing() {
    let mut wheel = Wheel::new(0);
    let fired = wheel.insert(3, 1);
    let later = wheel.insert(200, 2);
    assert_eq!(fire_all(&mut wheel, 3), [1]);
    for _ in 0..3 * SETTLE_BATCH {
        assert_eq!(wheel.cancel(fired), None);
    }
    assert!(wheel.unsettled.is_empty(), "no count was lowered for a timer that is gone");
    assert_eq!(wheel.cancel(later), Some(2));
    assert_eq!(wheel.cancel(later), None);
    assert_eq!(
        wheel
            .unsettled
            .cancels()
            .iter()
            .map(|&slot| ListId::from_tag(wheel.entries.tag(slot as usize)))
            .collect::<Vec<_>>(),
        [ListId::Slot { level: 1, slot: 3 }]
    );
    check_invariants(&wheel);
}

/// A reset is a cancel plus an insert: the old key goes stale, and a reset into the very
/// same slot puts the timer behind the others, as a new insert would be.
#[test]
fn reset_into_the_same_slot_goes_to_the_back() {
    let mut wheel = Wheel::new(0);
    let keys: Vec<TimerKey> = (0..3).map(|i| wheel.insert(50, i)).collect();
    let moved = wheel.reset(keys[0], 50).expect("pending");
    assert_ne!(moved, keys[0]);
    assert_eq!(wheel.reset(keys[0], 60), None, "the old key is stale");
    check_invariants(&wheel);
    assert_eq!(fire_all(&mut wheel, 50), [1, 2, 0]);
    assert_eq!(wheel.reset(moved, 70), None, "fired");
    // A due timer (deadline in the past) reset into the future, and back.
    let due = wheel.insert(0, 7);
    let future = wheel.reset(due, 60 + slot_span(2)).expect("pending");
    let back = wheel.reset(future, 0).expect("pending");
    assert_eq!(wheel.next_expiration(), Some(50));
    assert_eq!(fire_all(&mut wheel, 50), [7]);
    assert_eq!(wheel.cancel(back), None);
    check_invariants(&wheel);
}

/// The batch settles itself when full, and the counts are exact at every step.
#[test]
fn a_full_batch_settles_by_itself() {
    let mut wheel = Wheel::new(0);
    let keys: Vec<TimerKey> = (0..200).map(|i| wheel.insert(1 + i % 300, i)).collect();
    for (i, &key) in keys.iter().take(SETTLE_BATCH).enumerate() {
        assert_eq!(wheel.unsettled.len(), i);
        wheel.cancel(key);
        if !cfg!(miri) || i % 8 == 0 {
            check_invariants(&wheel); // slow under Miri: it scans every list
        }
    }
    assert!(wheel.unsettled.is_empty(), "the 64th cancel settled the batch");
    assert_eq!(wheel.len(), 200 - SETTLE_BATCH);
}

#[test]
fn drain_forgets_unsettled_cancels() {
    let mut wheel = Wheel::new(0);
    let keys: Vec<TimerKey> = (0..10).map(|i| wheel.insert(100 * i, i)).collect();
    for key in keys.iter().step_by(2) {
        wheel.cancel(*key);
    }
    let mut left = wheel.drain();
    left.sort_unstable();
    assert_eq!(left, [1, 3, 5, 7, 9]);
    assert!(wheel.unsettled.is_empty() && wheel.next_expiration().is_none());
    let bits = keys.iter().filter(|key| wheel.entries.is_occupied(key.0.index())).count();
    assert_eq!(bits, 0, "the lazily removed slots' bits went with the drain");
    check_invariants(&wheel);
    wheel.insert(5, 11); // the wheel is usable after a drain
    assert_eq!(fire_all(&mut wheel, 5), [11]);
}

/// The bench's memory floor (`benches/wheel.rs`) writes 16-byte records because that is
/// the wheel's slab slot for a `u64` value: its generation, its tag and the value (the
/// deadline waits in the list, beside the key). A `Waker` makes a 24-byte slot.
#[test]
fn a_slab_slot_is_16_bytes_for_a_u64_and_24_for_a_waker() {
    use crate::util::slab::Slab;
    assert_eq!(Slab::<u64>::slot_size(), 16);
    assert_eq!(Slab::<std::task::Waker>::slot_size(), 24);
}
