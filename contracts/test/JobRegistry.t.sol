// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {JobRegistry} from "../src/JobRegistry.sol";
import {StakeManager} from "../src/StakeManager.sol";
import {ValidationModule} from "../src/ValidationModule.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

contract JobRegistryTest is Fixture {
    function setUp() public {
        deploySystem(3);
    }

    // ------------------------------------------------------------ createJob

    function test_createJob_idsFromOne_tupleAndEscrow() public {
        assertEq(registry.nextJobId(), 0, "nextJobId starts at 0");
        uint64 deadline = uint64(block.timestamp + 1 days);
        uint256 balBefore = token.balanceOf(employer);
        vm.expectEmit(true, true, true, true, address(stake));
        emit StakeManager.StakeEscrowLocked(bytes32(uint256(1)), employer, 105 * ONE);
        vm.expectEmit(true, true, true, true, address(registry));
        emit JobRegistry.JobCreated(1, employer, address(0), 100 * ONE, ONE, 5 * ONE, SPEC, "ipfs://spec");
        uint256 id = _create(100 * ONE, deadline);
        assertEq(id, 1, "first id is 1");
        assertEq(registry.nextJobId(), id, "jobId == nextJobId");
        assertEq(token.balanceOf(employer), balBefore - 105 * ONE, "reward+fee pulled");
        assertEq(stake.jobEscrows(bytes32(id)), 105 * ONE, "escrow");
        (bool okCall, bytes memory ret) = address(registry).staticcall(abi.encodeCall(registry.jobs, (id)));
        assertTrue(okCall, "jobs() call");
        uint256 expectedPacked = 1 | (uint256(5) << 13) | (uint256(100) << 45) | (uint256(deadline) << 77);
        assertEq(
            keccak256(ret),
            keccak256(
                abi.encode(
                    employer,
                    address(0),
                    uint128(100 * ONE),
                    uint96(ONE),
                    uint128(0),
                    keccak256(bytes("ipfs://spec")),
                    bytes32(0),
                    SPEC,
                    expectedPacked
                )
            ),
            "9-field jobs() tuple"
        );
        (,,,,,,,, uint256 packed) = registry.jobs(id);
        _checkDecoded(packed, S_CREATED, false, 5, deadline, 0);
        assertEq(packed >> 205, 0, "no bits above 204");
        assertEq(_create(), 2, "second id");
        _assertConservation();
    }

    function test_createJob_reverts() public {
        uint64 dl = uint64(block.timestamp + 1 days);
        vm.startPrank(employer);
        vm.expectRevert(JobRegistry.InvalidReward.selector);
        registry.createJob(0, dl, SPEC, "u");
        vm.expectRevert(JobRegistry.InvalidReward.selector);
        registry.createJob(uint256(type(uint96).max) + 1, dl, SPEC, "u");
        vm.expectRevert(JobRegistry.InvalidDeadline.selector);
        registry.createJob(ONE, uint64(block.timestamp), SPEC, "u");
        vm.expectRevert(JobRegistry.InvalidSpecHash.selector);
        registry.createJob(ONE, dl, bytes32(0), "u");
        vm.stopPrank();

        vm.prank(gov);
        registry.setJobDurationLimit(1 hours);
        vm.prank(employer);
        vm.expectRevert(JobRegistry.InvalidDeadline.selector);
        registry.createJob(ONE, uint64(block.timestamp + 1 hours + 1), SPEC, "u");
        vm.prank(employer);
        registry.createJob(ONE, uint64(block.timestamp + 1 hours), SPEC, "u");

        vm.prank(gov);
        registry.setJobDurationLimit(0);
        // no allowance for the StakeManager
        vm.prank(outsider);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(stake), 0, ONE + ONE / 20)
        );
        registry.createJob(ONE, dl, SPEC, "u");
    }

    function testFuzz_createJob_feeAndEscrow(uint256 reward, uint256 feePct, uint64 ahead) public {
        reward = bound(reward, 1, 500_000 * ONE);
        feePct = bound(feePct, 0, 100);
        ahead = uint64(bound(ahead, 1, 3650 days));
        vm.prank(gov);
        registry.setFeePct(feePct);
        uint256 id = _create(reward, uint64(block.timestamp + ahead));
        uint256 fee = reward * feePct / 100;
        assertEq(stake.jobEscrows(bytes32(id)), reward + fee, "escrow = reward + fee");
        (,,,,,,,, uint256 packed) = registry.jobs(id);
        (,,,, uint32 f,, uint64 dl,) = registry.decodeJobMetadata(packed);
        assertEq(f, feePct);
        assertEq(dl, block.timestamp + ahead);
        _assertConservation();
    }

    function testFuzz_createJob_pastDeadlineReverts(uint64 dl) public {
        vm.warp(1_000_000);
        dl = uint64(bound(dl, 0, block.timestamp));
        vm.prank(employer);
        vm.expectRevert(JobRegistry.InvalidDeadline.selector);
        registry.createJob(ONE, dl, SPEC, "u");
    }

    // ------------------------------------------------------------ applyForJob

    function test_apply_locksStakeAndAssigns() public {
        uint256 id = _create();
        vm.expectEmit(true, true, true, true, address(registry));
        emit JobRegistry.AgentAssigned(id, agent, "agent");
        _apply(id);
        assertEq(_state(id), S_APPLIED);
        assertEq(stake.lockedStakes(agent), ONE, "job stake locked");
        (, address a,,,,,,, uint256 packed) = registry.jobs(id);
        assertEq(a, agent);
        (,,,,,,, uint64 assigned) = registry.decodeJobMetadata(packed);
        assertEq(assigned, block.timestamp);
    }

    function test_apply_reverts() public {
        uint256 id = _create();
        vm.prank(agent);
        vm.expectRevert(JobRegistry.EmptySubdomain.selector);
        registry.applyForJob(id, "", noProof);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotAuthorizedAgent.selector, outsider));
        registry.applyForJob(id, "x", noProof);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidState.selector, S_NONE));
        registry.applyForJob(99, "agent", noProof);

        // minimum agent stake
        vm.prank(gov);
        registry.setMinAgentStake(11 * ONE);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InsufficientAgentStake.selector, 10 * ONE, 11 * ONE));
        registry.applyForJob(id, "agent", noProof);
        vm.prank(gov);
        registry.setMinAgentStake(0);

        // not enough unlocked stake for the job stake
        vm.prank(gov);
        registry.setJobStake(uint96(20 * ONE));
        uint256 id2 = _create();
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.InsufficientStake.selector, 10 * ONE, 20 * ONE));
        registry.applyForJob(id2, "agent", noProof);

        _apply(id);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidState.selector, S_APPLIED));
        registry.applyForJob(id, "agent", noProof);

    }

    /// As on v2, applying after the deadline is allowed; the submit then fails and the job can
    /// be expired, which releases the escrow and the agent's stake.
    function test_apply_afterTheDeadline_failsAtSubmit_thenExpires() public {
        uint256 id = _create(ONE, uint64(block.timestamp + 10));
        vm.warp(block.timestamp + 11);
        _apply(id);
        vm.prank(agent);
        vm.expectRevert(JobRegistry.DeadlinePassed.selector);
        registry.submit(id, RESULT, "r", "agent", noProof);
        vm.prank(employer);
        registry.cancelExpiredJob(id);
        assertEq(_state(id), S_FINALIZED);
        assertEq(stake.lockedStakes(agent), 0);
        _assertConservation();
    }

    function test_apply_zeroJobStake_noLock() public {
        vm.prank(gov);
        registry.setJobStake(0);
        uint256 id = _create();
        _apply(id);
        assertEq(stake.lockedStakes(agent), 0);
    }

    // ------------------------------------------------------------ submit

    function test_submit_startsValidation() public {
        uint256 id = _create();
        _apply(id);
        vm.expectEmit(true, true, true, true, address(registry));
        emit JobRegistry.ResultSubmitted(id, agent, RESULT, "ipfs://result", "agent");
        _submit(id);
        assertEq(_state(id), S_SUBMITTED);
        (,,,,,, bytes32 resultHash,,) = registry.jobs(id);
        assertEq(resultHash, RESULT);
        assertEq(validation.jobNonce(id), 1);
        (uint8 rs, uint256 startBlock,,,,,,) = validation.roundInfo(id);
        assertEq(rs, 1);
        assertEq(startBlock, block.number);
    }

    function test_submit_reverts() public {
        uint256 id = _create(ONE, uint64(block.timestamp + 100));
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidState.selector, S_CREATED));
        registry.submit(id, RESULT, "r", "agent", noProof);
        _apply(id);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotAgent.selector, outsider));
        registry.submit(id, RESULT, "r", "agent", noProof);
        // pool too small for the committee size
        vm.prank(gov);
        validation.setValidatorsPerJob(4);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(ValidationModule.PoolTooSmall.selector, 3, 4));
        registry.submit(id, RESULT, "r", "agent", noProof);
        vm.prank(gov);
        validation.setValidatorsPerJob(3);
        vm.warp(block.timestamp + 101);
        vm.prank(agent);
        vm.expectRevert(JobRegistry.DeadlinePassed.selector);
        registry.submit(id, RESULT, "r", "agent", noProof);
    }

    // ------------------------------------------------------------ success path and payouts

    function test_success_payoutsAndBurn() public {
        uint256 id = _create();
        address[] memory c = _runToVotes(id, _votes(true, true, true), _votes(true, true, true));
        vm.expectEmit(true, true, true, true, address(registry));
        emit JobRegistry.JobCompleted(id, true);
        validation.finalize(id);
        assertEq(_state(id), S_COMPLETED);
        assertTrue(_success(id));

        uint256 agentBal = token.balanceOf(agent);
        uint256 supply = token.totalSupply();
        uint256[] memory vb = new uint256[](3);
        for (uint256 i; i < 3; ++i) {
            vb[i] = token.balanceOf(c[i]);
        }
        uint256 per = uint256(100 * ONE) * 8 / 100 / 3;
        uint256 agentAmount = 100 * ONE - per * 3;
        vm.expectEmit(true, true, true, true, address(registry));
        emit JobRegistry.JobPayout(id, agent, agentAmount, 0, 5 * ONE);
        vm.expectEmit(true, true, true, true, address(registry));
        emit JobRegistry.JobFinalized(id, agent);
        vm.prank(employer);
        registry.finalize(id);
        assertEq(_state(id), S_FINALIZED);
        assertEq(token.balanceOf(agent), agentBal + agentAmount, "agent paid");
        for (uint256 i; i < 3; ++i) {
            assertEq(token.balanceOf(c[i]), vb[i] + per, "validator paid");
            assertEq(stake.lockedStakes(c[i]), 0, "validator lock released");
            assertEq(stake.stakeOf(c[i], VALIDATOR), 10 * ONE, "no slash");
        }
        assertEq(token.totalSupply(), supply - 5 * ONE, "fee burned");
        assertEq(stake.lockedStakes(agent), 0, "agent lock released");
        assertEq(stake.jobEscrows(bytes32(id)), 0, "escrow empty");
        _assertConservation();

        vm.prank(employer);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidState.selector, S_FINALIZED));
        registry.finalize(id);
    }

    function test_success_feeToTreasury_byGovernance() public {
        address treasury = makeAddr("treasury");
        vm.prank(gov);
        registry.setTreasury(treasury);
        uint256 id = _create();
        _runToVotes(id, _votes(true, true, true), _votes(true, true, true));
        validation.finalize(id);
        vm.prank(gov);
        registry.finalize(id);
        assertEq(token.balanceOf(treasury), 5 * ONE, "fee to treasury");
        _assertConservation();
    }

    function test_finalize_reverts() public {
        uint256 id = _create();
        vm.prank(employer);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidState.selector, S_CREATED));
        registry.finalize(id);
        _runToVotes(id, _votes(true, true, true), _votes(true, true, true));
        validation.finalize(id);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotEmployerOrGovernance.selector, agent));
        registry.finalize(id);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotEmployerOrGovernance.selector, outsider));
        registry.finalize(id);
    }

    // ------------------------------------------------------------ rejection, dispute, resolution

    function test_reject_disputed_employerWins_refundAndSlash() public {
        vm.prank(gov);
        stake.setSlashingPercentages(60, 40);
        address treasury = makeAddr("smTreasury");
        vm.prank(gov);
        stake.setTreasury(treasury);
        uint256 id = _create();
        _runToVotes(id, _votes(false, false, false), _votes(true, true, true));
        vm.expectEmit(true, true, true, true, address(registry));
        emit JobRegistry.JobDisputed(id, address(validation));
        validation.finalize(id);
        assertEq(_state(id), S_DISPUTED);
        assertFalse(_success(id));

        vm.expectEmit(true, true, true, true, address(registry));
        emit JobRegistry.DisputeResolved(id, true);
        vm.prank(gov);
        registry.resolveDispute(id, true);
        assertEq(_state(id), S_COMPLETED);
        assertFalse(_success(id));

        uint256 empBal = token.balanceOf(employer);
        vm.expectEmit(true, true, true, true, address(stake));
        emit StakeManager.StakeSlashed(agent, AGENT, employer, treasury, 6e17, 4e17, 0, 0, 0);
        vm.prank(employer);
        registry.finalize(id);
        assertEq(_state(id), S_FINALIZED);
        assertEq(token.balanceOf(employer), empBal + 105 * ONE + 6e17, "refund + employer slash share");
        assertEq(token.balanceOf(treasury), 4e17, "treasury share");
        assertEq(stake.stakeOf(agent, AGENT), 9 * ONE, "agent slashed by job stake");
        assertEq(stake.lockedStakes(agent), 0);
        _assertConservation();
    }

    function test_reject_disputed_agentWins_paid() public {
        uint256 id = _create();
        _runToVotes(id, _votes(false, false, false), _votes(true, true, true));
        validation.finalize(id);
        vm.prank(gov);
        registry.resolveDispute(id, false);
        assertTrue(_success(id));
        uint256 before = token.balanceOf(agent);
        vm.prank(employer);
        registry.finalize(id);
        assertGt(token.balanceOf(agent), before, "agent paid");
        _assertConservation();
    }

    function test_dispute_byPartiesOnly() public {
        uint256 id = _create();
        _runToVotes(id, _votes(true, true, true), _votes(true, true, true));
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidState.selector, S_SUBMITTED));
        registry.dispute(id, bytes32(0), "early");
        validation.finalize(id);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotParty.selector, outsider));
        registry.dispute(id, bytes32(0), "x");
        vm.expectEmit(true, true, true, true, address(registry));
        emit JobRegistry.JobDisputed(id, employer);
        vm.prank(employer);
        registry.dispute(id, keccak256("evidence"), "bad result");
        assertEq(_state(id), S_DISPUTED);
        // a dispute module may resolve, outsiders may not
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotDisputeResolver.selector, outsider));
        registry.resolveDispute(id, true);
        address dm = makeAddr("disputeModule");
        vm.prank(gov);
        registry.setDisputeModule(dm);
        vm.prank(dm);
        registry.resolveDispute(id, false);
        assertEq(_state(id), S_COMPLETED);
        assertTrue(_success(id));
        // agent may dispute again; with a module named, governance may not resolve directly (v2)
        vm.prank(agent);
        registry.dispute(id, bytes32(0), "");
        vm.prank(employer);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidState.selector, S_DISPUTED));
        registry.dispute(id, bytes32(0), "");
        vm.prank(gov);
        vm.expectRevert(JobRegistry.OnlyDisputeModule.selector);
        registry.resolveDispute(id, true);
        vm.prank(dm);
        registry.resolveDispute(id, true);
        vm.prank(dm);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidState.selector, S_COMPLETED));
        registry.resolveDispute(id, true);
    }

    function test_onValidationResult_onlyValidationModule() public {
        uint256 id = _create();
        address[] memory none;
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotValidationModule.selector, outsider));
        registry.onValidationResult(id, true, none);
        vm.prank(address(validation));
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidState.selector, S_CREATED));
        registry.onValidationResult(id, true, none);
    }

    // ------------------------------------------------------------ cancel / expiry

    function test_cancelJob_refunds() public {
        uint256 id = _create();
        uint256 bal = token.balanceOf(employer);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotEmployer.selector, outsider));
        registry.cancelJob(id);
        vm.expectEmit(true, true, true, true, address(registry));
        emit JobRegistry.JobCancelled(id);
        vm.prank(employer);
        registry.cancelJob(id);
        assertEq(_state(id), S_CANCELLED);
        assertEq(token.balanceOf(employer), bal + 105 * ONE);
        assertEq(stake.jobEscrows(bytes32(id)), 0);
        vm.prank(employer);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidState.selector, S_CANCELLED));
        registry.cancelJob(id);
        uint256 id2 = _create();
        _apply(id2);
        vm.prank(employer);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidState.selector, S_APPLIED));
        registry.cancelJob(id2);
        _assertConservation();
    }

    function test_cancelExpiredJob() public {
        uint256 id = _create(100 * ONE, uint64(block.timestamp + 1 hours));
        vm.prank(employer);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidState.selector, S_CREATED));
        registry.cancelExpiredJob(id);
        _apply(id);
        vm.prank(employer);
        vm.expectRevert(JobRegistry.NotExpired.selector);
        registry.cancelExpiredJob(id);
        vm.warp(block.timestamp + 1 hours + 1);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotEmployerOrGovernance.selector, agent));
        registry.cancelExpiredJob(id);
        uint256 bal = token.balanceOf(employer);
        uint256 supply = token.totalSupply();
        vm.expectEmit(true, true, true, true, address(registry));
        emit JobRegistry.JobExpired(id, gov);
        vm.prank(gov);
        registry.cancelExpiredJob(id);
        assertEq(_state(id), S_FINALIZED);
        assertFalse(_success(id));
        assertEq(token.balanceOf(employer), bal + 105 * ONE, "escrow refunded");
        assertEq(stake.stakeOf(agent, AGENT), 9 * ONE, "agent slashed");
        assertEq(token.totalSupply(), supply - ONE, "treasury share burned (treasury unset)");
        _assertConservation();
    }

    function testFuzz_deadlines(uint64 ahead, uint64 wait) public {
        ahead = uint64(bound(ahead, 1, 365 days));
        wait = uint64(bound(wait, 0, 400 days));
        uint256 id = _create(ONE, uint64(block.timestamp + ahead));
        _apply(id);
        vm.warp(block.timestamp + wait);
        if (wait <= ahead) {
            _submit(id);
            assertEq(_state(id), S_SUBMITTED);
            vm.prank(employer);
            vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidState.selector, S_SUBMITTED));
            registry.cancelExpiredJob(id);
        } else {
            vm.prank(agent);
            vm.expectRevert(JobRegistry.DeadlinePassed.selector);
            registry.submit(id, RESULT, "r", "agent", noProof);
            vm.prank(employer);
            registry.cancelExpiredJob(id);
            assertEq(_state(id), S_FINALIZED);
        }
        _assertConservation();
    }

    // ------------------------------------------------------------ metadata

    function _checkDecoded(uint256 packed, uint8 state, bool success, uint32 fee, uint64 deadline, uint64 assignedAt)
        internal
        view
    {
        (uint8 s, bool ok, bool burned, uint8 types, uint32 f, uint32 agentPct, uint64 dl, uint64 at) =
            registry.decodeJobMetadata(packed);
        assertEq(s, state, "state");
        assertEq(ok, success, "success");
        assertFalse(burned, "burnConfirmed");
        assertEq(types, 0, "agentTypes");
        assertEq(f, fee, "feePct");
        assertEq(agentPct, 100, "agentPct");
        assertEq(dl, deadline, "deadline");
        assertEq(at, assignedAt, "assignedAt");
    }

    function testFuzz_decodeJobMetadata(
        uint8 state,
        bool success,
        bool burn,
        uint8 types,
        uint32 fee,
        uint32 agentPct,
        uint64 deadline,
        uint64 assignedAt
    ) public view {
        state = uint8(bound(state, 0, 7));
        uint256 packed = uint256(state) | (success ? 1 << 3 : 0) | (burn ? 1 << 4 : 0) | (uint256(types) << 5)
            | (uint256(fee) << 13) | (uint256(agentPct) << 45) | (uint256(deadline) << 77) | (uint256(assignedAt) << 141);
        (bool okCall, bytes memory ret) =
            address(registry).staticcall(abi.encodeCall(registry.decodeJobMetadata, (packed)));
        assertTrue(okCall, "decode call");
        assertEq(
            keccak256(ret),
            keccak256(abi.encode(state, success, burn, types, fee, agentPct, deadline, assignedAt)),
            "decoded fields"
        );
    }
}
