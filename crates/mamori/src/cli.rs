//! The command line. Every `serve` flag has a `MAMORI_*` environment equivalent.

use std::net::SocketAddr;
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand, ValueEnum};
use mamori_aws::{AccountId, Region};

/// mamori: the AWS security services on one machine, behind their real wire protocols.
///
/// Point any AWS client at it: AWS_ENDPOINT_URL=http://127.0.0.1:4566 with access key
/// `test` and secret `test` (the root user of account 000000000000).
#[derive(Debug, Parser)]
#[command(name = "mamori", version, about, long_about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// CloudTrail tools.
    #[command(subcommand)]
    Cloudtrail(CloudtrailCommand),
    /// IAM tools.
    #[command(subcommand)]
    Iam(IamCommand),
    /// Work with CloudWatch Logs filter patterns offline.
    #[command(subcommand)]
    Pattern(PatternCommand),
    /// Evaluate IAM policies offline.
    #[command(subcommand)]
    Policy(PolicyCommand),
}

/// `mamori policy ...`.
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Decide one request against policy files: the decision, the stage and the matched
    /// statements (exit status 0 when allowed, 1 when denied).
    Eval(crate::policy_cmd::PolicyEvalArgs),
}

/// `mamori iam ...`.
#[derive(Debug, Subcommand)]
pub enum IamCommand {
    /// The root user's virtual MFA device, as the console manages it (AWS offers no API
    /// for it): create, enable with two consecutive codes, deactivate.
    RootMfa(crate::root_mfa_cmd::RootMfaArgs),
}

/// `mamori cloudtrail ...`.
#[derive(Debug, Subcommand)]
pub enum CloudtrailCommand {
    /// Replay real CloudTrail log files (.json, .json.gz) into a running server's event
    /// history, from where trails deliver them to their log groups.
    Import(crate::import_cmd::ImportArgs),
}

/// `mamori pattern ...`.
#[derive(Debug, Subcommand)]
pub enum PatternCommand {
    /// Print the lines a filter pattern matches, with extracted values (as TestMetricFilter).
    Test(crate::pattern_cmd::PatternTestArgs),
}

/// How time passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockMode {
    /// The system clock.
    Real,
    /// A clock that moves only through `POST /_mamori/clock`.
    Manual,
}

/// Options of `mamori serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "MAMORI_LISTEN", default_value = "127.0.0.1:4566")]
    pub listen: SocketAddr,

    /// Directory for durable state.
    #[arg(long, env = "MAMORI_DATA_DIR", default_value = ".mamori")]
    pub data_dir: PathBuf,

    /// Keep all state in memory (gone when the process ends).
    #[arg(long, env = "MAMORI_IN_MEMORY")]
    pub in_memory: bool,

    /// Real time, or a manual clock advanced through the admin API.
    #[arg(long, env = "MAMORI_CLOCK", value_enum, default_value = "real")]
    pub clock: ClockMode,

    /// Start time of the manual clock (RFC 3339); now by default.
    #[arg(long, env = "MAMORI_CLOCK_START")]
    pub clock_start: Option<DateTime<Utc>>,

    /// The default account, owned by the root credentials.
    #[arg(long, env = "MAMORI_ACCOUNT", default_value = "000000000000", value_parser = parse_account)]
    pub account: AccountId,

    /// Region for requests whose signature names none (anonymous S3 requests).
    #[arg(long, env = "MAMORI_REGION", default_value = "us-east-1", value_parser = parse_region)]
    pub region: Region,

    /// Access key id of the root user.
    #[arg(long, env = "MAMORI_ACCESS_KEY_ID", default_value = "test")]
    pub access_key_id: String,

    /// Secret access key of the root user.
    #[arg(long, env = "MAMORI_SECRET_ACCESS_KEY", default_value = "test", hide_env_values = true)]
    pub secret_access_key: String,

    /// Largest request body accepted, in bytes.
    #[arg(long, env = "MAMORI_MAX_BODY_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub max_body_bytes: usize,

    /// Record every call in CloudTrail event history (turn off only to measure its cost).
    #[arg(long, env = "MAMORI_CLOUDTRAIL_RECORDING", default_value_t = true, action = clap::ArgAction::Set)]
    pub cloudtrail_recording: bool,

    /// Seconds between CloudTrail deliveries to CloudWatch Logs.
    #[arg(long, env = "MAMORI_CLOUDTRAIL_LOGS_INTERVAL", default_value_t = 0.5, value_parser = parse_interval)]
    pub cloudtrail_logs_interval: f64,

    /// Seconds between CloudTrail log file deliveries to S3 (AWS: about 5 minutes).
    #[arg(long, alias = "trail-delivery-interval", env = "MAMORI_CLOUDTRAIL_S3_INTERVAL", default_value_t = 300.0, value_parser = parse_interval)]
    pub cloudtrail_s3_interval: f64,

    /// Seconds between CloudTrail digest files (AWS: every hour).
    #[arg(long, env = "MAMORI_CLOUDTRAIL_DIGEST_INTERVAL", default_value_t = 3600.0, value_parser = parse_interval)]
    pub cloudtrail_digest_interval: f64,

    /// SMTP relay for SNS email subscriptions (`smtp://host:port`, no TLS or auth);
    /// without one, emails are kept in the outbox at `GET /_mamori/sns/outbox`.
    #[arg(long, env = "MAMORI_SMTP_URL")]
    pub smtp_url: Option<String>,

    /// PEM file of CA certificates SNS trusts for https subscription endpoints, besides
    /// the Mozilla root set (for endpoints with a private or test CA).
    #[arg(long, env = "MAMORI_SNS_CA_FILE")]
    pub sns_ca_file: Option<std::path::PathBuf>,

    /// Log filter (tracing-subscriber EnvFilter syntax), e.g. `info` or `mamori=debug`.
    #[arg(long, env = "MAMORI_LOG", default_value = "info")]
    pub log: String,
}

fn parse_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if (0.1..=86_400.0).contains(&v) => Ok(v),
        _ => Err(format!("{s:?} is not a number of seconds between 0.1 and 86400")),
    }
}

fn parse_account(s: &str) -> Result<AccountId, String> {
    AccountId::parse(s).ok_or_else(|| format!("{s:?} is not a 12-digit account id"))
}

fn parse_region(s: &str) -> Result<Region, String> {
    Region::parse(s).ok_or_else(|| format!("{s:?} is not a region code such as us-east-1"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
        let cli = Cli::parse_from(["mamori", "serve", "--in-memory", "--clock", "manual"]);
        let Command::Serve(args) = cli.command else { panic!("not serve") };
        assert!(args.in_memory);
        assert_eq!(args.clock, ClockMode::Manual);
        assert_eq!(args.listen.port(), 4566);
        assert!(Cli::try_parse_from(["mamori", "serve", "--account", "12"]).is_err());
    }
}
