//! Commit–reveal validation of one job by a committee of validators.
//!
//! A validator commits `keccak256(job id ‖ round nonce ‖ verdict ‖ salt ‖ validator)` during the
//! commit phase and reveals verdict and salt only after it; a reveal counts only when it matches
//! its commit. The salt is secret random data known only to the validator until it reveals.
//!
//! The engine keeps each of its validators' committed values sealed (`Sealed`) so that they can
//! reveal after a restart. A commitment always comes from its sealed values (`SealedVote` is the
//! only way to make one), so a reveal matches it exactly when it repeats those values: judging it
//! is a comparison, and only a commitment made elsewhere (without sealed values) is re-hashed.

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

/// A validator's vote and the commitment made from it. The fields are private and the only
/// constructor hashes them, so the commitment is always that of the sealed values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealedVote {
    job: JobId,
    nonce: u32,
    validator: AccountId,
    sealed: Sealed,
    commitment: B256,
}

impl SealedVote {
    pub fn new(job: JobId, nonce: u32, validator: AccountId, approve: bool, salt: B256) -> Self {
        SealedVote {
            job,
            nonce,
            validator,
            sealed: Sealed { approve, salt },
            commitment: commit_hash(job, nonce, approve, &salt, validator),
        }
    }

    pub fn job(&self) -> JobId {
        self.job
    }

    pub fn nonce(&self) -> u32 {
        self.nonce
    }

    pub fn sealed(&self) -> Sealed {
        self.sealed
    }

    pub fn commitment(&self) -> B256 {
        self.commitment
    }
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
    #[error("the vote was sealed for another validator or round")]
    ForeignVote,
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

    /// Records a commitment made elsewhere (its values are not known until revealed).
    pub fn commit(
        &mut self,
        validator: AccountId,
        hash: B256,
        now_ms: u64,
    ) -> Result<(), RoundError> {
        self.record_commit(validator, hash, None, now_ms)
    }

    /// Records a vote of `validator` with its commitment, keeping its values sealed.
    pub fn commit_vote(
        &mut self,
        validator: AccountId,
        vote: SealedVote,
        now_ms: u64,
    ) -> Result<(), RoundError> {
        if vote.validator != validator || vote.nonce != self.nonce {
            return Err(RoundError::ForeignVote);
        }
        self.record_commit(validator, vote.commitment, Some(vote.sealed), now_ms)
    }

    fn record_commit(
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
        if now_ms < self.commit_deadline_ms {
            return Err(RoundError::RevealNotOpen);
        }
        if now_ms >= self.reveal_deadline_ms {
            return Err(RoundError::RevealClosed);
        }
        let nonce = self.nonce;
        let ballot = self.ballot_mut(validator)?;
        let committed = ballot.commit.ok_or(RoundError::NoCommit)?;
        if ballot.reveal.is_some() {
            return Err(RoundError::AlreadyRevealed);
        }
        let valid = match ballot.sealed {
            // The commitment is the hash of these sealed values (see `SealedVote`): other
            // values cannot match it, the same ones do.
            Some(sealed) => sealed.approve == approve && sealed.salt == *salt,
            None => commit_hash(job, nonce, approve, salt, validator) == committed,
        };
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
                .commit(v(n), commit_hash(JOB, 1, approve, &salt(n as u8), v(n)), 10)
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
            round.commit(v(1), B256::ZERO, 100),
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
    fn a_sealed_vote_is_judged_by_its_values_as_its_commitment_would_be() {
        let mut round = Round::new(1, &[v(1), v(2), v(3)], 0, 100, 100);
        for n in 1..=3 {
            let vote = SealedVote::new(JOB, 1, v(n), true, salt(n as u8));
            assert_eq!(
                vote.commitment(),
                commit_hash(JOB, 1, true, &salt(n as u8), v(n))
            );
            round.commit_vote(v(n), vote, 10).unwrap();
        }
        assert_eq!(round.reveal(JOB, v(1), true, &salt(1), 150), Ok(true));
        assert_eq!(round.reveal(JOB, v(2), true, &salt(9), 150), Ok(false));
        assert_eq!(round.reveal(JOB, v(3), false, &salt(3), 150), Ok(false));
        assert_eq!(
            round.reveal(JOB, v(1), true, &salt(1), 150),
            Err(RoundError::AlreadyRevealed)
        );
    }

    #[test]
    fn a_vote_sealed_for_another_validator_or_round_is_refused() {
        let mut round = Round::new(2, &[v(1), v(2)], 0, 100, 100);
        let for_v2 = SealedVote::new(JOB, 2, v(2), true, salt(1));
        assert_eq!(
            round.commit_vote(v(1), for_v2, 10),
            Err(RoundError::ForeignVote)
        );
        let old_round = SealedVote::new(JOB, 1, v(1), true, salt(1));
        assert_eq!(
            round.commit_vote(v(1), old_round, 10),
            Err(RoundError::ForeignVote)
        );
        assert!(round.ballots.iter().all(|b| b.commit.is_none()));
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
