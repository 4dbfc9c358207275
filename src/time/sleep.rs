//! `Sleep`: a future that completes at a deadline, registered lazily with the time driver.
//!
//! **What this teaches.** A leaf future that waits for time has three jobs:
//!
//! 1. On its **first poll** (not at creation) find the runtime's driver and register a
//!    timer. So a `Sleep` can be built anywhere, and a `timeout` whose inner future is
//!    ready at once never touches the driver's lock. A deadline that has already passed
//!    completes at once without registering anything. (To know that, it reads the
//!    clock, but only if the deadline is near the driver's last look at it: a timeout
//!    of seconds is registered unread, which saves a quarter of its cost;
//!    `driver.rs`, `Handle::may_have_passed`.)
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
pub fn sleep(duration: Duration) -> Sleep {
    Sleep::new(Instant::now().checked_add(duration))
}

/// Waits until `deadline`. A deadline in the past completes on the first poll.
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
/// Polling it outside a clockwork runtime panics with a message saying so.
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
}

/// The panic message when a timer is polled outside any runtime.
const NO_RUNTIME: &str = "there is no clockwork runtime here: sleep, sleep_until, timeout \
                          and interval must be awaited inside clockwork::block_on or a \
                          task spawned on a clockwork runtime";

impl Sleep {
    /// A sleep that will find its driver in the runtime context on first poll.
    pub(crate) fn new(deadline: Option<Instant>) -> Sleep {
        Sleep { deadline, driver: None, key: None, elapsed: false }
    }

    /// A sleep bound to `driver` up front (for tests that run without a runtime).
    #[cfg(test)]
    pub(crate) fn with_driver(deadline: Option<Instant>, driver: Arc<DriverHandle>) -> Sleep {
        Sleep { driver: Some(driver), ..Sleep::new(deadline) }
    }

    /// The instant this sleep completes at (`None` if it never does).
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// `true` once the sleep has completed.
    pub fn is_elapsed(&self) -> bool {
        self.elapsed
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

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut(); // `Sleep` is `Unpin`: it holds no self-references
        if this.elapsed {
            return Poll::Ready(());
        }
        let driver = this.driver.get_or_insert_with(|| {
            crate::runtime::context::driver_handle().unwrap_or_else(|| panic!("{NO_RUNTIME}"))
        });
        let time = driver.time();
        if let Some(key) = this.key {
            return match time.poll_timer(key, cx.waker()) {
                Poll::Ready(()) => this.complete(),
                Poll::Pending => Poll::Pending,
            };
        }
        // First poll since creation or reset: maybe the deadline has already passed. The
        // clock is read only for a deadline near the driver's last look at it.
        let tick = time.clock().deadline_tick(this.deadline);
        if time.may_have_passed(tick) && this.deadline.is_some_and(|d| time.clock().now() >= d) {
            return this.complete();
        }
        let registration = time.register(tick, cx.waker());
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
