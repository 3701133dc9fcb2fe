//! The deployment manifest (flat camelCase names, as v2 tools read it) and the gateway env file.

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    pub chain_id: u64,
    pub deploy_block: u64,
    pub token: Address,
    pub stake_manager: Address,
    pub job_registry: Address,
    pub validation_module: Address,
    pub identity_registry: Address,
    pub system_pause: Address,
    /// Ours, not part of AGI Jobs v2: a deployment without one has attestation off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_registry: Option<Address>,
    /// The v2 DisputeModule, when the deployment has one: disputed jobs are resolved through it
    /// (a JobRegistry that names one accepts `resolveDispute` from nobody else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute_module: Option<Address>,
    /// Governance (owner) of every module.
    pub owner: Address,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read deployment manifest {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("deployment manifest {path} is not valid: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "this deployment has no checkpointRegistry (it is Omega's, not part of AGI Jobs v2): attestation is off"
    )]
    NoCheckpointRegistry,
}

impl Deployment {
    pub fn load(path: &Path) -> Result<Deployment, ManifestError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| ManifestError::Read {
            path: shown.clone(),
            source,
        })?;
        serde_json::from_slice(&bytes).map_err(|source| ManifestError::Parse {
            path: shown,
            source,
        })
    }

    pub fn save(&self, path: &Path) -> Result<(), ManifestError> {
        let bytes = serde_json::to_vec_pretty(self).expect("manifest serializes");
        crate::persistence::atomic::write_atomic(path, &bytes).map_err(|source| {
            ManifestError::Write {
                path: path.display().to_string(),
                source,
            }
        })
    }

    /// The CheckpointRegistry, or the error that says attestation is off.
    pub fn checkpoints(&self) -> Result<Address, ManifestError> {
        self.checkpoint_registry
            .ok_or(ManifestError::NoCheckpointRegistry)
    }

    /// The environment a v2 gateway is configured with.
    pub fn gateway_env(&self, rpc_url: &str) -> String {
        format!(
            "RPC_URL={rpc_url}\nCHAIN_ID={}\nJOB_REGISTRY_ADDRESS={}\nVALIDATION_MODULE_ADDRESS={}\nSTAKE_MANAGER_ADDRESS={}\n\
             SYSTEM_PAUSE_ADDRESS={}\n{}IDENTITY_REGISTRY_ADDRESS={}\nAGIALPHA_TOKEN_ADDRESS={}\nDEPLOY_BLOCK={}\n",
            self.chain_id,
            self.job_registry,
            self.validation_module,
            self.stake_manager,
            self.system_pause,
            self.checkpoint_registry
                .map(|a| format!("CHECKPOINT_REGISTRY_ADDRESS={a}\n"))
                .unwrap_or_default(),
            self.identity_registry,
            self.token,
            self.deploy_block
        )
    }
}
