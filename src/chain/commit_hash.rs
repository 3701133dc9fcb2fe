//! The exact AGI Jobs v2 commit hash, computed off chain so a validator can commit without
//! trusting any helper view of the contract.

use alloy::primitives::{Address, B256, U256, keccak256};
use alloy::sol_types::SolValue;

/// `keccak256(abi.encode(typehash, keccak256("1"), validationModule, chainId))`.
pub fn domain_separator(validation_module: Address, chain_id: u64) -> B256 {
    let typehash =
        keccak256("ValidationModule(string version,address verifyingContract,uint256 chainId)");
    keccak256(
        (
            typehash,
            keccak256("1"),
            validation_module,
            U256::from(chain_id),
        )
            .abi_encode(),
    )
}

/// `keccak256(abi.encode(jobId, keccak256(abi.encode(nonce, specHash, approve, burnTxHash)), salt,
/// validator, chainId, DOMAIN_SEPARATOR))`.
#[allow(clippy::too_many_arguments)]
pub fn commit_hash(
    job_id: U256,
    nonce: U256,
    spec_hash: B256,
    approve: bool,
    burn_tx_hash: B256,
    salt: B256,
    validator: Address,
    chain_id: u64,
    domain: B256,
) -> B256 {
    let outcome = keccak256((nonce, spec_hash, approve, burn_tx_hash).abi_encode());
    keccak256(
        (
            job_id,
            outcome,
            salt,
            validator,
            U256::from(chain_id),
            domain,
        )
            .abi_encode(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The vector written down by the contracts' own test (contracts/test/vectors/commit_hash.json).
    #[test]
    fn matches_the_contracts_test_vector() {
        let v: serde_json::Value = serde_json::from_str(include_str!(
            "../../contracts/test/vectors/commit_hash.json"
        ))
        .unwrap();
        let b = |k: &str| v[k].as_str().unwrap().parse::<B256>().unwrap();
        let a = |k: &str| v[k].as_str().unwrap().parse::<Address>().unwrap();
        let chain_id = v["chainId"].as_u64().unwrap();
        let domain = domain_separator(a("validationModule"), chain_id);
        assert_eq!(domain, b("domainSeparator"));
        let hash = commit_hash(
            U256::from(v["jobId"].as_u64().unwrap()),
            U256::from(v["nonce"].as_u64().unwrap()),
            b("specHash"),
            v["approve"].as_bool().unwrap(),
            b("burnTxHash"),
            b("salt"),
            a("validator"),
            chain_id,
            domain,
        );
        assert_eq!(hash, b("commitHash"));
    }
}
