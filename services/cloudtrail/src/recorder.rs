//! The audit sink that records every call as a CloudTrail event. Each record is shaped
//! (from the model, through the injected [`Shaper`]) and serialized to its stored form
//! on the caller's thread, into a buffer of that thread, then appended to one buffer
//! shared with a writer thread, which takes it whole and inserts it, one transaction per
//! batch. No allocation crosses threads per record: the writer keeps the buffer's
//! storage and hands it back empty. When the buffer is full the caller writes it. On a
//! store on disk, a call that changes something or fails is answered only once its event
//! is kept: appended to the journal (`recorder/journal.rs`) and synced, or stored.

use std::cell::RefCell;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

use mamori_service::{AuditRecord, AuditSink, Kept};
use mamori_store::Store;
use serde_json::Value;
use tokio::sync::watch;

use crate::data;
use crate::interest::{self, Interest};
use crate::record::{self, Shaped};
use crate::state::EventHeader;

mod journal;

use journal::Journal;

/// Builds `(requestParameters, responseElements)` of a call; the binary supplies one
/// from the service models.
pub type Shaper =
    Arc<dyn Fn(&'static str, &str, &Value, Option<&Value>) -> (Value, Value) + Send + Sync>;

/// The recording sink.
pub struct Recorder {
    shared: Arc<Shared>,
    /// Whether a writer thread drains the buffer; without one, each call writes.
    threaded: bool,
    /// The store is on disk: a call that changes something or fails waits for its event
    /// to be kept.
    durable: bool,
    shaper: Shaper,
    /// Which data events some logging trail could select.
    interest: Interest,
}

/// What callers and the writer share.
struct Shared {
    pending: Mutex<Pending>,
    /// Wakes the writer: records arrived in an empty buffer, a flush, a caller waiting
    /// for its record, or shutdown.
    wake: Condvar,
    /// Held by whoever journals or stores a batch, taken before the buffer is let go, so
    /// batches are kept in the order they left the buffer.
    writing: Mutex<Writing>,
    /// How many of the records handed over are kept and stored, in order.
    progress: watch::Sender<Progress>,
    store: Store,
}

/// What is written, and where.
#[derive(Default)]
struct Writing {
    /// On disk, the journal; `None` in memory, or when it could not be opened (a call
    /// that waits for its event then waits for the store).
    journal: Option<Journal>,
    /// Records journaled but not stored yet: they go first into the next store.
    staged: Batch,
}

/// Counts of records handed over, in the order they were.
#[derive(Clone, Copy, Default)]
struct Progress {
    /// Journaled or stored (or failed to be): a crash keeps them.
    kept: u64,
    /// Stored (or failed to be): history shows them.
    stored: u64,
}

#[derive(Default)]
struct Pending {
    batch: Batch,
    /// Records handed over since the start.
    handed: u64,
    /// A flush waits: the writer skips letting the batch gather.
    flush: bool,
    /// A caller waits for its record to be kept: the writer journals the batch at once.
    keep: bool,
    /// The recorder is gone: the writer stores what is left and ends.
    closed: bool,
}

/// Records in their stored form, back to back.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    records: Vec<Meta>,
    /// The partitions (`account/region`) the records name.
    parts: Vec<String>,
}

/// Where a record of a [`Batch`] is, and what it is filed under.
struct Meta {
    part: usize,
    ts: i64,
    data: bool,
    /// End of the record in `bytes`; it starts where the one before ends.
    end: usize,
}

impl Batch {
    fn push(&mut self, rec: &AuditRecord<'_>, data: bool, body: &[u8]) {
        let (account, region) = (rec.account.as_str(), record::record_region(rec));
        let part = match self.parts.iter().position(|p| is_partition(p, account, region)) {
            Some(i) => i,
            None => {
                self.parts.push(format!("{account}/{region}"));
                self.parts.len() - 1
            }
        };
        self.push_at(part, rec.time.timestamp_millis(), data, body);
    }

