//! The indexer's archive of final on-chain jobs (`reports/chain/indexer-archive.jsonl`, one
//! `{"id", "job"}` per line): a job finalized or cancelled in a block older than the reorg window
//! leaves the indexer's memory and its state file, so a run of days costs each indexer step the
//! jobs still open, not every job ever. `reconcile` reads it back (`Indexer::full_view`).
//!
//! Lines are appended and fsynced before the state file that drops their jobs is written: a crash
//! in between archives them again, and the last line of an id wins.

use super::view::JobView;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

#[derive(Serialize, Deserialize)]
struct Line {
    id: u64,
    job: JobView,
}

/// The archive beside the indexer's state file `indexer.json`.
pub fn path_beside(state_file: &Path) -> PathBuf {
    state_file.with_file_name("indexer-archive.jsonl")
}

/// Appends `jobs` and makes them durable.
pub fn append(path: &Path, jobs: &[(u64, JobView)]) -> io::Result<()> {
    if jobs.is_empty() {
        return Ok(());
    }
    let mut bytes = Vec::new();
    for (id, job) in jobs {
        serde_json::to_writer(
            &mut bytes,
            &Line {
                id: *id,
                job: job.clone(),
            },
        )?;
        bytes.push(b'\n');
    }
    let mut f = OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(&bytes)?;
    f.sync_data()
}

/// Every archived job (none when there is no archive). A torn last line (a crash mid-append,
/// before the state file dropped its jobs) is skipped; any other bad line is an error.
pub fn read(path: &Path) -> io::Result<BTreeMap<u64, JobView>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e),
    };
    let mut jobs = BTreeMap::new();
    let mut lines = BufReader::new(file).lines().peekable();
    let mut n = 0;
    while let Some(line) = lines.next() {
        let line = line?;
        n += 1;
        match serde_json::from_str::<Line>(&line) {
            Ok(l) => {
                jobs.insert(l.id, l.job);
            }
            Err(_) if lines.peek().is_none() => {}
            Err(e) => {
                let message = format!("{}: line {n}: {e}", path.display());
                return Err(io::Error::new(io::ErrorKind::InvalidData, message));
            }
        }
    }
    Ok(jobs)
}

/// Removes the archive (the indexer starts again from the deploy block).
pub fn clear(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::view::JobState;
    use alloy::primitives::{Address, B256, U256};

    fn job(state: JobState) -> JobView {
        JobView {
            employer: Address::repeat_byte(1),
            reward: U256::from(3),
            spec_hash: B256::repeat_byte(2),
            state,
            agent: None,
            success: Some(true),
            validators: vec![Address::repeat_byte(4)],
            commits: 1,
            reveals: 1,
            since_block: 9,
        }
    }

    #[test]
    fn jobs_come_back_as_written_the_last_line_of_an_id_winning() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_beside(&dir.path().join("indexer.json"));
        assert!(read(&path).unwrap().is_empty());
        append(
            &path,
            &[(1, job(JobState::Finalized)), (2, job(JobState::Cancelled))],
        )
        .unwrap();
        append(&path, &[(1, job(JobState::Cancelled))]).unwrap();
        let back = read(&path).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[&1], job(JobState::Cancelled));
        assert_eq!(back[&2], job(JobState::Cancelled));
        clear(&path).unwrap();
        clear(&path).unwrap();
        assert!(read(&path).unwrap().is_empty());
    }

    #[test]
    fn a_torn_last_line_is_skipped_a_bad_line_before_it_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("indexer-archive.jsonl");
        append(&path, &[(1, job(JobState::Finalized))]).unwrap();
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"id\":2,\"jo").unwrap();
        assert_eq!(read(&path).unwrap().len(), 1);
        f.write_all(b"\n{\"id\":3}\n").unwrap();
        let err = read(&path).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
