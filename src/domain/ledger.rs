//! The token ledger: balances, per-job stakes, job escrows, validator stakes and burns.
//!
//! Tokens are only ever moved, escrowed, staked or burned; the one mint is genesis. Every
//! operation checks before it mutates, so a refused operation leaves the ledger untouched and the
//! invariant `free + staked + escrowed + burned = minted` always holds.

use super::amount::Amount;
use super::id_map::IdMap;
use super::job::JobId;
use serde::{Deserialize, Serialize};

/// Index of an account. Account 0 is the steward (the employer and resource treasury); agents
/// follow in config order, so an agent's id is also its account id.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct AccountId(pub u32);

pub const STEWARD: AccountId = AccountId(0);

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Account {
    pub name: String,
    pub free: Amount,
    /// Stake a validator holds to sit on committees (slashable).
    pub validator_stake: Amount,
}

/// Tokens held for one job on behalf of one account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub account: AccountId,
    pub amount: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("unknown account {0:?}")]
    UnknownAccount(AccountId),
    #[error("{account} has {available} free tokens, needs {needed}")]
    InsufficientFree {
        account: String,
        available: Amount,
        needed: Amount,
    },
    #[error("job {0} already has a {1}")]
    AlreadyLocked(JobId, &'static str),
    #[error("job {0} has no {1}")]
    NotLocked(JobId, &'static str),
    #[error("escrow of job {job} is {held}, payout needs {needed}")]
    EscrowMismatch {
        job: JobId,
        held: Amount,
        needed: Amount,
    },
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    accounts: Vec<Account>,
    job_stakes: IdMap<Lock>,
    escrows: IdMap<Lock>,
    minted: Amount,
    burned: Amount,
}

/// Totals by bucket, for status output and the invariant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct LedgerTotals {
    pub free: Amount,
    pub job_stakes: Amount,
    pub validator_stakes: Amount,
    pub escrowed: Amount,
    pub burned: Amount,
    pub minted: Amount,
}

impl LedgerTotals {
    pub fn balanced(&self) -> bool {
        self.free + self.job_stakes + self.validator_stakes + self.escrowed + self.burned
            == self.minted
    }
}

impl Ledger {
    /// Opens an account with nothing in it; returns its id.
    pub fn open(&mut self, name: impl Into<String>) -> AccountId {
        self.accounts.push(Account {
            name: name.into(),
            free: Amount::ZERO,
            validator_stake: Amount::ZERO,
        });
        AccountId(self.accounts.len() as u32 - 1)
    }

    /// Genesis mint: the only way tokens come into existence.
    pub fn mint(&mut self, to: AccountId, amount: Amount) -> Result<(), LedgerError> {
        self.account_mut(to)?.free += amount;
        self.minted += amount;
        Ok(())
    }

    pub fn account(&self, id: AccountId) -> Result<&Account, LedgerError> {
        self.accounts
            .get(id.0 as usize)
            .ok_or(LedgerError::UnknownAccount(id))
    }

    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    pub fn free(&self, id: AccountId) -> Amount {
        self.account(id).map(|a| a.free).unwrap_or_default()
    }

    pub fn job_stake(&self, job: JobId) -> Option<Lock> {
        self.job_stakes.get(job).copied()
    }

    pub fn escrow(&self, job: JobId) -> Option<Lock> {
        self.escrows.get(job).copied()
    }

    pub fn burned(&self) -> Amount {
        self.burned
    }

    pub fn transfer(
        &mut self,
        from: AccountId,
        to: AccountId,
        amount: Amount,
    ) -> Result<(), LedgerError> {
        self.account(to)?;
        self.debit(from, amount)?;
        self.account_mut(to)?.free += amount;
        Ok(())
    }

    /// Moves `amount` of the poster's free tokens into the job's escrow.
    pub fn escrow_reward(
        &mut self,
        job: JobId,
        poster: AccountId,
        amount: Amount,
    ) -> Result<(), LedgerError> {
        if self.escrows.contains_key(job) {
            return Err(LedgerError::AlreadyLocked(job, "escrow"));
        }
        self.debit(poster, amount)?;
        self.escrows.insert(
            job,
            Lock {
                account: poster,
                amount,
            },
        );
        Ok(())
    }

    /// Settles a successful job: `reward` to the worker, `burn` destroyed; they must add up to the escrow.
    pub fn pay_out(
        &mut self,
        job: JobId,
        to: AccountId,
        reward: Amount,
        burn: Amount,
    ) -> Result<(), LedgerError> {
        self.account(to)?;
        let held = self
            .escrows
            .get(job)
            .ok_or(LedgerError::NotLocked(job, "escrow"))?
            .amount;
        if reward + burn != held {
            return Err(LedgerError::EscrowMismatch {
                job,
                held,
                needed: reward + burn,
            });
        }
        self.escrows.remove(job);
        self.account_mut(to)?.free += reward;
        self.burned += burn;
        Ok(())
    }

