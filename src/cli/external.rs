//! External agents at start: their cards fetched and checked (a bad one stops the run before
//! anything starts, naming the agent), their skills narrowed to what the card offers, their
//! on-chain keys, and the drivers the engine asks for their work and votes.

use super::chain_opts::ChainArgs;
use crate::chain::keys::{KeyError, Keys};
use crate::config::{Config, ReportPaths};
use crate::domain::agent::Role;
use crate::engine::Orchestrator;
use crate::engine::external::{ExternalDriver, Results};
use crate::http::a2a::client::{A2aClient, fetch_card};
use alloy::signers::local::PrivateKeySigner;
use eyre::{Result, WrapErr};
use std::sync::Arc;

/// Fetches every external agent's card and keeps, of each agent's configured skills, those its
/// card offers; an agent whose card offers none of them is an error.
pub async fn resolve_cards(config: &mut Config) -> Result<()> {
    let client = A2aClient::new();
    for agent in &mut config.external_agents {
        let card = fetch_card(&client, &agent.card_url)
            .await
            .wrap_err_with(|| format!("external agent {:?}", agent.name))?;
        let offered: Vec<String> = (agent.skills.iter())
            .filter(|s| card.offers(s))
            .cloned()
            .collect();
        if offered.is_empty() {
            eyre::bail!(
                "external agent {:?}: its card ({}) offers none of the configured skills {:?} (it offers {:?})",
                agent.name,
                agent.card_url,
                agent.skills,
                card.skill_names()
            );
        }
        tracing::info!(
            "external agent {}: {} at {} ({}), skills {:?}",
            agent.name,
            card.name,
            card.rpc_url,
            if agent.role.validates() {
                "validator"
            } else {
                "worker"
            },
            offered
        );
        agent.skills = offered;
        agent.card_url = card.rpc_url; // from here on: where its JSON-RPC endpoint is
    }
    Ok(())
}

/// The chain options, with the base of result URIs defaulting to the status API's address.
pub fn with_result_uri(
    chain: &ChainArgs,
    listener: Option<&tokio::net::TcpListener>,
) -> Result<ChainArgs> {
    let mut chain = chain.clone();
    if let (None, Some(listener)) = (&chain.result_uri_base, listener) {
        chain.result_uri_base = Some(format!("http://{}", listener.local_addr()?));
    }
    Ok(chain)
}

/// External agents, if any, answer through their drivers from the first cycle on.
pub fn attach(config: &Config, paths: &ReportPaths, orchestrator: &mut Orchestrator) {
    if !config.external_agents.is_empty() {
        let results = Results::new(paths.dir.join("results"));
        orchestrator.use_external_agents(&drivers(config, &results));
    }
}

/// One driver per external agent, by account id, all sharing `results`.
fn drivers(config: &Config, results: &Results) -> Vec<Arc<ExternalDriver>> {
    let client = Arc::new(A2aClient::new());
    let profiles = config.agent_profiles();
    let externals = profiles.iter().filter(|p| p.external);
    (externals.zip(&config.external_agents))
        .map(|(profile, agent)| {
            Arc::new(ExternalDriver::new(
                profile.clone(),
                agent.min_reward,
                std::time::Duration::from_secs_f64(agent.task_timeout_seconds),
                agent.card_url.clone(),
                client.clone(),
                results.clone(),
            ))
        })
        .collect()
}

/// The workforce's keys: on this run's devnet anvil's test keys by account order (the devnet
/// funds and stakes exactly those, so an external agent's `key_env` is not read there);
/// elsewhere the owner's (`OMEGA_OWNER_KEY`) and the rest as `workforce_signers` reads them.
pub fn workforce_keys(config: &Config, devnet: bool) -> Result<Keys> {
    if devnet {
        let (agents, validators) = super::devnet::workforce(config);
        return Ok(Keys::devnet(agents, validators)?);
    }
    let owner = Keys::owner_from_env()?.ok_or(KeyError::Missing("OMEGA_OWNER_KEY"))?;
    let (employer, agents, validators) = workforce_signers(config)?;
    Ok(Keys {
        owner,
        employer,
        agents,
        validators,
    })
}

/// The keys of everyone but the owner, from the environment (or `.env`): the employer's
/// (`OMEGA_EMPLOYER_KEY`), the simulated agents' (`OMEGA_AGENT_KEYS`, `OMEGA_VALIDATOR_KEYS`,
/// in config order) and each external agent's from its `key_env`, after the simulated ones (as
/// in account order). A missing or bad key is an error naming the variable.
pub fn workforce_signers(config: &Config) -> Result<Workforce> {
    let profiles = config.agent_profiles();
    let count = |validates: bool| {
        (profiles.iter())
            .filter(|p| !p.external && (p.role == Role::Validator) == validates)
            .count()
    };
    let (employer, mut agents, mut validators) =
        Keys::workforce_from_env(count(false), count(true))?;
    agents.truncate(count(false));
    validators.truncate(count(true));
    let externals = profiles.iter().filter(|p| p.external);
    for (profile, agent) in externals.zip(&config.external_agents) {
        let key = external_key(&agent.name, agent.key_env.as_deref())?;
        if profile.role == Role::Validator {
            validators.push(key);
        } else {
            agents.push(key);
        }
    }
    Ok((employer, agents, validators))
}

/// Employer, agents, validators.
pub type Workforce = (
    PrivateKeySigner,
    Vec<PrivateKeySigner>,
    Vec<PrivateKeySigner>,
);

/// The key of external agent `name`, from its `key_env` variable `var`.
fn external_key(name: &str, var: Option<&str>) -> Result<PrivateKeySigner> {
    let Some(var) = var else {
        eyre::bail!(
            "external agent {name:?} needs an on-chain key: set key_env in its config entry to a variable holding it (in the environment or .env); only this folder's own devnet lends it an anvil test key"
        );
    };
    let text = std::env::var(var).map_err(|_| {
        eyre::eyre!(
            "external agent {name:?}: its key_env {var} is not set (put its private key in the environment or in .env)"
        )
    })?;
    text.trim().parse::<PrivateKeySigner>().map_err(|_| {
        eyre::eyre!(
            "external agent {name:?}: {var} holds a value that is not a private key (32 bytes of hex)"
        )
    })
}