    /// Adds a record already in its stored form, filed under `part` (`account/region`).
    fn push_stored(&mut self, part: &str, ts: i64, data: bool, body: &[u8]) {
        let part = match self.parts.iter().position(|p| p == part) {
            Some(i) => i,
            None => {
                self.parts.push(part.to_owned());
                self.parts.len() - 1
            }
        };
        self.push_at(part, ts, data, body);
    }

    fn push_at(&mut self, part: usize, ts: i64, data: bool, body: &[u8]) {
        self.bytes.extend_from_slice(body);
        let end = self.bytes.len();
        self.records.push(Meta { part, ts, data, end });
    }

    /// Adds every record of `other`, after this one's.
    fn append(&mut self, other: &Batch) {
        for (part, stream, ts, body) in other.iter() {
            self.push_stored(part, ts, stream == "data", body);
        }
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.records.clear();
        self.parts.clear();
    }

    /// `(partition, stream, time, stored form)` of each record.
    fn iter(&self) -> impl Iterator<Item = (&str, &str, i64, &[u8])> {
        let mut start = 0;
        self.records.iter().map(move |m| {
            let body = &self.bytes[start..m.end];
            start = m.end;
            let stream = if m.data { "data" } else { "management" };
            (self.parts[m.part].as_str(), stream, m.ts, body)
        })
    }
}

/// Whether `part` is `account/region`.
fn is_partition(part: &str, account: &str, region: &str) -> bool {
    part.strip_prefix(account).and_then(|r| r.strip_prefix('/')) == Some(region)
}

/// Records waiting past which the caller writes the buffer itself.
const QUEUE: usize = 65_536;
/// Bytes waiting past which the caller writes the buffer itself.
const QUEUE_BYTES: usize = 64 << 20;
/// How long the writer lets records gather after the first of a batch, in memory: what a
/// batch costs besides its records (a transaction, a block row and its five index entries
/// per partition and stream) is shared by more records the longer it is. On disk a write
/// or a failed call waits only for its event to be journaled, not for the gather.
const GATHER: std::time::Duration = std::time::Duration::from_millis(20);

