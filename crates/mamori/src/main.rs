//! The mamori executable: command line, configuration and wiring of the services into
//! the HTTP server. Nothing else lives here.

mod admin_request;
mod cli;
#[cfg(test)]
mod coverage;
mod import_cmd;
mod pattern_cmd;
mod policy_cmd;
mod root_mfa_cmd;
mod server;
mod tidy;

use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use mamori_service::{
    Clock, Dispatcher, ManualClock, RealClock, RootCredentials, Service, SharedClock,
    StoreCredentials,
};
use mamori_store::Store;

use crate::cli::{
    Cli, ClockMode, CloudtrailCommand, Command, IamCommand, PatternCommand, PolicyCommand,
    ServeArgs,
};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Cloudtrail(CloudtrailCommand::Import(args)) => {
            let problems = import_cmd::run(&args)?;
            std::process::exit(if problems == 0 { 0 } else { 1 });
        }
        Command::Iam(IamCommand::RootMfa(args)) => root_mfa_cmd::run(&args),
        Command::Pattern(PatternCommand::Test(args)) => {
            let matched = pattern_cmd::run(&args)?;
            std::process::exit(if matched { 0 } else { 1 });
        }
        Command::Policy(PolicyCommand::Eval(args)) => {
            let allowed = policy_cmd::run(&args)?;
            std::process::exit(if allowed { 0 } else { 1 });
        }
    }
}

/// The services whose concrete types the binary needs (for scheduled tasks and admin
/// routes).
pub struct Wired {
    /// SNS (admin routes: signing certificate, email outbox).
    pub sns: Arc<mamori_sns::Sns>,
    logs: Arc<mamori_logs::Logs>,
    cloudwatch: Arc<mamori_cloudwatch::CloudWatch>,
    s3: Arc<mamori_s3::S3>,
}

/// Every service mamori serves (for the coverage page).
#[cfg(test)]
fn services() -> Vec<Arc<dyn Service>> {
    let dir = std::env::temp_dir().join(format!("mamori-coverage-{}", std::process::id()));
    match services_with(&mamori_iam::Iam::new(), "http://127.0.0.1:4566", None, None, &dir) {
        Ok((services, _)) => services,
        Err(e) => panic!("services: {e}"),
    }
}

/// Every service mamori serves, in one place, with the IAM instance whose authorizer
/// the dispatcher will use. `base_url` is where mamori is reached, for the links
/// services put in what they send (SNS SubscribeURL, SigningCertURL).
fn services_with(
    iam: &mamori_iam::Iam,
    base_url: &str,
    smtp_url: Option<&str>,
    sns_ca_file: Option<&std::path::Path>,
    data_dir: &std::path::Path,
) -> anyhow::Result<(Vec<Arc<dyn Service>>, Wired)> {
    let mut sns = mamori_sns::Sns::new(base_url);
    if let Some(url) = smtp_url {
        sns = sns.with_smtp_relay(url).map_err(|e| anyhow::anyhow!("--smtp-url: {e}"))?;
    }
    if let Some(path) = sns_ca_file {
        let pem =
            std::fs::read(path).with_context(|| format!("--sns-ca-file {}", path.display()))?;
        sns = sns
            .with_trusted_ca(&pem)
            .map_err(|e| anyhow::anyhow!("--sns-ca-file {}: {e}", path.display()))?;
    }
    let sns = Arc::new(sns);
    let logs = Arc::new(mamori_logs::Logs::new());
    let cloudwatch = Arc::new(mamori_cloudwatch::CloudWatch::default());
    let s3 = Arc::new(
        mamori_s3::S3::new(data_dir)
            .with_context(|| format!("cannot open S3 storage under {}", data_dir.display()))?,
    );
    let services: Vec<Arc<dyn Service>> = vec![
        Arc::new(mamori_sts::Sts),
        Arc::new(iam.clone()),
        Arc::new(mamori_cloudtrail::CloudTrail),
        Arc::new(mamori_cloudformation::CloudFormation),
        logs.clone(),
        cloudwatch.clone(),
        sns.clone(),
        s3.clone(),
        Arc::new(mamori_s3::S3Control),
    ];
    Ok((services, Wired { sns, logs, cloudwatch, s3 }))
}

/// Registers the services' scheduler tasks.
fn register_tasks(dispatcher: &Arc<Dispatcher>, wired: &Wired) {
    mamori_logs::register_tasks(dispatcher, wired.logs.clone());
    mamori_cloudwatch::register_tasks(dispatcher, wired.cloudwatch.clone());
    mamori_sns::register_tasks(dispatcher, wired.sns.clone());
    mamori_cloudformation::register_tasks(dispatcher);
    mamori_s3::register_tasks(dispatcher, wired.s3.clone());
}

fn serve(args: ServeArgs) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&args.log).context("invalid --log filter")?,
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let store = if args.in_memory {
        Store::in_memory()?
    } else {
        Store::open(&args.data_dir)
            .with_context(|| format!("cannot open {}", args.data_dir.display()))?
    };
    let clock: SharedClock = match args.clock {
        ClockMode::Real => Arc::new(RealClock),
        ClockMode::Manual => {
            Arc::new(ManualClock::new(args.clock_start.unwrap_or_else(|| RealClock.now())))
        }
    };
    let credentials = RootCredentials {
        access_key_id: args.access_key_id.clone(),
        secret: args.secret_access_key.clone(),
        account: args.account.clone(),
    };
    let credentials =
        StoreCredentials { root: credentials, store: store.clone(), clock: clock.clone() };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        // Bind first, so services know the real address even with --listen 127.0.0.1:0.
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let iam = mamori_iam::Iam::new();
        // In-memory state still needs a directory for S3 bodies; it is a fresh one.
        let s3_dir = if args.in_memory {
            std::env::temp_dir().join(format!("mamori-s3-{}", std::process::id()))
        } else {
            args.data_dir.clone()
        };
        let (services, wired) = services_with(
            &iam,
            &base_url,
            args.smtp_url.as_deref(),
            args.sns_ca_file.as_deref(),
            &s3_dir,
        )?;
        let dispatcher = Dispatcher::new(services, Arc::new(credentials), clock, store);
        dispatcher.set_authorizer(Arc::new(iam.authorizer()));
        dispatcher.set_input_validator(Arc::new(|service, operation, input| {
            match mamori_wire::models::get(service) {
                Some(model) => mamori_wire::protocol::validate_input(model, operation, input),
                None => Ok(()),
            }
        }));
        register_tasks(&dispatcher, &wired);
        mamori_iam::register_tasks(&dispatcher, &iam);
        let ms = |secs: f64| chrono::TimeDelta::milliseconds((secs * 1000.0) as i64);
        let intervals = mamori_cloudtrail::Intervals {
            logs: ms(args.cloudtrail_logs_interval),
            s3: ms(args.cloudtrail_s3_interval),
            digest: ms(args.cloudtrail_digest_interval),
        };
        mamori_cloudtrail::install(
            &dispatcher,
            args.cloudtrail_recording.then(cloudtrail_shaper),
            intervals,
        );
        server::run(dispatcher, args, listener, wired).await
    })
}

/// CloudTrail's view of requests and responses comes from the service models, which
/// only the wire crate knows; the binary hands it over as a function.
fn cloudtrail_shaper() -> mamori_cloudtrail::Shaper {
    Arc::new(|service, operation, input, output| match mamori_wire::models::get(service) {
        Some(model) => mamori_wire::audit::cloudtrail_view(model, operation, input, output),
        None => (input.clone(), output.cloned().unwrap_or_default()),
    })
}
