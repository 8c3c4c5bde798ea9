//! `mamori cloudtrail import`: reads real CloudTrail log files (`.json` or `.json.gz`
//! as AWS delivers them, `{"Records": [...]}`), and sends their records to a running
//! server, which stores them in event history; trails then deliver them to their log
//! groups like any other event, so metric filters and alarms see the replayed activity.
//!
//! A reader thread reads, gunzips and splits each file into its records as raw JSON
//! text (`&RawValue`, never building a `serde_json::Value`), and packs them into request
//! bodies of one record per line (NDJSON), which the server splits without reading their
//! JSON a second time; the main thread keeps a few signed requests in flight, so
//! reading, the network and the server's work overlap.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// Options of `mamori cloudtrail import`.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// Log files or directories (searched recursively for *.json and *.json.gz).
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// The server to import into.
    #[arg(long, env = "MAMORI_ENDPOINT", default_value = "http://127.0.0.1:4566")]
    pub endpoint: String,
    /// Shift every event so the newest one happens now, keeping the spacing between them.
    #[arg(long)]
    pub rebase_time: bool,
    /// Access key id of the root user of the server.
    #[arg(long, env = "MAMORI_ACCESS_KEY_ID", default_value = "test")]
    pub access_key_id: String,
    /// Secret access key of the root user of the server.
    #[arg(long, env = "MAMORI_SECRET_ACCESS_KEY", default_value = "test", hide_env_values = true)]
    pub secret_access_key: String,
    /// Records per request.
    #[arg(long, default_value_t = 5000)]
    pub batch: usize,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 2)]
    pub parallel: usize,
}

/// Files named on the command line are read whatever their name; inside directories
/// only `*.json` and `*.json.gz` are.
fn collect(path: &Path, out: &mut Vec<PathBuf>, named: bool) -> anyhow::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for entry in entries {
            collect(&entry, out, false)?;
        }
    } else {
        let name = path.to_string_lossy();
        if named || name.ends_with(".json") || name.ends_with(".json.gz") {
            out.push(path.to_owned());
        }
    }
    Ok(())
}

/// Reads one log file into its text (gunzipped when it is gzip).
fn read_text(path: &Path) -> Result<String, String> {
    let raw = std::fs::read(path).map_err(|e| e.to_string())?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::with_capacity(raw.len() * 8);
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| format!("gzip: {e}"))?;
        out
    } else {
        raw
    };
    String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))
}

/// A log file's document, its records left as raw JSON text.
#[derive(Deserialize)]
struct LogFile<'a> {
    #[serde(rename = "Records", borrow)]
    records: Option<Vec<&'a RawValue>>,
}

/// The records of a log file's text, or what is wrong with it (with the line and column
/// of a JSON error).
fn split_records(text: &str) -> Result<Vec<&RawValue>, String> {
    let doc: LogFile<'_> = serde_json::from_str(text).map_err(|e| {
        let (line, column) = (e.line(), e.column());
        let why = e.to_string();
        let why = why.strip_suffix(&format!(" at line {line} column {column}")).unwrap_or(&why);
        format!("line {line}, column {column}: {why}")
    })?;
    doc.records.ok_or_else(|| "not a CloudTrail log file: no \"Records\" list".into())
}

/// Just the `eventTime` of a record, for `--rebase-time`.
#[derive(Deserialize)]
struct TimeOnly<'a> {
    #[serde(rename = "eventTime", borrow)]
    event_time: Option<std::borrow::Cow<'a, str>>,
}

