//! Tests of the slab (`mod.rs`): stale keys, the two-step removal, tags and the bitmap.

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
fn a_tag_outlives_take_and_is_replaced_by_the_next_occupant() {
    let mut slab = Slab::new();
    let a = slab.insert_tagged('a', 7);
    let b = slab.insert_tagged('b', 8);
    assert_eq!(slab.get_tagged(a), Some((&'a', 7)));
    slab.set_tag(b, 9);
    assert_eq!(slab.get_tagged(b), Some((&'b', 9)));
    assert_eq!(slab.take(a), Some('a'));
    assert_eq!(slab.get_tagged(a), None, "a stale key finds no value, tagged or not");
    assert_eq!(slab.tag(a.index()), 7, "a detached slot keeps its tag until freed");
    slab.free(a.index());
    assert!(slab.insert_with(|_| 'c').index() == a.index(), "the slot is reused");
    assert_eq!(slab.tag(a.index()), 0, "insert_with tags 0, not the old free-list link");
    assert_eq!(slab.remove(b), Some('b'));
    let d = slab.insert_tagged('d', 11);
    assert_eq!((d.index(), slab.tag(d.index())), (b.index(), 11));
}

#[test]
#[should_panic(expected = "set_tag with a stale key")]
fn set_tag_with_a_stale_key_panics() {
    let mut slab = Slab::new();
    let a = slab.insert_tagged(1, 1);
    slab.remove(a);
    slab.set_tag(a, 2); // would overwrite the free list's link
}

#[test]
fn a_taken_slot_is_stale_at_once_and_reused_only_once_freed() {
    let mut slab = Slab::new();
    let keys: Vec<Key> = (0..130).map(|i| slab.insert(i)).collect();
    assert!((0..130).all(|i| slab.is_occupied(i)) && !slab.is_occupied(130));
    assert_eq!(slab.remove(keys[64]), Some(64));
    assert!(!slab.is_occupied(64), "remove clears the bit");
    assert_eq!(slab.insert(640).index(), 64, "and frees the slot at once");
    assert_eq!(slab.take(keys[7]), Some(7));
    assert_eq!(slab.take(keys[7]), None, "taken twice");
    assert!(slab.is_occupied(7), "detached: maybe occupied until freed");
    assert!(!slab.contains(keys[7]), "but the key is stale at once");
    assert!(!slab.contains_by_generation(keys[7]), "take moved the generation on (odd to even)");
    assert_eq!(slab.len(), 130, "a detached slot still counts");
    assert_eq!(slab.insert(131).index(), 130, "and is not reused");
    slab.free(7);
    assert!(!slab.is_occupied(7) && !slab.contains_by_generation(keys[7]));
    assert_eq!(slab.len(), 130);
    let again = slab.insert(99);
    assert_eq!(again.index(), 7, "freed: reused now");
    assert!(slab.is_occupied(7) && slab.get(keys[7]).is_none());
    assert_eq!(slab.get(again), Some(&99));
}

#[test]
fn drain_takes_detached_slots_too_and_every_slot_is_reused_once() {
    let mut slab = Slab::new();
    let keys: Vec<Key> = (0..100).map(|i| slab.insert(i)).collect();
    slab.remove(keys[3]);
    slab.take(keys[5]);
    let mut drained = slab.drain();
    drained.sort_unstable();
    assert_eq!(drained.len(), 98);
    assert!(slab.is_empty() && (0..100).all(|i| !slab.is_occupied(i)));
    let mut reused: Vec<usize> = (0..100).map(|i| slab.insert(i).index()).collect();
    reused.sort_unstable();
    assert_eq!(reused, (0..100).collect::<Vec<_>>(), "each slot once, none lost");
    assert_eq!(slab.insert(100).index(), 100);
    assert!(keys.iter().all(|&key| slab.get(key).is_none()), "old keys stay stale");
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

/// `drain_into` visits only the slots in use, frees each onto the free list, and makes
/// every old key stale; slots vacant before it stay reusable too.
#[test]
fn drain_into_frees_exactly_the_slots_in_use() {
    let mut slab = Slab::new();
    let keys: Vec<Key> = (0..200).map(|i| slab.insert(i)).collect();
    for key in &keys[..150] {
        slab.remove(*key);
    }
    let mut out = Vec::new();
    slab.drain_into(&mut out);
    out.sort_unstable();
    assert_eq!(out, (150..200).collect::<Vec<_>>());
    assert!(slab.is_empty());
    assert!(keys.iter().all(|&key| slab.get(key).is_none()), "every old key is stale");
    let again: Vec<Key> = (0..200).map(|i| slab.insert(i)).collect();
    let mut indexes: Vec<usize> = again.iter().map(|key| key.index()).collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..200).collect::<Vec<_>>(), "every slot reused once, none added");
}

