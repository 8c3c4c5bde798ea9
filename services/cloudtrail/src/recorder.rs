//! The audit sink that records every call as a CloudTrail event. Records leave the
//! request path through a bounded channel and a writer thread that shapes them (from the
//! model, through the injected [`Shaper`]) and stores them in batches, one transaction
//! per batch, so recording costs a call little. When the channel is full the record is
//! written on the caller's thread instead of being dropped.

use std::sync::{Arc, mpsc};

use mamori_service::{AuditRecord, AuditSink};
use mamori_store::Store;
use serde_json::Value;

use crate::record::{self, Shaped};
use crate::state::{EVENTS, StoredEvent};

/// Builds `(requestParameters, responseElements)` of a call; the binary supplies one
/// from the service models.
pub type Shaper =
    Arc<dyn Fn(&'static str, &str, &Value, Option<&Value>) -> (Value, Value) + Send + Sync>;

/// The recording sink.
pub struct Recorder {
    tx: mpsc::SyncSender<Msg>,
    store: Store,
    shaper: Shaper,
}

/// What the writer task receives.
enum Msg {
    Record(Arc<AuditRecord>),
    /// Answered once everything sent before it is stored.
    Flush(tokio::sync::oneshot::Sender<()>),
}

const QUEUE: usize = 65_536;
const BATCH: usize = 1_000;
/// How long the writer lets records gather after the first of a batch.
const GATHER: std::time::Duration = std::time::Duration::from_millis(5);

impl Recorder {
    /// A recorder writing into `store` from a writer thread of its own (one thread, so
    /// batches are not handed between tokio's blocking threads at every wake-up).
    pub fn start(store: Store, shaper: Shaper) -> Arc<Self> {
        let (tx, rx) = mpsc::sync_channel::<Msg>(QUEUE);
        let (wstore, wshaper) = (store.clone(), shaper.clone());
        let spawned = std::thread::Builder::new().name("cloudtrail-writer".into()).spawn(move || {
            // Ends when every sender (the recorder) is gone.
            while let Ok(first) = rx.recv() {
                // Let a batch gather: one transaction and one wake-up for many records
                // instead of a few (senders do not wake a writer that is not parked on
                // the channel). History and deliveries see a record GATHER later at most.
                if !matches!(first, Msg::Flush(_)) {
                    std::thread::sleep(GATHER);
                }
                let mut records = Vec::with_capacity(BATCH);
                let mut waiting = Vec::new();
                let mut next = Some(first);
                while let Some(msg) = next {
                    match msg {
                        Msg::Record(r) => records.push(r),
                        Msg::Flush(done) => waiting.push(done),
                    }
                    next = if records.len() < BATCH { rx.try_recv().ok() } else { None };
                }
                if !records.is_empty()
                    && let Err(err) = write(&wstore, &wshaper, &records)
                {
                    tracing::error!(error = %err, n_events = records.len(), "failed to store CloudTrail events");
                }
                for done in waiting {
                    let _ = done.send(());
                }
            }
        });
        if let Err(err) = spawned {
            tracing::error!(error = %err, "cannot start the CloudTrail writer; events are written on the request path");
        }
        Arc::new(Self { tx, store, shaper })
    }
}

impl AuditSink for Recorder {
    /// Calls an AWS service makes on its own (CloudWatch publishing to SNS, CloudTrail
    /// writing to Logs) are mamori's plumbing; they are not recorded, as AWS does not
    /// show its own delivery calls in a customer's trail. Data events (PutLogEvents,
    /// Publish, PutMetricData...) are not recorded either: AWS records them only for
    /// trails whose selectors ask, and recording them would double the cost of every
    /// ingestion call.
    // GAP: a trail whose event selectors ask for data events receives none.
    fn wants(&self, ctx: &mamori_service::Context, service: &str, operation: &str) -> bool {
        let internal = matches!(ctx.principal.kind, mamori_service::PrincipalKind::Service(_))
            && ctx.invoked_by.is_none();
        !internal && !record::is_data_event(service, operation)
    }

    fn record(&self, rec: &Arc<AuditRecord>) {
        if let Err(
            mpsc::TrySendError::Full(Msg::Record(rec))
            | mpsc::TrySendError::Disconnected(Msg::Record(rec)),
        ) = self.tx.try_send(Msg::Record(rec.clone()))
            && let Err(err) = write(&self.store, &self.shaper, std::slice::from_ref(&rec))
        {
            tracing::error!(error = %err, request_id = %rec.request_id, "failed to store a CloudTrail event");
        }
    }

    fn flush(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(self.flush_queue())
    }
}

impl Recorder {
    async fn flush_queue(&self) {
        let (done, wait) = tokio::sync::oneshot::channel();
        // The queue is bounded: wait for room off the async threads.
        let tx = self.tx.clone();
        let sent = tokio::task::spawn_blocking(move || tx.send(Msg::Flush(done)).is_ok()).await;
        if matches!(sent, Ok(true)) {
            let _ = wait.await;
        }
    }
}

/// A JSON `null`, for the impossible case of a record that does not serialize.
pub(crate) fn null_raw() -> Box<serde_json::value::RawValue> {
    serde_json::value::RawValue::from_string("null".into()).unwrap_or_else(|_| unreachable!())
}

/// The stored form of a record.
pub fn to_stored(rec: &AuditRecord, shaper: &Shaper) -> (String, i64, StoredEvent) {
    let (request, response) = shaper(rec.service, &rec.operation, &rec.input, rec.output.as_ref());
    let event_id = uuid::Uuid::new_v4().to_string();
    let event = record::build_raw(rec, &Shaped { request, response }, &event_id);
    let region = record::record_region(rec);
    let data = record::is_data_event(rec.service, &rec.operation);
    let stored = StoredEvent {
        event_id,
        event_name: rec.operation.clone(),
        event_source: record::event_source(rec.service),
        read_only: record::is_read_only(&rec.operation),
        access_key_id: rec.principal.access_key_id.clone().unwrap_or_default(),
        username: record::username(rec),
        data,
        record: event,
    };
    (format!("{}/{region}", rec.account), rec.time.timestamp_millis(), stored)
}

fn write(
    store: &Store,
    shaper: &Shaper,
    records: &[Arc<AuditRecord>],
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