fn newest_time(records: &[&RawValue]) -> Option<DateTime<Utc>> {
    records
        .iter()
        .filter_map(|r| serde_json::from_str::<TimeOnly<'_>>(r.get()).ok())
        .filter_map(|t| DateTime::parse_from_rfc3339(t.event_time.as_deref()?).ok())
        .map(|t| t.with_timezone(&Utc))
        .max()
}

/// Most bytes of records in one request body.
const MAX_BODY: usize = 16 << 20;

/// One request body (a record per line) and where its records came from, to report
/// rejections by file.
struct Batch {
    body: Vec<u8>,
    records: usize,
    /// (index of the first record in the batch, file, index of that record in its file).
    origins: Vec<(usize, Arc<PathBuf>, usize)>,
}

impl Batch {
    fn new() -> Self {
        Batch { body: Vec::with_capacity(8 << 20), records: 0, origins: Vec::new() }
    }

    fn push(&mut self, rec: &RawValue) {
        let rec = rec.get();
        // A line break may only lie between a pretty-printed record's tokens (strings
        // escape theirs); such a record goes on one line. (A byte search: memchr.)
        if rec.as_bytes().contains(&b'\n') {
            self.body.extend_from_slice(mamori_cloudtrail::import::compact(rec).as_bytes());
        } else {
            self.body.extend_from_slice(rec.as_bytes());
        }
        self.body.push(b'\n');
        self.records += 1;
    }

    /// Where the record at `index` of this batch came from: file and record number.
    fn origin(&self, index: usize) -> Option<(&Path, usize)> {
        let (start, file, first) = self.origins.iter().rev().find(|(s, _, _)| *s <= index)?;
        Some((file.as_path(), first + (index - start)))
    }
}

/// What the reader thread found.
#[derive(Default)]
struct ReadOutcome {
    problems: usize,
}

/// Reads every file, packs their records into batches and hands them to `out`; a file
/// that cannot be read or parsed is reported by name (and line) and skipped.
fn read_all(
    files: &[PathBuf],
    texts: Option<Vec<Result<String, String>>>,
    batch_size: usize,
    bar: &ProgressBar,
    out: &tokio::sync::mpsc::Sender<Batch>,
) -> ReadOutcome {
    let mut outcome = ReadOutcome::default();
    let mut batch = Batch::new();
    let mut texts = texts.map(Vec::into_iter);
    for file in files {
        let text = texts.as_mut().and_then(Iterator::next).unwrap_or_else(|| read_text(file));
        let records = text.as_deref().map_err(Clone::clone).and_then(split_records);
        match records {
            Ok(records) => {
                let file = Arc::new(file.clone());
                for (i, rec) in records.iter().enumerate() {
                    // Bodies stay well under the server's default limit (64 MiB) whatever
                    // the records' size.
                    if batch.records > 0 && batch.body.len() + rec.get().len() > MAX_BODY {
                        let full = std::mem::replace(&mut batch, Batch::new());
                        if out.blocking_send(full).is_err() {
                            return outcome;
                        }
                    }
                    if i == 0 || batch.records == 0 {
                        batch.origins.push((batch.records, file.clone(), i));
                    }
                    batch.push(rec);
                    if batch.records >= batch_size {
                        let full = std::mem::replace(&mut batch, Batch::new());
                        if out.blocking_send(full).is_err() {
                            return outcome;
                        }
                    }
                }
            }
            Err(why) => {
                outcome.problems += 1;
                bar.suspend(|| eprintln!("{}: {why}", file.display()));
            }
        }
        bar.inc(1);
    }
    if batch.records > 0 {
        let _ = out.blocking_send(batch);
    }
    outcome
}

/// Most bytes of file text `--rebase-time` keeps from its first pass for the second.
const KEEP_TEXT: usize = 256 << 20;

/// The shift that makes the newest record happen at `now`, read in a first pass, and the
/// texts of the files when they fit in [`KEEP_TEXT`] (so they are not read twice).
fn rebase_shift(
    files: &[PathBuf],
    now: DateTime<Utc>,
) -> (Option<i64>, Option<Vec<Result<String, String>>>) {
    // GAP: beyond 256 MiB of text `--rebase-time` reads (and gunzips) every file twice,
    // once to find the newest eventTime before any record is sent.
    let (mut newest, mut kept, mut size) = (None, Some(Vec::new()), 0usize);
    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("finding the newest event {bar:30} {pos}/{len} files")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    for file in files {
        bar.inc(1);
        let text = read_text(file);
        if let Ok(t) = &text {
            let found = split_records(t).ok().and_then(|r| newest_time(&r));
            newest = newest.max(found);
            size += t.len();
        }
        if size > KEEP_TEXT {
            kept = None;
        }
        if let Some(k) = kept.as_mut() {
            k.push(text);
        }
    }
    bar.finish_and_clear();
    (newest.map(|n| (now - n).num_seconds()), kept)
}

/// Runs the import; returns the number of problems reported.
pub fn run(args: &ImportArgs) -> anyhow::Result<usize> {
    let mut files = Vec::new();
    for p in &args.paths {
        collect(p, &mut files, true)?;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (shift, texts) = if args.rebase_time {
        // "Now" is the server's clock (which may be a manual one), not this machine's.
        let now = runtime.block_on(server_now(&args.endpoint)).unwrap_or_else(Utc::now);
        rebase_shift(&files, now)
    } else {
        (None, None)
    };
    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("importing {bar:30} {pos}/{len} files {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (tx, rx) = tokio::sync::mpsc::channel::<Batch>(args.parallel.max(1));
    let reader = {
        let (files, bar, batch) = (files.clone(), bar.clone(), args.batch.max(1));
        std::thread::spawn(move || read_all(&files, texts, batch, &bar, &tx))
    };
    let sent = runtime.block_on(send_all(args, shift, rx, &bar));
    let read = reader.join().map_err(|_| anyhow::anyhow!("the reader thread panicked"))?;
    bar.finish_and_clear();
    let (imported, rejected) = sent?;
    for r in &rejected {
        eprintln!("rejected: {r}");
    }
    let problems = read.problems + rejected.len();
    eprintln!("imported {imported} records from {} files ({problems} problems)", files.len());
    Ok(problems)
}

/// The server's clock, from its health endpoint.
async fn server_now(endpoint: &str) -> Option<DateTime<Utc>> {
    let uri: http::Uri =
        format!("{}/_mamori/health", endpoint.trim_end_matches('/')).parse().ok()?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let resp = client.get(uri).await.ok()?;
    let bytes = resp.into_body().collect().await.ok()?.to_bytes();
    let health: Value = serde_json::from_slice(&bytes).ok()?;
    let now = DateTime::parse_from_rfc3339(health["now"].as_str()?).ok()?;
    Some(now.with_timezone(&Utc))
}

/// Sends the batches with up to `--parallel` requests in flight.
async fn send_all(
    args: &ImportArgs,
    shift: Option<i64>,
    mut rx: tokio::sync::mpsc::Receiver<Batch>,
    bar: &ProgressBar,
) -> anyhow::Result<(usize, Vec<String>)> {
    let uri: http::Uri =
        format!("{}/_mamori/cloudtrail/import", args.endpoint.trim_end_matches('/')).parse()?;
    uri.authority().context("the endpoint needs a host")?;
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let (mut imported, mut rejected) = (0, Vec::new());
    let mut in_flight: tokio::task::JoinSet<anyhow::Result<(Batch, Value)>> =
        tokio::task::JoinSet::new();
    let started = std::time::Instant::now();
    loop {
        let next = if in_flight.len() >= args.parallel.max(1) { None } else { rx.recv().await };
        let Some(batch) = next else {
            // Nothing more to send now: wait for an answer (or stop when all are in).
            let Some(done) = in_flight.join_next().await else { break };
            let (batch, answer): (Batch, Value) = done??;
            imported += answer["imported"].as_u64().unwrap_or(0) as usize;
            for r in answer["rejected"].as_array().into_iter().flatten() {
                rejected.push(describe_rejection(&batch, r.as_str().unwrap_or_default()));
            }
            let rate = imported as f64 / started.elapsed().as_secs_f64().max(1e-3);
            bar.set_message(format!("{imported} records, {rate:.0}/s"));
            continue;
        };
        let mut batch = batch;
        let req = signed_request(args, shift, &uri, std::mem::take(&mut batch.body))?;
        let (client, endpoint) = (client.clone(), args.endpoint.clone());
        in_flight.spawn(async move {
            let resp =
                client.request(req).await.with_context(|| format!("cannot reach {endpoint}"))?;
            let status = resp.status();
            let bytes = resp.into_body().collect().await?.to_bytes();
            if !status.is_success() {
                anyhow::bail!(
                    "the server refused the import ({status}): {}",
                    String::from_utf8_lossy(&bytes)
                );
            }
            let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            Ok((batch, answer))
        });
    }
    Ok((imported, rejected))
}

// GAP: bodies go uncompressed: on the loopback link gzip would cost the CLI and the
// server more CPU than the transfer it saves; a remote server would want them compressed.
fn signed_request(
    args: &ImportArgs,
    shift: Option<i64>,
    uri: &http::Uri,
    body: Vec<u8>,
) -> anyhow::Result<http::Request<Full<Bytes>>> {
    use crate::admin_request::{NDJSON, SHIFT_HEADER};
    let shift = shift.map(|s| s.to_string());
    let mut headers = vec![("content-type", NDJSON)];
    headers.extend(shift.as_deref().map(|s| (SHIFT_HEADER, s)));
    crate::admin_request::signed_post(
        uri,
        body,
        (&args.access_key_id, &args.secret_access_key),
        ("us-east-1", "mamori"),
        &headers,
    )
}

/// The server says `record <i>: <why>` with `i` the index in the batch; the user needs
/// the file and the record's number in it.
fn describe_rejection(batch: &Batch, reason: &str) -> String {
    let parsed = reason.strip_prefix("record ").and_then(|r| r.split_once(": "));
    match parsed.and_then(|(i, why)| Some((batch.origin(i.parse().ok()?)?, why))) {
        Some(((file, n), why)) => format!("{}: record {}: {why}", file.display(), n + 1),
        None => reason.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_records_and_reports_json_errors_by_line() {
        let text = "{\"Records\": [{\"a\": 1}, {\"eventTime\": \"2023-01-01T00:00:00Z\"}]}";
        let recs = split_records(text).unwrap();
        assert_eq!(
            recs.iter().map(|r| r.get()).collect::<Vec<_>>(),
            ["{\"a\": 1}", "{\"eventTime\": \"2023-01-01T00:00:00Z\"}"]
        );
        assert_eq!(
            newest_time(&recs).map(|t| t.to_rfc3339()),
            Some("2023-01-01T00:00:00+00:00".into())
        );
        let err = split_records("{\"Records\": [\n  {\"eventTime\": 1,\n").unwrap_err();
        assert!(err.starts_with("line 3,"), "{err}");
        assert!(split_records("{\"other\": []}").unwrap_err().contains("no \"Records\""));
    }

    #[test]
    fn rebase_reads_each_file_once_and_keeps_problems_for_the_report() {
        let dir = std::env::temp_dir().join(format!("mamori-rebase-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (a, b) = (dir.join("a.json"), dir.join("b.json"));
        std::fs::write(&a, r#"{"Records": [{"eventTime": "2023-01-01T00:00:00Z"}, {"eventTime": "2023-01-01T00:10:00Z"}]}"#).unwrap();
        std::fs::write(&b, "{\"Records\": [").unwrap();
        let now = DateTime::parse_from_rfc3339("2023-01-02T00:10:00Z").unwrap().with_timezone(&Utc);
        let (shift, kept) = rebase_shift(&[a.clone(), b.clone()], now);
        assert_eq!(shift, Some(86_400));
        let kept = kept.unwrap();
        assert_eq!(kept.len(), 2);
        assert!(kept[0].as_ref().is_ok_and(|t| t.contains("00:10:00Z")));
        assert!(split_records(kept[1].as_ref().unwrap()).is_err(), "reported in the second pass");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn batches_remember_where_records_came_from() {
        let mut b = Batch::new();
        let (f1, f2) = (Arc::new(PathBuf::from("a.json")), Arc::new(PathBuf::from("b.json")));
        let rec = serde_json::from_str::<&RawValue>("{}").unwrap();
        b.origins.push((0, f1, 10));
        b.push(rec);
        b.push(rec);
        b.origins.push((2, f2, 0));
        b.push(
            serde_json::from_str::<&RawValue>("{\n  \"a\": \"x\\ny\",\r\n  \"b\": [1, 2]\n}")
                .unwrap(),
        );
        assert_eq!(
            String::from_utf8(b.body.clone()).unwrap(),
            "{}\n{}\n{\"a\":\"x\\ny\",\"b\":[1,2]}\n",
            "a record per line, a pretty-printed one compacted"
        );
        assert_eq!(
            describe_rejection(&b, "record 1: no eventTime"),
            "a.json: record 12: no eventTime"
        );
        assert_eq!(
            describe_rejection(&b, "record 2: no eventTime"),
            "b.json: record 1: no eventTime"
        );
        assert_eq!(describe_rejection(&b, "odd"), "odd");
    }
}
