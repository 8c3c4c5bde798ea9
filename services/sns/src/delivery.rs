//! The delivery queue and its workers, following
//! <https://docs.aws.amazon.com/sns/latest/dg/sns-message-delivery-retries.html> and
//! <https://docs.aws.amazon.com/sns/latest/dg/SendMessageToHttp.prepare.html>.
//!
//! Every delivery is written to the store in the transaction that accepts the Publish
//! (or Subscribe), so it survives a crash. After the commit its first attempt starts
//! at once on a tokio task; a failed attempt is rewritten with its next due time on
//! the server clock, and the scheduler task picks up due deliveries every second (and
//! every pending delivery after a restart). A status outside 200-499 or no answer
//! within 15 seconds is a failure, retried per the effective delivery policy; a 4xx
//! counts as delivered, as in AWS. At most [`MAX_CONCURRENT`] attempts run at once and
//! at most [`MAX_PER_ENDPOINT`] to one endpoint, so a slow endpoint holds only its own
//! attempts, never the others'.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use mamori_aws::AwsError;
use mamori_service::Dispatcher;
use mamori_store::{Store, Tx};
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::{Deserialize, Serialize};
use tokio::sync::{Semaphore, mpsc};

use crate::delivery_policy::RetryPolicy;
use crate::state::{DELIVERIES, QUEUE_PART, db};

/// Attempts in flight at once.
pub const MAX_CONCURRENT: usize = 512;
/// Attempts in flight at once to one endpoint (scheme, host and port), so that a
/// hanging endpoint holds at most this many of the [`MAX_CONCURRENT`].
pub const MAX_PER_ENDPOINT: usize = 32;
/// Deliveries waiting at most; a Publish beyond this is throttled.
pub const MAX_PENDING: i64 = 100_000;
/// How long one attempt may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(15);

/// One pending delivery of one message to one endpoint.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// Unique id.
    pub id: String,
    /// The subscription.
    pub subscription_arn: String,
    /// The topic.
    pub topic_arn: String,
    /// `http` or `https`.
    pub protocol: String,
    /// The URL.
    pub endpoint: String,
    /// `Notification`, `SubscriptionConfirmation`, `UnsubscribeConfirmation`.
    pub message_type: String,
    /// The SNS message id.
    pub message_id: String,
    /// Raw message delivery (adds `x-amz-sns-rawdelivery: true`).
    pub raw: bool,
    /// The Content-Type header.
    pub content_type: String,
    /// The body, signed when it is a JSON document.
    pub body: String,
    /// Attempts made so far.
    pub attempts: u32,
    /// The retry policy.
    pub policy: RetryPolicy,
    /// When the next attempt is due (epoch millis, server clock).
    pub due_ms: i64,
}

impl Delivery {
    /// The queue key: by due time, then id.
    pub fn key(&self) -> String {
        format!("{:015}-{}", self.due_ms.max(0), self.id)
    }
}

/// What one attempt gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Delivered(u16),
    /// 4xx: the endpoint refused it; AWS does not retry these.
    Refused(u16),
    /// 5xx, a connection failure or a timeout.
    Failed(String),
}

/// The queue's in-memory side: the attempts in flight and the HTTP client.
pub struct Deliverer {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    // Deliveries being attempted, or finished but not yet deleted from the store, so
    // the scheduler never starts a second attempt of the same one.
    in_flight: Mutex<HashSet<String>>,
    limit: Arc<Semaphore>,
    per_endpoint: Mutex<HashMap<String, Arc<Semaphore>>>,
    pending: AtomicI64,
    pending_loaded: OnceLock<()>,
    done: OnceLock<mpsc::UnboundedSender<(String, String)>>,
}

impl std::fmt::Debug for Deliverer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer").finish_non_exhaustive()
    }
}

impl Default for Deliverer {
    fn default() -> Self {
        Self::with_roots(webpki_roots()).unwrap_or_else(|e| panic!("the Mozilla root set: {e}"))
    }
}

