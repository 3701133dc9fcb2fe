//! Crash-safe file replacement: a reader sees the old file or the new one, never a mix.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Write a temp file beside `path`, fsync it, rename it over `path`, fsync the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    stage(path, bytes)?.place()
}

/// A new version of a file, written and fsynced beside it but not yet in its place: the disk
/// work can go on while something that must be durable first (the job archive) still syncs.
/// Dropped without `place`, it is removed.
#[must_use = "a staged file is removed unless placed"]
pub struct Staged {
    /// The temp file, until it is placed.
    tmp: Option<PathBuf>,
    path: PathBuf,
}

/// Writes and fsyncs `bytes` to a temp file beside `path`.
pub fn stage(path: &Path, bytes: &[u8]) -> io::Result<Staged> {
    let tmp = sibling(path, &format!(".tmp-{}", std::process::id()));
    let staged = Staged {
        tmp: Some(tmp.clone()),
        path: path.to_path_buf(),
    };
    let mut f = File::create(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    Ok(staged)
}

impl Staged {
    /// Renames the temp file over the target and makes the rename durable.
    pub fn place(mut self) -> io::Result<()> {
        let tmp = self.tmp.take().expect("placed once");
        if let Err(e) = fs::rename(&tmp, &self.path) {
            self.tmp = Some(tmp); // still there: dropping removes it
            return Err(e);
        }
        sync_dir(&self.path)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if let Some(tmp) = &self.tmp {
            let _ = fs::remove_file(tmp);
        }
    }
}

/// `path` with `suffix` appended to its file name.
pub fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Makes a rename in the directory of `path` durable.
pub fn sync_dir(path: &Path) -> io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    /// A checkpoint staged while the archive syncs is dropped if that sync fails: the old file
    /// stays as it was and no temp file is left behind.
    #[test]
    fn a_staged_file_dropped_unplaced_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json");
        write_atomic(&path, b"one").unwrap();
        let staged = stage(&path, b"two").unwrap();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
        drop(staged);
        assert_eq!(fs::read(&path).unwrap(), b"one");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
