//! The `annals` command line: `serve`, `replay`, `version`, `bench`.

use crate::config::{LedgerArgs, ServeArgs, StorageArgs};
use crate::{backends, bench, ledger, server};
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
    ///
    /// With `--to-position` or `--to-time`, build a past generation instead: every read model
    /// as it stood at that point, kept under `--name` beside the serving one and served
    /// read-only to GET requests that send `Annals-Generation: <name>`, until dropped with
    /// `annals generations drop <name>`.
    Replay {
        #[command(flatten)]
        storage: StorageArgs,
        /// Build a past generation as of this global position.
        #[arg(long, conflicts_with = "to_time")]
        to_position: Option<u64>,
        /// Build a past generation as of this RFC 3339 time (the last event recorded at or
        /// before it).
        #[arg(long)]
        to_time: Option<chrono::DateTime<chrono::FixedOffset>>,
        /// The past generation's name (default `at_<position>`): a lowercase letter, then
        /// lowercase letters, digits or `_`.
        #[arg(long)]
        name: Option<String>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// The past generations built by `annals replay --to-position`.
    Generations {
        #[command(subcommand)]
        command: GenerationsCommand,
    },
    /// Recompute the ledger from the stored events: every leaf, the tree, every signed
    /// checkpoint. Names the first divergence and exits non-zero when there is one.
    Verify {
        #[command(flatten)]
        storage: StorageArgs,
        #[command(flatten)]
        ledger: LedgerArgs,
        /// Check the signatures with this verifier key (`<name>+<hash>+<base64>`) instead of
        /// the configured signing key's.
        #[arg(long)]
        verifier_key: Option<String>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// The ledger's signing key.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// Print the version.
    Version,
    /// Measure append, HTTP, replay and log-query performance and print a table.
    Bench(bench::BenchArgs),
}

#[derive(Subcommand)]
enum GenerationsCommand {
    /// List the past generations with the position each was built at.
    List {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Drop a past generation; it stops serving at once.
    Drop {
        #[command(flatten)]
        storage: StorageArgs,
        name: String,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Print the note verifier key of the ledger's checkpoints (`<name>+<hash>+<base64>`), the
    /// key auditors verify them with.
    Key {
        #[command(flatten)]
        storage: StorageArgs,
        #[command(flatten)]
        ledger: LedgerArgs,
    },
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
        Command::Replay {
            storage,
            to_position,
            to_time,
            name,
            quiet,
        } if to_position.is_some() || to_time.is_some() => {
            let backends = backends::open(&storage).await?;
            let position = match (to_position, to_time) {
                (Some(p), _) => p,
                (None, Some(t)) => {
                    annals_workers::past::position_at(
                        backends.store.as_ref(),
                        t.with_timezone(&chrono::Utc),
                    )
                    .await?
                }
                (None, None) => unreachable!("guarded above"),
            };
            let name = name.unwrap_or_else(|| format!("at_{position}"));
            annals_projections::past_generation::check_name(&name).map_err(anyhow::Error::msg)?;
            let report = annals_workers::replay::replay_to(
                backends.store,
                &backends.location,
                all_projectors(),
                &name,
                position,
                !quiet,
            )
            .await?;
            println!(
                "built past generation {name} at position {} in {:.2}s; read it with the header \
                 `Annals-Generation: {name}`",
                report.events,
                report.elapsed.as_secs_f64()
            );
            Ok(())
        }
        Command::Generations { command } => generations(command).await,
        Command::Replay {
            storage,
            quiet,
            name,
            ..
        } => {
            anyhow::ensure!(
                name.is_none(),
                "--name names a past generation: give --to-position or --to-time with it"
            );
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
        Command::Ledger {
            command:
                LedgerCommand::Key {
                    storage,
                    ledger: args,
                },
        } => {
            println!(
                "{}",
                ledger::signer(&storage.data_dir, &args)?.verifier_key()
            );
            Ok(())
        }
        Command::Verify {
            storage,
            ledger: args,
            verifier_key,
            quiet,
        } => verify(storage, args, verifier_key, quiet).await,
        Command::Version => {
            println!("annals {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        Command::Bench(args) => bench::run(args).await,
    }
}

async fn verify(
    storage: StorageArgs,
    args: LedgerArgs,
    verifier_key: Option<String>,
    quiet: bool,
) -> anyhow::Result<()> {
    use indicatif::{ProgressBar, ProgressStyle};
    let key = match verifier_key {
        Some(text) => annals_domain::ledger::note::NoteVerifier::parse(&text)?.key,
        None => ledger::signer(&storage.data_dir, &args)?.public(),
    };
    let backends = backends::open(&storage).await?;
    let db = ledger::open_db(&storage).await?;
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} verify [{bar:40}] {pos}/{len} events ({per_sec}, eta {eta})",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let report = ledger::verify::verify(backends.store.clone(), &db, &key, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })
    .await?;
    bar.finish_and_clear();
    let secs = report.elapsed.as_secs_f64().max(1e-9);
    match &report.divergence {
        None => {
            println!(
                "verified {} events and {} signed checkpoints in {:.2}s ({:.0} events/s): the log matches its ledger; root {} at tree size {}{}",
                report.events,
                report.checkpoints,
                secs,
                report.events as f64 / secs,
                report.root.as_deref().unwrap_or_default(),
                report.ledger_size,
                if report.unfolded > 0 {
                    format!(" ({} newer events not yet signed)", report.unfolded)
                } else {
                    String::new()
                }
            );
            Ok(())
        }
        Some(d) => {
            println!("DIVERGENCE: {d}");
            anyhow::bail!(
                "the log diverges from its ledger at position {} ({})",
                d.position,
                d.kind
            )
        }
    }
}

async fn generations(command: GenerationsCommand) -> anyhow::Result<()> {
    match command {
        GenerationsCommand::List { storage } => {
            let backends = backends::open(&storage).await?;
            let past = backends.location.list_past().await?;
            if past.is_empty() {
                println!("no past generations");
            }
            for generation in past {
                println!("{}\tposition {}", generation.name, generation.position);
            }
            Ok(())
        }
        GenerationsCommand::Drop { storage, name } => {
            let backends = backends::open(&storage).await?;
            anyhow::ensure!(
                backends.location.past(&name).await?.is_some(),
                "no past generation named {name:?}"
            );
            backends.location.drop_past(&name).await?;
            println!("dropped past generation {name}");
            Ok(())
        }
    }
}
