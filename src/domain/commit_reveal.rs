//! Commit–reveal validation of one job by a committee of validators.
//!
//! A validator commits `keccak256(job id ‖ round nonce ‖ verdict ‖ salt ‖ validator)` during the
//! commit phase and reveals verdict and salt only after it; a reveal counts only when it matches
//! its commit. The salt is secret random data known only to the validator until it reveals.

use super::job::JobId;
use super::ledger::AccountId;
use alloy_primitives::{B256, keccak256};
use serde::{Deserialize, Serialize};

/// The commitment a validator publishes.
pub fn commit_hash(
    job: JobId,
    nonce: u32,
    approve: bool,
    salt: &B256,
    validator: AccountId,
) -> B256 {
    let mut buf = [0u8; 8 + 4 + 1 + 32 + 4];
    buf[0..8].copy_from_slice(&job.0.to_be_bytes());
    buf[8..12].copy_from_slice(&nonce.to_be_bytes());
    buf[12] = approve as u8;
    buf[13..45].copy_from_slice(salt.as_slice());
    buf[45..49].copy_from_slice(&validator.0.to_be_bytes());
    keccak256(buf)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Commit,
    Reveal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reveal {
    pub approve: bool,
    /// Whether it matched the commitment.
    pub valid: bool,
}

/// What a validator committed to, kept sealed for it (in the checkpoint, never on the bus or in
/// logs) so that it can still reveal after a restart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    pub approve: bool,
    pub salt: B256,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ballot {
    pub validator: AccountId,
    pub commit: Option<B256>,
    pub sealed: Option<Sealed>,
    pub reveal: Option<Reveal>,
}

/// One validation round of a job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Round {
    /// 1 for the first round; a re-validated job gets a new round with a higher nonce.
    pub nonce: u32,
    pub commit_deadline_ms: u64,
    pub reveal_deadline_ms: u64,
    pub ballots: Vec<Ballot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RoundError {
    #[error("validator is not on this job's committee")]
    NotOnCommittee,
    #[error("commit phase is over")]
    CommitClosed,
    #[error("validator already committed")]
    AlreadyCommitted,
    #[error("reveal phase has not started")]
    RevealNotOpen,
    #[error("reveal phase is over")]
    RevealClosed,
    #[error("validator never committed")]
    NoCommit,
    #[error("validator already revealed")]
    AlreadyRevealed,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    NonReveal,
    MismatchedReveal,
    WrongVote,
}

impl Fault {
    pub fn name(self) -> &'static str {
        match self {
            Fault::NonReveal => "non_reveal",
            Fault::MismatchedReveal => "mismatched_reveal",
            Fault::WrongVote => "wrong_vote",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Approved,
    Rejected,
    /// Too few valid reveals either way: the job fails, only faulty validators are slashed.
    NoQuorum,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tally {
    pub verdict: Verdict,
    pub approvals: u32,
    pub rejections: u32,
    pub faults: Vec<(AccountId, Fault)>,
}

impl Round {
    pub fn new(
        nonce: u32,
        committee: &[AccountId],
        now_ms: u64,
        commit_ms: u64,
        reveal_ms: u64,
    ) -> Round {
        Round {
            nonce,
            commit_deadline_ms: now_ms + commit_ms,
            reveal_deadline_ms: now_ms + commit_ms + reveal_ms,
            ballots: committee
                .iter()
                .map(|&v| Ballot {
                    validator: v,
                    commit: None,
                    sealed: None,
                    reveal: None,
                })
                .collect(),
        }
    }

    pub fn phase(&self, now_ms: u64) -> Phase {
        if now_ms < self.commit_deadline_ms {
            Phase::Commit
        } else {
            Phase::Reveal
        }
    }

    pub fn committee(&self) -> impl Iterator<Item = AccountId> + '_ {
        self.ballots.iter().map(|b| b.validator)
    }

    pub fn ballot(&self, validator: AccountId) -> Option<&Ballot> {
        self.ballots.iter().find(|b| b.validator == validator)
    }

    pub fn commit(
        &mut self,
        validator: AccountId,
        hash: B256,
        sealed: Option<Sealed>,
        now_ms: u64,
    ) -> Result<(), RoundError> {
        if now_ms >= self.commit_deadline_ms {
            return Err(RoundError::CommitClosed);
        }
        let ballot = self.ballot_mut(validator)?;
        if ballot.commit.is_some() {
            return Err(RoundError::AlreadyCommitted);
        }
        ballot.commit = Some(hash);
        ballot.sealed = sealed;
        Ok(())
    }

    /// Records a reveal; returns whether it matched the commitment.
    pub fn reveal(
        &mut self,
        job: JobId,
        validator: AccountId,
        approve: bool,
        salt: &B256,
        now_ms: u64,
    ) -> Result<bool, RoundError> {
        let opening = commit_hash(job, self.nonce, approve, salt, validator);
        self.reveal_opening(validator, approve, opening, now_ms)
    }

    /// Records a reveal whose values were already hashed into `opening` (what they commit to);
    /// returns whether it matched the commitment.
    pub fn reveal_opening(
        &mut self,
        validator: AccountId,
        approve: bool,
        opening: B256,
        now_ms: u64,
    ) -> Result<bool, RoundError> {
        if now_ms < self.commit_deadline_ms {
            return Err(RoundError::RevealNotOpen);
        }
        if now_ms >= self.reveal_deadline_ms {
            return Err(RoundError::RevealClosed);
        }
        let ballot = self.ballot_mut(validator)?;
        let committed = ballot.commit.ok_or(RoundError::NoCommit)?;
        if ballot.reveal.is_some() {
            return Err(RoundError::AlreadyRevealed);
        }
        let valid = opening == committed;
        ballot.reveal = Some(Reveal { approve, valid });
        Ok(valid)
    }

    /// All committee members have revealed, so the round can close early.
    pub fn all_revealed(&self) -> bool {
        self.ballots.iter().all(|b| b.reveal.is_some())
    }

    /// Counts valid reveals. Approved with `quorum` valid approvals, rejected with `quorum` valid
    /// rejections, otherwise no quorum. Non-revealers and mismatches are always at fault; valid
    /// votes against a decided outcome are too.
    pub fn tally(&self, quorum: u32) -> Tally {
        let valid = |approve: bool| {
            self.ballots
                .iter()
                .filter(|b| matches!(b.reveal, Some(r) if r.valid && r.approve == approve))
                .count() as u32
        };
        let (approvals, rejections) = (valid(true), valid(false));
        let verdict = if approvals >= quorum {
            Verdict::Approved
        } else if rejections >= quorum {
            Verdict::Rejected
        } else {
            Verdict::NoQuorum
        };
        let faults = self
            .ballots
            .iter()
            .filter_map(|b| {
                let fault = match b.reveal {
                    None => Some(Fault::NonReveal),
                    Some(r) if !r.valid => Some(Fault::MismatchedReveal),
                    Some(r) if verdict == Verdict::Approved && !r.approve => Some(Fault::WrongVote),
                    Some(r) if verdict == Verdict::Rejected && r.approve => Some(Fault::WrongVote),
                    Some(_) => None,
                };
                fault.map(|f| (b.validator, f))
            })
            .collect();
        Tally {
            verdict,
            approvals,
            rejections,
            faults,
        }
    }

    fn ballot_mut(&mut self, validator: AccountId) -> Result<&mut Ballot, RoundError> {
        self.ballots
            .iter_mut()
            .find(|b| b.validator == validator)
            .ok_or(RoundError::NotOnCommittee)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const JOB: JobId = JobId(7);
    fn salt(n: u8) -> B256 {
        B256::repeat_byte(n)
    }
    fn v(n: u32) -> AccountId {
        AccountId(n)
    }

    fn committed_round(votes: &[(u32, bool)]) -> Round {
        let committee: Vec<_> = votes.iter().map(|(n, _)| v(*n)).collect();
        let mut round = Round::new(1, &committee, 0, 100, 100);
        for &(n, approve) in votes {
            round
                .commit(
                    v(n),
                    commit_hash(JOB, 1, approve, &salt(n as u8), v(n)),
                    None,
                    10,
                )
                .unwrap();
        }
        round
    }

    #[test]
    fn phases_are_separate() {
        let mut round = committed_round(&[(1, true), (2, true), (3, true)]);
        assert_eq!(
            round.reveal(JOB, v(1), true, &salt(1), 99),
            Err(RoundError::RevealNotOpen)
        );
        assert_eq!(
            round.commit(v(1), B256::ZERO, None, 100),
            Err(RoundError::CommitClosed)
        );
        assert_eq!(round.reveal(JOB, v(1), true, &salt(1), 100), Ok(true));
        assert_eq!(
            round.reveal(JOB, v(2), true, &salt(2), 200),
            Err(RoundError::RevealClosed)
        );
        assert_eq!(
            round.reveal(JOB, v(9), true, &salt(9), 150),
            Err(RoundError::NotOnCommittee)
        );
        assert_eq!(
            round.reveal(JOB, v(1), true, &salt(1), 150),
            Err(RoundError::AlreadyRevealed)
        );
    }

    #[test]
    fn honest_round_approves_without_faults() {
        let mut round = committed_round(&[(1, true), (2, true), (3, true)]);
        for n in 1..=3 {
            assert!(round.reveal(JOB, v(n), true, &salt(n as u8), 150).unwrap());
        }
        let tally = round.tally(3);
        assert_eq!(tally.verdict, Verdict::Approved);
        assert!(tally.faults.is_empty());
    }

    #[test]
    fn non_reveal_mismatch_and_wrong_vote_are_faults() {
        let mut round = committed_round(&[(1, true), (2, true), (3, true), (4, false), (5, true)]);
        round.reveal(JOB, v(1), true, &salt(1), 150).unwrap();
        round.reveal(JOB, v(2), true, &salt(2), 150).unwrap();
        round.reveal(JOB, v(3), true, &salt(3), 150).unwrap();
        round.reveal(JOB, v(4), false, &salt(4), 150).unwrap();
        // Validator 5 reveals a different verdict from the one it committed.
        assert!(!round.reveal(JOB, v(5), false, &salt(5), 150).unwrap());
        let tally = round.tally(3);
        assert_eq!(tally.verdict, Verdict::Approved);
        assert_eq!(
            tally.faults,
            vec![(v(4), Fault::WrongVote), (v(5), Fault::MismatchedReveal)]
        );
    }

    #[test]
    fn too_few_valid_reveals_is_no_quorum_and_spares_honest_voters() {
        let mut round = committed_round(&[(1, true), (2, true), (3, true)]);
        round.reveal(JOB, v(1), true, &salt(1), 150).unwrap();
        round.reveal(JOB, v(2), true, &salt(2), 150).unwrap();
        let tally = round.tally(3);
        assert_eq!(tally.verdict, Verdict::NoQuorum);
        assert_eq!(tally.faults, vec![(v(3), Fault::NonReveal)]);
    }

    #[test]
    fn a_reveal_hashed_elsewhere_is_judged_by_its_opening() {
        let mut round = committed_round(&[(1, true), (2, true)]);
        let opening = commit_hash(JOB, 1, true, &salt(1), v(1));
        assert_eq!(round.reveal_opening(v(1), true, opening, 150), Ok(true));
        // An opening of other values (here: another salt) does not match the commitment.
        let other = commit_hash(JOB, 1, true, &salt(9), v(2));
        assert_eq!(round.reveal_opening(v(2), true, other, 150), Ok(false));
        assert_eq!(
            round.reveal_opening(v(1), true, opening, 150),
            Err(RoundError::AlreadyRevealed)
        );
    }

    #[test]
    fn commit_hash_binds_every_field() {
        let base = commit_hash(JOB, 1, true, &salt(1), v(1));
        assert_ne!(base, commit_hash(JobId(8), 1, true, &salt(1), v(1)));
        assert_ne!(base, commit_hash(JOB, 2, true, &salt(1), v(1)));
        assert_ne!(base, commit_hash(JOB, 1, false, &salt(1), v(1)));
        assert_ne!(base, commit_hash(JOB, 1, true, &salt(2), v(1)));
        assert_ne!(base, commit_hash(JOB, 1, true, &salt(1), v(2)));
    }
}
