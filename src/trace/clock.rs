//! The recorder's clock: the CPU's time-stamp counter when the kernel trusts it, else `Instant`.
//!
//! **What this teaches.** Reading the time is not free: `Instant::now()` is a call into the
//! kernel's vDSO page, which reads the CPU's time-stamp counter (TSC), orders it against
//! earlier loads, and converts ticks to nanoseconds under a sequence lock: about 35 ns on
//! this VM. A traced poll needs two readings, so the clock alone cost more than the poll.
//! Here a reading is just the ordered TSC read (`rdtscp`, about 20 ns), in ticks; ticks
//! become nanoseconds only when a snapshot is taken, by comparing how far the TSC and
//! `Instant` both moved since the recorder started (one multiply and divide per event).
//!
//! **When the TSC is honest.** Lanes from different threads are merged by timestamp, so a
//! reading on one core must be comparable with a reading on another. The TSC is used only
//! where Linux itself chose it as its clock (`current_clocksource` is `tsc`): the kernel
//! did so only after checking that the counter is invariant (same rate in every power
//! state) and synchronised across cores, so `Instant` there is this same counter, scaled.
//! Everywhere else (other kernels, other CPUs, a VM on `kvm-clock`, Miri) the ticks are
//! simply `Instant` nanoseconds.
//!
//! **Ordered and unordered readings.** A plain `rdtsc` may execute before the instructions
//! in front of it have finished. For a poll's *start* that would be a lie with
//! consequences: the task was taken from a queue that another thread may just have filled,
//! and a stamp taken before that load completed could sort the poll before the wake that
//! caused it. So [`Clock::now`] uses `rdtscp`, which waits for every earlier load (the
//! kernel orders its own reading the same way). A poll's *end* is caused by nothing on
//! another thread, only by this thread's own poll, so [`Clock::now_unordered`] uses the
//! plain `rdtsc`, which does not stall the pipeline (that stall was a quarter of a traced
//! `yield_many`). At worst it reads a few nanoseconds early: a very short poll may show a
//! duration of zero, never a wrong order.
//!
//! Rejected alternatives: reusing the previous poll's end as the next poll's start (no
//! reading at all, but the stamp would be earlier than the wake, on another thread, that
//! queued the task: the merged story would show an effect before its cause); and the TSC
//! without the kernel's say-so (on a machine with unsynchronised counters, the same).
//!
//! Next to read: `recorder.rs`.

use std::time::Instant;

/// Timestamps: TSC ticks, or nanoseconds, since the clock started.
#[derive(Debug)]
pub(super) struct Clock {
    start: Instant,
    /// The TSC at `start`, if the TSC is used.
    tsc_start: Option<u64>,
}

impl Clock {
    /// A clock starting now.
    pub(super) fn new() -> Clock {
        let tsc_start = tsc::trusted().then(tsc::read_ordered);
        Clock { start: Instant::now(), tsc_start }
    }

    /// Ticks since the clock started: one reading, taken after every earlier load of this
    /// thread has completed.
    #[inline]
    pub(super) fn now(&self) -> u64 {
        match self.tsc_start {
            Some(start) => tsc::read_ordered().saturating_sub(start),
            None => self.start.elapsed().as_nanos() as u64,
        }
    }

    /// Like [`now`](Clock::now), but it may be taken a little early. Only for an event that
    /// nothing on another thread can have caused (the end of this thread's own poll).
    #[inline]
    pub(super) fn now_unordered(&self) -> u64 {
        match self.tsc_start {
            Some(start) => tsc::read().saturating_sub(start),
            None => self.start.elapsed().as_nanos() as u64,
        }
    }

    /// A converter from this clock's ticks to nanoseconds, calibrated now.
    pub(super) fn scale(&self) -> Scale {
        let Some(tsc_start) = self.tsc_start else { return Scale { nanos: 1, ticks: 1 } };
        let ticks = tsc::read_ordered().saturating_sub(tsc_start);
        let nanos = self.start.elapsed().as_nanos() as u64;
        if ticks == 0 || nanos == 0 {
            return Scale { nanos: 1, ticks: 1 };
        }
        Scale { nanos, ticks }
    }
}

