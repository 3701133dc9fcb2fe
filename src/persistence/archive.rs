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

/// Appends `jobs` (without fsync, see `Appended`); the result holds the new mark. With
/// `helper`, a second thread encodes the latter half meanwhile: the run's last checkpoint waits
/// for this, and by then the other core has nothing else to do.
pub fn append<J: Borrow<Job> + Sync>(
    path: &Path,
    mark: ArchiveMark,
    jobs: &[J],
    helper: bool,
) -> io::Result<Appended> {
    if jobs.is_empty() {
        return Ok(Appended { mark, file: None });
    }
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    let bytes = if helper && jobs.len() >= SPLIT_MIN {
        let (head, tail) = jobs.split_at(jobs.len() / 2);
        std::thread::scope(|s| {
            let tail = s.spawn(|| encode(tail));
            let head = write_encoded(&mut f, head)?;
            let tail = tail
                .join()
                .map_err(|_| io::Error::other("the archive's encoder panicked"))?;
            f.write_all(&tail)?;
            Ok::<_, io::Error>(head + tail.len() as u64)
        })?
    } else {
        write_encoded(&mut f, jobs)?
    };
    let mark = ArchiveMark {
        lines: mark.lines + jobs.len() as u64,
        bytes: mark.bytes + bytes,
    };
    Ok(Appended {
        mark,
        file: Some(f),
    })
}

/// Fewer jobs than this are not worth a second thread.
const SPLIT_MIN: usize = 4096;

/// Encodes and writes `jobs`; returns the bytes written.
fn write_encoded<J: Borrow<Job>>(f: &mut File, jobs: &[J]) -> io::Result<u64> {
    // Written in chunks through one buffer: a buffer for tens of thousands of jobs at once was
    // fresh memory each time, and the kernel zeroing it cost more than the copying.
    let mut buf = Vec::with_capacity(CHUNK + 4096);
    let mut bytes = 0;
    for job in jobs {
        push_line(&mut buf, job.borrow());
        if buf.len() >= CHUNK {
            f.write_all(&buf)?;
            bytes += buf.len() as u64;
            buf.clear();
        }
    }
    f.write_all(&buf)?;
    Ok(bytes + buf.len() as u64)
}

/// `jobs` as archive lines, in memory.
fn encode<J: Borrow<Job>>(jobs: &[J]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(jobs.len() * 512);
    jobs.iter()
        .for_each(|job| push_line(&mut buf, job.borrow()));
    buf
}

fn push_line(buf: &mut Vec<u8>, job: &Job) {
    super::job_json::write_job(buf, job);
    buf.push(b'\n');
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::amount::Amount;
    use crate::domain::job::{JobBook, JobOrigin, JobSpec};
    use crate::domain::ledger::AccountId;

    fn jobs(n: usize) -> Vec<Job> {
        let mut book = JobBook::new();
        for i in 0..n {
            let spec = JobSpec {
                title: format!("job {i}").into(),
                reward: Amount(1 + i as u128),
                deadline_ms: 1_000 + i as u64,
                energy: i as f64,
                compute: 0.5,
                skills: vec!["energy".to_string()].into(),
                poster: AccountId(1),
                parent: None,
                origin: JobOrigin::Local,
                input: None,
            };
            book.post(spec, Amount(0), 0).unwrap();
        }
        book.iter().cloned().collect()
    }

    /// The last checkpoint encodes half the jobs on a second thread: the archive it writes must
    /// be byte for byte the one a single thread writes, in the same order, after earlier lines.
    #[test]
    fn a_split_append_writes_what_a_single_thread_writes() {
        let dir = tempfile::tempdir().unwrap();
        let (earlier, later) = (jobs(3), jobs(SPLIT_MIN + 11));
        let mut marks = Vec::new();
        for helper in [false, true] {
            let path = dir.path().join(format!("archive-{helper}.jsonl"));
            let first = append(&path, ArchiveMark::default(), &earlier, helper).unwrap();
            let mark = first.mark;
            first.sync().unwrap();
            let second = append(&path, mark, &later, helper).unwrap();
            marks.push(second.mark);
            let read = read_all(&path).unwrap();
            assert_eq!(read.len(), earlier.len() + later.len());
            assert!(
                read.iter()
                    .zip(earlier.iter().chain(&later))
                    .all(|(a, b)| a == b)
            );
            assert_eq!(std::fs::metadata(&path).unwrap().len(), second.mark.bytes);
            second.sync().unwrap();
        }
        assert_eq!(marks[0], marks[1]);
        let single = std::fs::read(dir.path().join("archive-false.jsonl")).unwrap();
        let split = std::fs::read(dir.path().join("archive-true.jsonl")).unwrap();
        assert!(single == split, "the split archive differs");
    }
}
