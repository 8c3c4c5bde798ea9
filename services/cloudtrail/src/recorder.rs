//! The audit sink that records every call as a CloudTrail event. Each record is shaped
//! (from the model, through the injected [`Shaper`]) and serialized to its stored form
//! on the caller's thread, then leaves the request path through a bounded channel to a
//! writer thread that inserts batches, one transaction per batch. When the channel is
//! full the record is written on the caller's thread instead of being dropped.

use std::sync::{Arc, mpsc};

use mamori_service::{AuditRecord, AuditSink};
use mamori_store::Store;
use serde_json::Value;

use crate::data;
use crate::interest::{self, Interest};
use crate::record::{self, Shaped};
use crate::state::{EVENTS, EventHeader};

/// Builds `(requestParameters, responseElements)` of a call; the binary supplies one
/// from the service models.
pub type Shaper =
    Arc<dyn Fn(&'static str, &str, &Value, Option<&Value>) -> (Value, Value) + Send + Sync>;

/// The recording sink.
pub struct Recorder {
    tx: mpsc::SyncSender<Msg>,
    store: Store,
    shaper: Shaper,
    /// Which data events some logging trail could select.
    interest: Interest,
}

/// A record in its stored form, ready to insert.
struct Encoded {
    part: String,
    ts: i64,
    data: bool,
    body: Vec<u8>,
}

impl Encoded {
    fn new(rec: &AuditRecord, shaper: &Shaper) -> Self {
        let mut body = Vec::with_capacity(1024);
        let data = encode(rec, shaper, &mut body);
        Self { part: partition(rec), ts: rec.time.timestamp_millis(), data, body }
    }
}

/// What the writer task receives.
enum Msg {
    Record(Encoded),
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
        let wstore = store.clone();
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
                    && let Err(err) = write(&wstore, &records)
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
        let interest = Interest::default();
        interest.refresh(&store);
        Arc::new(Self { tx, store, shaper, interest })
    }
}

impl AuditSink for Recorder {
    /// Calls an AWS service makes on its own (CloudWatch publishing to SNS, CloudTrail
    /// writing to Logs) are mamori's plumbing; they are not recorded, as AWS does not
    /// show its own delivery calls in a customer's trail. Data events (S3 object calls,
    /// Publish...) are recorded only while some logging trail's selectors could select
    /// them: otherwise they cost an ingestion call nothing.
    fn wants(&self, ctx: &mamori_service::Context, service: &str, operation: &str) -> bool {
        let internal = matches!(ctx.principal.kind, mamori_service::PrincipalKind::Service(_))
            && ctx.invoked_by.is_none();
        !internal && (!record::is_data_event(service, operation) || self.interest.wants(service))
    }

    fn capture(&self, service: &str, _operation: &str, value: &Value) -> Value {
        data::capture(service, value)
    }