/// Ticks → nanoseconds: `nanos / ticks` is the rate measured by [`Clock::scale`].
#[derive(Clone, Copy, Debug)]
pub(super) struct Scale {
    nanos: u64,
    ticks: u64,
}

impl Scale {
    /// `ticks` of the clock, in nanoseconds (order-preserving: equal or later ticks never
    /// give an earlier time).
    pub(super) fn nanos(self, ticks: u64) -> u64 {
        (u128::from(ticks) * u128::from(self.nanos) / u128::from(self.ticks)) as u64
    }
}

#[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri)))]
mod tsc {
    use std::sync::OnceLock;

    /// Does the kernel use the TSC as its clock, and does the CPU have `rdtscp`? Asked
    /// once per process. (`rdtscp` is near-universal on x86_64, but executing it where it
    /// is missing would kill the process with SIGILL; `is_x86_feature_detected!` does not
    /// know this feature, so the kernel's own list of CPU flags is asked instead.)
    pub(super) fn trusted() -> bool {
        static TRUSTED: OnceLock<bool> = OnceLock::new();
        *TRUSTED.get_or_init(|| {
            let path = "/sys/devices/system/clocksource/clocksource0/current_clocksource";
            let kernel_uses_tsc = std::fs::read_to_string(path).is_ok_and(|source| source.trim() == "tsc");
            kernel_uses_tsc && cpu_has_rdtscp()
        })
    }

    /// Whether `/proc/cpuinfo` lists the `rdtscp` flag.
    fn cpu_has_rdtscp() -> bool {
        std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|info| {
            info.lines()
                .find(|line| line.starts_with("flags"))
                .is_some_and(|flags| flags.split_whitespace().any(|flag| flag == "rdtscp"))
        })
    }

    /// The time-stamp counter, read after every earlier load has completed (`rdtscp`).
    #[inline]
    pub(super) fn read_ordered() -> u64 {
        let mut core = 0;
        // SAFETY: `rdtscp` only reads the counter and the core number (into `core`, a valid
        // `u32`); it has no precondition. `core::arch` marks all its intrinsics `unsafe`.
        unsafe { std::arch::x86_64::__rdtscp(&mut core) }
    }

    /// The time-stamp counter, read as soon as the CPU gets to it (`rdtsc`).
    #[inline]
    pub(super) fn read() -> u64 {
        // SAFETY: `rdtsc` only reads the counter; it has no precondition.
        unsafe { std::arch::x86_64::_rdtsc() }
    }
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux", not(miri))))]
mod tsc {
    pub(super) fn trusted() -> bool {
        false
    }

    pub(super) fn read_ordered() -> u64 {
        unreachable!("the TSC is only read where `trusted` said yes")
    }

    pub(super) fn read() -> u64 {
        unreachable!("the TSC is only read where `trusted` said yes")
    }
}

#[cfg(test)]
mod tests {
    use super::Clock;
    use std::time::Duration;

    /// Whichever source the machine gives (the TSC or `Instant`), ticks scale to real time:
    /// a 5 ms sleep measures at least 5 ms and well under a second, and readings never go
    /// backwards on one thread.
    #[test]
    fn ticks_scale_to_nanoseconds() {
        let clock = Clock::new();
        let before = clock.now();
        std::thread::sleep(Duration::from_millis(5));
        let after = clock.now_unordered();
        let later = clock.now();
        let scale = clock.scale();
        let slept = Duration::from_nanos(scale.nanos(after) - scale.nanos(before));
        assert!(slept >= Duration::from_millis(5) && slept < Duration::from_secs(1), "{slept:?}");
        assert!(later >= after, "an ordered reading after an unordered one");
    }
}
