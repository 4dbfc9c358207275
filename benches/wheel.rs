//! The timer wheel against two textbook baselines, 1M timers each, in one run.
//!
//! What this measures, per timer (ns/op = total time / 1M):
//!
//! * **insert+cancel**: insert 1M timers with random deadlines, then cancel all of them in
//!   a random order (the common case in servers: most timeouts never fire).
//! * **insert+cancel at once, 1M pending**: 1M timers wait in the structure while 1M
//!   more are each inserted and cancelled straight away (a `timeout` whose future finishes
//!   first). Only this churn is timed. The heap's tombstones are left for later here.
//! * **insert+fire**: insert 1M timers, then move the clock 1 ms at a time across their
//!   whole range (2^20 ticks ≈ 17 min), firing each one when due.
//!
//! * **memory floor** (printed under the table): the first row's unavoidable memory
//!   traffic with no wheel at all (`floor_cancel`), so that `wheel / floor` shows the
//!   wheel's own cost even when the machine's memory is slow. Its rounds alternate with
//!   the wheel's, so that both see the same phases of the machine.
//!
//! Baselines: a `BinaryHeap` with lazy cancellation (cancel marks the timer dead in a
//! `Vec<bool>`; the dead entries are popped later, and that cost is included) and a
//! `BTreeMap<(deadline, id), id>` (what async-io uses). Plain `std::time::Instant`, the
//! best of 3 rounds. Run with `cargo bench --bench wheel`.
//!
//! The wheel cancels lazily too (its lists keep tombstones, `src/time/wheel/list.rs`),
//! but it pays as it goes: its batches of cancels are settled and its lists compacted
//! inside the timed phases, all but the last batch of fewer than 64 cancels.

use clockwork::time::wheel::{TimerKey, Wheel};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::hint::black_box;
use std::time::Instant;

const N: usize = 1_000_000;
const SPAN: u64 = 1 << 20;
const ROUNDS: usize = 3;

/// splitmix64, so the bench needs no `rand` dependency and every run sees the same timers.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

struct Workload {
    deadlines: Vec<u64>,
    cancel_order: Vec<usize>,
}

fn workload() -> Workload {
    let mut rng = 0x5EED;
    let deadlines = (0..N).map(|_| 1 + splitmix(&mut rng) % SPAN).collect();
    let mut cancel_order: Vec<usize> = (0..N).collect();
    for i in (1..N).rev() {
        cancel_order.swap(i, (splitmix(&mut rng) % (i as u64 + 1)) as usize);
    }
    Workload { deadlines, cancel_order }
}

/// Best of `ROUNDS` runs of `f`, in ns per timer.
fn best(mut f: impl FnMut() -> u64) -> f64 {
    (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            black_box(f());
            start.elapsed().as_nanos() as f64 / N as f64
        })
        .fold(f64::INFINITY, f64::min)
}

/// Best of `ROUNDS` runs each of `f` and `g`, taken in alternation so that both see the
/// same phases of a noisy machine, in ns per timer.
fn best_of_pair(mut f: impl FnMut() -> u64, mut g: impl FnMut() -> u64) -> (f64, f64) {
    let time = |h: &mut dyn FnMut() -> u64| {
        let start = Instant::now();
        black_box(h());
        start.elapsed().as_nanos() as f64 / N as f64
    };
    (0..ROUNDS).fold((f64::INFINITY, f64::INFINITY), |(a, b), _| (a.min(time(&mut f)), b.min(time(&mut g))))
}