/// The `unsafe` invariant (a value is there iff the generation is odd), seen from
/// outside: every value is dropped exactly once, whether it left by `remove`, `take`,
/// `drain` or the slab's own drop, and a value `take`n out is never dropped by the slab.
#[test]
fn every_value_is_dropped_exactly_once() {
    use std::rc::Rc;
    let token = Rc::new(());
    let mut slab = Slab::new();
    let keys: Vec<Key> = (0..10).map(|_| slab.insert(Rc::clone(&token))).collect();
    drop(slab.remove(keys[0]));
    let taken = slab.take(keys[1]).expect("pending");
    slab.free(keys[1].index());
    let _detached = slab.take(keys[2]).expect("pending"); // never freed
    assert_eq!(Rc::strong_count(&token), 1 + 9, "the test's, `taken`, `_detached`, 3..10");
    assert_eq!(slab.drain().len(), 7, "drain skips the detached slot");
    assert_eq!(Rc::strong_count(&token), 3, "the test's, `taken`, `_detached`");
    slab.insert(Rc::clone(&token)); // reuses a freed slot
    slab.insert(Rc::clone(&token));
    drop(slab);
    drop(taken);
    assert_eq!(Rc::strong_count(&token), 2, "only the test's and `_detached` are left");
}

/// A value whose `drop` panics does not make the slab leak the others: they are dropped
/// while the panic unwinds, and the panic reaches the caller.
#[test]
fn a_panicking_drop_still_drops_the_other_values() {
    use std::rc::Rc;
    struct Bomb(#[allow(dead_code)] Rc<()>, bool);
    impl Drop for Bomb {
        fn drop(&mut self) {
            if self.1 {
                panic!("a value's drop panicked");
            }
        }
    }
    let token = Rc::new(());
    let mut slab = Slab::new();
    for i in 0..6 {
        slab.insert(Bomb(Rc::clone(&token), i == 2));
    }
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(slab)));
    assert!(panicked.is_err(), "the panic reaches the caller");
    assert_eq!(Rc::strong_count(&token), 1, "every value was dropped, the panicking one too");
}

/// No key has an even generation, not even one built from an arbitrary number: a key
/// equal to a vacant slot's (even) generation would make `get` read a value that is not
/// there. `Key::from_u64` moves such a number on to the next (odd) generation.
#[test]
fn a_key_never_has_the_generation_of_a_vacant_slot() {
    let mut slab = Slab::new();
    let key = slab.insert(String::from("a"));
    slab.remove(key);
    let forged = Key::from_u64(key.to_u64() + (1 << 32)); // asks for the vacant slot's generation
    assert_eq!(forged.to_u64(), key.to_u64() + (2 << 32), "rounded up to an odd generation");
    assert_eq!((slab.get(forged), slab.contains_by_generation(forged)), (None, false));
    assert_eq!(slab.take(forged), None);
    let b = slab.insert(String::from("b"));
    assert_eq!(b, forged, "the next occupant's key: the forged key is a real one now");
    assert_eq!(Key::from_u64(b.to_u64()), b, "a real key round-trips unchanged");
}

/// `insert_with`'s closure may panic: the slab is left as it was (the slot stays on
/// the free list, nothing is dropped that was never written).
#[test]
fn a_panicking_insert_with_leaves_the_slab_unchanged() {
    let mut slab = Slab::new();
    let key = slab.insert(String::from("a"));
    slab.remove(key);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        slab.insert_with(|_| -> String { panic!("boom") });
    }));
    assert!(panicked.is_err());
    assert!(slab.is_empty() && !slab.is_occupied(key.index()));
    assert_eq!(slab.insert(String::from("b")).index(), key.index(), "the slot is still free");
}

/// The free list is a stack: the most recently freed slot (likeliest still in cache) is
/// reused first, every freed slot exactly once, and only then does the slab grow.
#[test]
fn freed_slots_are_reused_newest_first_then_the_slab_grows() {
    let mut slab = Slab::new();
    let keys: Vec<Key> = (0..8u32).map(|i| slab.insert(i)).collect();
    for &i in &[5, 1, 6] {
        assert_eq!(slab.remove(keys[i]), Some(i as u32));
    }
    let reused: Vec<usize> = (0..4).map(|n| slab.insert(100 + n).index()).collect();
    assert_eq!(reused, [6, 1, 5, 8]);
    assert!(!slab.contains(keys[6]), "the old key to a reused slot stays stale");
    assert_eq!(slab.len(), 9);
}

/// Freeing a slot twice would put its index on the free stack twice (two later inserts
/// sharing one slot); debug builds catch it at the second `free`.
#[test]
#[cfg(debug_assertions)]
#[should_panic(expected = "freed twice?")]
fn freeing_a_slot_twice_is_caught() {
    let mut slab = Slab::new();
    let key = slab.insert(1u32);
    assert_eq!(slab.take(key), Some(1));
    slab.free(key.index());
    slab.free(key.index());
}
