//! Periodic work driven by the clock: alarm evaluation, deliveries, retention. With the
//! real clock a background loop runs what is due; with the manual clock, advancing it
//! steps through every due instant in order, so a test that moves an hour ahead sees
//! each minute's evaluation exactly as it would have happened.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta, Utc};

use crate::{Clock, SharedClock};

/// A boxed future of a task run.
pub type TaskFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A periodic task. `run` gets the instant it was due.
#[derive(Clone)]
pub struct Task {
    /// A name for logs.
    pub name: &'static str,
    /// How often it runs.
    pub interval: TimeDelta,
    /// The work.
    pub run: Arc<dyn Fn(DateTime<Utc>) -> TaskFuture + Send + Sync>,
}

struct Entry {
    task: Task,
    next_due: DateTime<Utc>,
    /// Runs once for a stretch of missed instants instead of once per instant.
    coalesce: bool,
}

/// The registered tasks and when each is next due.
#[derive(Default)]
pub struct Scheduler {
    entries: Mutex<Vec<Entry>>,
    // Serializes runs so a manual advance and the real-clock loop never overlap.
    running: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Scheduler")
    }
}

/// Rounds `t` up to the next multiple of `interval` since the epoch, so minute tasks run
/// on minute boundaries as CloudWatch does.
fn align(t: DateTime<Utc>, interval: TimeDelta) -> DateTime<Utc> {
    let step = interval.num_milliseconds().max(1);
    let ms = t.timestamp_millis();
    let aligned = ms.div_euclid(step) * step + if ms.rem_euclid(step) == 0 { 0 } else { step };
    DateTime::from_timestamp_millis(aligned).unwrap_or(t)
}

impl Scheduler {
    /// Registers a task, first due at the next multiple of its interval after `now`.
    pub fn register(&self, task: Task, now: DateTime<Utc>) {
        let next_due = align(now, task.interval);
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).push(Entry {
            task,
            next_due,
            coalesce: false,
        });
    }

    /// Registers a task whose missed runs may be merged: when the clock jumps over many
    /// of its instants, it runs at the first and at the last of them only. For work that
    /// only needs to catch up (deliveries, expiry), not to observe each instant (alarm
    /// evaluation).
    pub fn register_coalesced(&self, task: Task, now: DateTime<Utc>) {
        let next_due = align(now, task.interval);
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).push(Entry {
            task,
            next_due,
            coalesce: true,
        });
    }

    /// The names of the registered tasks.
    pub fn task_names(&self) -> Vec<&'static str> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|e| e.task.name).collect()
    }

    fn next(&self, until: DateTime<Utc>, catch_up: bool) -> Option<(Task, DateTime<Utc>)> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry =
            entries.iter_mut().filter(|e| e.next_due <= until).min_by_key(|e| e.next_due)?;
        let due = entry.next_due;
        entry.next_due = due + entry.task.interval;
        if entry.coalesce {
            // Run at the first instant of a jump (prompt for work that just arrived), then
            // once more at the last one, skipping those in between.
            let step = entry.task.interval.num_milliseconds().max(1);
            let missed = (until - due).num_milliseconds() / step;
            if missed > 1 {
                entry.next_due = due + TimeDelta::milliseconds(missed * step);
            }
        }
        if !catch_up {
            while entry.next_due <= until {
                entry.next_due += entry.task.interval;
            }
        }
        Some((entry.task.clone(), due))
    }

    /// Runs every task due at or before `until`, each due instant in time order. When the
    /// clock is manual it is moved to each due instant before the task runs, then to
    /// `until`.
    pub async fn advance_to(&self, clock: &SharedClock, until: DateTime<Utc>) {
        let _guard = self.running.lock().await;
        let manual = clock.as_manual();
        while let Some((task, due)) = self.next(until, manual.is_some()) {
            if let Some(m) = manual {
                let _ = m.set(due.max(m.now()));
            }
            tracing::trace!(task = task.name, due = %due, "scheduled task");
            (task.run)(due).await;
        }
        if let Some(m) = manual {
            let _ = m.set(until.max(m.now()));
        }
    }

    /// With the real clock: runs due tasks once a second until the process ends.
    pub async fn run_real_time(self: Arc<Self>, clock: SharedClock) {
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            self.advance_to(&clock, clock.now()).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::ManualClock;

    #[tokio::test]
    async fn manual_advance_steps_through_each_due_instant() {
        let start = DateTime::from_timestamp(1_700_000_030, 0).unwrap();
        let clock: SharedClock = Arc::new(ManualClock::new(start));
        let scheduler = Scheduler::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let (s, c) = (seen.clone(), count.clone());
        let task = Task {
            name: "minute",
            interval: TimeDelta::seconds(60),
            run: Arc::new(move |due| {
                s.lock().unwrap().push(due.timestamp());
                c.fetch_add(1, Ordering::SeqCst);
                Box::pin(async {})
            }),
        };
        scheduler.register(task, start);
        scheduler.advance_to(&clock, start + TimeDelta::seconds(185)).await;
        assert_eq!(*seen.lock().unwrap(), vec![1_700_000_040, 1_700_000_100, 1_700_000_160]);
        assert_eq!(clock.now(), start + TimeDelta::seconds(185));
        scheduler.advance_to(&clock, start + TimeDelta::seconds(185)).await;
        assert_eq!(count.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn coalesced_tasks_run_once_per_jump() {
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let clock: SharedClock = Arc::new(ManualClock::new(start));
        let scheduler = Scheduler::default();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let task = Task {
            name: "deliver",
            interval: TimeDelta::seconds(5),
            run: Arc::new(move |due| {
                s.lock().unwrap().push(due.timestamp());
                Box::pin(async {})
            }),
        };
        scheduler.register_coalesced(task, start);
        scheduler.advance_to(&clock, start + TimeDelta::days(30)).await;
        assert_eq!(*seen.lock().unwrap(), vec![start.timestamp(), start.timestamp() + 30 * 86_400]);
        scheduler.advance_to(&clock, start + TimeDelta::days(30) + TimeDelta::seconds(12)).await;
        assert_eq!(seen.lock().unwrap().len(), 4, "two more instants: both run");
    }
}
