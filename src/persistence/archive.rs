//! The append-only archive of terminal jobs (`jobs-archive.jsonl`), one JSON object per line.
//!
//! Jobs are appended right before the checkpoint that drops them, and the checkpoint records
//! the archive length; on restart anything past that length (written before a crash, by a
//! checkpoint that never landed) is cut, so every job is in exactly one of the two.

use crate::domain::job::Job;
use crate::domain::world::ArchiveMark;
use std::borrow::Borrow;
use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::path::Path;

const CHUNK: usize = 1 << 20;

/// Appended lines, written but not yet durable: `sync` makes them so.
#[must_use = "the lines are not durable until `sync`"]
pub struct Appended {
    pub mark: ArchiveMark,
    file: Option<File>,
}

impl Appended {
    pub fn sync(self) -> io::Result<()> {
        self.file.map_or(Ok(()), |f| f.sync_data())
    }
}

/// Appends `jobs` (without fsync, see `Appended`); the result holds the new mark.
pub fn append<J: Borrow<Job>>(path: &Path, mark: ArchiveMark, jobs: &[J]) -> io::Result<Appended> {
    if jobs.is_empty() {
        return Ok(Appended { mark, file: None });
    }
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    // Written in chunks through one buffer: a buffer for tens of thousands of jobs at once was
    // fresh memory each time, and the kernel zeroing it cost more than the copying.
    let mut buf = Vec::with_capacity(CHUNK + 4096);
    let mut bytes = 0;
    for job in jobs {
        super::job_json::write_job(&mut buf, job.borrow());
        buf.push(b'\n');
        if buf.len() >= CHUNK {
            f.write_all(&buf)?;
            bytes += buf.len() as u64;
            buf.clear();
        }
    }
    f.write_all(&buf)?;
    bytes += buf.len() as u64;
    let mark = ArchiveMark {
        lines: mark.lines + jobs.len() as u64,
        bytes: mark.bytes + bytes,
    };
    Ok(Appended {
        mark,
        file: Some(f),
    })
}

/// Cuts the archive back to `mark` (lines a crashed run appended after its last checkpoint).
/// Returns how many bytes were cut.
pub fn truncate_to(path: &Path, mark: ArchiveMark) -> io::Result<u64> {
    let len = match std::fs::metadata(path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    if len < mark.bytes {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{} is {len} bytes but the checkpoint expects at least {}",
                path.display(),
                mark.bytes
            ),
        ));
    }
    if len > mark.bytes {
        let f = OpenOptions::new().write(true).open(path)?;
        f.set_len(mark.bytes)?;
        f.sync_all()?;
    }
    Ok(len - mark.bytes)
}

/// Reads every archived job (for tests and tools).
pub fn read_all(path: &Path) -> io::Result<Vec<Job>> {
    let f = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    BufReader::new(f)
        .lines()
        .map(|line| {
            serde_json::from_str(&line?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
        })
        .collect()
}
