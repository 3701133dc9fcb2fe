// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {AGIALPHA} from "../src/AGIALPHA.sol";
import {StakeManager} from "../src/StakeManager.sol";
import {JobRegistry} from "../src/JobRegistry.sol";
import {ValidationModule} from "../src/ValidationModule.sol";
import {IdentityRegistry} from "../src/IdentityRegistry.sol";

/// @notice Checks the fixed commit-hash vector in test/vectors/commit_hash.json (also used by the Rust
///         side) against an independent Solidity computation, the ValidationModule's own view, and a
///         real commit + reveal on a system whose ValidationModule sits at the vector's address.
contract CommitHashVectorTest is Test {
    string internal json;
    ValidationModule internal validation;
    AGIALPHA internal token;
    StakeManager internal stake;
    IdentityRegistry internal identity;
    JobRegistry internal registry;

    function setUp() public {
        json = vm.readFile("test/vectors/commit_hash.json");
        vm.chainId(vm.parseJsonUint(json, ".chainId"));
        // The ValidationModule must be the first contract this test deploys (nonce 1) so that it lands
        // at the vector's address; its constructor only stores the later addresses.
        address smAddr = vm.computeCreateAddress(address(this), 3);
        address idAddr = vm.computeCreateAddress(address(this), 4);
        validation = new ValidationModule(smAddr, idAddr, address(this));
        token = new AGIALPHA(address(this));
        stake = new StakeManager(address(token), address(this));
        identity = new IdentityRegistry(address(this));
        registry = new JobRegistry(address(stake), address(validation), address(identity), address(this));
        assertEq(address(stake), smAddr, "stake address");
        assertEq(address(identity), idAddr, "identity address");
    }

    function test_vector_matchesIndependentComputation() public view {
        uint256 jobId = vm.parseJsonUint(json, ".jobId");
        uint256 nonce = vm.parseJsonUint(json, ".nonce");
        bytes32 specHash = vm.parseJsonBytes32(json, ".specHash");
        bool approve = vm.parseJsonBool(json, ".approve");
        bytes32 burnTxHash = vm.parseJsonBytes32(json, ".burnTxHash");
        bytes32 salt = vm.parseJsonBytes32(json, ".salt");
        address validator = vm.parseJsonAddress(json, ".validator");
        uint256 chainId = vm.parseJsonUint(json, ".chainId");
        address module = vm.parseJsonAddress(json, ".validationModule");

        assertEq(address(validation), module, "ValidationModule deployed at the vector address");
        assertEq(block.chainid, chainId, "chain id");
        bytes32 ds = keccak256(
            abi.encode(
                keccak256("ValidationModule(string version,address verifyingContract,uint256 chainId)"),
                keccak256(bytes("1")),
                module,
                chainId
            )
        );
        assertEq(ds, vm.parseJsonBytes32(json, ".domainSeparator"), "domain separator (independent)");
        assertEq(validation.DOMAIN_SEPARATOR(), ds, "domain separator (contract)");
        bytes32 outcome = keccak256(abi.encode(nonce, specHash, approve, burnTxHash));
        assertEq(outcome, vm.parseJsonBytes32(json, ".outcomeHash"), "outcome hash");
        bytes32 commit = keccak256(abi.encode(jobId, outcome, salt, validator, chainId, ds));
        bytes32 expected = vm.parseJsonBytes32(json, ".commitHash");
        assertEq(commit, expected, "commit hash (independent)");
        assertEq(
            validation.commitHashFor(jobId, nonce, specHash, approve, burnTxHash, salt, validator),
            expected,
            "commit hash (contract view)"
        );
    }

    function test_vector_acceptedByRealReveal() public {
        address validator = vm.parseJsonAddress(json, ".validator");
        bytes32 specHash = vm.parseJsonBytes32(json, ".specHash");
        bytes32 salt = vm.parseJsonBytes32(json, ".salt");
        bytes32 commitHash = vm.parseJsonBytes32(json, ".commitHash");
        address employer = address(0xE);
        address agent = address(0xA);
        bytes32[] memory proof;

        stake.setJobRegistry(address(registry));
        stake.setValidationModule(address(validation));
        validation.setJobRegistry(address(registry));
        identity.addAdditionalAgent(agent);
        identity.addAdditionalValidator(validator);
        address[] memory p = new address[](1);
        p[0] = validator;
        validation.setValidatorPool(p);
        validation.setValidatorsPerJob(1);
        token.mint(employer, 1000e18);
        token.mint(agent, 10e18);
        token.mint(validator, 10e18);
        vm.prank(employer);
        token.approve(address(stake), type(uint256).max);
        vm.prank(agent);
        token.approve(address(stake), type(uint256).max);
        vm.prank(validator);
        token.approve(address(stake), type(uint256).max);
        vm.prank(agent);
        stake.depositStake(0, 5e18);
        vm.prank(validator);
        stake.depositStake(1, 5e18);

        vm.prank(employer);
        uint256 jobId = registry.createJob(100e18, uint64(block.timestamp + 1 days), specHash, "ipfs://vector");
        assertEq(jobId, vm.parseJsonUint(json, ".jobId"), "job id");
        vm.prank(agent);
        registry.applyForJob(jobId, "agent", proof);
        vm.prank(agent);
        registry.submit(jobId, keccak256("r"), "r", "agent", proof);
        assertEq(validation.jobNonce(jobId), vm.parseJsonUint(json, ".nonce"), "nonce");
        vm.roll(block.number + 1);
        validation.selectValidators(jobId, 0);
        vm.prank(validator);
        validation.commitValidation(jobId, commitHash, "validator", proof);
        vm.warp(block.timestamp + 30 minutes + 1);
        vm.prank(validator);
        validation.revealValidation(
            jobId, vm.parseJsonBool(json, ".approve"), vm.parseJsonBytes32(json, ".burnTxHash"), salt, "validator", proof
        );
        assertTrue(validation.finalize(jobId), "approved");
        assertEq(registry.jobState(jobId), 4, "Completed");
    }
}
