//! Upload sessions: bytes arriving for a blob whose digest is checked only at the end. Each
//! session is a directory `<root>/uploads/<uuid>/` with the bytes so far (`data`) and who it
//! belongs to (`info.json`), so a session survives a restart and a client can resume it.
//!
//! While bytes arrive in order, a SHA-256 state is kept in memory so completing a large upload
//! does not read it again; an upload completed under SHA-512, or after a restart, is re-hashed
//! from disk.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use annals_domain::{Digest, DigestAlgorithm};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256, Sha512};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use uuid::Uuid;

use super::BlobStore;

/// Who an upload belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadInfo {
    pub id: Uuid,
    /// `namespace/name` of the repository it is for.
    pub repository: String,
    /// Who opened it (a user id), for the per-caller limit.
    #[serde(default)]
    pub caller: String,
    pub started_at: DateTime<Utc>,
    /// Bytes received so far.
    #[serde(skip)]
    pub size: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("upload unknown")]
    Unknown,
    /// A chunk did not start where the upload ends (the spec's 416).
    #[error("chunk starts at {got}, the upload has {have} bytes")]
    OutOfOrder { have: u64, got: u64 },
    #[error("the content does not match digest {expected} (it is {actual})")]
    DigestMismatch { expected: Digest, actual: Digest },
    #[error("the upload ended before {0} bytes arrived")]
    Truncated(u64),
    #[error("upload would exceed the limit of {0} bytes")]
    TooLarge(u64),
    /// The client's body broke off (it disconnected, or stopped sending); nothing of the chunk
    /// was kept.
    #[error("the request body broke off: {0}")]
    Body(String),
    /// Too many sessions open for the repository or the caller.
    #[error("{0}")]
    TooMany(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// How many upload sessions may be open at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub per_repository: usize,
    pub per_caller: usize,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            per_repository: 64,
            per_caller: 128,
        }
    }
}

/// The in-memory side of the upload sessions of one blob store.
#[derive(Debug, Default)]
pub(super) struct Sessions {
    /// Open sessions: repository and caller, by id (read from disk when the store opens).
    open: Mutex<HashMap<Uuid, (String, String)>>,
    /// In-order SHA-256 states by upload id, and the length each covers.
    hashers: Mutex<HashMap<Uuid, (u64, Sha256)>>,
    /// Registry writes in flight (upload chunks, upload completions, manifest pushes), each by
    /// the sequence number it took when it began.
    writes: Arc<Mutex<BTreeSet<u64>>>,
    next_write: AtomicU64,
}

/// A registry write in flight until dropped.
#[must_use = "a write counts as in flight only while its guard lives"]
pub struct WriteGuard {
    seq: u64,
    writes: Arc<Mutex<BTreeSet<u64>>>,
}

impl Drop for WriteGuard {
    fn drop(&mut self) {
        self.writes.lock().expect("write set").remove(&self.seq);
    }
}

impl BlobStore {
    fn sessions(&self) -> &Sessions {
        &self.shared.uploads
    }

