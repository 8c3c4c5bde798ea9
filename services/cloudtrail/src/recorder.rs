//! The audit sink that records every call as a CloudTrail event. Records leave the
//! request path through a bounded channel and a writer task that shapes them (from the
//! model, through the injected [`Shaper`]) and stores them in batches, one transaction
//! per batch, so recording costs a call little. When the channel is full the record is
//! written on the caller's thread instead of being dropped.

use std::sync::Arc;

use mamori_service::{AuditRecord, AuditSink};
use mamori_store::Store;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::record::{self, Shaped};
use crate::state::{EVENTS, StoredEvent};

/// Builds `(requestParameters, responseElements)` of a call; the binary supplies one
/// from the service models.
pub type Shaper =
    Arc<dyn Fn(&'static str, &str, &Value, Option<&Value>) -> (Value, Value) + Send + Sync>;

/// The recording sink.
pub struct Recorder {
    tx: mpsc::Sender<AuditRecord>,
    store: Store,
    shaper: Shaper,
}

const QUEUE: usize = 65_536;
const BATCH: usize = 1_000;

impl Recorder {
    /// A recorder writing into `store`; spawns its writer on the current tokio runtime.
    pub fn start(store: Store, shaper: Shaper) -> Arc<Self> {
        let (tx, mut rx) = mpsc::channel::<AuditRecord>(QUEUE);
        let (wstore, wshaper) = (store.clone(), shaper.clone());
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                let (s, sh) = (wstore.clone(), wshaper.clone());
                let records = std::mem::take(&mut batch);
                let res = tokio::task::spawn_blocking(move || write(&s, &sh, &records)).await;
                if !matches!(res, Ok(Ok(()))) {
                    tracing::error!("failed to store CloudTrail events");
                }
            }
        });
        Arc::new(Self { tx, store, shaper })
    }
}

/// Calls an AWS service makes on its own (CloudWatch publishing to SNS, CloudTrail
/// writing to Logs) are mamori's plumbing; they are not recorded, as AWS does not show
/// its own delivery calls in a customer's trail.
fn recorded(rec: &AuditRecord) -> bool {
    !(matches!(rec.principal.kind, mamori_service::PrincipalKind::Service(_))
        && rec.invoked_by.is_none())
}

impl AuditSink for Recorder {
    fn record(&self, rec: &AuditRecord) {
        if !recorded(rec) {
            return;
        }
        if let Err(mpsc::error::TrySendError::Full(rec)) = self.tx.try_send(rec.clone())
            && let Err(err) = write(&self.store, &self.shaper, std::slice::from_ref(&rec))
        {
            tracing::error!(error = %err, request_id = %rec.request_id, "failed to store a CloudTrail event");
        }
    }
}

/// The stored form of a record.
pub fn to_stored(rec: &AuditRecord, shaper: &Shaper) -> (String, i64, StoredEvent) {
    let (request, response) = shaper(rec.service, &rec.operation, &rec.input, rec.output.as_ref());
    let event_id = uuid::Uuid::new_v4().to_string();
    let event = record::build(rec, &Shaped { request, response }, &event_id);
    let region = event["awsRegion"].as_str().unwrap_or_default().to_owned();
    let data = record::is_data_event(rec.service, &rec.operation);
    let stored = StoredEvent {
        event_id,
        event_name: rec.operation.clone(),
        event_source: record::event_source(rec.service),
        read_only: record::is_read_only(&rec.operation),
        access_key_id: rec.principal.access_key_id.clone().unwrap_or_default(),
        username: record::username(rec),
        data,
        record: event.to_string(),
    };
    (format!("{}/{region}", rec.account), rec.time.timestamp_millis(), stored)
}

fn write(
    store: &Store,
    shaper: &Shaper,
    records: &[AuditRecord],
) -> Result<(), mamori_store::StoreError> {
    store.write(|tx| {
        for rec in records {
            let (part, ts, stored) = to_stored(rec, shaper);
            let stream = if stored.data { "data" } else { "management" };
            EVENTS.append(tx, &part, stream, ts, &stored)?;
        }
        Ok(())
    })
}
