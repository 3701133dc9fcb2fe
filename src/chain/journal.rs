//! The mirror's write-ahead journal (`reports/chain/mirror.jsonl`): every fact the mirror must not
//! lose is appended and fsynced *before* the transaction it protects is sent — the spec hash of a
//! job about to be created (so a crash never creates it twice), a validator's commit salt (so a
//! reveal is never lost), and the engine job ↔ on-chain job id mapping.

use alloy::primitives::{Address, B256, Bytes, U256};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entry {
    /// First line: which deployment and run this journal belongs to.
    Header {
        registry: Address,
        run_id: B256,
        first_job: u64,
    },
    /// About to call `createJob` for engine job `job` with this spec hash.
    CreateIntent {
        job: u64,
        spec_hash: B256,
        poster: Address,
        /// The escrow and deadline it carries: a `createJob` a reorg removed is sent again with
        /// them, even once the engine is done with the job (0 in journals written before).
        #[serde(default)]
        reward: U256,
        #[serde(default)]
        deadline_s: u64,
    },
    /// A `createJob` transaction of engine job `job`, signed and about to be sent (one line per
    /// signature: a replacement at the same nonce adds one). After a crash these very bytes are
    /// looked for on chain, or sent again, before a job is ever created anew.
    CreateSigned {
        job: u64,
        nonce: u64,
        hash: B256,
        raw: Bytes,
    },
    /// Engine job `job` is on-chain job `onchain`.
    Created { job: u64, onchain: U256 },
    /// Engine job `job` is on-chain job `onchain`, posted by someone else and adopted; `sender`
    /// (governance) takes the employer's last step, the registry `finalize`.
    Adopted {
        job: u64,
        onchain: U256,
        sender: Address,
        /// The employer's spec hash (every validator's commit hash binds it).
        spec_hash: B256,
    },
    /// About to commit: the validator's vote and salt.
    Salt {
        job: u64,
        validator: Address,
        approve: bool,
        salt: B256,
    },
    /// A step that is done for good.
    Done { job: u64, step: String },
}

impl Entry {
    /// The engine job an entry is about (none for the header).
    pub fn job(&self) -> Option<u64> {
        match self {
            Entry::Header { .. } => None,
            Entry::CreateIntent { job, .. }
            | Entry::CreateSigned { job, .. }
            | Entry::Created { job, .. }
            | Entry::Adopted { job, .. }
            | Entry::Salt { job, .. }
            | Entry::Done { job, .. } => Some(*job),
        }
    }
}

pub struct Journal {
    path: PathBuf,
    file: File,
}

impl Journal {
    /// Opens (creating if needed) and returns the journal with every entry read so far.
    pub fn open(path: &Path) -> eyre::Result<(Journal, Vec<Entry>)> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut entries = Vec::new();
        if let Ok(f) = File::open(path) {
            for (n, line) in BufReader::new(f).lines().enumerate() {
                let line = line?;
                match serde_json::from_str(&line) {
                    Ok(e) => entries.push(e),
                    // A torn last line from a crash mid-append is expected; anything else is not.
                    Err(_) if line.trim().is_empty() => {}
                    Err(e) => tracing::warn!("{}: line {} ignored ({e})", path.display(), n + 1),
                }
            }
        }
        let mut file = OpenOptions::new().create(true).append(true).open(path)?;
        let len = file.metadata()?.len();
        if len > 0 && std::fs::read(path)?.last() != Some(&b'\n') {
            file.write_all(b"\n")?; // close a torn line so the next entry starts clean
        }
        Ok((
            Journal {
                path: path.to_path_buf(),
                file,
            },
            entries,
        ))
    }

    /// Appends and fsyncs one entry.
    pub fn record(&mut self, entry: &Entry) -> eyre::Result<()> {
        self.append(entry)?;
        self.file
            .sync_data()
            .map_err(|e| eyre::eyre!("cannot fsync {}: {e}", self.path.display()))
    }

    /// Appends one entry without waiting for the disk: for entries a crash may lose at no cost
    /// (the next fsync carries them; without them a restart only checks more).
    pub fn append(&mut self, entry: &Entry) -> eyre::Result<()> {
        let mut line = serde_json::to_vec(entry)?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .map_err(|e| eyre::eyre!("cannot write {}: {e}", self.path.display()))
    }
}

/// One journal shared by the mirror's task and the actions it runs (which journal what they sign).
#[derive(Clone)]
pub struct SharedJournal(Arc<Mutex<Journal>>);

impl SharedJournal {
    pub fn new(journal: Journal) -> SharedJournal {
        SharedJournal(Arc::new(Mutex::new(journal)))
    }

    /// Appends and fsyncs one entry.
    pub fn record(&self, entry: &Entry) -> eyre::Result<()> {
        self.0.lock().expect("journal lock").record(entry)
    }

    /// Appends one entry without an fsync (see `Journal::append`).
    pub fn append(&self, entry: &Entry) -> eyre::Result<()> {
        self.0.lock().expect("journal lock").append(entry)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_reopening_and_a_torn_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("j.jsonl");
        let (mut j, none) = Journal::open(&path).unwrap();
        assert!(none.is_empty());
        let e = Entry::Salt {
            job: 3,
            validator: Address::repeat_byte(1),
            approve: true,
            salt: B256::repeat_byte(9),
        };
        j.record(&e).unwrap();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(b"{\"kind\":\"done\",\"jo").unwrap();
        let (_, entries) = Journal::open(&path).unwrap();
        assert_eq!(entries, vec![e]);
    }
}
