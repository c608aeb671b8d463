//! The `annals` command line: `serve`, `replay`, `version`, `bench`.

use crate::config::{ServeArgs, StorageArgs};
use crate::{backends, bench, server};
use annals_projections::all_projectors;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "annals",
    version,
    about = "Event-sourced control plane for container registries"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the management APIs over the configured stores.
    Serve(Box<ServeArgs>),
    /// Rebuild every read model from position 0 into a fresh generation and promote it. A
    /// running server switches to it within seconds; the previous generation is kept.
    Replay {
        #[command(flatten)]
        storage: StorageArgs,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Print the version.
    Version,
    /// Measure append, HTTP, replay and log-query performance and print a table.
    Bench(bench::BenchArgs),
}

/// Parses the command line and runs the subcommand: the whole `annals` binary.
pub fn main() -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve(args) => server::serve(*args).await,
        Command::Replay { storage, quiet } => {
            let backends = backends::open(&storage).await?;
            let report = annals_workers::replay::replay(
                backends.store,
                &backends.location,
                all_projectors(),
                !quiet,
            )
            .await?;
            let secs = report.elapsed.as_secs_f64().max(1e-9);
            println!(
                "replayed {} events into read-model generation {} in {:.2}s ({:.0} events/s)",
                report.events,
                report.generation,
                secs,
                report.events as f64 / secs
            );
            Ok(())
        }
        Command::Version => {
            println!("annals {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Bench(args) => bench::run(args).await,
    }
}