thread_local! {
    /// The churn benches time only their churn phase, not the 1M timers set up before it.
    static CHURN_NS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Like [`best`], for a function that records its own timed phase in `CHURN_NS`.
fn best_churn(mut f: impl FnMut() -> u64) -> f64 {
    (0..ROUNDS)
        .map(|_| {
            black_box(f());
            CHURN_NS.with(|c| c.get()) as f64 / N as f64
        })
        .fold(f64::INFINITY, f64::min)
}

fn wheel_cancel(w: &Workload) -> u64 {
    let mut wheel = Wheel::new(0);
    let keys: Vec<TimerKey> =
        w.deadlines.iter().enumerate().map(|(i, &d)| wheel.insert(d, i as u64)).collect();
    w.cancel_order.iter().map(|&i| wheel.cancel(keys[i]).unwrap_or(0)).sum()
}

/// 1M timers stay pending while 1M more are inserted and cancelled at once (a `timeout`
/// whose future wins): the pattern a runtime sees most.
fn wheel_churn(w: &Workload) -> u64 {
    let mut wheel = Wheel::new(0);
    for (i, &d) in w.deadlines.iter().enumerate() {
        wheel.insert(d, i as u64);
    }
    let start = Instant::now();
    let sum = w.deadlines.iter().enumerate().map(|(i, &d)| {
        let key = wheel.insert(d, i as u64);
        wheel.cancel(key).unwrap_or(0)
    });
    let sum: u64 = sum.sum();
    CHURN_NS.with(|c| c.set(start.elapsed().as_nanos() as u64));
    sum
}

fn wheel_fire(w: &Workload) -> u64 {
    let mut wheel = Wheel::new(0);
    for (i, &d) in w.deadlines.iter().enumerate() {
        wheel.insert(d, i as u64);
    }
    let mut sum = 0;
    for now in 1..=SPAN {
        wheel.advance(now, |_, id| sum += id);
    }
    sum
}

/// The memory floor of the mass-cancel row: no wheel, only what any timer store with
/// checked keys and per-slot lists must touch. Insert writes a 16-byte record (the
/// wheel's slab slot for a `u64` value: generation, tag, value) at the end of a `Vec`,
/// appends a 16-byte (key, deadline) to the list of the deadline's level and slot (the
/// wheel's 384 lists, from a clock at tick 0), and hands out the record's index; cancel
/// reads the key in the same random order, checks the record and rewrites it. On this
/// row the wheel is memory-bound, so the machine's memory speed moves both numbers
/// together, and `wheel / floor` is what the wheel's own work costs.
fn floor_cancel(w: &Workload) -> u64 {
    let mut records: Vec<[u64; 2]> = Vec::new();
    let mut lists: Vec<Vec<[u64; 2]>> = (0..6 * 64).map(|_| Vec::new()).collect();
    let mut keys: Vec<u64> = Vec::with_capacity(N); // sized like the wheel bench's `collect`
    for (i, &deadline) in w.deadlines.iter().enumerate() {
        records.push([1, i as u64]);
        let level = (63 - (deadline | 63).leading_zeros() as u64) / 6;
        let list = 64 * level + (deadline >> (6 * level)) % 64;
        lists[list as usize].push([i as u64, deadline]);
        keys.push(i as u64);
    }
    let mut sum = 0;
    for &i in &w.cancel_order {
        let record = &mut records[keys[i] as usize];
        if record[0] == 1 {
            record[0] = 2; // the "generation" bump
            sum += record[1];
        }
    }
    black_box(lists);
    sum
}

fn heap_cancel(w: &Workload) -> u64 {
    let mut heap = BinaryHeap::new();
    let mut alive = vec![false; N];
    for (i, &d) in w.deadlines.iter().enumerate() {
        heap.push(Reverse((d, i)));
        alive[i] = true;
    }
    for &i in &w.cancel_order {
        alive[i] = false; // lazy: the entry stays in the heap as a tombstone
    }
    let mut live = 0;
    while let Some(Reverse((_, i))) = heap.pop() {
        live += alive[i] as u64; // the tombstones are paid for here
    }
    live
}

fn heap_churn(w: &Workload) -> u64 {
    let mut heap = BinaryHeap::new();
    let mut alive = Vec::with_capacity(2 * N);
    for (i, &d) in w.deadlines.iter().enumerate() {
        heap.push(Reverse((d, i)));
        alive.push(true);
    }
    let start = Instant::now();
    for &d in &w.deadlines {
        heap.push(Reverse((d, alive.len())));
        alive.push(false); // cancelled at once; its tombstone stays until it reaches the top
    }
    CHURN_NS.with(|c| c.set(start.elapsed().as_nanos() as u64));
    heap.len() as u64
}

fn heap_fire(w: &Workload) -> u64 {
    let mut heap = BinaryHeap::new();
    let alive = vec![true; N];
    for (i, &d) in w.deadlines.iter().enumerate() {
        heap.push(Reverse((d, i)));
    }
    let mut sum = 0;
    for now in 1..=SPAN {
        while let Some(&Reverse((d, i))) = heap.peek() {
            if d > now {
                break;
            }
            heap.pop();
            if alive[i] {
                sum += i as u64;
            }
        }
    }
    sum
}

fn btree_cancel(w: &Workload) -> u64 {
    let mut map = BTreeMap::new();
    for (i, &d) in w.deadlines.iter().enumerate() {
        map.insert((d, i), i as u64);
    }
    w.cancel_order.iter().map(|&i| map.remove(&(w.deadlines[i], i)).unwrap_or(0)).sum()
}

fn btree_churn(w: &Workload) -> u64 {
    let mut map = BTreeMap::new();
    for (i, &d) in w.deadlines.iter().enumerate() {
        map.insert((d, i), i as u64);
    }
    let start = Instant::now();
    let mut sum = 0;
    for (i, &d) in w.deadlines.iter().enumerate() {
        map.insert((d, N + i), i as u64);
        sum += map.remove(&(d, N + i)).unwrap_or(0);
    }
    CHURN_NS.with(|c| c.set(start.elapsed().as_nanos() as u64));
    sum
}

fn btree_fire(w: &Workload) -> u64 {
    let mut map = BTreeMap::new();
    for (i, &d) in w.deadlines.iter().enumerate() {
        map.insert((d, i), i as u64);
    }
    let mut sum = 0;
    for now in 1..=SPAN {
        while let Some(entry) = map.first_entry() {
            if entry.key().0 > now {
                break;
            }
            sum += entry.remove();
        }
    }
    sum
}

fn main() {
    let w = workload();
    let (wheel_mass_cancel, floor) = best_of_pair(|| wheel_cancel(&w), || floor_cancel(&w));
    let rows = [
        (
            "insert 1M, cancel all (random order)",
            wheel_mass_cancel,
            best(|| heap_cancel(&w)),
            best(|| btree_cancel(&w)),
        ),
        (
            "insert+cancel at once, 1M pending",
            best_churn(|| wheel_churn(&w)),
            best_churn(|| heap_churn(&w)),
            best_churn(|| btree_churn(&w)),
        ),
        ("insert+fire", best(|| wheel_fire(&w)), best(|| heap_fire(&w)), best(|| btree_fire(&w))),
    ];
    println!("1M timers, deadlines uniform in 1..=2^20 ms; ns per timer, best of {ROUNDS}\n");
    println!("| operation | wheel | BinaryHeap (lazy cancel) | BTreeMap | heap / wheel | btree / wheel |");
    println!("|---|---|---|---|---|---|");
    for (name, wheel, heap, btree) in rows {
        println!(
            "| {name} | {wheel:.1} | {heap:.1} | {btree:.1} | {:.2}× | {:.2}× |",
            heap / wheel,
            btree / wheel
        );
    }
    let wheel = rows[0].1;
    println!(
        "\nMemory floor of the first row (write 1M 16-byte records and 1M 16-byte list entries, \
         then touch each record once in the cancel order): {floor:.1} ns; wheel / floor = {:.2}×",
        wheel / floor
    );
}
