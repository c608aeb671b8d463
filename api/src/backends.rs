//! Opens the stores the configuration names: embedded SQLite under the data directory, or
//! PostgreSQL for both the event store and the read models.

use std::sync::Arc;

use annals_projections::generation::Location;
use annals_store::EventStore;
use annals_store::postgres::PostgresEventStore;
use annals_store::sqlite::SqliteEventStore;
use anyhow::Context;

use crate::config::StorageArgs;

pub struct Backends {
    pub store: Arc<dyn EventStore>,
    pub location: Location,
}

pub async fn open(storage: &StorageArgs) -> anyhow::Result<Backends> {
    match &storage.database_url {
        Some(url) => {
            let store = PostgresEventStore::connect(url).await.with_context(|| {
                format!("opening the PostgreSQL event store at {}", redact(url))
            })?;
            Ok(Backends {
                store: Arc::new(store),
                location: Location::Postgres { url: url.clone() },
            })
        }
        None => {
            let dir = &storage.data_dir;
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating data directory {}", dir.display()))?;
            let path = dir.join("events.db");
            let store = SqliteEventStore::open(&path)
                .await
                .with_context(|| format!("opening the event store {}", path.display()))?;
            Ok(Backends {
                store: Arc::new(store),
                location: Location::Embedded {
                    dir: dir.join("readmodels"),
                },
            })
        }
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}