thread_local! {
    /// The calling thread's buffer for the record being encoded.
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the waiting batch (leaving `spare` in its place) and stores it, after the
    /// records journaled before it.
    fn write_batch(&self, mut pending: MutexGuard<'_, Pending>, spare: &mut Batch) {
        std::mem::swap(&mut pending.batch, spare);
        let mut writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        drop(pending);
        self.store_all(&mut writing, spare);
    }

    /// Takes the waiting batch (leaving `spare` in its place) and journals it; stores it
    /// when there is no journal or it fails.
    fn journal_batch(&self, mut pending: MutexGuard<'_, Pending>, spare: &mut Batch) {
        std::mem::swap(&mut pending.batch, spare);
        let mut writing = self.writing.lock().unwrap_or_else(|e| e.into_inner());
        drop(pending);
        let Writing { journal, staged } = &mut *writing;
        let appended = match journal.as_mut().map(|j| j.append(spare)) {
            Some(Ok(())) => true,
            Some(Err(err)) => {
                tracing::error!(error = %err, n_events = spare.records.len(), "cannot append CloudTrail events to the journal; storing them now");
                false
            }
            None => false,
        };
        if appended {
            staged.append(spare);
            let n = spare.records.len() as u64;
            self.progress.send_modify(|p| p.kept += n);
            spare.clear();
        } else {
            self.store_all(&mut writing, spare);
        }
    }

    /// Stores the journaled records and then `batch`, in one transaction with the number
    /// of the journal's last frame, then empties the journal.
    fn store_all(&self, writing: &mut Writing, batch: &mut Batch) {
        let n = (writing.staged.records.len() + batch.records.len()) as u64;
        if n == 0 {
            return;
        }
        let applied = match &writing.journal {
            Some(j) if !writing.staged.records.is_empty() => Some(j.seq()),
            _ => None,
        };
        // A panic below must not end the writer thread: flushes (LookupEvents) wait on
        // the count of stored records.
        let written = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            write(&self.store, &writing.staged, batch, applied)
        }));
        match written {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                tracing::error!(error = %err, n_events = n, "failed to store CloudTrail events");
            }
            Err(_) => {
                tracing::error!(n_events = n, "storing CloudTrail events panicked");
            }
        }
        if let (Some(journal), Some(_)) = (&mut writing.journal, applied)
            && let Err(err) = journal.clear()
        {
            tracing::error!(error = %err, "cannot empty the CloudTrail journal");
        }
        self.progress.send_modify(|p| {
            p.stored += n;
            p.kept = p.stored;
        });
        writing.staged.clear();
        batch.clear();
    }

    /// The writer thread: waits for records, lets a batch gather, stores it. On disk,
    /// records that callers wait for are journaled as they come, and stored with the
    /// rest when the gather ends.
    fn run(&self) {
        let mut spare = Batch::default();
        // When the records gathering since the last store are to be stored.
        let mut gather_end: Option<std::time::Instant> = None;
        loop {
            let mut pending = self.lock();
            while pending.batch.records.is_empty() && gather_end.is_none() {
                if pending.closed {
                    return;
                }
                pending = self.wake.wait(pending).unwrap_or_else(|e| e.into_inner());
            }
            // One transaction and one wake-up for many records. History and
            // deliveries see a record GATHER later at most; a flush (LookupEvents, the
            // manual clock) ends the wait; a caller waiting for its record to be kept
            // has it journaled.
            let end = *gather_end.get_or_insert_with(|| std::time::Instant::now() + GATHER);
            loop {
                let waited = pending.keep && !pending.batch.records.is_empty();
                if waited || pending.flush || pending.closed {
                    break;
                }
                let left = end.saturating_duration_since(std::time::Instant::now());
                if left.is_zero() {
                    break;
                }
                pending =
                    self.wake.wait_timeout(pending, left).unwrap_or_else(|e| e.into_inner()).0;
            }
            let gathering = !pending.flush && !pending.closed && std::time::Instant::now() < end;
            if pending.keep && gathering {
                pending.keep = false;
                self.journal_batch(pending, &mut spare);
                continue;
            }
            pending.flush = false;
            pending.keep = false;
            gather_end = None;
            self.write_batch(pending, &mut spare);
        }
    }
}

impl Recorder {
    /// A recorder writing into `store` from a writer thread of its own (one thread, so
    /// batches are not handed between tokio's blocking threads at every wake-up).
    pub fn start(store: Store, shaper: Shaper) -> Arc<Self> {
        let journal = store.dir().and_then(|dir| match Journal::open(dir, &store) {
            Ok(journal) => Some(journal),
            Err(err) => {
                tracing::error!(error = %err, "cannot open the CloudTrail journal; calls wait for their events to be stored");
                None
            }
        });
        let shared = Arc::new(Shared {
            pending: Mutex::default(),
            wake: Condvar::new(),
            writing: Mutex::new(Writing { journal, staged: Batch::default() }),
            progress: watch::Sender::new(Progress::default()),
            store: store.clone(),
        });
        let writer = shared.clone();
        let spawned = std::thread::Builder::new()
            .name("cloudtrail-writer".into())
            .spawn(move || writer.run());
        if let Err(err) = &spawned {
            tracing::error!(error = %err, "cannot start the CloudTrail writer; events are written on the request path");
        }
        let interest = Interest::default();
        interest.refresh(&store);
        let durable = store.dir().is_some();
        Arc::new(Self { shared, threaded: spawned.is_ok(), durable, shaper, interest })
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
    }
}

impl AuditSink for Recorder {
    /// Calls an AWS service makes on its own (CloudWatch publishing to SNS, CloudTrail
    /// writing log files) are mamori's plumbing; they are not recorded, as AWS does not
    /// show its own delivery calls in a customer's trail, except a service assuming a
    /// customer's role ([`record::is_shown_service_call`]). Data events (S3 object calls,
    /// Publish...) are recorded only while some logging trail's selectors could select
    /// them: otherwise they cost an ingestion call nothing.
    fn wants(&self, ctx: &mamori_service::Context, service: &str, operation: &str) -> bool {
        let internal = matches!(ctx.principal.kind, mamori_service::PrincipalKind::Service(_))
            && ctx.invoked_by.is_none()
            && !record::is_shown_service_call(service, operation);
        !internal && (!record::is_data_event(service, operation) || self.interest.wants(service))
    }

