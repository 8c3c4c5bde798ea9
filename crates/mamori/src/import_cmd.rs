//! `mamori cloudtrail import`: reads real CloudTrail log files (`.json` or `.json.gz`
//! as AWS delivers them, `{"Records": [...]}`), and sends their records to a running
//! server, which stores them in event history; trails then deliver them to their log
//! groups like any other event, so metric filters and alarms see the replayed activity.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

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

/// Reads one log file into its records, or says what is wrong with it (with the line
/// and column of a JSON error).
fn read_file(path: &Path) -> Result<Vec<Value>, String> {
    let raw = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| format!("gzip: {e}"))?;
        out
    } else {
        raw
    };
    let doc: Value = serde_json::from_slice(&text)
        .map_err(|e| format!("line {}, column {}: {e}", e.line(), e.column()))?;
    match doc.get("Records").and_then(Value::as_array) {
        Some(records) => Ok(records.clone()),
        None => Err("not a CloudTrail log file: no \"Records\" list".into()),
    }
}

/// Runs the import; returns the number of problems reported.
pub fn run(args: &ImportArgs) -> anyhow::Result<usize> {
    let mut files = Vec::new();
    for p in &args.paths {
        collect(p, &mut files, true)?;
    }
    let mut problems = 0usize;
    let mut records = Vec::new();
    let bar = ProgressBar::new(files.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("reading {bar:30} {pos}/{len} files {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    for file in &files {
        match read_file(file) {
            Ok(mut r) => records.append(&mut r),
            Err(why) => {
                problems += 1;
                bar.suspend(|| eprintln!("{}: {why}", file.display()));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let shift = if args.rebase_time {
        let newest = records
            .iter()
            .filter_map(|r| {
                r["eventTime"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            })
            .max();
        newest.map(|t| (Utc::now() - t.with_timezone(&Utc)).num_seconds())
    } else {
        None
    };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (imported, rejected) = runtime.block_on(send_all(args, records, shift))?;
    for r in &rejected {
        eprintln!("rejected: {r}");
    }
    problems += rejected.len();
    eprintln!("imported {imported} records from {} files ({problems} problems)", files.len());
    Ok(problems)
}

async fn send_all(
    args: &ImportArgs,
    records: Vec<Value>,
    shift: Option<i64>,
) -> anyhow::Result<(usize, Vec<String>)> {
    let uri: http::Uri =
        format!("{}/_mamori/cloudtrail/import", args.endpoint.trim_end_matches('/')).parse()?;
    let host = uri.authority().context("the endpoint needs a host")?.to_string();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http();
    let bar = ProgressBar::new(records.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("importing {bar:30} {pos}/{len} records {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (mut imported, mut rejected) = (0, Vec::new());
    for chunk in records.chunks(args.batch.max(1)) {
        let body =
            serde_json::to_vec(&serde_json::json!({"records": chunk, "shift_seconds": shift}))?;
        let mut headers = http::HeaderMap::new();
        headers.insert("host", host.parse()?);
        headers.insert("content-type", "application/json".parse()?);
        let signed = mamori_wire::sigv4::sign(
            "POST",
            uri.path(),
            "",
            &headers,
            &body,
            (&args.access_key_id, &args.secret_access_key),
            ("us-east-1", "mamori"),
            Utc::now(),
        );
        let mut req = http::Request::post(uri.clone()).body(Full::new(Bytes::from(body)))?;
        *req.headers_mut() = headers;
        for (k, v) in signed {
            req.headers_mut().insert(http::HeaderName::from_bytes(k.as_bytes())?, v.parse()?);
        }
        let resp =
            client.request(req).await.with_context(|| format!("cannot reach {}", args.endpoint))?;
        let status = resp.status();
        let bytes = resp.into_body().collect().await?.to_bytes();
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if !status.is_success() {
            anyhow::bail!(
                "the server refused the import ({status}): {}",
                String::from_utf8_lossy(&bytes)
            );
        }
        imported += answer["imported"].as_u64().unwrap_or(0) as usize;
        for r in answer["rejected"].as_array().into_iter().flatten() {
            rejected.push(r.as_str().unwrap_or_default().to_owned());
        }
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    Ok((imported, rejected))
}
