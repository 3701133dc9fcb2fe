// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "./Test.sol";
import {AGIALPHA} from "../../src/AGIALPHA.sol";
import {StakeManager} from "../../src/StakeManager.sol";
import {JobRegistry} from "../../src/JobRegistry.sol";
import {ValidationModule} from "../../src/ValidationModule.sol";
import {IdentityRegistry} from "../../src/IdentityRegistry.sol";
import {SystemPause} from "../../src/SystemPause.sol";
import {CheckpointRegistry} from "../../src/CheckpointRegistry.sol";

/// @notice Deploys and wires the whole system exactly as contracts/README.md describes.
abstract contract Fixture is Test {
    uint8 internal constant AGENT = 0;
    uint8 internal constant VALIDATOR = 1;
    uint8 internal constant PLATFORM = 2;

    uint8 internal constant S_NONE = 0;
    uint8 internal constant S_CREATED = 1;
    uint8 internal constant S_APPLIED = 2;
    uint8 internal constant S_SUBMITTED = 3;
    uint8 internal constant S_COMPLETED = 4;
    uint8 internal constant S_DISPUTED = 5;
    uint8 internal constant S_FINALIZED = 6;
    uint8 internal constant S_CANCELLED = 7;

    uint256 internal constant ONE = 1e18;
    bytes32 internal constant SPEC = keccak256("spec");
    bytes32 internal constant RESULT = keccak256("result");

    AGIALPHA internal token;
    StakeManager internal stake;
    JobRegistry internal registry;
    ValidationModule internal validation;
    IdentityRegistry internal identity;
    SystemPause internal systemPause;
    CheckpointRegistry internal checkpoints;

    address internal gov;
    address internal employer;
    address internal agent;
    address internal outsider;
    address[] internal pool;

    bytes32[] internal noProof;

    function deploySystem(uint256 poolSize) internal {
        gov = makeAddr("governance");
        employer = makeAddr("employer");
        agent = makeAddr("agent");
        outsider = makeAddr("outsider");

        vm.startPrank(gov);
        token = new AGIALPHA(gov);
        stake = new StakeManager(address(token), gov);
        identity = new IdentityRegistry(gov);
        validation = new ValidationModule(address(stake), address(identity), gov);
        registry = new JobRegistry(address(stake), address(validation), address(identity), gov);
        systemPause = new SystemPause(address(registry), address(stake), address(validation), gov);
        checkpoints = new CheckpointRegistry(gov);

        stake.setJobRegistry(address(registry));
        stake.setValidationModule(address(validation));
        validation.setJobRegistry(address(registry));
        registry.setPauser(address(systemPause));
        stake.setPauser(address(systemPause));
        validation.setPauser(address(systemPause));

        identity.addAdditionalAgent(agent);
        for (uint256 i; i < poolSize; ++i) {
            address v = makeAddr(string.concat("validator", vm.toString(i)));
            pool.push(v);
            identity.addAdditionalValidator(v);
        }
        validation.setValidatorPool(pool);
        vm.stopPrank();

        _fund(employer, 1_000_000 * ONE);
        _fund(agent, 100 * ONE);
        _stakeAs(agent, AGENT, 10 * ONE);
        for (uint256 i; i < poolSize; ++i) {
            _fund(pool[i], 100 * ONE);
            _stakeAs(pool[i], VALIDATOR, 10 * ONE);
        }
    }

    function _fund(address who, uint256 amount) internal {
        vm.prank(gov);
        token.mint(who, amount);
        vm.prank(who);
        token.approve(address(stake), type(uint256).max);
    }

    function _stakeAs(address who, uint8 role, uint256 amount) internal {
        vm.prank(who);
        stake.depositStake(role, amount);
    }

    function _create(uint256 reward, uint64 deadline) internal returns (uint256 id) {
        vm.prank(employer);
        id = registry.createJob(reward, deadline, SPEC, "ipfs://spec");
    }

    function _create() internal returns (uint256) {
        return _create(100 * ONE, uint64(block.timestamp + 1 days));
    }

    function _apply(uint256 id) internal {
        vm.prank(agent);
        registry.applyForJob(id, "agent", noProof);
    }

    function _submit(uint256 id) internal {
        vm.prank(agent);
        registry.submit(id, RESULT, "ipfs://result", "agent", noProof);
    }

    function _select(uint256 id) internal returns (address[] memory committee) {
        vm.roll(block.number + 1);
        committee = validation.selectValidators(id, 42);
    }

    function _salt(address v) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", v));
    }

    function _commitHash(uint256 id, address v, bool approve) internal view returns (bytes32) {
        return validation.commitHashFor(id, validation.jobNonce(id), registry.specHashOf(id), approve, bytes32(0), _salt(v), v);
    }

    function _commit(uint256 id, address v, bool approve) internal {
        bytes32 h = _commitHash(id, v, approve);
        vm.prank(v);
        validation.commitValidation(id, h, "validator", noProof);
    }

    function _reveal(uint256 id, address v, bool approve) internal {
        vm.prank(v);
        validation.revealValidation(id, approve, bytes32(0), _salt(v), "validator", noProof);
    }

    function _toRevealPhase(uint256 id) internal {
        (, , uint256 commitDeadline,,,,,) = validation.roundInfo(id);
        vm.warp(commitDeadline + 1);
    }

    function _afterRevealDeadline(uint256 id) internal {
        (,,, uint256 revealDeadline,,,,) = validation.roundInfo(id);
        vm.warp(revealDeadline + 1);
    }

    /// @dev create -> apply -> submit -> select -> commit/reveal with `votes` (length = committee).
    function _runToVotes(uint256 id, bool[] memory votes, bool[] memory reveals) internal returns (address[] memory c) {
        _apply(id);
        _submit(id);
        c = _select(id);
        for (uint256 i; i < c.length; ++i) {
            _commit(id, c[i], votes[i]);
        }
        _toRevealPhase(id);
        for (uint256 i; i < c.length; ++i) {
            if (reveals[i]) _reveal(id, c[i], votes[i]);
        }
    }

    function _votes(bool a, bool b, bool c) internal pure returns (bool[] memory v) {
        v = new bool[](3);
        v[0] = a;
        v[1] = b;
        v[2] = c;
    }

    function _state(uint256 id) internal view returns (uint8) {
        return registry.jobState(id);
    }

    function _success(uint256 id) internal view returns (bool s) {
        (,,,,,,,, uint256 packed) = registry.jobs(id);
        (, s,,,,,,) = registry.decodeJobMetadata(packed);
    }

    /// @dev Sum of all stakes (3 roles) plus the escrows of jobs 1..nextJobId.
    function _accounted() internal view returns (uint256 sum) {
        sum = stake.totalStake(0) + stake.totalStake(1) + stake.totalStake(2);
        uint256 n = registry.nextJobId();
        for (uint256 i = 1; i <= n; ++i) {
            sum += stake.jobEscrows(bytes32(i));
        }
    }

    function _assertConservation() internal view {
        assertEq(token.balanceOf(address(stake)), _accounted(), "StakeManager balance != stakes + escrows");
    }
}
