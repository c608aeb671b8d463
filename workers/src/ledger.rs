//! The ledger: the event log folded, in position order, into an RFC 6962 Merkle tree with
//! signed checkpoints (see `annals_domain::ledger`).
//!
//! [`LedgerDb`] holds the tree in tables of its own, outside the read-model generations (a
//! replay never rebuilds it; signed checkpoints are history): `ledger_leaves` (leaf index, the
//! event's id, the leaf hash), `ledger_nodes` (every completed subtree above the leaves, by
//! `(level, index)`), `ledger_checkpoints` (every signed checkpoint, by tree size). The tree's
//! size is the `ledger` checkpoint in `projection_checkpoints`, written in the same transaction
//! as the hashes and the signed checkpoint of a page.
//!
//! [`LedgerWorker`] follows the log from that checkpoint: it keeps the right frontier in
//! memory (rebuilt from the stored hashes on start), and for each page of events stores the
//! leaves and completed subtrees and signs a checkpoint.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use annals_domain::ledger::merkle::{self, Frontier, Hash, Key};
use annals_domain::ledger::note::{Checkpoint, NoteSigner};
use annals_domain::ledger::{Json, LeafEvent, encode_leaf_into, leaf_hash};
use annals_projections::sql::{DbError, DbResult, Dialect, ReadDb, Row, SqlValue, Stmt};
use annals_store::{EventFilter, EventStore, RawRecordedEvent, RecordedEvent};
use tokio::sync::watch;

/// Events folded per transaction.
pub const PAGE: usize = 4096;
/// The ledger's checkpoint name in `projection_checkpoints`.
pub const CHECKPOINT: &str = "ledger";

const DDL_SQLITE: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS ledger_leaves (idx BIGINT PRIMARY KEY, event_id TEXT NOT NULL, hash BLOB NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_nodes (level BIGINT NOT NULL, idx BIGINT NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx))",
    "CREATE TABLE IF NOT EXISTS ledger_checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL, signed_at BIGINT NOT NULL)",
];
const DDL_POSTGRES: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS ledger_leaves (idx BIGINT PRIMARY KEY, event_id TEXT NOT NULL, hash BYTEA NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_nodes (level BIGINT NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL, PRIMARY KEY (level, idx))",
    "CREATE TABLE IF NOT EXISTS ledger_checkpoints (size BIGINT PRIMARY KEY, note TEXT NOT NULL, signed_at BIGINT NOT NULL)",
];

/// A stored event as a ledger leaf sees it, read parsed or as text.
pub trait Leaf {
    fn leaf(&self) -> LeafEvent<'_>;
}

impl Leaf for RecordedEvent {
    fn leaf(&self) -> LeafEvent<'_> {
        LeafEvent {
            id: self.id,
            stream: &self.stream,
            version: self.version,
            position: self.position,
            event_type: &self.event_type,
            data: Json::Parsed(&self.data),
            metadata: Json::Parsed(&self.metadata),
            recorded_at_micros: self.recorded_at.timestamp_micros(),
        }
    }
}

impl Leaf for RawRecordedEvent {
    fn leaf(&self) -> LeafEvent<'_> {
        LeafEvent {
            id: self.id,
            stream: &self.stream,
            version: self.version,
            position: self.position,
            event_type: &self.event_type,
            data: Json::Text(&self.data),
            metadata: Json::Text(&self.metadata),
            recorded_at_micros: self.recorded_at.timestamp_micros(),
        }
    }
}

/// The canonical bytes of a stored event (what its leaf commits to), appended to `out`.
pub fn leaf_bytes_into(event: &impl Leaf, out: &mut Vec<u8>) {
    encode_leaf_into(&event.leaf(), out);
}

/// The canonical bytes of a stored event.
pub fn leaf_bytes(event: &impl Leaf) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    leaf_bytes_into(event, &mut out);
    out
}

/// The leaf hash of a stored event.
pub fn event_leaf_hash(event: &impl Leaf, scratch: &mut Vec<u8>) -> Hash {
    scratch.clear();
    leaf_bytes_into(event, scratch);
    leaf_hash(scratch)
}