    fn record(&self, rec: &Arc<AuditRecord>) {
        // Before the caller sees the answer, so the next data call is recorded.
        if rec.service == "cloudtrail"
            && rec.error.is_none()
            && interest::CHANGING_OPS.contains(&rec.operation.as_str())
        {
            self.interest.refresh(&self.store);
        }
        // Shaped and serialized here, while the call's data is hot in this core's cache
        // and freed by the thread that allocated it; the writer only inserts.
        let encoded = Encoded::new(rec, &self.shaper);
        if let Err(
            mpsc::TrySendError::Full(Msg::Record(encoded))
            | mpsc::TrySendError::Disconnected(Msg::Record(encoded)),
        ) = self.tx.try_send(Msg::Record(encoded))
            && let Err(err) = write(&self.store, std::slice::from_ref(&encoded))
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

/// The shaped parts of a record's event.
fn shape(rec: &AuditRecord, shaper: &Shaper, data: bool) -> Shaped {
    let model = || shaper(rec.service, &rec.operation, &rec.input, rec.output.as_ref());
    if data {
        data::shape(rec, model)
    } else {
        let (request, response) = model();
        let resources = data::management_resources(rec);
        Shaped { request, response, resources, additional: None }
    }
}

/// Writes the stored form of `rec` (a `StoredEvent`'s) into `out`:
/// the header, then the record serialized straight after it; returns whether it is a
/// data event.
pub fn encode(rec: &AuditRecord, shaper: &Shaper, out: &mut Vec<u8>) -> bool {
    let data = record::is_data_event(rec.service, &rec.operation);
    let shaped = shape(rec, shaper, data);
    let mut id_buf = uuid::Uuid::encode_buffer();
    let event_id: &str = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id_buf);
    let time = record::EventTime::new(rec.time);
    let source = record::event_source(rec.service);
    EventHeader {
        event_id,
        event_name: record::event_name(rec.service, &rec.operation),
        event_source: &source,
        read_only: record::is_read_only(&rec.operation),
        access_key_id: rec.principal.access_key_id.as_deref().unwrap_or_default(),
        username: record::username(rec),
        data,
    }
    .encode(out);
    let event = record::event(rec, &shaped, event_id, time.as_str(), &source);
    if serde_json::to_writer(&mut *out, &event).is_err() {
        // Borrowed strings, numbers and JSON values always serialize.
        tracing::error!(request_id = %rec.request_id, "cannot serialize a CloudTrail event");
    }
    data
}

/// The series partition of a record: `account/region`.
fn partition(rec: &AuditRecord) -> String {
    let region = record::record_region(rec);
    let mut part = String::with_capacity(rec.account.as_str().len() + 1 + region.len());
    part.push_str(rec.account.as_str());
    part.push('/');
    part.push_str(region);
    part
}

/// Stores a batch: one block per partition and stream (a few rows, however many events).
// GAP: recording still costs 14 to 17 % of the throughput of GetCallerIdentity at 32
// connections, against a 10 % target (the writer's share is 2 µs a call): shaping
// requestParameters and responseElements as `serde_json::Value` trees, serializing the
// record, and the writer's copy into the store are what is left (docs/PERFORMANCE.md).
fn write(store: &Store, records: &[Encoded]) -> Result<(), mamori_store::StoreError> {
    store.write(|tx| {
        EVENTS.append_raw_all(
            tx,
            records.iter().map(|rec| {
                let stream = if rec.data { "data" } else { "management" };
                (rec.part.as_str(), stream, rec.ts, rec.body.as_slice())
            }),
        )
    })
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use mamori_aws::{AccountId, Region};
    use mamori_service::Principal;
    use serde_json::json;

    use super::*;
    use mamori_store::BlockRecord;

    use crate::state::StoredEvent;

    #[test]
    fn encoded_events_read_back_as_stored_events() {
        let account = AccountId::parse("111122223333").unwrap();
        let mut principal = Principal::root(account.clone());
        principal.access_key_id = Some("AKIAEXAMPLE".into());
        let rec = AuditRecord {
            service: "s3",
            operation: "PutObject".into(),
            account,
            principal,
            region: Region::parse("eu-west-1").unwrap(),
            source_ip: "127.0.0.1".into(),
            user_agent: "aws-cli/2".into(),
            request_id: "rid".into(),
            time: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            input: data::capture(
                "s3",
                &json!({"Bucket": "b", "Key": "a/k.txt", "Body": "aGVsbG8="}),
            ),
            output: Some(json!({"ETag": "\"x\""})),
            error: None,
            invoked_by: None,
            internal: false,
        };
        let shaper: Shaper = Arc::new(|_, _, i, o| (i.clone(), o.cloned().unwrap_or_default()));
        let mut body = Vec::new();
        assert!(encode(&rec, &shaper, &mut body), "PutObject is a data event");
        let ev = StoredEvent::decode(&body).unwrap();
        assert_eq!(ev.event_name, "PutObject");
        assert_eq!(ev.event_source, "s3.amazonaws.com");
        assert_eq!(ev.access_key_id, "AKIAEXAMPLE");
        assert_eq!(ev.username, "root");
        assert!(ev.data && !ev.read_only);
        let r: Value = serde_json::from_str(ev.record.as_str()).unwrap();
        assert_eq!(r["eventID"], ev.event_id.as_str());
        assert_eq!(r["eventTime"], "2023-11-14T22:13:20Z");
        assert_eq!(r["eventCategory"], "Data");
        assert_eq!(r["managementEvent"], false);
        assert_eq!(
            r["requestParameters"],
            json!({"bucketName": "b", "Host": "b.s3.eu-west-1.amazonaws.com", "key": "a/k.txt"})
        );
        assert_eq!(
            r["resources"],
            json!([
                {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/a/k.txt"},
                {"accountId": "111122223333", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::b"}
            ])
        );
        assert_eq!(r["additionalEventData"]["bytesTransferredIn"], 5);
        assert!(!body.windows(8).any(|w| w == b"aGVsbG8="), "the body is never recorded");
        assert_eq!(partition(&rec), "111122223333/eu-west-1");
    }
}
