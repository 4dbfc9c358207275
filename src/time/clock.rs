//! The clock: turning `Instant`s into the wheel's 1 ms ticks, and a manual clock for tests.
//!
//! **What this teaches.** The wheel counts whole milliseconds since an origin; the rest of
//! the world uses `Instant`. Converting between them is where "never early" is won or
//! lost, so the rounding rule lives here, in one place:
//!
//! * **now** is rounded *down*: tick `n` means "at least `n` ms have passed".
//! * a **deadline** is rounded *up*: tick `d` is the first whole ms at or after it.
//!
//! A timer fires when `now_tick >= deadline_tick`, which implies `now >= deadline`.
//!
//! The manual clock stands still until a test moves it, so time-dependent tests order
//! events by advancing the clock, never by `thread::sleep`.
//!
//! Next to read: `driver.rs`, the time driver that owns the wheel.

use crate::loom::sync::atomic::{AtomicU64, Ordering::SeqCst};
use crate::loom::sync::Arc;
use std::time::{Duration, Instant};

/// Where "now" comes from. Cheap to clone.
#[derive(Clone, Debug)]
pub(crate) enum Clock {
    /// The system's monotonic clock; tick 0 is `origin`.
    Real { origin: Instant },
    /// A clock that only moves when [`ManualClock::advance`] is called. Only tests build
    /// one today (a paused-time test utility for users would be the next step).
    #[cfg_attr(not(test), allow(dead_code))]
    Manual(Arc<ManualClock>),
}

/// A clock for deterministic tests: it reads `origin + now_ms` and never moves by itself.
#[derive(Debug)]
pub(crate) struct ManualClock {
    origin: Instant,
    now_ms: AtomicU64,
}

impl ManualClock {
    /// Moves the clock forward by `ms` milliseconds.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn advance(&self, ms: u64) {
        self.now_ms.fetch_add(ms, SeqCst);
    }
}

impl Clock {
    /// A real clock whose tick 0 is now.
    pub(crate) fn real() -> Clock {
        Clock::Real { origin: Instant::now() }
    }

    /// A manual clock at tick 0, and the handle a test uses to move it.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn manual() -> (Clock, Arc<ManualClock>) {
        let manual = Arc::new(ManualClock { origin: Instant::now(), now_ms: AtomicU64::new(0) });
        (Clock::Manual(manual.clone()), manual)
    }

    fn origin(&self) -> Instant {
        match self {
            Clock::Real { origin } => *origin,
            Clock::Manual(manual) => manual.origin,
        }
    }

    /// The current time as an `Instant`.
    pub(crate) fn now(&self) -> Instant {
        match self {
            Clock::Real { .. } => Instant::now(),
            Clock::Manual(manual) => manual.origin + Duration::from_millis(manual.now_ms.load(SeqCst)),
        }
    }

    /// The current tick, rounded down: whole milliseconds since the origin.
    pub(crate) fn now_tick(&self) -> u64 {
        match self {
            Clock::Real { origin } => millis_floor(origin.elapsed()),
            Clock::Manual(manual) => manual.now_ms.load(SeqCst),
        }
    }

    /// The tick of `deadline`, rounded up (`None` = never → `u64::MAX`). A deadline before
    /// the origin is tick 0; one too far to count in `u64` milliseconds never fires.
    pub(crate) fn deadline_tick(&self, deadline: Option<Instant>) -> u64 {
        let Some(deadline) = deadline else {
            return u64::MAX;
        };
        let since_origin = deadline.saturating_duration_since(self.origin());
        let floor = millis_floor(since_origin);
        let exact = Duration::from_millis(floor) == since_origin;
        if exact {
            floor
        } else {
            floor.saturating_add(1)
        }
    }

    /// How long to block until tick `tick` has begun (zero if it already has).
    pub(crate) fn until_tick(&self, tick: u64) -> Duration {
        match self {
            Clock::Real { origin } => {
                let target = origin.checked_add(Duration::from_millis(tick));
                target.map_or(Duration::MAX, |t| t.saturating_duration_since(Instant::now()))
            }
            // A manual clock never gets there by waiting; the test moves it and unparks.
            Clock::Manual(manual) => Duration::from_millis(tick.saturating_sub(manual.now_ms.load(SeqCst))),
        }
    }
}

/// Whole milliseconds in `d`, saturating at `u64::MAX` (`as_millis` is a `u128`).
fn millis_floor(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn deadlines_round_up_and_now_rounds_down() {
        let (clock, manual) = Clock::manual();
        let origin = clock.now();
        assert_eq!(clock.deadline_tick(Some(origin)), 0);
        assert_eq!(clock.deadline_tick(Some(origin + Duration::from_micros(1))), 1);
        assert_eq!(clock.deadline_tick(Some(origin + Duration::from_millis(5))), 5);
        assert_eq!(clock.deadline_tick(Some(origin + Duration::from_micros(5_001))), 6);
        assert_eq!(clock.deadline_tick(origin.checked_sub(Duration::from_secs(1))), 0);
        assert_eq!(clock.deadline_tick(None), u64::MAX);
        let far = origin.checked_add(Duration::from_secs(u64::MAX / 10));
        assert_eq!(clock.deadline_tick(far), u64::MAX, "u64::MAX / 10 s is \"never\"");
        manual.advance(7);
        assert_eq!((clock.now_tick(), clock.now()), (7, origin + Duration::from_millis(7)));
        assert_eq!(clock.until_tick(9), Duration::from_millis(2));
        assert_eq!(clock.until_tick(3), Duration::ZERO);
    }

    #[test]
    fn real_clock_never_reports_a_deadline_tick_before_the_deadline() {
        let clock = Clock::real();
        let deadline = Instant::now() + Duration::from_micros(1_500);
        let tick = clock.deadline_tick(Some(deadline));
        while clock.now_tick() < tick {}
        assert!(Instant::now() >= deadline, "tick {tick} was reached before the deadline");
    }
}