fn hash_of(row: &Row, column: &str) -> DbResult<Hash> {
    let i = row
        .columns
        .iter()
        .position(|c| c == column)
        .ok_or_else(|| DbError::Decode(format!("no column {column}")))?;
    match &row.values[i] {
        SqlValue::Bytes(b) => Hash::try_from(b.as_slice())
            .map_err(|_| DbError::Decode(format!("{column}: {} bytes, not 32", b.len()))),
        other => Err(DbError::Decode(format!("{column}: not bytes: {other:?}"))),
    }
}

fn int(v: u64) -> SqlValue {
    SqlValue::from(v)
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub size: u64,
    pub note: String,
}

/// A stored leaf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLeaf {
    pub index: u64,
    pub event_id: String,
    pub hash: Hash,
}

/// The ledger's tables.
#[derive(Clone)]
pub struct LedgerDb {
    db: Arc<dyn ReadDb>,
}

impl LedgerDb {
    /// Creates the tables if needed.
    pub async fn open(db: Arc<dyn ReadDb>) -> DbResult<Self> {
        let ddl = match db.dialect() {
            Dialect::Sqlite => DDL_SQLITE,
            Dialect::Postgres => DDL_POSTGRES,
        };
        db.migrate(ddl).await?;
        Ok(LedgerDb { db })
    }

    /// Leaves folded so far (the tree size of the last signed checkpoint).
    pub async fn size(&self) -> DbResult<u64> {
        self.db.checkpoint(CHECKPOINT).await
    }

    /// The last signed checkpoint.
    pub async fn latest(&self) -> DbResult<Option<StoredCheckpoint>> {
        Ok(self.checkpoints_from(0, 1, true).await?.into_iter().next())
    }

    /// Up to `limit` signed checkpoints with size >= `from` (ascending), or the newest first.
    pub async fn checkpoints_from(
        &self,
        from: u64,
        limit: usize,
        newest_first: bool,
    ) -> DbResult<Vec<StoredCheckpoint>> {
        let rows = if newest_first {
            self.db
                .query(
                    "SELECT size, note FROM ledger_checkpoints ORDER BY size DESC LIMIT $1",
                    vec![int(limit as u64)],
                )
                .await?
        } else {
            self.db
                .query(
                    "SELECT size, note FROM ledger_checkpoints WHERE size >= $1 ORDER BY size LIMIT $2",
                    vec![int(from), int(limit as u64)],
                )
                .await?
        };
        rows.iter()
            .map(|r| {
                Ok(StoredCheckpoint {
                    size: r.i64("size")?.max(0) as u64,
                    note: r.string("note")?,
                })
            })
            .collect()
    }