    /// Returns the whole escrow to the poster (cancelled or failed job).
    pub fn refund_escrow(&mut self, job: JobId) -> Result<Amount, LedgerError> {
        let lock = self
            .escrows
            .remove(job)
            .ok_or(LedgerError::NotLocked(job, "escrow"))?;
        self.account_mut(lock.account)?.free += lock.amount;
        Ok(lock.amount)
    }

    pub fn lock_job_stake(
        &mut self,
        job: JobId,
        agent: AccountId,
        amount: Amount,
    ) -> Result<(), LedgerError> {
        if self.job_stakes.contains_key(job) {
            return Err(LedgerError::AlreadyLocked(job, "stake"));
        }
        self.debit(agent, amount)?;
        self.job_stakes.insert(
            job,
            Lock {
                account: agent,
                amount,
            },
        );
        Ok(())
    }

    pub fn release_job_stake(&mut self, job: JobId) -> Result<Amount, LedgerError> {
        let lock = self
            .job_stakes
            .remove(job)
            .ok_or(LedgerError::NotLocked(job, "stake"))?;
        self.account_mut(lock.account)?.free += lock.amount;
        Ok(lock.amount)
    }

    /// Burns `min(stake, amount)` of this job's stake and returns the rest to the agent; other
    /// jobs' stakes are untouched. Returns the amount burned.
    pub fn slash_job_stake(&mut self, job: JobId, amount: Amount) -> Result<Amount, LedgerError> {
        let lock = self
            .job_stakes
            .remove(job)
            .ok_or(LedgerError::NotLocked(job, "stake"))?;
        let slashed = lock.amount.min(amount);
        self.burned += slashed;
        self.account_mut(lock.account)?.free += lock.amount.saturating_sub(slashed);
        Ok(slashed)
    }

    pub fn stake_validator(&mut self, who: AccountId, amount: Amount) -> Result<(), LedgerError> {
        self.debit(who, amount)?;
        self.account_mut(who)?.validator_stake += amount;
        Ok(())
    }

    /// Burns up to `amount` of a validator's stake; returns what was burned.
    pub fn slash_validator(
        &mut self,
        who: AccountId,
        amount: Amount,
    ) -> Result<Amount, LedgerError> {
        let account = self.account_mut(who)?;
        let slashed = account.validator_stake.min(amount);
        account.validator_stake = account.validator_stake.saturating_sub(slashed);
        self.burned += slashed;
        Ok(slashed)
    }

    pub fn totals(&self) -> LedgerTotals {
        LedgerTotals {
            free: self.accounts.iter().map(|a| a.free).sum(),
            job_stakes: self.job_stakes.values().map(|l| l.amount).sum(),
            validator_stakes: self.accounts.iter().map(|a| a.validator_stake).sum(),
            escrowed: self.escrows.values().map(|l| l.amount).sum(),
            burned: self.burned,
            minted: self.minted,
        }
    }

    fn debit(&mut self, from: AccountId, amount: Amount) -> Result<(), LedgerError> {
        let account = self.account_mut(from)?;
        match account.free.checked_sub(amount) {
            Some(rest) => {
                account.free = rest;
                Ok(())
            }
            None => Err(LedgerError::InsufficientFree {
                account: account.name.clone(),
                available: account.free,
                needed: amount,
            }),
        }
    }

