//! The ledger on the management listener and the command line: where its tables live, its
//! signing key, the public routes (`routes.rs`) and `annals verify` (`verify.rs`).
//!
//! Its tables live outside the read-model generations, so a replay never rebuilds them: the
//! embedded store keeps them in `<data dir>/ledger.db`, PostgreSQL in the schema
//! `annals_ledger` of the configured database.

pub mod jobs;
pub mod routes;
pub mod verify;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use annals_domain::ledger::note::{NoteSigner, valid_name};
use annals_projections::sql::ReadDb;
use annals_projections::sql::postgres::PostgresReadDb;
use annals_projections::sql::sqlite::SqliteReadDb;
use annals_workers::ledger::LedgerDb;
use anyhow::{Context, bail};
use base64::Engine;

use crate::config::{LedgerArgs, StorageArgs};
use crate::secrets;

/// The PostgreSQL schema of the ledger's tables.
pub const SCHEMA: &str = "annals_ledger";

/// What the ledger routes share.
#[derive(Clone)]
pub struct LedgerState {
    pub db: LedgerDb,
    /// `<name>+<hash>+<base64>`, as `annals ledger key` prints it.
    pub verifier_key: Arc<str>,
    /// The public half of the signing key, for verification jobs.
    pub key: ed25519_dalek::VerifyingKey,
    /// Verification jobs started over HTTP.
    pub jobs: jobs::VerifyJobs,
}

/// Opens (creating) the ledger's tables for the configured storage.
pub async fn open_db(storage: &StorageArgs) -> anyhow::Result<LedgerDb> {
    let db: Arc<dyn ReadDb> = match &storage.database_url {
        Some(url) => Arc::new(
            PostgresReadDb::connect(url, SCHEMA)
                .await
                .context("opening the ledger's PostgreSQL schema")?,
        ),
        None => {
            let path = storage.data_dir.join("ledger.db");
            Arc::new(
                SqliteReadDb::open(&path)
                    .await
                    .with_context(|| format!("opening {}", path.display()))?,
            )
        }
    };
    Ok(LedgerDb::open(db).await?)
}

pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("secrets").join("ledger-signing.key")
}

/// This machine's host name, for the default origin.
fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| valid_name(h))
        .unwrap_or_else(|| "localhost".into())
}

/// The checkpoint signer: the configured key, or the key file (made on first start), named by
/// the configured origin.
pub fn signer(data_dir: &Path, args: &LedgerArgs) -> anyhow::Result<NoteSigner> {
    let (seed, key_name) = match args.ledger_key.as_deref().map(str::trim) {
        Some(key) if key.starts_with("PRIVATE+KEY+") => {
            let signer = NoteSigner::from_private_key(key).context("ANNALS_LEDGER_KEY")?;
            (signer.seed(), Some(signer.name().to_owned()))
        }
        Some(key) => {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(key)
                .ok()
                .filter(|k| k.len() == 32)
                .context("ANNALS_LEDGER_KEY must be PRIVATE+KEY+... or a base64 32-byte seed")?;
            (raw.try_into().expect("32 bytes"), None)
        }
        None => {
            let path = key_path(data_dir);
            let raw = match secrets::read_private(&path)? {
                Some(k) => k,
                None => secrets::create(&path)?,
            };
            let Ok(seed) = <[u8; 32]>::try_from(raw.as_slice()) else {
                bail!(
                    "{} holds {} bytes, not a 32-byte seed",
                    path.display(),
                    raw.len()
                );
            };
            (seed, None)
        }
    };
    let origin = args
        .ledger_origin
        .clone()
        .or(key_name)
        .unwrap_or_else(|| format!("{}/annals", host_name()));
    if !valid_name(&origin) {
        bail!("ANNALS_LEDGER_ORIGIN {origin:?} must be non-empty, without spaces or '+'");
    }
    Ok(NoteSigner::new(&origin, seed)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_and_configured_keys_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let args = LedgerArgs {
            ledger_key: None,
            ledger_origin: Some("example.com/annals".into()),
        };
        let first = signer(dir.path(), &args).unwrap();
        assert_eq!(signer(dir.path(), &args).unwrap().seed(), first.seed());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let given = LedgerArgs {
            ledger_key: Some(first.private_key()),
            ledger_origin: None,
        };
        let other = tempfile::tempdir().unwrap();
        let again = signer(other.path(), &given).unwrap();
        assert_eq!(again.verifier_key(), first.verifier_key());
        let seed = LedgerArgs {
            ledger_key: Some(base64::engine::general_purpose::STANDARD.encode([5u8; 32])),
            ledger_origin: None,
        };
        assert!(
            signer(other.path(), &seed)
                .unwrap()
                .name()
                .ends_with("/annals")
        );
        for bad in ["short", "PRIVATE+KEY+x+00000000+AQ=="] {
            let args = LedgerArgs {
                ledger_key: Some(bad.into()),
                ledger_origin: None,
            };
            assert!(signer(other.path(), &args).is_err(), "{bad}");
        }
        let spaced = LedgerArgs {
            ledger_key: None,
            ledger_origin: Some("has space".into()),
        };
        assert!(signer(dir.path(), &spaced).is_err());
    }
}
