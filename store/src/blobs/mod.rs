//! The content-addressed blob store: layer, config and manifest bytes as files under
//! `<root>/blobs/<algorithm>/<first two hex digits>/<hex>`, written once and never changed.
//!
//! Bytes are not events; what happened to them is. A blob is only ever made visible by an atomic
//! rename of a fully written, fsynced and verified file, so a crash leaves either the whole blob
//! or none of it (and at worst an orphan file that garbage collection sweeps). Uploads in
//! progress live apart, under `<root>/uploads/` (see [`upload`]), where a sweep never looks.

pub mod upload;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::SystemTime;

use annals_domain::{Digest, DigestAlgorithm};
use sha2::{Digest as _, Sha256, Sha512};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

pub use upload::{SessionLimits, UploadError, UploadInfo};

/// The blob store under one root. Clones share its in-memory state (upload hashes, writes in
/// flight, the sweep lock), so one store is opened per process and handed around.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Serializes a sweep's check-and-delete of a blob with a claim of the same file (see
    /// [`BlobStore::claim`]), so a blob claimed for a new reference is never deleted under it.
    sweep: tokio::sync::Mutex<()>,
    uploads: upload::Sessions,
    /// Bytes of the stored blobs, as last counted and kept since (see [`BlobStore::recount`]).
    stored_bytes: AtomicU64,
}

/// The digest of some bytes under an algorithm.
pub fn digest_of(algorithm: DigestAlgorithm, bytes: &[u8]) -> Digest {
    let hash = match algorithm {
        DigestAlgorithm::Sha256 => Sha256::digest(bytes).to_vec(),
        DigestAlgorithm::Sha512 => Sha512::digest(bytes).to_vec(),
    };
    Digest::from_hash(algorithm, &hash).expect("a hasher's output has its algorithm's length")
}

impl BlobStore {
    /// Opens (creating) the store under `root`.
    pub fn open(root: impl Into<PathBuf>) -> io::Result<Self> {
        let root = root.into();
        std::fs::create_dir_all(root.join("blobs"))?;
        std::fs::create_dir_all(root.join("uploads"))?;
        let store = BlobStore {
            root,
            shared: Arc::default(),
        };
        store.index_uploads()?;
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root
            .join("blobs")
            .join(digest.algorithm().as_str())
            .join(&hex[..2])
            .join(hex)
    }