    fn capture(&self, service: &str, _operation: &str, value: &Value) -> Value {
        data::capture(service, value)
    }

    fn record(&self, rec: &AuditRecord<'_>) -> Kept<'_> {
        // Before the caller sees the answer, so the next data call is recorded.
        if rec.service == "cloudtrail"
            && rec.error.is_none()
            && interest::CHANGING_OPS.contains(&rec.operation)
        {
            self.interest.refresh(&self.shared.store);
        }
        // On disk a call that changes something, or fails (a denial included), is answered
        // once its event is journaled, so the audit of a change or a denial outlives a
        // crash as the change does. In memory nothing survives a crash anyway.
        // GAP: the event of a successful read-only call is stored up to GATHER after its
        // answer, so a crash (kill -9) in that moment loses it; journaling it too cost
        // GetCallerIdentity on disk a third of its throughput (docs/PERFORMANCE.md).
        let keep = self.durable
            && self.threaded
            && (rec.error.is_some() || !record::is_read_only(rec.operation));
        // Shaped and serialized here, while the call's data is hot in this core's cache
        // and borrowed from the call; the writer only inserts.
        let ticket = SCRATCH.with_borrow_mut(|body| {
            body.clear();
            let data = encode(rec, &self.shaper, body);
            let mut pending = self.shared.lock();
            let was_empty = pending.batch.records.is_empty();
            pending.batch.push(rec, data, body);
            pending.handed += 1;
            let ticket = pending.handed;
            let full =
                pending.batch.records.len() >= QUEUE || pending.batch.bytes.len() >= QUEUE_BYTES;
            if full || !self.threaded {
                self.shared.write_batch(pending, &mut Batch::default());
            } else if keep {
                // The caller waits for this record: the writer journals it at once.
                pending.keep = true;
                drop(pending);
                self.shared.wake.notify_one();
            } else if was_empty {
                drop(pending);
                self.shared.wake.notify_one();
            }
            // A record far larger than most would keep its storage on this thread.
            if body.capacity() > 1 << 20 {
                *body = Vec::new();
            }
            ticket
        });
        // The callers that arrive while a batch is being journaled form the next one (a
        // group commit).
        if keep { Kept::when(self.progress(ticket, |p| p.kept)) } else { Kept::now() }
    }

    fn flush(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + '_>> {
        Box::pin(self.flush_queue())
    }
}

impl Recorder {
    async fn flush_queue(&self) {
        let target = {
            let mut pending = self.shared.lock();
            pending.flush = true;
            pending.handed
        };
        self.shared.wake.notify_one();
        self.progress(target, |p| p.stored).await;
    }

