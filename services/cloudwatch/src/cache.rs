//! The alarms the evaluator walks every tick, kept in memory so that a tick does not
//! decode every alarm document. Alarm configurations are small; datapoints never live
//! here. Every alarm write (the mutating operations, evaluation transitions, reset)
//! invalidates the cache; a generation counter keeps a load that raced with a write from
//! being kept.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use mamori_store::{Store, StoreError};

use crate::eval::AlarmConfig;
use crate::state::{ALARMS, Alarm};

/// One alarm as the evaluator needs it.
#[derive(Debug)]
pub struct CachedAlarm {
    /// The store partition (`account/region`).
    pub part: String,
    /// The alarm.
    pub alarm: Alarm,
    /// The evaluator's view; `None` when it cannot judge this alarm.
    pub config: Option<AlarmConfig>,
    /// The metric's stream id, for single-metric alarms.
    pub metric_id: Option<String>,
}

/// Every alarm of every partition.
#[derive(Debug, Default)]
pub struct AlarmCache {
    generation: AtomicU64,
    loaded: Mutex<Option<(u64, Arc<Vec<CachedAlarm>>)>>,
}

impl AlarmCache {
    /// Forgets the alarms; the next tick reads them again.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        *self.loaded.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The alarms, read from the store when not cached.
    pub fn get(&self, store: &Store) -> Result<Arc<Vec<CachedAlarm>>, StoreError> {
        let generation = self.generation.load(Ordering::SeqCst);
        if let Some((g, alarms)) = &*self.loaded.lock().unwrap_or_else(|e| e.into_inner())
            && *g == generation
        {
            return Ok(alarms.clone());
        }
        let alarms: Vec<CachedAlarm> = store
            .read(|tx| ALARMS.everywhere(tx))?
            .into_iter()
            .map(|(part, _, alarm)| CachedAlarm {
                config: crate::tasks::config_of(&alarm),
                metric_id: alarm.metric.as_ref().map(|k| k.id()),
                part,
                alarm,
            })
            .collect();
        let alarms = Arc::new(alarms);
        let mut loaded = self.loaded.lock().unwrap_or_else(|e| e.into_inner());
        if self.generation.load(Ordering::SeqCst) == generation {
            *loaded = Some((generation, alarms.clone()));
        }
        Ok(alarms)
    }
}
