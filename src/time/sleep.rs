//! `Sleep`: a future that completes at a deadline, registered lazily with the time driver.
//!
//! **What this teaches.** A leaf future that waits for time has three jobs:
//!
//! 1. On its **first poll** (not at creation) find the runtime's driver and register a
//!    timer. So a `Sleep` can be built anywhere, and a `timeout` whose inner future is
//!    ready at once never touches the driver's lock. A deadline that has already passed
//!    completes at once without registering anything. To know that, the first poll
//!    reads the clock, unless the sleep was made by [`sleep`] (or `timeout`) with a
//!    duration of at least [`CLOCK_CHECK_BELOW`]: see [`Sleep::check_clock`].
//! 2. On **later polls** ask the driver whether the timer fired, and hand it the current
//!    task's waker (the future may have moved to another task since).
//! 3. On **drop**, cancel the timer (O(1) in the wheel), so that abandoned sleeps cost
//!    nothing later.
//!
//! Next to read: `timeout.rs`, which races a future against a `Sleep`.

use super::wheel::TimerKey;
use crate::driver::Handle as DriverHandle;
use crate::loom::sync::Arc;
use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// Waits until `duration` has elapsed. `Duration::MAX` (or any duration whose deadline
/// cannot be represented) never completes.
///
/// Resolution is 1 ms and the sleep never ends early. The timer is registered when the
/// returned future is first polled, which must happen inside a clockwork runtime.
///
/// ```
/// use std::time::{Duration, Instant};
/// clockwork::block_on(async {
///     let start = Instant::now();
///     clockwork::time::sleep(Duration::from_millis(5)).await;
///     assert!(start.elapsed() >= Duration::from_millis(5));
/// });
/// ```
#[track_caller]
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::after(duration)
}

/// Waits until `deadline`. A deadline in the past completes on the first poll.
#[track_caller]
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(Some(deadline))
}

/// The future returned by [`sleep`] and [`sleep_until`]. Dropping it cancels its timer.
///
/// A `Sleep` binds to the runtime it is first polled in and stays with that runtime's
/// timer wheel from then on (also after [`Sleep::reset`]), wherever it is polled later.
///
/// # Panics
///
/// Polling it outside a clockwork runtime, or after the runtime it registered with shut
/// down, panics with a message saying so and naming the line that created it.
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Sleep {
    /// `None`: never (the deadline does not fit in an `Instant`).
    deadline: Option<Instant>,
    /// The driver this sleep registered with; found on the first poll.
    driver: Option<Arc<DriverHandle>>,
    /// The timer in that driver's wheel, while one is registered.
    key: Option<TimerKey>,
    /// Set once the deadline has been reached; later polls return `Ready` at once.
    elapsed: bool,
    /// Whether the first poll reads the clock to see if the deadline has passed already.
    /// `false` only for a sleep made by [`Sleep::after`] with a duration of at least
    /// [`CLOCK_CHECK_BELOW`]: its deadline is that far after a clock read made when it
    /// was created, so it can have passed only if the first poll comes that late. Such a
    /// sleep registers without a second clock read, which was a fifth of the cost of
    /// registering and cancelling a timeout (`perf`: 45 % of a register+cancel loop was
    /// `clock_gettime`, two reads). If the first poll does come that late, the sleep
    /// completes on the driver's next turn instead of at once (never early).
    check_clock: bool,
    /// Where `sleep`, `sleep_until`, `timeout` or `interval` was called, for the panics of
    /// a misused timer. They happen in `poll`, and `#[track_caller]` cannot reach through
    /// `Future::poll` to the line that made the future, so without this a panic could name
    /// only clockwork's own files. One pointer (`Location`s are static), and no work until
    /// a panic formats it. Rejected alternative: tokio's way, which records the location
    /// only for its tracing build: misuse is exactly when a reader needs it.
    created: &'static Location<'static>,
}

/// See [`Sleep::check_clock`]: 64 ms, a gap between creating a future and first polling it
/// that only a blocked thread or a task polling far too long produces.
pub(crate) const CLOCK_CHECK_BELOW: Duration = Duration::from_millis(64);

/// Panics for a timer polled outside any runtime, naming where it was created.
#[cold]
#[track_caller]
fn no_runtime(created: &Location<'_>) -> ! {
    panic!(
        "the timer created at {created} was polled outside a clockwork runtime: sleep, \
         sleep_until, timeout and interval must be awaited inside clockwork::block_on or a \
         task spawned on a clockwork runtime"
    )
}

impl Sleep {
    /// A sleep that will find its driver in the runtime context on first poll; it blames
    /// its caller's caller (through every `#[track_caller]` frame) if misused.
    #[track_caller]
    pub(crate) fn new(deadline: Option<Instant>) -> Sleep {
        let created = Location::caller();
        Sleep { deadline, driver: None, key: None, elapsed: false, check_clock: true, created }
    }