    fn account_mut(&mut self, id: AccountId) -> Result<&mut Account, LedgerError> {
        self.accounts
            .get_mut(id.0 as usize)
            .ok_or(LedgerError::UnknownAccount(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tokens(n: u64) -> Amount {
        Amount(n as u128)
    }

    fn two_accounts() -> (Ledger, AccountId, AccountId) {
        let mut l = Ledger::default();
        let a = l.open("steward");
        let b = l.open("agent");
        l.mint(a, tokens(1_000)).unwrap();
        l.mint(b, tokens(100)).unwrap();
        (l, a, b)
    }

    #[test]
    fn refused_operations_change_nothing() {
        let (mut l, a, b) = two_accounts();
        let before = l.clone();
        assert!(matches!(
            l.transfer(b, a, tokens(101)),
            Err(LedgerError::InsufficientFree { .. })
        ));
        assert!(l.lock_job_stake(JobId(1), b, tokens(500)).is_err());
        assert!(l.pay_out(JobId(9), b, tokens(1), tokens(0)).is_err());
        assert_eq!(l, before);
    }

    #[test]
    fn slash_touches_only_that_jobs_stake() {
        let (mut l, _a, b) = two_accounts();
        l.lock_job_stake(JobId(1), b, tokens(30)).unwrap();
        l.lock_job_stake(JobId(2), b, tokens(40)).unwrap();
        assert_eq!(
            l.slash_job_stake(JobId(1), tokens(1_000)).unwrap(),
            tokens(30)
        );
        assert_eq!(l.job_stake(JobId(2)).unwrap().amount, tokens(40));
        assert_eq!(l.free(b), tokens(30));
        assert!(l.totals().balanced());
    }

    #[test]
    fn payout_must_match_escrow_and_happens_once() {
        let (mut l, a, b) = two_accounts();
        l.escrow_reward(JobId(1), a, tokens(102)).unwrap();
        assert!(matches!(
            l.pay_out(JobId(1), b, tokens(100), tokens(1)),
            Err(LedgerError::EscrowMismatch { .. })
        ));
        l.pay_out(JobId(1), b, tokens(100), tokens(2)).unwrap();
        assert!(l.pay_out(JobId(1), b, tokens(100), tokens(2)).is_err());
        assert_eq!(l.free(b), tokens(200));
        assert_eq!(l.burned(), tokens(2));
        assert!(l.totals().balanced());
    }

    #[derive(Debug, Clone)]
    enum Op {
        Transfer(u8, u8, u64),
        Escrow(u8, u8, u64),
        PayOut(u8, u8),
        Refund(u8),
        Lock(u8, u8, u64),
        Release(u8),
        Slash(u8, u64),
        StakeValidator(u8, u64),
        SlashValidator(u8, u64),
    }

    fn op() -> impl Strategy<Value = Op> {
        let acct = 0u8..4;
        let job = 0u8..6;
        prop_oneof![
            (acct.clone(), acct.clone(), 0u64..500).prop_map(|(a, b, n)| Op::Transfer(a, b, n)),
            (job.clone(), acct.clone(), 0u64..500).prop_map(|(j, a, n)| Op::Escrow(j, a, n)),
            (job.clone(), acct.clone()).prop_map(|(j, a)| Op::PayOut(j, a)),
            job.clone().prop_map(Op::Refund),
            (job.clone(), acct.clone(), 0u64..500).prop_map(|(j, a, n)| Op::Lock(j, a, n)),
            job.clone().prop_map(Op::Release),
            (job, 0u64..500).prop_map(|(j, n)| Op::Slash(j, n)),
            (acct.clone(), 0u64..500).prop_map(|(a, n)| Op::StakeValidator(a, n)),
            (acct, 0u64..500).prop_map(|(a, n)| Op::SlashValidator(a, n)),
        ]
    }

    proptest! {
        /// free + staked + escrowed + burned = minted after any sequence of operations,
        /// whether each one succeeds or is refused.
        #[test]
        fn invariant_holds_under_any_operation_sequence(ops in proptest::collection::vec(op(), 1..200)) {
            let mut l = Ledger::default();
            for i in 0..4 {
                let id = l.open(format!("acct{i}"));
                l.mint(id, tokens(1_000)).unwrap();
            }
            for op in ops {
                let before = l.clone();
                let result = match op {
                    Op::Transfer(a, b, n) => l.transfer(AccountId(a.into()), AccountId(b.into()), tokens(n)).map(|_| ()),
                    Op::Escrow(j, a, n) => l.escrow_reward(JobId(j.into()), AccountId(a.into()), tokens(n)),
                    Op::PayOut(j, a) => match l.escrow(JobId(j.into())) {
                        Some(lock) => {
                            let burn = lock.amount.mul_ratio(0.02);
                            l.pay_out(JobId(j.into()), AccountId(a.into()), lock.amount.saturating_sub(burn), burn)
                        }
                        None => l.pay_out(JobId(j.into()), AccountId(a.into()), tokens(1), tokens(0)),
                    },
                    Op::Refund(j) => l.refund_escrow(JobId(j.into())).map(|_| ()),
                    Op::Lock(j, a, n) => l.lock_job_stake(JobId(j.into()), AccountId(a.into()), tokens(n)),
                    Op::Release(j) => l.release_job_stake(JobId(j.into())).map(|_| ()),
                    Op::Slash(j, n) => l.slash_job_stake(JobId(j.into()), tokens(n)).map(|_| ()),
                    Op::StakeValidator(a, n) => l.stake_validator(AccountId(a.into()), tokens(n)),
                    Op::SlashValidator(a, n) => l.slash_validator(AccountId(a.into()), tokens(n)).map(|_| ()),
                };
                if result.is_err() {
                    prop_assert_eq!(&l, &before, "a refused operation changed the ledger");
                }
                prop_assert!(l.totals().balanced(), "{:?}", l.totals());
                prop_assert_eq!(l.totals().minted, tokens(4_000));
            }
        }
    }
}