    fn hashers(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, (u64, Sha256)>> {
        self.sessions().hashers.lock().expect("hasher map")
    }

    /// Marks a registry write as in flight. Take it before checking whether the registry is
    /// read-only, so a collection that waits for the writes begun before its mark sees this one.
    pub fn write_guard(&self) -> WriteGuard {
        let s = self.sessions();
        let seq = s.next_write.fetch_add(1, Ordering::SeqCst);
        s.writes.lock().expect("write set").insert(seq);
        WriteGuard {
            seq,
            writes: s.writes.clone(),
        }
    }

    /// A mark: every write that begins later takes a greater sequence number.
    pub fn write_mark(&self) -> u64 {
        self.sessions().next_write.load(Ordering::SeqCst)
    }

    /// Whether a write that began before `mark` is still in flight. Writes begun later do not
    /// count, so a steady stream of writes elsewhere never holds a collection up.
    pub fn writes_before(&self, mark: u64) -> bool {
        self.sessions()
            .writes
            .lock()
            .expect("write set")
            .first()
            .is_some_and(|&seq| seq < mark)
    }

    fn upload_dir(&self, id: Uuid) -> PathBuf {
        self.root().join("uploads").join(id.to_string())
    }

    /// Opens a new upload session for `repository` on behalf of `caller`, within `limits`.
    pub async fn start_upload(
        &self,
        repository: &str,
        caller: &str,
        limits: SessionLimits,
    ) -> Result<UploadInfo, UploadError> {
        let info = UploadInfo {
            id: Uuid::new_v4(),
            repository: repository.to_owned(),
            caller: caller.to_owned(),
            started_at: Utc::now(),
            size: 0,
        };
        {
            let mut open = self.sessions().open.lock().expect("session index");
            let count =
                |f: &dyn Fn(&(String, String)) -> bool| open.values().filter(|s| f(s)).count();
            if count(&|(r, _)| r == repository) >= limits.per_repository {
                return Err(UploadError::TooMany(format!(
                    "{repository} has {} upload sessions open; finish or cancel one first",
                    limits.per_repository
                )));
            }
            if count(&|(_, c)| c == caller) >= limits.per_caller {
                return Err(UploadError::TooMany(format!(
                    "you have {} upload sessions open; finish or cancel one first",
                    limits.per_caller
                )));
            }
            open.insert(info.id, (repository.to_owned(), caller.to_owned()));
        }
        let dir = self.upload_dir(info.id);
        let created = async {
            tokio::fs::create_dir_all(&dir).await?;
            tokio::fs::write(dir.join("data"), b"").await?;
            tokio::fs::write(dir.join("info.json"), serde_json::to_vec(&info)?).await
        };
        if let Err(e) = created.await {
            self.forget_session(info.id);
            let _ = tokio::fs::remove_dir_all(&dir).await;
            return Err(e.into());
        }
        self.hashers().insert(info.id, (0, Sha256::new()));
        Ok(info)
    }

    fn forget_session(&self, id: Uuid) {
        self.sessions()
            .open
            .lock()
            .expect("session index")
            .remove(&id);
        self.hashers().remove(&id);
    }

    /// How many upload sessions are open.
    pub fn open_uploads(&self) -> usize {
        self.sessions().open.lock().expect("session index").len()
    }

    /// Reads the sessions left on disk (by an earlier process) into the index.
    pub(super) fn index_uploads(&self) -> io::Result<()> {
        let mut open = self.sessions().open.lock().expect("session index");
        for entry in std::fs::read_dir(self.root().join("uploads"))? {
            let entry = entry?;
            let Ok(id) = Uuid::parse_str(&entry.file_name().to_string_lossy()) else {
                continue;
            };
            if let Ok(bytes) = std::fs::read(entry.path().join("info.json"))
                && let Ok(info) = serde_json::from_slice::<UploadInfo>(&bytes)
            {
                open.insert(id, (info.repository, info.caller));
            }
        }
        Ok(())
    }

    /// Removes upload sessions (and stray temporary files) untouched since `before`: abandoned
    /// pushes. Answers how many sessions went and the bytes freed.
    pub async fn expire_uploads(&self, before: std::time::SystemTime) -> io::Result<(usize, u64)> {
        let root = self.root().join("uploads");
        let stale = tokio::task::spawn_blocking(move || -> io::Result<Vec<(PathBuf, u64)>> {
            let mut stale = Vec::new();
            for entry in std::fs::read_dir(&root)? {
                let entry = entry?;
                let path = entry.path();
                // A session's last activity is its data file's; a temporary file's its own.
                let data = if path.is_dir() {
                    path.join("data")
                } else {
                    path.clone()
                };
                let meta = std::fs::metadata(&data).or_else(|_| entry.metadata())?;
                if meta.modified()? < before {
                    stale.push((path, meta.len()));
                }
            }
            Ok(stale)
        })
        .await
        .map_err(io::Error::other)??;
        let (mut sessions, mut bytes) = (0, 0);
        for (path, size) in stale {
            let id = path
                .file_name()
                .and_then(|n| Uuid::parse_str(&n.to_string_lossy()).ok());
            let _writing = self.write_guard();
            let removed = if path.is_dir() {
                tokio::fs::remove_dir_all(&path).await
            } else {
                tokio::fs::remove_file(&path).await
            };
            match removed {
                Ok(()) => {
                    bytes += size;
                    if let Some(id) = id {
                        self.forget_session(id);
                        sessions += 1;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok((sessions, bytes))
    }

    /// The session and how many bytes it has.
    pub async fn upload_status(&self, id: Uuid) -> Result<UploadInfo, UploadError> {
        let dir = self.upload_dir(id);
        let info = match tokio::fs::read(dir.join("info.json")).await {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(UploadError::Unknown),
            Err(e) => return Err(e.into()),
        };
        let mut info: UploadInfo = serde_json::from_slice(&info).map_err(io::Error::other)?;
        info.size = tokio::fs::metadata(dir.join("data")).await?.len();
        Ok(info)
    }

    /// Appends a chunk. `start`, when given, must equal the bytes already received; `limit`
    /// caps the upload's total size. Answers the new size.
    pub async fn append_upload<S, E>(
        &self,
        id: Uuid,
        start: Option<u64>,
        limit: Option<u64>,
        mut body: S,
    ) -> Result<u64, UploadError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::error::Error + Send + Sync + 'static,
    {
        let _writing = self.write_guard();
        let have = self.upload_status(id).await?.size;
        if let Some(start) = start
            && start != have
        {
            return Err(UploadError::OutOfOrder { have, got: start });
        }
        if limit.is_some_and(|l| have > l) {
            return Err(UploadError::TooLarge(limit.unwrap_or_default()));
        }
        let data = self.upload_dir(id).join("data");
        let mut file = tokio::fs::OpenOptions::new()
            .append(true)
            .open(&data)
            .await?;
        let mut hasher = self
            .hashers()
            .remove(&id)
            .filter(|(len, _)| *len == have)
            .map(|(_, h)| h);
        let mut size = have;
        let written: Result<(), UploadError> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| UploadError::Body(e.to_string()))?;
                size += chunk.len() as u64;
                if let Some(limit) = limit.filter(|l| size > *l) {
                    return Err(UploadError::TooLarge(limit));
                }
                if let Some(h) = hasher.as_mut() {
                    h.update(&chunk);
                }
                file.write_all(&chunk).await?;
            }
            file.flush().await?;
            Ok(())
        }
        .await;
        if let Err(e) = written {
            // Nothing of a broken chunk is kept: the upload is as it was before it.
            drop(file);
            let truncated = tokio::fs::OpenOptions::new()
                .write(true)
                .open(&data)
                .await?;
            truncated.set_len(have).await?;
            return Err(e);
        }
        if let Some(h) = hasher {
            self.hashers().insert(id, (size, h));
        }
        Ok(size)
    }

    /// Checks the upload against `digest` without storing it; answers its size. Cheap for a
    /// SHA-256 upload whose bytes arrived in order (the hash is kept as they arrive).
    pub async fn verify_upload(&self, id: Uuid, digest: &Digest) -> Result<u64, UploadError> {
        let info = self.upload_status(id).await?;
        let data = self.upload_dir(id).join("data");
        let kept = self.hashers().remove(&id);
        let actual = match (digest.algorithm(), kept) {
            (DigestAlgorithm::Sha256, Some((len, h))) if len == info.size => {
                let actual = Digest::from_hash(DigestAlgorithm::Sha256, &h.clone().finalize())
                    .expect("sha256 length");
                self.hashers().insert(id, (len, h));
                actual
            }
            (algorithm, _) => hash_file(&data, algorithm).await?,
        };
        if actual != *digest {
            return Err(UploadError::DigestMismatch {
                expected: digest.clone(),
                actual,
            });
        }
        Ok(info.size)
    }

    /// The file the upload's bytes so far are in, for a caller that reads them before it decides
    /// to complete the upload (say, to look inside an archive). Only read it; bytes are added
    /// through [`BlobStore::append_upload`].
    pub async fn upload_data_path(&self, id: Uuid) -> Result<PathBuf, UploadError> {
        self.upload_status(id).await?;
        Ok(self.upload_dir(id).join("data"))
    }

    /// The SHA-256 digest of the upload's bytes so far, and their length: from the hash kept
    /// while they arrived in order, else read again from disk.
    pub async fn upload_sha256(&self, id: Uuid) -> Result<(Digest, u64), UploadError> {
        let info = self.upload_status(id).await?;
        let kept = self
            .hashers()
            .get(&id)
            .filter(|(len, _)| *len == info.size)
            .map(|(_, h)| h.clone());
        let digest = match kept {
            Some(h) => {
                Digest::from_hash(DigestAlgorithm::Sha256, &h.finalize()).expect("sha256 length")
            }
            None => hash_file(&self.upload_dir(id).join("data"), DigestAlgorithm::Sha256).await?,
        };
        Ok((digest, info.size))
    }

    /// Verifies the upload against `digest` and moves it into the store. Answers its size.
    /// On a mismatch the session is left as it was, so nothing half-stored becomes visible.
    pub async fn complete_upload(&self, id: Uuid, digest: &Digest) -> Result<u64, UploadError> {
        let _writing = self.write_guard();
        let size = self.verify_upload(id, digest).await?;
        let data = self.upload_dir(id).join("data");
        if self.claim(digest).await?.is_none() {
            tokio::fs::File::open(&data).await?.sync_all().await?;
            self.commit_file(&data, digest).await?;
        }
        self.cancel_upload(id).await?;
        Ok(size)
    }

    /// Drops a session and its bytes.
    pub async fn cancel_upload(&self, id: Uuid) -> Result<(), UploadError> {
        self.forget_session(id);
        match tokio::fs::remove_dir_all(self.upload_dir(id)).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(UploadError::Unknown),
            Err(e) => Err(e.into()),
        }
    }
}

async fn hash_file(path: &std::path::Path, algorithm: DigestAlgorithm) -> io::Result<Digest> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut buf = vec![0u8; 1 << 20];
    let mut sha256 = Sha256::new();
    let mut sha512 = Sha512::new();
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        match algorithm {
            DigestAlgorithm::Sha256 => sha256.update(&buf[..n]),
            DigestAlgorithm::Sha512 => sha512.update(&buf[..n]),
        }
    }
    let hash = match algorithm {
        DigestAlgorithm::Sha256 => sha256.finalize().to_vec(),
        DigestAlgorithm::Sha512 => sha512.finalize().to_vec(),
    };
    Ok(Digest::from_hash(algorithm, &hash).expect("hash length"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blobs::digest_of;

    fn chunks(parts: &[&'static [u8]]) -> impl Stream<Item = Result<Bytes, io::Error>> + Unpin {
        futures::stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
    }

    #[tokio::test]
    async fn chunks_in_order_complete_under_their_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let up = store
            .start_upload("acme/web", "u", SessionLimits::default())
            .await
            .unwrap();
        assert_eq!(
            store
                .append_upload(up.id, Some(0), None, chunks(&[b"hello "]))
                .await
                .unwrap(),
            6
        );
        assert!(matches!(
            store
                .append_upload(up.id, Some(3), None, chunks(&[b"x"]))
                .await,
            Err(UploadError::OutOfOrder { have: 6, got: 3 })
        ));
        store
            .append_upload(up.id, Some(6), None, chunks(&[b"wor", b"ld"]))
            .await
            .unwrap();
        let wrong = digest_of(DigestAlgorithm::Sha256, b"other");
        assert!(matches!(
            store.complete_upload(up.id, &wrong).await,
            Err(UploadError::DigestMismatch { .. })
        ));
        assert_eq!(store.size(&wrong).await.unwrap(), None);
        for algorithm in [DigestAlgorithm::Sha512, DigestAlgorithm::Sha256] {
            let up = store
                .start_upload("acme/web", "u", SessionLimits::default())
                .await
                .unwrap();
            store
                .append_upload(up.id, None, None, chunks(&[b"hello world"]))
                .await
                .unwrap();
            let d = digest_of(algorithm, b"hello world");
            assert_eq!(store.complete_upload(up.id, &d).await.unwrap(), 11);
            assert_eq!(store.read_small(&d).await.unwrap().unwrap(), b"hello world");
            assert!(matches!(
                store.upload_status(up.id).await,
                Err(UploadError::Unknown)
            ));
        }
        assert_eq!(store.list().await.unwrap().len(), 2);
        let d = digest_of(DigestAlgorithm::Sha256, b"hello world");
        assert_eq!(store.delete(&d).await.unwrap(), 11);
        assert_eq!(store.delete(&d).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn an_upload_can_be_read_and_hashed_before_it_completes() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let up = store
            .start_upload("gerrit:plugins", "u", SessionLimits::default())
            .await
            .unwrap();
        store
            .append_upload(up.id, None, None, chunks(&[b"hello ", b"world"]))
            .await
            .unwrap();
        let path = store.upload_data_path(up.id).await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello world");
        let expected = digest_of(DigestAlgorithm::Sha256, b"hello world");
        assert_eq!(
            store.upload_sha256(up.id).await.unwrap(),
            (expected.clone(), 11)
        );
        // After a restart the hash is read from disk, and agrees.
        let reopened = BlobStore::open(dir.path()).unwrap();
        assert_eq!(
            reopened.upload_sha256(up.id).await.unwrap(),
            (expected.clone(), 11)
        );
        // Hashing does not consume the kept state: completing still works under the digest.
        assert_eq!(store.complete_upload(up.id, &expected).await.unwrap(), 11);
        assert!(matches!(
            store.upload_data_path(up.id).await,
            Err(UploadError::Unknown)
        ));
        assert!(matches!(
            store.upload_sha256(up.id).await,
            Err(UploadError::Unknown)
        ));
    }

    #[tokio::test]
    async fn a_broken_or_oversized_chunk_leaves_the_upload_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let up = store
            .start_upload("acme/web", "u", SessionLimits::default())
            .await
            .unwrap();
        store
            .append_upload(up.id, None, None, chunks(&[b"kept"]))
            .await
            .unwrap();
        let broken = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"lost")),
            Err(io::Error::other("client went away")),
        ]);
        assert!(matches!(
            store.append_upload(up.id, Some(4), None, broken).await,
            Err(UploadError::Body(_))
        ));
        assert_eq!(store.upload_status(up.id).await.unwrap().size, 4);
        assert!(matches!(
            store
                .append_upload(up.id, Some(4), Some(6), chunks(&[b"toolong"]))
                .await,
            Err(UploadError::TooLarge(6))
        ));
        assert_eq!(store.upload_status(up.id).await.unwrap().size, 4);
        // The upload goes on where it was, and completes under the digest of what was kept.
        store
            .append_upload(up.id, Some(4), None, chunks(&[b"!"]))
            .await
            .unwrap();
        let d = digest_of(DigestAlgorithm::Sha256, b"kept!");
        assert_eq!(store.complete_upload(up.id, &d).await.unwrap(), 5);
    }

    #[tokio::test]
    async fn sessions_are_limited_and_abandoned_ones_expire() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let limits = SessionLimits {
            per_repository: 2,
            per_caller: 3,
        };
        let a = store.start_upload("acme/a", "u1", limits).await.unwrap();
        store.start_upload("acme/a", "u1", limits).await.unwrap();
        assert!(matches!(
            store.start_upload("acme/a", "u2", limits).await,
            Err(UploadError::TooMany(_))
        ));
        store.start_upload("acme/b", "u1", limits).await.unwrap();
        assert!(matches!(
            store.start_upload("acme/c", "u1", limits).await,
            Err(UploadError::TooMany(_))
        ));
        store.cancel_upload(a.id).await.unwrap();
        store.start_upload("acme/c", "u1", limits).await.unwrap();
        assert_eq!(store.open_uploads(), 3);
        // Another process opening the store finds them.
        assert_eq!(BlobStore::open(dir.path()).unwrap().open_uploads(), 3);
        // None is older than a minute; all are older than a moment from now.
        let minute_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        assert_eq!(store.expire_uploads(minute_ago).await.unwrap().0, 0);
        let soon = std::time::SystemTime::now() + std::time::Duration::from_secs(1);
        assert_eq!(store.expire_uploads(soon).await.unwrap().0, 3);
        assert_eq!(store.open_uploads(), 0);
        assert_eq!(
            std::fs::read_dir(dir.path().join("uploads"))
                .unwrap()
                .count(),
            0
        );
    }

    /// Ages a blob file, as if written an hour ago.
    fn age(store: &BlobStore, digest: &Digest) {
        std::fs::File::options()
            .write(true)
            .open(store.path(digest))
            .unwrap()
            .set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(3600))
            .unwrap();
    }

    #[tokio::test]
    async fn a_sweep_keeps_blobs_written_or_claimed_since_it_began() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let [old, claimed, uploaded_again, young] =
            [b"old", b"cla", b"upl", b"yng"].map(|b| digest_of(DigestAlgorithm::Sha256, b));
        for (d, b) in [
            (&old, b"old"),
            (&claimed, b"cla"),
            (&uploaded_again, b"upl"),
        ] {
            store.put_bytes(d, b).await.unwrap();
            age(&store, d);
        }
        let began = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
        store.put_bytes(&young, b"yng").await.unwrap();
        // A mount claims a stored blob; a repeated upload of stored bytes claims it too.
        assert_eq!(store.claim(&claimed).await.unwrap(), Some(3));
        let up = store
            .start_upload("other/repo", "u", SessionLimits::default())
            .await
            .unwrap();
        store
            .append_upload(up.id, None, None, chunks(&[b"upl"]))
            .await
            .unwrap();
        store.complete_upload(up.id, &uploaded_again).await.unwrap();

        assert_eq!(store.sweep(&old, began).await.unwrap(), 3);
        for kept in [&claimed, &uploaded_again, &young] {
            assert_eq!(store.sweep(kept, began).await.unwrap(), 0);
            assert_eq!(store.size(kept).await.unwrap(), Some(3));
        }
        assert_eq!(store.size(&old).await.unwrap(), None);
        assert_eq!(store.claim(&old).await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_collection_waits_only_for_writes_begun_before_its_mark() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let before = store.write_guard();
        let mark = store.write_mark();
        let after = store.write_guard();
        assert!(store.writes_before(mark));
        drop(before);
        // `after` is still in flight and does not count.
        assert!(!store.writes_before(mark));
        drop(after);
        // Another store (another process, in effect) shares nothing.
        let other = BlobStore::open(dir.path()).unwrap();
        let _theirs = other.write_guard();
        assert!(!store.writes_before(store.write_mark()));
    }
}
