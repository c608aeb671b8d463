//! Reading a plugin jar: a zip archive whose `META-INF/MANIFEST.MF` says which plugin it is.
//! Only the manifest is read (at most [`MAX_MANIFEST_BYTES`]), on a blocking thread; nothing
//! else of the archive is unpacked.

use std::io::Read;
use std::path::PathBuf;

use annals_domain::gerrit_plugin::JarManifest;

/// The largest manifest read.
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;

const MANIFEST: &str = "META-INF/MANIFEST.MF";

/// Why a file is not a plugin jar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JarError {
    #[error("the plugin is not a jar (zip) file")]
    NotAJar,
    #[error("the jar has no META-INF/MANIFEST.MF")]
    NoManifest,
    #[error("the jar's META-INF/MANIFEST.MF is larger than 1 MiB")]
    ManifestTooLarge,
    #[error("the jar cannot be read: {0}")]
    Io(String),
}

fn read_manifest_sync(path: &std::path::Path) -> Result<JarManifest, JarError> {
    let file = std::fs::File::open(path).map_err(|e| JarError::Io(e.to_string()))?;
    let mut archive =
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|_| JarError::NotAJar)?;
    let entry = match archive.by_name(MANIFEST) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Err(JarError::NoManifest),
        Err(_) => return Err(JarError::NotAJar),
    };
    let mut bytes = Vec::new();
    entry
        .take(MAX_MANIFEST_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|_| JarError::NotAJar)?;
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(JarError::ManifestTooLarge);
    }
    Ok(JarManifest::parse(&String::from_utf8_lossy(&bytes)))
}

/// The manifest of the jar at `path`.
pub async fn read_manifest(path: PathBuf) -> Result<JarManifest, JarError> {
    tokio::task::spawn_blocking(move || read_manifest_sync(&path))
        .await
        .map_err(|e| JarError::Io(e.to_string()))?
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_with(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in entries {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[tokio::test]
    async fn only_jars_with_a_manifest_are_plugins() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let good = write(
            "good.jar",
            &zip_with(&[(
                MANIFEST,
                b"Manifest-Version: 1.0\r\nGerrit-PluginName: x\r\nImplementation-Version: 2.8\r\n",
            )]),
        );
        let m = read_manifest(good).await.unwrap();
        assert_eq!(
            (m.plugin_name.as_deref(), m.version.as_deref()),
            (Some("x"), Some("2.8"))
        );
        let none = write("none.jar", &zip_with(&[("a.txt", b"hi")]));
        assert_eq!(read_manifest(none).await, Err(JarError::NoManifest));
        let text = write("text.jar", b"not a zip at all");
        assert_eq!(read_manifest(text).await, Err(JarError::NotAJar));
        let empty = write("empty.jar", b"");
        assert_eq!(read_manifest(empty).await, Err(JarError::NotAJar));
        let huge = vec![b'a'; (MAX_MANIFEST_BYTES + 10) as usize];
        let big = write("big.jar", &zip_with(&[(MANIFEST, &huge)]));
        assert_eq!(read_manifest(big).await, Err(JarError::ManifestTooLarge));
    }
}