    /// A sleep of `duration` from now (for [`sleep`] and `timeout`).
    #[track_caller]
    pub(crate) fn after(duration: Duration) -> Sleep {
        let mut sleep = Sleep::new(Instant::now().checked_add(duration));
        sleep.check_clock = duration < CLOCK_CHECK_BELOW;
        sleep
    }

    /// A sleep bound to `driver` up front (for tests that run without a runtime).
    #[cfg(test)]
    #[track_caller]
    pub(crate) fn with_driver(deadline: Option<Instant>, driver: Arc<DriverHandle>) -> Sleep {
        Sleep { driver: Some(driver), ..Sleep::new(deadline) }
    }

    /// Like [`Sleep::with_driver`], as [`Sleep::after`] makes a long sleep: its first
    /// poll does not read the clock (for tests on a manual clock).
    #[cfg(all(test, not(loom)))]
    #[track_caller]
    pub(crate) fn with_driver_unchecked(deadline: Option<Instant>, driver: Arc<DriverHandle>) -> Sleep {
        let mut sleep = Sleep::with_driver(deadline, driver);
        sleep.check_clock = false;
        sleep
    }

    /// Whether the next first poll will read the clock (for tests).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn checks_clock(&self) -> bool {
        self.check_clock
    }

    /// The instant this sleep completes at (`None` if it never does).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// `true` once the deadline has passed, whether or not the sleep has been polled
    /// since, read from the runtime's clock (the one this sleep registered with, else the
    /// current runtime's, else the system's). `false` for a sleep that never completes.
    pub fn is_elapsed(&self) -> bool {
        let Some(deadline) = self.deadline else { return self.elapsed };
        self.elapsed || self.now() >= deadline
    }

    /// Now, by the clock this sleep's deadline is measured against.
    fn now(&self) -> Instant {
        if let Some(driver) = &self.driver {
            return driver.time().clock().now();
        }
        crate::runtime::context::driver_handle()
            .map_or_else(Instant::now, |driver| driver.time().clock().now())
    }

    /// Moves the deadline (earlier, later, or into the past), even after the sleep
    /// completed. The old timer is cancelled; a new one is registered on the next poll.
    pub fn reset(&mut self, deadline: Instant) {
        self.reset_to(Some(deadline));
    }

    pub(crate) fn reset_to(&mut self, deadline: Option<Instant>) {
        self.cancel_timer();
        self.deadline = deadline;
        self.elapsed = false;
        self.check_clock = true; // a deadline set by hand: nothing is known about it
    }

    fn cancel_timer(&mut self) {
        if let (Some(driver), Some(key)) = (&self.driver, self.key.take()) {
            driver.time().cancel(key);
        }
    }

    fn complete(&mut self) -> Poll<()> {
        self.elapsed = true;
        self.key = None;
        Poll::Ready(())
    }
}

impl Future for Sleep {
    type Output = ();

    /// Spends one unit of the task's budget when it completes, and returns `Pending` (with
    /// the task woken) if the budget is already spent, like a socket or a channel
    /// (`task/coop.rs`). Without that, a loop whose sleeps are always already due (an
    /// `Interval` catching up on missed ticks, `sleep_until` of a time always past, a
    /// zero sleep) never returned to the scheduler, and on a current-thread runtime no
    /// other task, timer or socket ever ran (found by a differential audit against
    /// tokio, whose `Sleep` spends budget the same way).
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut(); // `Sleep` is `Unpin`: it holds no self-references
        crate::task::coop::poll_budgeted(cx, |cx| this.poll_unbudgeted(cx))
    }
}

impl Sleep {
    /// [`Sleep::poll`]'s work, once the budget allows it.
    fn poll_unbudgeted(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let this = self;
        if this.elapsed {
            return Poll::Ready(());
        }
        let created = this.created;
        let driver = this.driver.get_or_insert_with(|| {
            crate::runtime::context::driver_handle().unwrap_or_else(|| no_runtime(created))
        });
        let time = driver.time();
        if let Some(key) = this.key {
            return match time.poll_timer(key, cx.waker(), created) {
                Poll::Ready(()) => this.complete(),
                Poll::Pending => Poll::Pending,
            };
        }
        // First poll since creation or reset: maybe the deadline has already passed.
        let passed = |deadline| time.clock().now() >= deadline;
        if this.check_clock && this.deadline.is_some_and(passed) {
            return this.complete();
        }
        let registration = time.register(time.clock().deadline_tick(this.deadline), cx.waker(), created);
        this.key = Some(registration.key);
        if registration.unpark {
            driver.unpark(); // the driver sleeps past our deadline: make it look again
        }
        Poll::Pending
    }
}

impl fmt::Debug for Sleep {
    /// The deadline and the state, without dumping the whole driver it points to.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline)
            .field("registered", &self.key.is_some())
            .field("elapsed", &self.elapsed)
            .finish()
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.cancel_timer();
    }
}