    /// The stored leaves with index in `[from, to)`, in order.
    pub async fn leaves(&self, from: u64, to: u64) -> DbResult<Vec<StoredLeaf>> {
        let rows = self
            .db
            .query(
                "SELECT idx, event_id, hash FROM ledger_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                vec![int(from), int(to)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredLeaf {
                    index: r.i64("idx")?.max(0) as u64,
                    event_id: r.string("event_id")?,
                    hash: hash_of(r, "hash")?,
                })
            })
            .collect()
    }

    /// The leaf index an event id was folded at, if any (a scan: for reports only).
    pub async fn leaf_of_event(&self, event_id: &str) -> DbResult<Option<u64>> {
        let rows = self
            .db
            .query(
                "SELECT idx FROM ledger_leaves WHERE event_id = $1 LIMIT 1",
                vec![SqlValue::from(event_id)],
            )
            .await?;
        Ok(rows
            .first()
            .map(|r| r.i64("idx"))
            .transpose()?
            .map(|i| i.max(0) as u64))
    }

    /// The stored hashes of level `level` with index in `[from, to)`, in order, concatenated.
    pub async fn hash_range(&self, level: u8, from: u64, to: u64) -> DbResult<Vec<u8>> {
        let rows = if level == 0 {
            self.db
                .query(
                    "SELECT hash FROM ledger_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx",
                    vec![int(from), int(to)],
                )
                .await?
        } else {
            self.db
                .query(
                    "SELECT hash FROM ledger_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
                    vec![int(level.into()), int(from), int(to)],
                )
                .await?
        };
        let mut out = Vec::with_capacity(rows.len() * 32);
        for r in &rows {
            out.extend_from_slice(&hash_of(r, "hash")?);
        }
        Ok(out)
    }

    /// The stored hashes at `keys` (missing ones are left out).
    pub async fn hashes(&self, keys: &[Key]) -> DbResult<HashMap<Key, Hash>> {
        let mut out = HashMap::with_capacity(keys.len());
        for chunk in keys.chunks(200) {
            let (leaves, nodes): (Vec<&Key>, Vec<&Key>) = chunk.iter().partition(|k| k.0 == 0);
            if !leaves.is_empty() {
                let mut sql = String::from("SELECT idx, hash FROM ledger_leaves WHERE idx IN (");
                let mut params = Vec::with_capacity(leaves.len());
                for (i, k) in leaves.iter().enumerate() {
                    if i > 0 {
                        sql.push(',');
                    }
                    sql.push_str(&format!("${}", i + 1));
                    params.push(int(k.1));
                }
                sql.push(')');
                for r in self.db.query(&sql, params).await? {
                    out.insert((0, r.i64("idx")?.max(0) as u64), hash_of(&r, "hash")?);
                }
            }
            if !nodes.is_empty() {
                let mut sql = String::from("SELECT level, idx, hash FROM ledger_nodes WHERE ");
                let mut params = Vec::with_capacity(nodes.len() * 2);
                for (i, k) in nodes.iter().enumerate() {
                    if i > 0 {
                        sql.push_str(" OR ");
                    }
                    sql.push_str(&format!(
                        "(level = ${} AND idx = ${})",
                        2 * i + 1,
                        2 * i + 2
                    ));
                    params.push(int(k.0.into()));
                    params.push(int(k.1));
                }
                for r in self.db.query(&sql, params).await? {
                    let level = u8::try_from(r.i64("level")?)
                        .map_err(|_| DbError::Decode("level out of range".into()))?;
                    out.insert((level, r.i64("idx")?.max(0) as u64), hash_of(&r, "hash")?);
                }
            }
        }
        Ok(out)
    }

    /// Runs a proof computation over the stored hashes: finds what it reads, fetches that in
    /// one go, runs it again over the fetched hashes.
    pub async fn over_stored<T>(
        &self,
        run: impl Fn(&mut dyn FnMut(Key) -> Option<Hash>) -> T,
    ) -> DbResult<T> {
        let keys = merkle::keys_read(&run);
        let hashes = self.hashes(&keys).await?;
        Ok(run(&mut |k| hashes.get(&k).copied()))
    }

    /// The frontier of the tree of `size` leaves, from the stored hashes.
    pub async fn frontier(&self, size: u64) -> anyhow::Result<Frontier> {
        let keys = merkle::frontier_keys(size);
        let hashes = self.hashes(&keys).await?;
        let parts = keys
            .iter()
            .map(|k| hashes.get(k).copied())
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                anyhow::anyhow!("the ledger's stored hashes for size {size} are incomplete")
            })?;
        Frontier::from_parts(size, &parts)
            .ok_or_else(|| anyhow::anyhow!("the ledger's frontier for size {size} is malformed"))
    }
}

/// Folds the log into the ledger and signs checkpoints.
pub struct LedgerWorker {
    store: Arc<dyn EventStore>,
    ledger: LedgerDb,
    signer: NoteSigner,
    /// The tree size reached, for lag metrics and waiters.
    size: watch::Sender<u64>,
}

impl LedgerWorker {
    pub fn new(store: Arc<dyn EventStore>, ledger: LedgerDb, signer: NoteSigner) -> Self {
        LedgerWorker {
            store,
            ledger,
            signer,
            size: watch::channel(0).0,
        }
    }

    /// The tree size this worker reached (updated after each committed page).
    pub fn size(&self) -> watch::Receiver<u64> {
        self.size.subscribe()
    }

