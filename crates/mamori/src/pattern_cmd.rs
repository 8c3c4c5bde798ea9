//! `mamori pattern test`: runs a filter pattern over log lines like CloudWatch Logs'
//! TestMetricFilter, printing each matching line with its extracted values.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use mamori_pattern::{MetricTransformation, Pattern};

/// Options of `mamori pattern test`.
#[derive(Debug, Clone, clap::Args)]
pub struct PatternTestArgs {
    /// The filter pattern, e.g. '{ $.errorCode = "AccessDenied*" }'.
    pub pattern: String,
    /// A file of log events, one per line; `-` or nothing reads standard input.
    pub file: Option<PathBuf>,
    /// A metric value to extract as a metric filter would (`1`, `$.bytes`, `$size`).
    #[arg(long)]
    pub metric_value: Option<String>,
}

/// Runs the command; returns whether any line matched.
pub fn run(args: &PatternTestArgs) -> anyhow::Result<bool> {
    let pattern = Pattern::parse(&args.pattern).map_err(|e| anyhow::anyhow!("{e}"))?;
    let transformation = args.metric_value.as_deref().map(MetricTransformation::new);
    let reader: Box<dyn BufRead> = match &args.file {
        None => Box::new(std::io::stdin().lock()),
        Some(p) if p.as_os_str() == "-" => Box::new(std::io::stdin().lock()),
        Some(p) => Box::new(std::io::BufReader::new(
            std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?,
        )),
    };
    let mut out = std::io::stdout().lock();
    let (mut n_lines, mut n_matched) = (0usize, 0usize);
    for line in reader.lines() {
        let line = line.context("cannot read input")?;
        n_lines += 1;
        if !pattern.matches(&line) {
            continue;
        }
        n_matched += 1;
        writeln!(out, "{n_lines}: {line}")?;
        for (k, v) in pattern.extracted_values(&line) {
            writeln!(out, "    {k} = {v}")?;
        }
        if let Some(t) = &transformation {
            match pattern.extract(&line, t) {
                Ok(Some(e)) => match e.value {
                    Some(v) => writeln!(out, "    metric value = {v}")?,
                    None => writeln!(out, "    metric value: none (field missing or not numeric)")?,
                },
                Ok(None) => {}
                Err(e) => anyhow::bail!("invalid --metric-value: {e}"),
            }
        }
    }
    writeln!(out, "{n_matched} of {n_lines} lines matched")?;
    Ok(n_matched > 0)
}