/// The Mozilla root certificates (the `webpki-roots` set), which https endpoints must
/// chain to, as SNS requires a certificate from a trusted authority.
fn webpki_roots() -> RootCertStore {
    RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }
}

impl Deliverer {
    /// A deliverer that also trusts the PEM certificates in `pem` for https endpoints
    /// (a private CA for endpoints inside a test network).
    pub fn with_extra_roots(pem: &[u8]) -> Result<Self, String> {
        let mut roots = webpki_roots();
        let mut n = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("not a PEM certificate: {e}"))?;
            roots.add(cert).map_err(|e| format!("unusable CA certificate: {e}"))?;
            n += 1;
        }
        if n == 0 {
            return Err("no PEM certificate found".into());
        }
        Self::with_roots(roots)
    }

    fn with_roots(roots: RootCertStore) -> Result<Self, String> {
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(ATTEMPT_TIMEOUT));
        connector.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Self {
            client,
            in_flight: Mutex::new(HashSet::new()),
            limit: Arc::new(Semaphore::new(MAX_CONCURRENT)),
            per_endpoint: Mutex::new(HashMap::new()),
            pending: AtomicI64::new(0),
            pending_loaded: OnceLock::new(),
            done: OnceLock::new(),
        })
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<String>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn load_pending(&self, store: &Store) -> Result<(), AwsError> {
        if self.pending_loaded.get().is_none() {
            let n = store.read(|tx| DELIVERIES.count(tx, QUEUE_PART)).map_err(db)?;
            self.pending.store(i64::try_from(n).unwrap_or(i64::MAX), Ordering::SeqCst);
            let _ = self.pending_loaded.set(());
        }
        Ok(())
    }

    /// Forgets the in-memory state after a store reset.
    pub fn reset(&self) {
        self.in_flight().clear();
        self.pending.store(0, Ordering::SeqCst);
    }

    /// Checks that `n` more deliveries fit in the queue.
    pub fn check_capacity(&self, store: &Store, n: usize) -> Result<(), AwsError> {
        self.load_pending(store)?;
        let n = i64::try_from(n).unwrap_or(i64::MAX);
        if self.pending.load(Ordering::SeqCst).saturating_add(n) > MAX_PENDING {
            return Err(AwsError::new(
                "ThrottledException",
                "Rate exceeded: the delivery queue is full",
            ));
        }
        Ok(())
    }

    /// Writes `deliveries` in the caller's transaction.
    pub fn enqueue(&self, tx: &Tx<'_>, deliveries: &[Delivery]) -> Result<(), AwsError> {
        for d in deliveries {
            DELIVERIES.put(tx, QUEUE_PART, &d.key(), d).map_err(db)?;
        }
        Ok(())
    }

    /// Starts the first attempts of `deliveries`, committed by the caller.
    pub fn start(self: &Arc<Self>, dispatcher: &Arc<Dispatcher>, deliveries: Vec<Delivery>) {
        self.pending.fetch_add(i64::try_from(deliveries.len()).unwrap_or(0), Ordering::SeqCst);
        for d in deliveries {
            self.spawn(dispatcher, d);
        }
    }

    fn spawn(
        self: &Arc<Self>,
        dispatcher: &Arc<Dispatcher>,
        d: Delivery,
    ) -> tokio::task::JoinHandle<()> {
        self.in_flight().insert(d.id.clone());
        let me = self.clone();
        let dispatcher = dispatcher.clone();
        tokio::spawn(async move { me.run(&dispatcher, d).await })
    }

    /// Runs the attempts of one delivery until it is delivered, given up, or due later.
    async fn run(self: &Arc<Self>, dispatcher: &Arc<Dispatcher>, mut d: Delivery) {
        loop {
            let outcome = {
                let endpoint = self.endpoint_limit(&d.endpoint);
                match (endpoint.acquire_owned().await, self.limit.clone().acquire_owned().await) {
                    (Ok(_mine), Ok(_all)) => self.attempt(&d).await,
                    _ => Outcome::Failed("the delivery pool is closed".into()),
                }
            };
            d.attempts += 1;
            let old_key = d.key();
            match &outcome {
                Outcome::Delivered(status) => {
                    tracing::info!(
                        sub = %d.subscription_arn, msg = %d.message_id, kind = %d.message_type,
                        status, attempts = d.attempts, "delivered"
                    );
                }
                Outcome::Refused(status) => {
                    tracing::warn!(
                        sub = %d.subscription_arn, msg = %d.message_id, endpoint = %d.endpoint,
                        status, "endpoint refused the delivery; not retried"
                    );
                }
                Outcome::Failed(why) => {
                    if let Some(delay) = d.policy.delay_before_retry(d.attempts) {
                        tracing::info!(
                            sub = %d.subscription_arn, msg = %d.message_id, endpoint = %d.endpoint,
                            error = %why, attempts = d.attempts, retry_in_s = delay,
                            "delivery failed; will retry"
                        );
                        if delay == 0 {
                            continue;
                        }
                        let now = dispatcher.clock().now();
                        // Due times are whole seconds (rounded down), the resolution of
                        // the scheduler task, so a retry "in 20 s" runs at the tick 20 s on.
                        let due = now.timestamp_millis() + i64::from(delay) * 1000;
                        d.due_ms = due - due.rem_euclid(1000);
                        let res = dispatcher.store().write(|tx| {
                            DELIVERIES.delete(tx, QUEUE_PART, &old_key)?;
                            DELIVERIES.put(tx, QUEUE_PART, &d.key(), &d)
                        });
                        if let Err(e) = res {
                            tracing::error!(error = %e, sub = %d.subscription_arn, "cannot reschedule a delivery");
                        }
                        self.in_flight().remove(&d.id);
                        return;
                    }
                    tracing::warn!(
                        sub = %d.subscription_arn, msg = %d.message_id, endpoint = %d.endpoint,
                        error = %why, attempts = d.attempts,
                        "delivery failed and the retry policy is exhausted; message dropped"
                    );
                    // GAP: RedrivePolicy is stored but messages are not sent to a
                    // dead-letter queue (SQS is not in mamori yet): they are dropped.
                }
            }
            self.finish(old_key, d.id);
            return;
        }
    }

    /// Deletes a finished delivery. Deletions are batched into one transaction by a
    /// background task, so delivering to many subscribers costs one commit, not one each.
    fn finish(self: &Arc<Self>, key: String, id: String) {
        let Some(tx) = self.done.get() else {
            tracing::error!(delivery = %id, "the deletion task is not running; delivery stays queued");
            return;
        };
        if let Err(mpsc::error::SendError((_, id))) = tx.send((key, id)) {
            tracing::error!(delivery = %id, "the deletion task is gone; delivery stays queued");
        }
    }

    /// Starts the task that deletes finished deliveries.
    pub fn start_reaper(self: &Arc<Self>, store: Store) {
        if self.done.get().is_some() {
            return;
        }
        let (tx, mut rx) = mpsc::unbounded_channel::<(String, String)>();
        if self.done.set(tx).is_err() {
            return;
        }
        let me = self.clone();
        tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < 1000 {
                    match rx.try_recv() {
                        Ok(item) => batch.push(item),
                        Err(_) => break,
                    }
                }
                let store = store.clone();
                let keys: Vec<String> = batch.iter().map(|(k, _)| k.clone()).collect();
                let res = tokio::task::spawn_blocking(move || {
                    store.write(|tx| {
                        for key in &keys {
                            DELIVERIES.delete(tx, QUEUE_PART, key)?;
                        }
                        Ok::<_, mamori_store::StoreError>(())
                    })
                })
                .await;
                if !matches!(res, Ok(Ok(()))) {
                    tracing::error!("cannot delete finished deliveries; they will be retried");
                }
                me.pending.fetch_sub(i64::try_from(batch.len()).unwrap_or(0), Ordering::SeqCst);
                let mut in_flight = me.in_flight();
                for (_, id) in &batch {
                    in_flight.remove(id);
                }
            }
        });
    }

    /// Starts every delivery due at `now` that is not in flight; with `wait`, returns
    /// only when their attempts are done (the manual clock, so tests see retries happen
    /// at the instant they advance to).
    pub async fn run_due(
        self: &Arc<Self>,
        dispatcher: &Arc<Dispatcher>,
        now: DateTime<Utc>,
        wait: bool,
    ) {
        let now_ms = now.timestamp_millis();
        let mut after: Option<String> = None;
        let mut handles = Vec::new();
        'pages: loop {
            let page = match dispatcher
                .store()
                .read(|tx| DELIVERIES.scan(tx, QUEUE_PART, "", after.as_deref(), 200))
            {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the delivery queue");
                    return;
                }
            };
            let full = page.len() == 200;
            for (key, d) in page {
                if d.due_ms > now_ms {
                    break 'pages;
                }
                after = Some(key);
                if self.in_flight().contains(&d.id) {
                    continue;
                }
                handles.push(self.spawn(dispatcher, d));
            }
            if !full {
                break;
            }
        }
        if wait {
            for h in handles {
                let _ = h.await;
            }
        }
    }

    fn endpoint_limit(&self, endpoint: &str) -> Arc<Semaphore> {
        let authority = endpoint
            .parse::<http::Uri>()
            .ok()
            .and_then(|u| u.authority().map(|a| a.as_str().to_ascii_lowercase()))
            .unwrap_or_default();
        let mut map = self.per_endpoint.lock().unwrap_or_else(|e| e.into_inner());
        // Forget idle endpoints now and then so the map stays small.
        if map.len() > 10_000 {
            map.retain(|_, s| s.available_permits() < MAX_PER_ENDPOINT);
        }
        map.entry(authority).or_insert_with(|| Arc::new(Semaphore::new(MAX_PER_ENDPOINT))).clone()
    }

    /// One POST.
    async fn attempt(&self, d: &Delivery) -> Outcome {
        let mut req = http::Request::builder()
            .method("POST")
            .uri(&d.endpoint)
            .header("content-type", &d.content_type)
            .header("user-agent", "Amazon Simple Notification Service Agent")
            .header("x-amz-sns-message-type", &d.message_type)
            .header("x-amz-sns-message-id", &d.message_id)
            .header("x-amz-sns-topic-arn", &d.topic_arn);
        if d.message_type == "Notification" {
            req = req.header("x-amz-sns-subscription-arn", &d.subscription_arn);
        }
        if d.raw {
            req = req.header("x-amz-sns-rawdelivery", "true");
        }
        let req = match req.body(Full::new(Bytes::from(d.body.clone()))) {
            Ok(r) => r,
            Err(e) => return Outcome::Failed(format!("invalid endpoint: {e}")),
        };
        let call = async {
            let resp = self.client.request(req).await.map_err(|e| format!("{e:?}"))?;
            let status = resp.status().as_u16();
            // Read the body so the connection goes back to the pool.
            let _ = resp.into_body().collect().await;
            Ok::<_, String>(status)
        };
        match tokio::time::timeout(ATTEMPT_TIMEOUT, call).await {
            Err(_) => Outcome::Failed("no answer within 15 seconds".into()),
            Ok(Err(e)) => Outcome::Failed(e),
            Ok(Ok(status)) if (200..300).contains(&status) => Outcome::Delivered(status),
            Ok(Ok(status)) if (300..500).contains(&status) => Outcome::Refused(status),
            Ok(Ok(status)) => Outcome::Failed(format!("HTTP {status}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_sort_by_due_time() {
        let mut d = Delivery {
            id: "b".into(),
            subscription_arn: String::new(),
            topic_arn: String::new(),
            protocol: "http".into(),
            endpoint: String::new(),
            message_type: "Notification".into(),
            message_id: String::new(),
            raw: false,
            content_type: String::new(),
            body: String::new(),
            attempts: 0,
            policy: RetryPolicy::default(),
            due_ms: 9_000,
        };
        let k1 = d.key();
        d.due_ms = 10_000;
        d.id = "a".into();
        assert!(k1 < d.key());
    }
}
