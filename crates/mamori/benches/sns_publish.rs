//! SNS load benchmark: Publish throughput to a topic with 10 HTTP subscribers on
//! loopback, and the latency from sending a Publish to each subscriber receiving the
//! notification. It drives a running mamori binary (release by default) over real
//! HTTP with SigV4-signed query requests; the baseline in the same run is Publish to
//! a topic without subscribers.
//!
//! Run: `cargo build --release --bin mamori && cargo bench -p mamori --bench sns_publish`
//! (`MAMORI_BIN` picks another binary, `SNS_BENCH_SECONDS` the length of each phase).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use sha2::{Digest, Sha256};

type HttpClient = Client<HttpConnector, Full<Bytes>>;

const SUBSCRIBERS: usize = 10;
const CONCURRENCY: usize = 8;

/// What the subscribers saw: confirmation links and notification arrival times.
#[derive(Default)]
struct Seen {
    subscribe_urls: Vec<String>,
    arrivals: Vec<(u64, Instant)>,
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// A signed `POST /` query request to SNS.
fn signed_request(base: &str, host: &str, body: String) -> http::Request<Full<Bytes>> {
    let now = chrono::Utc::now();
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let date = &amz_date[..8];
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let payload_hash = hex(&Sha256::digest(body.as_bytes()));
    let canonical = format!(
        "POST\n/\n\ncontent-type:{content_type}\nhost:{host}\nx-amz-date:{amz_date}\n\ncontent-type;host;x-amz-date\n{payload_hash}"
    );
    let scope = format!("{date}/us-east-1/sns/aws4_request");
    let to_sign =
        format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex(&Sha256::digest(canonical)));
    let key = ["us-east-1", "sns", "aws4_request"]
        .iter()
        .fold(hmac(b"AWS4test", date), |k, part| hmac(&k, part));
    let signature = hex(&hmac(&key, &to_sign));
    http::Request::post(format!("{base}/"))
        .header("content-type", content_type)
        .header("host", host)
        .header("x-amz-date", &amz_date)
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=test/{scope}, SignedHeaders=content-type;host;x-amz-date, Signature={signature}"
            ),
        )
        .body(Full::new(Bytes::from(body)))
        .expect("valid request")
}

async fn call(client: &HttpClient, base: &str, host: &str, pairs: &[(&str, &str)]) -> String {
    let mut all = vec![("Version", "2010-03-31")];
    all.extend_from_slice(pairs);
    let resp = client.request(signed_request(base, host, form_encode(&all))).await.expect("call");
    let status = resp.status();
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    let text = String::from_utf8_lossy(&body).into_owned();
    assert!(status.is_success(), "{status}: {text}");
    text
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).map(|i| i + start.len()).expect("start tag");
    &text[from..from + text[from..].find(end).expect("end tag")]
}

async fn subscriber(seen: Arc<Mutex<Seen>>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { return };
            let _ = stream.set_nodelay(true);
            let seen = seen.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(move |req: http::Request<_>| {
                    let seen = seen.clone();
                    async move {
                        let kind = req
                            .headers()
                            .get("x-amz-sns-message-type")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned();
                        let body: Bytes = BodyExt::collect(req.into_body())
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let at = Instant::now();
                        let doc: serde_json::Value =
                            serde_json::from_slice(&body).unwrap_or_default();
                        let mut seen = seen.lock().expect("lock");
                        if kind == "SubscriptionConfirmation" {
                            seen.subscribe_urls
                                .push(doc["SubscribeURL"].as_str().unwrap_or_default().to_owned());
                        } else if let Some(seq) =
                            doc["Message"].as_str().and_then(|m| m.parse::<u64>().ok())
                        {
                            seen.arrivals.push((seq, at));
                        }
                        Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::new())))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    port
}

struct Run {
    published: usize,
    elapsed: Duration,
    latencies_ms: Vec<f64>,
}

