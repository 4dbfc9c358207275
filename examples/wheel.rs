//! Watch a hierarchical timer wheel work: a 1.3 s timer cascades from level 2 to level 1
//! to level 0 and fires, while short timers fire straight from level 0.
//!
//! What this teaches: a timer is not stored at its deadline's exact position straight
//! away. It goes on the coarsest level that separates its deadline from "now", and moves
//! down a level each time the clock reaches its slot, until level 0 (1 ms slots) fires it.
//! Each step below prints the wheel; `.` is an empty slot, a digit counts the timers in it.
//!
//! Run it with `cargo run --example wheel`. Read `src/time/wheel/mod.rs` next.

use clockwork::time::wheel::Wheel;

fn main() {
    // Pretend the runtime has been up for 3 s: the wheel's clock reads tick 3000 (ms).
    let mut wheel = Wheel::new(3_000);
    wheel.insert(3_005, "a 5 ms timer");
    wheel.insert(3_100, "a 100 ms timer");
    wheel.insert(4_300, "the 1.3 s timer");
    wheel.insert(u64::MAX, "a timer that never fires (Duration::MAX)");

    say(
        &wheel,
        "Inserted four timers at tick 3000. The 5 ms one is on level 0 (it shares the current \
         64 ms block). The 100 ms one is on level 1. Tick 4300 differs from 3000 in bit 12, so \
         the 1.3 s timer is on level 2, in slot 1 (ticks 4096..8191). The never-firing timer \
         is beyond every level.",
    );

    step(&mut wheel, 3_005, "Tick 3005: level 0's slot fires the 5 ms timer.");
    step(&mut wheel, 3_072, "Tick 3072: the 100 ms timer's level-1 slot starts, so it cascades to level 0.");
    step(&mut wheel, 3_100, "Tick 3100: it fires from level 0.");
    step(
        &mut wheel,
        4_096,
        "Tick 4096: level 2's slot 1 starts. The 1.3 s timer now differs from the clock only \
         in bits 6-11, so it cascades to level 1, slot 3 (ticks 4288..4351).",
    );
    step(&mut wheel, 4_288, "Tick 4288: that level-1 slot starts; the timer cascades to level 0, slot 12.");
    step(&mut wheel, 4_300, "Tick 4300: level 0 fires the 1.3 s timer, 1300 ms after it was set.");

    assert_eq!(wheel.next_expiration(), None, "only the never-firing timer is left");
    println!("Nothing is left that can fire: next_expiration() is None, so a driver may park forever.");
}

/// Moves the clock to the wheel's next expiry, which must be `expected` (so the narration
/// stays true), prints what fired and the wheel.
fn step(wheel: &mut Wheel<&'static str>, expected: u64, sentence: &str) {
    let next = wheel.next_expiration().expect("a timer is pending");
    assert_eq!(next, expected, "the wheel's next expiry changed; update the narration");
    wheel.advance(next, |_, name| println!(">>> fired: {name}"));
    say(wheel, sentence);
}

fn say(wheel: &Wheel<&'static str>, sentence: &str) {
    println!("{sentence}\n{wheel}");
}
