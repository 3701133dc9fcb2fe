//! Signing keys for every on-chain actor. On the devnet they derive from anvil's public test
//! mnemonic; elsewhere they come from the environment (or `.env`). Keys are never printed:
//! `Debug` shows addresses only.

use alloy::primitives::Address;
use alloy::signers::local::{MnemonicBuilder, PrivateKeySigner, coins_bip39::English};

/// Anvil's well-known test mnemonic (public; for the local devnet only).
pub const ANVIL_MNEMONIC: &str = "test test test test test test test test test test test junk";

#[derive(Clone)]
pub struct Keys {
    /// Governance: deploys, wires, pauses, resolves disputes.
    pub owner: PrivateKeySigner,
    /// The steward's account: posts (and pays for) the engine's jobs.
    pub employer: PrivateKeySigner,
    /// One per non-validator agent, in config order.
    pub agents: Vec<PrivateKeySigner>,
    /// One per validator agent, in config order.
    pub validators: Vec<PrivateKeySigner>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("owner", &self.owner.address())
            .field("employer", &self.employer.address())
            .field(
                "agents",
                &self.agents.iter().map(|k| k.address()).collect::<Vec<_>>(),
            )
            .field(
                "validators",
                &self
                    .validators
                    .iter()
                    .map(|k| k.address())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0} is not set (put it in the environment or in .env)")]
    Missing(&'static str),
    #[error(
        "{0} is not set (put it in the environment or in .env); anvil's public test keys are used only on this reports folder's own devnet"
    )]
    NotLocalDevnet(&'static str),
    #[error("{var} holds {found} keys, {needed} are needed")]
    Count {
        var: &'static str,
        found: usize,
        needed: usize,
    },
    #[error("{0} holds a value that is not a private key (32 bytes of hex)")]
    Invalid(&'static str),
    #[error("cannot derive devnet key {0}: {1}")]
    Derive(u32, String),
}

impl Keys {
    /// Devnet keys: index 0 owner, 1 employer, then agents, then validators.
    pub fn devnet(agents: usize, validators: usize) -> Result<Keys, KeyError> {
        let derive = |i: u32| {
            MnemonicBuilder::<English>::default()
                .phrase(ANVIL_MNEMONIC)
                .index(i)
                .and_then(|b| b.build())
                .map_err(|e| KeyError::Derive(i, e.to_string()))
        };
        let n = agents as u32;
        Ok(Keys {
            owner: derive(0)?,
            employer: derive(1)?,
            agents: (0..n).map(|i| derive(2 + i)).collect::<Result<_, _>>()?,
            validators: (0..validators as u32)
                .map(|i| derive(2 + n + i))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Keys for any chain from `OMEGA_OWNER_KEY`, `OMEGA_EMPLOYER_KEY`, `OMEGA_AGENT_KEYS` and
    /// `OMEGA_VALIDATOR_KEYS` (comma-separated).
    pub fn from_env(agents: usize, validators: usize) -> Result<Keys, KeyError> {
        Ok(Keys {
            owner: one("OMEGA_OWNER_KEY")?,
            employer: one("OMEGA_EMPLOYER_KEY")?,
            agents: many("OMEGA_AGENT_KEYS", agents)?,
            validators: many("OMEGA_VALIDATOR_KEYS", validators)?,
        })
    }

    /// The workforce's keys from the environment, without the owner's (`preflight` and
    /// `provision` need it only to allowlist): employer, agents, validators.
    pub fn workforce_from_env(
        agents: usize,
        validators: usize,
    ) -> Result<
        (
            PrivateKeySigner,
            Vec<PrivateKeySigner>,
            Vec<PrivateKeySigner>,
        ),
        KeyError,
    > {
        Ok((
            one("OMEGA_EMPLOYER_KEY")?,
            many("OMEGA_AGENT_KEYS", agents)?,
            many("OMEGA_VALIDATOR_KEYS", validators)?,
        ))
    }

    /// The owner key from `OMEGA_OWNER_KEY`, or None when it is not set. Callers fall back to
    /// anvil's first test key only on a proven local devnet (`cli::target::Target::owner_key`).
    pub fn owner_from_env() -> Result<Option<PrivateKeySigner>, KeyError> {
        match std::env::var("OMEGA_OWNER_KEY") {
            Ok(text) => parse("OMEGA_OWNER_KEY", &text).map(Some),
            Err(_) => Ok(None),
        }
    }

    /// How many anvil accounts the devnet needs for this workforce.
    pub fn devnet_accounts(agents: usize, validators: usize) -> u32 {
        (2 + agents + validators) as u32
    }

    pub fn all(&self) -> impl Iterator<Item = &PrivateKeySigner> {
        [&self.owner, &self.employer]
            .into_iter()
            .chain(&self.agents)
            .chain(&self.validators)
    }

    pub fn addresses(&self) -> Vec<Address> {
        self.all().map(|k| k.address()).collect()
    }
}

fn parse(var: &'static str, text: &str) -> Result<PrivateKeySigner, KeyError> {
    text.trim()
        .parse::<PrivateKeySigner>()
        .map_err(|_| KeyError::Invalid(var))
}

fn one(var: &'static str) -> Result<PrivateKeySigner, KeyError> {
    let text = std::env::var(var).map_err(|_| KeyError::Missing(var))?;
    parse(var, &text)
}

/// At least `needed` keys from `var` (comma-separated); none needed, the variable may be unset.
fn many(var: &'static str, needed: usize) -> Result<Vec<PrivateKeySigner>, KeyError> {
    let text = match std::env::var(var) {
        Ok(text) => text,
        Err(_) if needed == 0 => return Ok(Vec::new()),
        Err(_) => return Err(KeyError::Missing(var)),
    };
    let keys: Vec<PrivateKeySigner> = text
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| parse(var, s))
        .collect::<Result<_, _>>()?;
    if keys.len() < needed {
        return Err(KeyError::Count {
            var,
            found: keys.len(),
            needed,
        });
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devnet_keys_are_anvils_accounts_and_debug_hides_secrets() {
        let keys = Keys::devnet(3, 5).unwrap();
        assert_eq!(
            keys.owner.address().to_string(),
            "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
        );
        assert_eq!(
            keys.employer.address().to_string(),
            "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
        );
        assert_eq!(keys.addresses().len(), 10);
        let shown = format!("{keys:?}");
        assert!(
            !shown.contains("ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"),
            "private key leaked"
        );
    }
}
