//! `/chain`: contract addresses, the indexer's cursor and lag, the mirror's progress and the
//! attestation status. Everything is read from files the chain half writes, plus one cached
//! read of `CheckpointRegistry.latestCheckpoint` when an RPC URL is known.

use super::state::HttpContext;
use crate::chain::bindings::CheckpointRegistry;
use crate::chain::manifest::Deployment;
use serde_json::{Value, json};
use std::io::BufRead;
use std::path::Path;
use std::time::Duration;

/// How long a read from the chain is reused.
const CACHE_TTL: Duration = Duration::from_secs(5);
const RPC_TIMEOUT: Duration = Duration::from_secs(2);

/// The indexer's cursor (`reports/chain/indexer.json`), with `lag = head - block`; the file's
/// on-chain view and reorg window stay out (they grow with the chain).
pub fn indexer(reports: &Path) -> Value {
    let path = reports.join("chain").join("indexer.json");
    let Some((s, view)) = crate::chain::indexer::Indexer::read(&path) else {
        return Value::Null;
    };
    json!({
        "block": s.block, "hash": s.hash, "head": s.head, "lag": s.head.saturating_sub(s.block),
        "reorgs": s.reorgs, "events": s.events, "chunk": s.chunk, "halvings": s.halvings,
        "paused": view.any_paused(), "jobs": view.jobs.len() as u64 + s.archived,
    })
}

/// Counts in the mirror's journal: jobs created on chain and steps done.
pub fn mirror(reports: &Path) -> Value {
    let path = reports.join("chain").join("mirror.jsonl");
    let Ok(file) = std::fs::File::open(&path) else {
        return Value::Null;
    };
    let (mut created, mut steps) = (0u64, 0u64);
    for line in std::io::BufReader::new(file).lines().map_while(Result::ok) {
        // Cheap substring checks: the journal can be long and only the kind matters here.
        if line.contains("\"kind\":\"created\"") || line.contains("\"kind\":\"adopted\"") {
            created += 1;
        } else if line.contains("\"kind\":\"done\"") {
            steps += 1;
        }
    }
    json!({"jobs_created": created, "steps_done": steps})
}

/// The local attestation journal (`reports/chain/attestations.jsonl`): how many were sent and
/// the latest one.
pub fn attestations(reports: &Path) -> Value {
    let path = reports.join("chain").join("attestations.jsonl");
    let Ok(file) = std::fs::File::open(&path) else {
        return json!({"count": 0, "latest": null});
    };
    let done: Vec<Value> = std::io::BufReader::new(file)
        .lines()
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
        .filter(|v| v["done"] == "attest")
        .collect();
    json!({"count": done.len(), "latest": done.last()})
}

pub fn manifest(ctx: &HttpContext) -> Option<Deployment> {
    Deployment::load(ctx.chain.manifest.as_ref()?).ok()
}

/// The chain's latest attested checkpoint (cached), or null when no chain is reachable.
pub async fn onchain_attestation(ctx: &HttpContext, d: Option<&Deployment>) -> Value {
    let (Some(url), Some(d)) = (ctx.chain.rpc_url.as_deref(), d) else {
        return Value::Null;
    };
    ctx.attestation_cache
        .get_or(CACHE_TTL, async {
            match tokio::time::timeout(RPC_TIMEOUT, read_latest(url, d)).await {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => json!({"error": format!("{e:#}")}),
                Err(_) => timed_out(url),
            }
        })
        .await
}

fn timed_out(url: &str) -> Value {
    json!({"error": format!("{url} did not answer within {RPC_TIMEOUT:?}")})
}

/// Each signer's transactions sent but not yet mined (pending nonce − latest nonce), cached.
pub async fn pending(ctx: &HttpContext) -> Value {
    let Some(url) = ctx.chain.rpc_url.as_deref() else {
        return Value::Null;
    };
    if ctx.chain.signers.is_empty() {
        return Value::Null;
    }
    ctx.pending_cache
        .get_or(CACHE_TTL, async {
            match tokio::time::timeout(RPC_TIMEOUT, read_pending(url, &ctx.chain.signers)).await {
                Ok(Ok(v)) => v,
                Ok(Err(e)) => json!({"error": format!("{e:#}")}),
                Err(_) => timed_out(url),
            }
        })
        .await
}

async fn read_pending(
    url: &str,
    signers: &[(String, alloy::primitives::Address)],
) -> eyre::Result<Value> {
    use alloy::eips::BlockNumberOrTag;
    use alloy::providers::Provider;
    let provider = crate::chain::tx::connect(url)?;
    let mut out = Vec::with_capacity(signers.len());
    for (name, address) in signers {
        let count = |tag: BlockNumberOrTag| {
            provider
                .get_transaction_count(*address)
                .block_id(tag.into())
        };
        let pending = count(BlockNumberOrTag::Pending).await?;
        let mined = count(BlockNumberOrTag::Latest).await?;
        out.push(
            json!({"name": name, "address": address, "pending": pending.saturating_sub(mined)}),
        );
    }
    Ok(Value::Array(out))
}