    /// Folds every event up to the head at the time of reading; answers the size reached.
    pub async fn catch_up(&self, frontier: &mut Option<Frontier>) -> anyhow::Result<u64> {
        let mut tree = match frontier.take() {
            Some(f) => f,
            None => {
                let size = self.ledger.size().await?;
                let tree = self.ledger.frontier(size).await?;
                if let Some(last) = self.ledger.latest().await?
                    && last.size == size
                {
                    let text = annals_domain::ledger::note::NoteVerifier::of(&self.signer)
                        .open(&last.note)
                        .ok()
                        .and_then(|t| Checkpoint::parse(t).ok());
                    if text.is_none_or(|c| c.root != tree.root()) {
                        tracing::warn!(
                            size,
                            "the ledger's last checkpoint does not match its stored hashes (or another key signed it); run `annals verify`"
                        );
                    }
                }
                tree
            }
        };
        let mut scratch = Vec::with_capacity(1024);
        let read = |after: u64| {
            let store = self.store.clone();
            tokio::spawn(async move {
                store
                    .read_all_raw(after, PAGE, &EventFilter::default())
                    .await
            })
        };
        // The next page is read while this one is written.
        let mut next = Some(read(tree.size()));
        while let Some(reading) = next.take() {
            let page = reading.await??;
            let full = page.len() == PAGE;
            if full {
                next = Some(read(tree.size() + PAGE as u64));
            }
            if page.is_empty() {
                if tree.size() == 0 && self.ledger.latest().await?.is_none() {
                    // The empty tree has a checkpoint too, so one exists from the start.
                    let text = Checkpoint {
                        origin: self.signer.name().to_owned(),
                        size: 0,
                        root: tree.root(),
                    }
                    .text();
                    self.ledger
                        .db
                        .apply(
                            vec![Stmt::new(
                                "INSERT INTO ledger_checkpoints (size, note, signed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                                vec![int(0), SqlValue::Text(self.signer.sign(&text)?), SqlValue::Int(chrono_micros())],
                            )],
                            (CHECKPOINT, 0),
                        )
                        .await?;
                }
                break;
            }
            // Leaves and inner nodes apart, each in index order: two long runs of one insert
            // each, which `coalesce` sends as a few multi-row statements.
            let mut stmts: Vec<Stmt> = Vec::with_capacity(page.len() + 1);
            let mut nodes: Vec<Stmt> = Vec::with_capacity(page.len());
            let before = tree.clone();
            for event in &page {
                if event.position != tree.size() + 1 {
                    *frontier = Some(before);
                    anyhow::bail!(
                        "the log skips from position {} to {}: the ledger stops here; run `annals verify`",
                        tree.size(),
                        event.position
                    );
                }
                let hash = event_leaf_hash(event, &mut scratch);
                tree.push(hash, |level, index, h| {
                    if level == 0 {
                        stmts.push(Stmt::new(
                            "INSERT INTO ledger_leaves (idx, event_id, hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                            vec![int(index), SqlValue::from(event.id), SqlValue::Bytes(h.to_vec())],
                        ))
                    } else {
                        nodes.push(Stmt::new(
                            "INSERT INTO ledger_nodes (level, idx, hash) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                            vec![int(level.into()), int(index), SqlValue::Bytes(h.to_vec())],
                        ))
                    }
                });
            }
            stmts.append(&mut nodes);
            let checkpoint = Checkpoint {
                origin: self.signer.name().to_owned(),
                size: tree.size(),
                root: tree.root(),
            };
            let note = self.signer.sign(&checkpoint.text())?;
            stmts.push(Stmt::new(
                "INSERT INTO ledger_checkpoints (size, note, signed_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                vec![
                    int(tree.size()),
                    SqlValue::Text(note),
                    SqlValue::Int(chrono_micros()),
                ],
            ));
            if let Err(e) = self.ledger.db.apply(stmts, (CHECKPOINT, tree.size())).await {
                *frontier = Some(before);
                return Err(e.into());
            }
            self.size.send_replace(tree.size());
        }
        let size = tree.size();
        *frontier = Some(tree);
        Ok(size)
    }

    /// Keeps the ledger at the head of the log until `stop` turns true.
    pub async fn run(&self, mut stop: watch::Receiver<bool>) {
        let mut backoff = Duration::from_millis(100);
        let mut frontier: Option<Frontier> = None;
        loop {
            if *stop.borrow() {
                return;
            }
            match self.catch_up(&mut frontier).await {
                Ok(size) => {
                    backoff = Duration::from_millis(100);
                    tokio::select! {
                        _ = self.store.wait_for_new(size) => {}
                        _ = stop.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::error!("ledger: {e:#}; retrying in {backoff:?}");
                    // Read the tree again from what was committed.
                    frontier = None;
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = stop.changed() => {}
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }
}

fn chrono_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use annals_domain::ledger::note::NoteVerifier;
    use annals_projections::sql::sqlite::SqliteReadDb;
    use annals_store::sqlite::SqliteEventStore;
    use annals_store::{ExpectedVersion, NewEvent};

    async fn append(store: &dyn EventStore, n: usize) {
        for i in 0..n {
            store
                .append(
                    &format!("s-{}", i % 7),
                    ExpectedVersion::Any,
                    vec![NewEvent {
                        id: uuid::Uuid::now_v7(),
                        event_type: "t.v1".into(),
                        data: serde_json::json!({"i": i, "b": [1.5, "x"]}),
                        metadata: serde_json::json!({"actor": {"name": "a"}}),
                    }],
                )
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn folds_the_log_signs_and_resumes_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn EventStore> = Arc::new(
            SqliteEventStore::open(dir.path().join("events.db"))
                .await
                .unwrap(),
        );
        let open_db = || async {
            let db: Arc<dyn ReadDb> = Arc::new(
                SqliteReadDb::open(dir.path().join("ledger.db"))
                    .await
                    .unwrap(),
            );
            LedgerDb::open(db).await.unwrap()
        };
        let signer = NoteSigner::new("test/annals", [3; 32]).unwrap();
        append(store.as_ref(), 300).await;
        let worker = LedgerWorker::new(store.clone(), open_db().await, signer.clone());
        let mut frontier = None;
        assert_eq!(worker.catch_up(&mut frontier).await.unwrap(), 300);
        append(store.as_ref(), 5).await;
        assert_eq!(worker.catch_up(&mut frontier).await.unwrap(), 305);
        drop(worker);

        // A new worker (a restart) resumes from the stored frontier.
        append(store.as_ref(), 20).await;
        let ledger = open_db().await;
        let worker = LedgerWorker::new(store.clone(), ledger.clone(), signer.clone());
        let mut frontier = None;
        assert_eq!(worker.catch_up(&mut frontier).await.unwrap(), 325);

        // The same root as folding every event again from scratch.
        let events = store
            .read_all(0, 1000, &EventFilter::default())
            .await
            .unwrap();
        let mut reference = Frontier::new();
        let mut scratch = Vec::new();
        for e in &events {
            reference.push(event_leaf_hash(e, &mut scratch), |_, _, _| {});
        }
        let latest = ledger.latest().await.unwrap().unwrap();
        assert_eq!(latest.size, 325);
        let cp = Checkpoint::parse(NoteVerifier::of(&signer).open(&latest.note).unwrap()).unwrap();
        assert_eq!(cp.root, reference.root());
        let sizes: Vec<u64> = ledger
            .checkpoints_from(1, 10, false)
            .await
            .unwrap()
            .iter()
            .map(|c| c.size)
            .collect();
        assert_eq!(sizes, [300, 305, 325]);

        // Proofs from the stored hashes verify against the signed roots.
        let leaves = ledger.leaves(0, 325).await.unwrap();
        for index in [0u64, 1, 255, 256, 299, 324] {
            let proof = ledger
                .over_stored(|get| merkle::inclusion_proof(index, 325, get))
                .await
                .unwrap()
                .unwrap();
            assert!(merkle::verify_inclusion(
                index,
                325,
                &leaves[index as usize].hash,
                &proof,
                &cp.root
            ));
        }
        let first = Checkpoint::parse(
            NoteVerifier::of(&signer)
                .open(&ledger.checkpoints_from(1, 1, false).await.unwrap()[0].note)
                .unwrap(),
        )
        .unwrap();
        let proof = ledger
            .over_stored(|get| merkle::consistency_proof(300, 325, get))
            .await
            .unwrap()
            .unwrap();
        assert!(merkle::verify_consistency(
            300,
            325,
            &first.root,
            &cp.root,
            &proof
        ));
        assert_eq!(ledger.hash_range(0, 0, 256).await.unwrap().len(), 256 * 32);
        assert_eq!(ledger.hash_range(8, 0, 1).await.unwrap().len(), 32);
    }
}
