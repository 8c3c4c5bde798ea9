//! Time: the real clock, or a manual one that only moves when told to (`--clock manual`
//! and `POST /_mamori/clock`), so every time-based behaviour is testable in milliseconds.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Now.
    fn now(&self) -> DateTime<Utc>;
    /// The manual clock, when this is one.
    fn as_manual(&self) -> Option<&ManualClock> {
        None
    }
}

/// A shared clock.
pub type SharedClock = Arc<dyn Clock>;

/// The system clock.
#[derive(Debug, Default)]
pub struct RealClock;

impl Clock for RealClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that moves only when advanced or set.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<DateTime<Utc>>,
}

impl ManualClock {
    /// A manual clock starting at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self { now: Mutex::new(start) }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: TimeDelta) -> DateTime<Utc> {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
        *now
    }

    /// Sets the clock (it may not go backwards: scheduled work assumes time only grows).
    pub fn set(&self, to: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        if to < *now {
            return Err(format!("the manual clock cannot go back from {} to {to}", *now));
        }
        *now = to;
        Ok(to)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn as_manual(&self) -> Option<&ManualClock> {
        Some(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_forward_only() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let clock = ManualClock::new(start);
        assert_eq!(clock.now(), start);
        assert_eq!(clock.advance(TimeDelta::seconds(60)), start + TimeDelta::seconds(60));
        assert!(clock.set(start).is_err());
        assert!(clock.set(start + TimeDelta::hours(1)).is_ok());
    }
}
