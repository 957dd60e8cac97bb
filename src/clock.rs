//! Time, injected: the engine never reads the wall clock on its own.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use time::{Duration, OffsetDateTime};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> OffsetDateTime;

    /// The current time in whole seconds since the Unix epoch (rounded down), as tokens
    /// and sessions record it. The default derives it from [`now`](Self::now).
    fn unix_now(&self) -> i64 {
        self.now().unix_timestamp()
    }
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// Read without building a date, from the kernel's coarse wall clock where there is
    /// one (Linux): the engine asks for seconds a dozen times a flow, and the coarse clock
    /// answers in a few nanoseconds where the precise one reads a timer for tens (more
    /// under a hypervisor). It runs behind the precise clock by at most a timer tick (a
    /// few milliseconds): nothing, at the whole seconds tokens and sessions record.
    fn unix_now(&self) -> i64 {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            rustix::time::clock_gettime(rustix::time::ClockId::RealtimeCoarse).tv_sec
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
            Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
            // Before 1970: round down, as `unix_timestamp` does.
            Err(e) => {
                let before = e.duration();
                let secs = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
                -secs - i64::from(before.subsec_nanos() > 0)
            }
        }
    }
}

/// A clock that stands still until advanced: for tests, fuzzers and simulations.
///
/// Clones share the same time, so a test can keep one and hand another to the provider.
#[derive(Debug, Clone)]
pub struct MockClock {
    unix_nanos: Arc<AtomicI64>,
}

impl MockClock {
    /// A clock standing at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self {
            unix_nanos: Arc::new(AtomicI64::new(to_nanos(start))),
        }
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.whole_nanoseconds()).unwrap_or(i64::MAX);
        self.unix_nanos.fetch_add(by, Ordering::SeqCst);
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: OffsetDateTime) {
        self.unix_nanos.store(to_nanos(at), Ordering::SeqCst);
    }
}

impl Default for MockClock {
    /// A clock standing at 2026-01-01T00:00:00Z.
    fn default() -> Self {
        Self::new(time::macros::datetime!(2026-01-01 00:00 UTC))
    }
}

impl Clock for MockClock {
    fn now(&self) -> OffsetDateTime {
        let nanos = self.unix_nanos.load(Ordering::SeqCst);
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos))
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }

    fn unix_now(&self) -> i64 {
        self.unix_nanos
            .load(Ordering::SeqCst)
            .div_euclid(1_000_000_000)
    }
}

fn to_nanos(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_now_agrees_with_now() {
        let mock = MockClock::new(time::macros::datetime!(1969-12-31 23:59:59.5 UTC));
        assert_eq!(mock.unix_now(), mock.now().unix_timestamp());
        assert_eq!(mock.unix_now(), -1);
        mock.advance(Duration::milliseconds(700));
        assert_eq!(mock.unix_now(), 0);
        assert_eq!(mock.unix_now(), mock.now().unix_timestamp());
        // The coarse clock may still show the second before, a tick after it ended.
        let before = SystemClock.now().unix_timestamp();
        let secs = SystemClock.unix_now();
        assert!((before - 1..=before + 1).contains(&secs));
    }

    #[test]
    fn mock_clock_clones_share_time() {
        let a = MockClock::default();
        let b = a.clone();
        let t0 = b.now();
        a.advance(Duration::seconds(90));
        assert_eq!(b.now() - t0, Duration::seconds(90));
    }
}
