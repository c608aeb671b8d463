//! Secrets Annals keeps on disk: the key registry bearer tokens are signed with.
//!
//! A key given by configuration (`ANNALS_TOKEN_SIGNING_KEY`) is used as it is. Otherwise it is
//! made on first start as 32 random bytes in `<data dir>/secrets/token-signing.key`, a file of
//! mode 0600 in a directory of mode 0700, outside the blob tree. A key file that others may
//! read is refused: anyone who can read it can mint tokens for any user.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// The shortest signing key accepted from configuration.
pub const MIN_KEY_BYTES: usize = 32;

pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join("secrets").join("token-signing.key")
}

/// The token-signing key: from configuration, or the key file (made on first start).
pub fn token_signing_key(data_dir: &Path, configured: Option<&str>) -> anyhow::Result<Vec<u8>> {
    // Earlier releases kept the key beside the blobs, readable by every local user; such a key
    // may have been copied, so it is never used again.
    let legacy = data_dir.join("blobs").join("token-signing.key");
    if legacy.exists() {
        std::fs::remove_file(&legacy)
            .with_context(|| format!("removing the exposed key {}", legacy.display()))?;
        tracing::warn!(
            "removed {}: it was readable by other users; registry tokens issued before are void",
            legacy.display()
        );
    }
    if let Some(key) = configured {
        if key.len() < MIN_KEY_BYTES {
            bail!("ANNALS_TOKEN_SIGNING_KEY must be at least {MIN_KEY_BYTES} bytes long");
        }
        return Ok(key.as_bytes().to_vec());
    }
    let path = key_path(data_dir);
    match read_private(&path)? {
        Some(key) => Ok(key),
        None => create(&path),
    }
}

/// The key file's bytes, if it exists; an error if others may read it or it is malformed.
pub(crate) fn read_private(path: &Path) -> anyhow::Result<Option<Vec<u8>>> {
    let key = match std::fs::read(path) {
        Ok(k) => k,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "{} is readable by other users (mode {mode:o}); run `chmod 600 {}` or remove it to make a new key",
                path.display(),
                path.display()
            );
        }
    }
    if key.len() < MIN_KEY_BYTES {
        bail!(
            "{} holds {} bytes; a signing key has at least {MIN_KEY_BYTES}",
            path.display(),
            key.len()
        );
    }
    Ok(Some(key))
}

/// Writes a new random key, readable by this user only, durably.
pub(crate) fn create(path: &Path) -> anyhow::Result<Vec<u8>> {
    let dir = path.parent().expect("the key file has a directory");
    let mut dirs = std::fs::DirBuilder::new();
    dirs.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut dirs, 0o700);
    dirs.create(dir)
        .with_context(|| format!("creating {}", dir.display()))?;
    let key: [u8; 32] = rand::random();
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(&key)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(key.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_is_private_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = token_signing_key(dir.path(), None).unwrap();
        assert_eq!(first.len(), 32);
        assert_eq!(token_signing_key(dir.path(), None).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_path(dir.path()))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(key_path(dir.path()), std::fs::Permissions::from_mode(0o644))
                .unwrap();
            let refused = token_signing_key(dir.path(), None).unwrap_err();
            assert!(
                refused.to_string().contains("readable by other users"),
                "{refused}"
            );
        }
        assert!(token_signing_key(dir.path(), Some("short")).is_err());
        let configured = "k".repeat(40);
        assert_eq!(
            token_signing_key(dir.path(), Some(&configured)).unwrap(),
            configured.as_bytes()
        );
    }
}