/// Publishes for `secs` with `concurrency` callers; returns what arrived.
// The knobs of one bench phase, each passed once; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
async fn run(
    client: &HttpClient,
    base: &str,
    host: &str,
    topic: &str,
    concurrency: usize,
    secs: f64,
    seen: &Arc<Mutex<Seen>>,
    expect_per_message: usize,
) -> Run {
    seen.lock().expect("lock").arrivals.clear();
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let counter = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(secs);
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, base, host, topic) =
            (client.clone(), base.to_owned(), host.to_owned(), topic.to_owned());
        let (sent, counter) = (sent.clone(), counter.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                let seq = counter.fetch_add(1, Ordering::SeqCst) as u64;
                let msg = seq.to_string();
                sent.lock().expect("lock").insert(seq, Instant::now());
                call(
                    &client,
                    &base,
                    &host,
                    &[("Action", "Publish"), ("TopicArn", &topic), ("Message", &msg)],
                )
                .await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("publisher");
    }
    let elapsed = start.elapsed();
    let published = counter.load(Ordering::SeqCst);
    let want = published * expect_per_message;
    let wait_until = Instant::now() + Duration::from_secs(30);
    while seen.lock().expect("lock").arrivals.len() < want && Instant::now() < wait_until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent = sent.lock().expect("lock");
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.arrivals.len(), want, "every notification arrives exactly once");
    let mut latencies_ms: Vec<f64> = seen
        .arrivals
        .iter()
        .filter_map(|(seq, at)| sent.get(seq).map(|s| at.duration_since(*s).as_secs_f64() * 1000.0))
        .collect();
    latencies_ms.sort_by(f64::total_cmp);
    Run { published, elapsed, latencies_ms }
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, r: &Run) {
    let rate = r.published as f64 / r.elapsed.as_secs_f64();
    let deliveries = r.latencies_ms.len() as f64 / r.elapsed.as_secs_f64();
    println!(
        "{name:<44} {:>7} publishes {rate:>8.0} publish/s {deliveries:>8.0} deliveries/s  latency p50 {:>6.2} ms p99 {:>7.2} ms",
        r.published,
        pct(&r.latencies_ms, 0.5),
        pct(&r.latencies_ms, 0.99),
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(bench());
}

async fn bench() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let bin = std::env::var("MAMORI_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| root.join("target/release/mamori"));
    let secs: f64 =
        std::env::var("SNS_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10.0);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let data = std::env::temp_dir().join(format!("mamori-sns-bench-{}", std::process::id()));
    let mut server = std::process::Command::new(&bin)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--log", "warn"])
        .arg("--data-dir")
        .arg(&data)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let host = format!("127.0.0.1:{port}");
    let base = format!("http://{host}");
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    for _ in 0..200 {
        let health = http::Request::get(format!("{base}/_mamori/health"))
            .body(Full::new(Bytes::new()))
            .expect("req");
        if client.request(health).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let empty =
        call(&client, &base, &host, &[("Action", "CreateTopic"), ("Name", "bench-empty")]).await;
    let empty = between(&empty, "<TopicArn>", "</TopicArn>").to_owned();
    let topic = call(&client, &base, &host, &[("Action", "CreateTopic"), ("Name", "bench")]).await;
    let topic = between(&topic, "<TopicArn>", "</TopicArn>").to_owned();
    for _ in 0..SUBSCRIBERS {
        let port = subscriber(seen.clone()).await;
        let endpoint = format!("http://127.0.0.1:{port}/");
        call(
            &client,
            &base,
            &host,
            &[
                ("Action", "Subscribe"),
                ("TopicArn", &topic),
                ("Protocol", "http"),
                ("Endpoint", &endpoint),
            ],
        )
        .await;
    }
    while seen.lock().expect("lock").subscribe_urls.len() < SUBSCRIBERS {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let urls = seen.lock().expect("lock").subscribe_urls.clone();
    for url in urls {
        let resp = client
            .request(http::Request::get(url).body(Full::new(Bytes::new())).expect("req"))
            .await
            .expect("confirm");
        assert!(resp.status().is_success());
    }
    println!(
        "machine: {} cores; phases of {secs} s; binary {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        bin.display()
    );
    let base_run = run(&client, &base, &host, &empty, CONCURRENCY, secs, &seen, 0).await;
    report(&format!("baseline: Publish, 0 subscribers, {CONCURRENCY} callers"), &base_run);
    let one = run(&client, &base, &host, &topic, 1, secs, &seen, SUBSCRIBERS).await;
    report(&format!("Publish, {SUBSCRIBERS} http subscribers, 1 caller"), &one);
    let many = run(&client, &base, &host, &topic, CONCURRENCY, secs, &seen, SUBSCRIBERS).await;
    report(&format!("Publish, {SUBSCRIBERS} http subscribers, {CONCURRENCY} callers"), &many);
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&data);
}