async fn read_latest(url: &str, d: &Deployment) -> eyre::Result<Value> {
    use alloy::providers::Provider;
    let provider = crate::chain::tx::connect(url)?;
    let head = provider.get_block_number().await?;
    let Some(registry) = d.checkpoint_registry else {
        return Ok(json!({"head": head, "registry": null, "count": 0, "latest": null}));
    };
    let registry = CheckpointRegistry::new(registry, &provider);
    let count = registry.checkpointCount().call().await?;
    if count.is_zero() {
        return Ok(json!({"head": head, "count": 0, "latest": null}));
    }
    let latest = registry.latestCheckpoint().call().await?;
    Ok(json!({
        "head": head,
        "count": count.to_string(),
        "latest": {
            "index": latest.index.to_string(),
            "hash": latest.stateHash,
            "attestor": latest.attestor,
            "cursor_block": latest.cursorBlock.to_string(),
            "attested_at": latest.attestedAt.to_string(),
        },
    }))
}

/// The run's transaction counters: sent, replaced at the same nonce with higher fees, fee cap
/// hits (a priced-out transaction left waiting), and mined reverts (each cost gas).
pub fn transactions(t: &crate::chain::tx::TxFigures) -> Value {
    use std::sync::atomic::Ordering::Relaxed;
    json!({
        "sent": t.sent.load(Relaxed),
        "replaced": t.stats.replaced.load(Relaxed),
        "fee_cap_hits": t.stats.fee_capped.load(Relaxed),
        "mined_reverts": t.stats.mined_reverts.load(Relaxed),
    })
}

/// The whole `/chain` document.
pub async fn document(ctx: &HttpContext) -> Value {
    let d = manifest(ctx);
    let onchain = onchain_attestation(ctx, d.as_ref()).await;
    let signers = pending(ctx).await;
    json!({
        "mode": ctx.chain.mode,
        "rpc_url": ctx.chain.rpc_url.as_deref().map(crate::chain::redact::redact_url),
        "chain_id": d.as_ref().map(|d| d.chain_id),
        "contracts": d,
        "indexer": indexer(&ctx.paths.dir),
        "mirror": mirror(&ctx.paths.dir),
        "transactions": ctx.chain.transactions.as_ref().map(transactions),
        "signers": signers,
        "attestations": {
            "local": attestations(&ctx.paths.dir),
            "onchain": onchain,
        },
    })
}

/// The lifecycle events of on-chain job `id` (JobRegistry and ValidationModule logs whose first
/// topic is the job id), each with its block and transaction hash. Read from the chain rather
/// than the journal, so steps taken by others (a gateway, the employer) show up too.
pub async fn job_events(ctx: &HttpContext, id: alloy::primitives::U256) -> Value {
    let (Some(url), Some(d)) = (ctx.chain.rpc_url.as_deref(), manifest(ctx)) else {
        return Value::Null;
    };
    match tokio::time::timeout(RPC_TIMEOUT, read_job_events(url, &d, id)).await {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => json!({"error": format!("{e:#}")}),
        Err(_) => timed_out(url),
    }
}

async fn read_job_events(
    url: &str,
    d: &Deployment,
    id: alloy::primitives::U256,
) -> eyre::Result<Value> {
    use alloy::primitives::B256;
    use alloy::providers::Provider;
    use alloy::rpc::types::Filter;
    let provider = crate::chain::tx::connect(url)?;
    let filter = Filter::new()
        .address(vec![d.job_registry, d.validation_module])
        .topic1(B256::from(id))
        .from_block(d.deploy_block);
    let logs = provider.get_logs(&filter).await?;
    Ok(logs
        .iter()
        .filter_map(|log| {
            let name = event_name(*log.topic0()?)?;
            Some(json!({
                "event": name,
                "block": log.block_number,
                "tx": log.transaction_hash,
            }))
        })
        .collect())
}

/// Names of the job lifecycle events by their signature hash.
fn event_name(topic0: alloy::primitives::B256) -> Option<&'static str> {
    use crate::chain::bindings::{JobRegistry as J, ValidationModule as V};
    use alloy::sol_types::SolEvent;
    [
        (J::JobCreated::SIGNATURE_HASH, "JobCreated"),
        (J::AgentAssigned::SIGNATURE_HASH, "AgentAssigned"),
        (J::ResultSubmitted::SIGNATURE_HASH, "ResultSubmitted"),
        (J::JobCompleted::SIGNATURE_HASH, "JobCompleted"),
        (J::JobPayout::SIGNATURE_HASH, "JobPayout"),
        (J::JobFinalized::SIGNATURE_HASH, "JobFinalized"),
        (J::JobCancelled::SIGNATURE_HASH, "JobCancelled"),
        (J::JobExpired::SIGNATURE_HASH, "JobExpired"),
        (J::JobDisputed::SIGNATURE_HASH, "JobDisputed"),
        (J::DisputeResolved::SIGNATURE_HASH, "DisputeResolved"),
        (V::ValidatorsSelected::SIGNATURE_HASH, "ValidatorsSelected"),
        (
            V::ValidationCommitted::SIGNATURE_HASH,
            "ValidationCommitted",
        ),
        (V::ValidationRevealed::SIGNATURE_HASH, "ValidationRevealed"),
        (V::ValidationTallied::SIGNATURE_HASH, "ValidationTallied"),
        (V::ValidationResult::SIGNATURE_HASH, "ValidationResult"),
        (
            V::ValidationQuorumFailed::SIGNATURE_HASH,
            "ValidationQuorumFailed",
        ),
    ]
    .into_iter()
    .find_map(|(hash, name)| (hash == topic0).then_some(name))
}