    /// The blob's size, if it is stored.
    pub async fn size(&self, digest: &Digest) -> io::Result<Option<u64>> {
        match tokio::fs::metadata(self.path(digest)).await {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Opens the blob for reading (streamed to the client, never read whole).
    pub async fn open_read(&self, digest: &Digest) -> io::Result<Option<tokio::fs::File>> {
        match tokio::fs::File::open(self.path(digest)).await {
            Ok(f) => Ok(Some(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Reads a small blob (a manifest) whole.
    pub async fn read_small(&self, digest: &Digest) -> io::Result<Option<Vec<u8>>> {
        match tokio::fs::read(self.path(digest)).await {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Stores bytes that are already in memory (a manifest) under their digest.
    pub async fn put_bytes(&self, digest: &Digest, bytes: &[u8]) -> io::Result<()> {
        if self.claim(digest).await?.is_some() {
            return Ok(());
        }
        let tmp = self
            .root
            .join("uploads")
            .join(format!("put-{}", Uuid::new_v4()));
        let mut file = tokio::fs::File::create(&tmp).await?;
        file.write_all(bytes).await?;
        file.sync_all().await?;
        drop(file);
        self.commit_file(&tmp, digest).await
    }

    /// Bytes of the stored blobs (for metrics): counted by [`Self::recount`], kept up to date by
    /// every commit and deletion since.
    pub fn stored_bytes(&self) -> u64 {
        self.shared.stored_bytes.load(Ordering::Relaxed)
    }

    /// Counts the stored blobs' bytes from the files (a walk of the store, once at start).
    pub async fn recount(&self) -> io::Result<u64> {
        let total = self.list().await?.iter().map(|(_, size)| size).sum();
        self.shared.stored_bytes.store(total, Ordering::Relaxed);
        Ok(total)
    }

    /// Moves a fully written, fsynced file into place as `digest` and makes the rename durable.
    pub(crate) async fn commit_file(&self, file: &Path, digest: &Digest) -> io::Result<()> {
        let target = self.path(digest);
        let dir = target
            .parent()
            .expect("a blob path has a parent")
            .to_owned();
        tokio::fs::create_dir_all(&dir).await?;
        // A new blob is as young as its commit: a sweep that began earlier leaves it alone.
        touch(file).await?;
        let size = tokio::fs::metadata(file).await?.len();
        let replaced = tokio::fs::metadata(&target).await.map_or(0, |m| m.len());
        tokio::fs::rename(file, &target).await?;
        self.shared
            .stored_bytes
            .fetch_add(size.saturating_sub(replaced), Ordering::Relaxed);
        sync_dir(dir).await
    }

    /// Marks a stored blob as wanted now, for a new reference to it (a repeated upload, a
    /// mount), and answers its size; `None` if it is not stored. A sweep deletes only blobs
    /// untouched since it began, so a blob claimed while one runs survives it.
    pub async fn claim(&self, digest: &Digest) -> io::Result<Option<u64>> {
        let _sweep = self.shared.sweep.lock().await;
        let path = self.path(digest);
        match tokio::fs::metadata(&path).await {
            Ok(m) => {
                touch(&path).await?;
                Ok(Some(m.len()))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Deletes a blob unless it was written or claimed at or after `since`; answers the bytes
    /// freed (0 when it was kept or already gone).
    pub async fn sweep(&self, digest: &Digest, since: SystemTime) -> io::Result<u64> {
        let _sweep = self.shared.sweep.lock().await;
        let path = self.path(digest);
        match tokio::fs::metadata(&path).await {
            Ok(m) if m.modified()? >= since => Ok(0),
            Ok(_) => self.delete(digest).await,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Removes a blob; answers the bytes freed (0 when it was already gone).
    async fn delete(&self, digest: &Digest) -> io::Result<u64> {
        let path = self.path(digest);
        let size = match tokio::fs::metadata(&path).await {
            Ok(m) => m.len(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e),
        };
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {
                let _ = self.shared.stored_bytes.fetch_update(
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                    |b| Some(b.saturating_sub(size)),
                );
                Ok(size)
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Every stored blob with its size (for a sweep of files no event knows about).
    pub async fn list(&self) -> io::Result<Vec<(Digest, u64)>> {
        let root = self.root.join("blobs");
        tokio::task::spawn_blocking(move || {
            let mut out = Vec::new();
            for algorithm in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512] {
                let dir = root.join(algorithm.as_str());
                let Ok(prefixes) = std::fs::read_dir(&dir) else {
                    continue;
                };
                for prefix in prefixes {
                    for entry in std::fs::read_dir(prefix?.path())? {
                        let entry = entry?;
                        let name = entry.file_name();
                        let Some(name) = name.to_str() else { continue };
                        if let Ok(d) = Digest::parse(&format!("{}:{name}", algorithm.as_str())) {
                            out.push((d, entry.metadata()?.len()));
                        }
                    }
                }
            }
            Ok(out)
        })
        .await
        .map_err(io::Error::other)?
    }
}

/// Sets a file's modification time to now.
async fn touch(path: &Path) -> io::Result<()> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        std::fs::File::options()
            .write(true)
            .open(path)?
            .set_modified(SystemTime::now())
    })
    .await
    .map_err(io::Error::other)?
}

async fn sync_dir(dir: PathBuf) -> io::Result<()> {
    tokio::task::spawn_blocking(move || std::fs::File::open(dir)?.sync_all())
        .await
        .map_err(io::Error::other)?
}