    /// Resolves once `which` count of the records handed over reaches `count`.
    async fn progress(&self, count: u64, which: fn(&Progress) -> u64) {
        let mut progress = self.shared.progress.subscribe();
        let _ = progress.wait_for(|p| which(p) >= count).await;
    }
}

/// The journal frames a start-up reads at the start of `bytes` (up to the first cut or
/// corrupt one), encoded again: for the journal's fuzz target, whose property is that
/// they are exactly the bytes read.
#[doc(hidden)]
pub fn reencode_journal(bytes: &[u8]) -> Vec<u8> {
    journal::reencode(bytes)
}

/// The shaped parts of a record's event.
fn shape(rec: &AuditRecord<'_>, shaper: &Shaper, data: bool) -> Shaped {
    // Read-only calls have no responseElements: their output is not shaped.
    let output = rec.output.filter(|_| record::response_recorded(rec.service, rec.operation));
    let model = || shaper(rec.service, rec.operation, rec.input, output);
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
pub fn encode(rec: &AuditRecord<'_>, shaper: &Shaper, out: &mut Vec<u8>) -> bool {
    let data = record::is_data_event(rec.service, rec.operation);
    let shaped = shape(rec, shaper, data);
    let mut id_buf = uuid::Uuid::encode_buffer();
    let event_id: &str = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut id_buf);
    let time = record::EventTime::new(rec.time);
    let source = record::event_source(rec.service);
    EventHeader {
        event_id,
        event_name: record::event_name(rec.service, rec.operation),
        event_source: &source,
        read_only: record::is_read_only(rec.operation),
        access_key_id: rec.principal.access_key_id.as_deref().unwrap_or_default(),
        username: record::username(rec),
        data,
    }
    .encode(out);
    record::event(rec, &shaped, event_id, time.as_str(), &source).write_json(out);
    data
}

/// Stores the journaled records, then a batch: one block per partition and stream (a few
/// rows, however many events), and the number of the last frame journaled, if any.
// GAP: recording costs about 2 to 4 µs of a 25 to 30 µs GetCallerIdentity call, near the
// 10 % target (docs/PERFORMANCE.md): about 1.2 µs here (writing some 800 bytes of JSON,
// compressing the blocks and keeping them), the rest the request path slowed by sharing
// the cores and caches; LZ4 is the largest part left, about 0.3 µs.
fn write(
    store: &Store,
    staged: &Batch,
    batch: &Batch,
    applied: Option<u64>,
) -> Result<(), mamori_store::StoreError> {
    // Compressed before taking the store, which request threads share.
    let packed = crate::state::EVENTS.pack_raw(staged.iter().chain(batch.iter()));
    store.write(|tx| journal::store_applied(tx, &packed, applied))
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;
    use mamori_aws::{AccountId, Region};
    use mamori_service::Principal;
    use serde_json::json;

    use std::future::IntoFuture;

    use super::*;
    use mamori_store::BlockRecord;

    use crate::state::{EVENTS, StoredEvent};

    /// What the records of a test borrow: a root caller of account 111122223333.
    struct Caller {
        account: AccountId,
        principal: Principal,
        region: Region,
        input: Value,
    }

    impl Caller {
        fn new() -> Self {
            let account = AccountId::parse("111122223333").unwrap();
            let principal = Principal::root(account.clone());
            let region = Region::parse("eu-west-1").unwrap();
            Self { account, principal, region, input: json!({}) }
        }

        /// A successful call of SNS `operation` (a global service would file it in
        /// us-east-1).
        fn sns(&self, operation: &'static str) -> AuditRecord<'_> {
            AuditRecord {
                service: "sns",
                operation,
                account: &self.account,
                principal: &self.principal,
                region: &self.region,
                source_ip: "127.0.0.1",
                user_agent: "test",
                request_id: "rid",
                time: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
                input: &self.input,
                output: None,
                error: None,
                invoked_by: None,
                internal: false,
            }
        }
    }

    fn recorder(store: &Store) -> Arc<Recorder> {
        Recorder::start(store.clone(), Arc::new(|_, _, _, _| (Value::Null, Value::Null)))
    }

    /// The events stored in `part`.
    fn count(store: &Store, part: &str) -> usize {
        store
            .read(|tx| EVENTS.range(tx, part, &[], i64::MIN, i64::MAX, None, 1000, false))
            .unwrap()
            .len()
    }

    const PART: &str = "111122223333/eu-west-1";

    #[tokio::test]
    async fn a_flush_sees_every_record_handed_over_stored() {
        let store = Store::in_memory().unwrap();
        let recorder = recorder(&store);
        let caller = Caller::new();
        let west = Region::parse("us-west-2").unwrap();
        let base = caller.sns("CreateTopic");
        for i in 0..300 {
            let region = if i % 3 == 0 { &west } else { base.region };
            recorder.record(&AuditRecord { region, ..base }).await;
        }
        // Well within the writer's gather wait: the flush ends it.
        tokio::time::timeout(std::time::Duration::from_secs(5), recorder.flush())
            .await
            .expect("flushed");
        assert_eq!(count(&store, PART), 200);
        assert_eq!(count(&store, "111122223333/us-west-2"), 100);
    }

    #[tokio::test]
    async fn on_disk_a_record_is_kept_before_its_call_is_answered() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let recorder = recorder(&store);
        let caller = Caller::new();
        let rec = caller.sns("CreateTopic");
        // Kept: in the journal (the writer stores it once the gather ends) or stored.
        let kept = || {
            let journal = std::fs::read(dir.path().join(journal::FILE)).unwrap();
            let journaled: usize =
                journal::frames(&journal).iter().map(|(_, b)| b.records.len()).sum();
            journaled + count(&store, PART)
        };
        for n in 1..=5 {
            // Well within the writer's gather wait: the record ends it.
            let call = recorder.record(&rec).into_future();
            tokio::time::timeout(std::time::Duration::from_secs(5), call).await.expect("kept");
            assert_eq!(kept(), n, "kept when the call may be answered");
        }
        // Calls made together share a frame; each is answered once its record is kept.
        let calls: Vec<_> = (0..20).map(|_| recorder.record(&rec)).collect();
        for call in calls {
            call.await;
        }
        assert_eq!(kept(), 25);
        // A failed read waits too; a successful one does not (its event gathers).
        let denied =
            AuditRecord { operation: "ListTopics", error: Some(("AccessDenied", "no")), ..rec };
        recorder.record(&denied).await;
        assert_eq!(kept(), 26);
        let read = caller.sns("ListTopics");
        let call = recorder.record(&read).into_future();
        assert!(
            tokio::time::timeout(std::time::Duration::ZERO, call).await.is_ok(),
            "answered at once"
        );
        recorder.flush().await;
        assert_eq!(count(&store, PART), 27, "a flush stores every record");
        assert_eq!(kept(), 27, "and empties the journal");
    }

    #[tokio::test]
    async fn without_its_journal_a_call_waits_for_its_record_to_be_stored() {
        let dir = tempfile::tempdir().unwrap();
        // A directory where the journal's file should be: the journal cannot open.
        std::fs::create_dir(dir.path().join(journal::FILE)).unwrap();
        let store = Store::open(dir.path()).unwrap();
        let recorder = recorder(&store);
        let caller = Caller::new();
        for n in 1..=3 {
            let call = recorder.record(&caller.sns("DeleteTopic")).into_future();
            tokio::time::timeout(std::time::Duration::from_secs(5), call).await.expect("kept");
            assert_eq!(count(&store, PART), n, "stored when the call may be answered");
        }
    }

    #[test]
    fn encoded_events_read_back_as_stored_events() {
        let account = AccountId::parse("111122223333").unwrap();
        let mut principal = Principal::root(account.clone());
        principal.access_key_id = Some("AKIAEXAMPLE".into());
        let region = Region::parse("eu-west-1").unwrap();
        let input =
            data::capture("s3", &json!({"Bucket": "b", "Key": "a/k.txt", "Body": "aGVsbG8="}));
        let output = json!({"ETag": "\"x\""});
        let rec = AuditRecord {
            service: "s3",
            operation: "PutObject",
            account: &account,
            principal: &principal,
            region: &region,
            source_ip: "127.0.0.1",
            user_agent: "aws-cli/2",
            request_id: "rid",
            time: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            input: &input,
            output: Some(&output),
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
        let mut batch = Batch::default();
        batch.push(&rec, true, &body);
        batch.push(&rec, false, b"second");
        let stored: Vec<_> = batch.iter().collect();
        assert_eq!(stored[0], ("111122223333/eu-west-1", "data", 1_700_000_000_000, &body[..]));
        assert_eq!(stored[1].1, "management");
        assert_eq!(stored[1].3, b"second");
        assert_eq!(batch.parts.len(), 1, "one partition for both");
        assert!(!is_partition("111122223333/eu-west-1x", "111122223333", "eu-west-1"));
    }
}
