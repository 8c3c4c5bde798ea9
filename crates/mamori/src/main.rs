//! The mamori executable: command line, configuration and wiring of the services into
//! the HTTP server. Nothing else lives here.

mod cli;
#[cfg(test)]
mod coverage;
mod pattern_cmd;
mod server;
mod tidy;

use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use mamori_service::{
    Clock, Dispatcher, ManualClock, RealClock, RootCredentials, Service, SharedClock,
};
use mamori_store::Store;

use crate::cli::{Cli, ClockMode, Command, PatternCommand, ServeArgs};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
        Command::Pattern(PatternCommand::Test(args)) => {
            let matched = pattern_cmd::run(&args)?;
            std::process::exit(if matched { 0 } else { 1 });
        }
    }
}

/// The services whose concrete types the binary needs (for scheduled tasks and admin
/// routes).
pub struct Wired {
    /// SNS.
    pub sns: Arc<mamori_sns::Sns>,
}

/// Every service mamori serves, in one place. `base_url` is where mamori is reached,
/// for the links services put in what they send (SNS SubscribeURL, SigningCertURL).
fn services(
    base_url: &str,
    smtp_url: Option<&str>,
) -> anyhow::Result<(Vec<Arc<dyn Service>>, Wired)> {
    let mut sns = mamori_sns::Sns::new(base_url);
    if let Some(url) = smtp_url {
        sns = sns.with_smtp_relay(url).map_err(|e| anyhow::anyhow!("--smtp-url: {e}"))?;
    }
    let sns = Arc::new(sns);
    Ok((vec![Arc::new(mamori_sts::Sts), sns.clone()], Wired { sns }))
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
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        // Bind first, so services know the real address even with --listen 127.0.0.1:0.
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let (services, wired) = services(&base_url, args.smtp_url.as_deref())?;
        let dispatcher = Dispatcher::new(services, Arc::new(credentials), clock, store);
        mamori_sns::register_tasks(&dispatcher, wired.sns.clone());
        server::run(dispatcher, args, listener, wired).await
    })
}
