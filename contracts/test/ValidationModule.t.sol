// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {JobRegistry} from "../src/JobRegistry.sol";
import {StakeManager} from "../src/StakeManager.sol";
import {ValidationModule} from "../src/ValidationModule.sol";
import {ValidationParams} from "../src/utils/ValidationParams.sol";

contract ValidationModuleTest is Fixture {
    function setUp() public {
        deploySystem(3);
    }

    function _submitted() internal returns (uint256 id) {
        id = _create();
        _apply(id);
        _submit(id);
    }

    function _indexOf(address[] memory c, address v) internal pure returns (uint256) {
        for (uint256 i; i < c.length; ++i) {
            if (c[i] == v) return i;
        }
        revert("not in committee");
    }

    // ------------------------------------------------------------ start / selection

    function test_start_onlyRegistry() public {
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(ValidationModule.NotJobRegistry.selector, outsider));
        validation.start(1);
        uint256 id = _submitted();
        vm.prank(address(registry));
        vm.expectRevert(ValidationModule.AlreadyStarted.selector);
        validation.start(id);
    }

    function test_select_needsLaterBlock_locksAndEmits() public {
        vm.expectRevert(ValidationModule.NotStarted.selector);
        validation.selectValidators(7, 0);
        uint256 id = _submitted();
        vm.expectRevert(abi.encodeWithSelector(ValidationModule.SelectionTooEarly.selector, block.number));
        validation.selectValidators(id, 1);
        assertEq(validation.validators(id).length, 0, "nobody selected yet");
        vm.roll(block.number + 1);
        vm.expectEmit(true, false, false, false, address(validation));
        emit ValidationModule.ValidatorsSelected(id, new address[](3));
        address[] memory c = validation.selectValidators(id, 1);
        assertEq(c.length, 3);
        address[] memory stored = validation.validators(id);
        for (uint256 i; i < 3; ++i) {
            assertEq(stored[i], c[i]);
            assertEq(stake.lockedStakes(c[i]), ONE, "validator stake locked (role minimum)");
            for (uint256 j; j < i; ++j) {
                assertTrue(c[i] != c[j], "distinct members");
            }
        }
        (uint8 status,, uint256 cd, uint256 rd, uint256 size,,, uint256 lockAmount) = validation.roundInfo(id);
        assertEq(status, 2);
        assertEq(cd, block.timestamp + 30 minutes);
        assertEq(rd, cd + 30 minutes);
        assertEq(size, 3);
        assertEq(lockAmount, ONE);
        vm.expectRevert(ValidationModule.AlreadySelected.selector);
        validation.selectValidators(id, 1);
    }

    function test_select_skipsIneligible() public {
        // grow the pool to 6: one unlisted, one without stake, one banned
        address unlisted = makeAddr("unlisted");
        address poor = makeAddr("poor");
        address banned = makeAddr("banned");
        vm.startPrank(gov);
        identity.addAdditionalValidator(poor);
        identity.addAdditionalValidator(banned);
        vm.stopPrank();
        _fund(unlisted, 10 * ONE);
        _stakeAs(unlisted, VALIDATOR, 5 * ONE);
        _fund(banned, 10 * ONE);
        _stakeAs(banned, VALIDATOR, 5 * ONE);
        // ban `banned` through a non-reveal in a 1-member committee
        address[] memory solo = new address[](1);
        solo[0] = banned;
        vm.startPrank(gov);
        validation.setValidatorPool(solo);
        validation.setValidatorsPerJob(1);
        vm.stopPrank();
        uint256 first = _submitted();
        _select(first);
        _afterRevealDeadline(first);
        vm.warp(block.timestamp + 1 hours + 1);
        validation.forceFinalize(first);
        assertGt(validation.bannedUntil(banned), block.number, "banned");

        address[] memory p = new address[](6);
        p[0] = pool[0];
        p[1] = unlisted;
        p[2] = pool[1];
        p[3] = poor;
        p[4] = banned;
        p[5] = pool[2];
        vm.startPrank(gov);
        validation.setValidatorPool(p);
        validation.setValidatorsPerJob(3);
        vm.stopPrank();
        for (uint256 k; k < 5; ++k) {
            uint256 id = _submittedAgain();
            address[] memory c = _select(id);
            for (uint256 i; i < 3; ++i) {
                assertTrue(c[i] != unlisted && c[i] != poor && c[i] != banned, "only eligible members");
            }
        }
        // a fourth committee cannot be formed: the three eligible members lack unlocked stake? no - they
        // have 10 each and lock 1 per round; make one of them ineligible and selection reverts
        vm.prank(gov);
        identity.removeAdditionalValidator(pool[0]);
        uint256 id2 = _submittedAgain();
        vm.roll(block.number + 1);
        vm.expectRevert(abi.encodeWithSelector(ValidationModule.NotEnoughEligibleValidators.selector, 2, 3));
        validation.selectValidators(id2, 0);
    }

    uint256 private _agentCount;

    /// @dev A fresh allowlisted, staked agent per call so one agent's stake never limits the test.
    function _submittedAgain() internal returns (uint256 id) {
        address a = makeAddr(string.concat("agent-", vm.toString(++_agentCount)));
        vm.prank(gov);
        identity.addAdditionalAgent(a);
        _fund(a, 10 * ONE);
        _stakeAs(a, AGENT, 5 * ONE);
        id = _create();
        vm.prank(a);
        registry.applyForJob(id, "a", noProof);
        vm.prank(a);
        registry.submit(id, RESULT, "r", "a", noProof);
    }

    function testFuzz_selection_distinctFromLargePool(uint256 poolSize, uint256 k, uint256 salt) public {
        poolSize = bound(poolSize, 3, 20);
        k = bound(k, 1, poolSize < 16 ? poolSize : 16);
        address[] memory p = new address[](poolSize);
        for (uint256 i; i < poolSize; ++i) {
            p[i] = i < 3 ? pool[i] : makeAddr(string.concat("v", vm.toString(i)));
            if (i >= 3) {
                vm.prank(gov);
                identity.addAdditionalValidator(p[i]);
                _fund(p[i], 5 * ONE);
                _stakeAs(p[i], VALIDATOR, 2 * ONE);
            }
        }
        vm.startPrank(gov);
        validation.setValidatorPool(p);
        validation.setValidatorsPerJob(k);
        vm.stopPrank();
        vm.roll(block.number + (salt % 1000));
        uint256 id = _submitted();
        address[] memory c = _select(id);
        assertEq(c.length, k);
        for (uint256 i; i < k; ++i) {
            bool inPool;
            for (uint256 j; j < poolSize; ++j) {
                if (p[j] == c[i]) inPool = true;
            }
            assertTrue(inPool, "member from pool");
            for (uint256 j; j < i; ++j) {
                assertTrue(c[i] != c[j], "distinct");
            }
        }
    }

    function test_setValidatorPool_validation() public {
        address[] memory p = new address[](2);
        p[0] = pool[0];
        p[1] = pool[0];
        vm.startPrank(gov);
        vm.expectRevert(abi.encodeWithSelector(ValidationModule.DuplicateValidator.selector, pool[0]));
        validation.setValidatorPool(p);
        p[1] = address(0);
        vm.expectRevert(abi.encodeWithSelector(bytes4(keccak256("ZeroAddress()"))));
        validation.setValidatorPool(p);
        vm.expectRevert(ValidationModule.PoolTooLarge.selector);
        validation.setValidatorPool(new address[](129));
        vm.stopPrank();
    }

    // ------------------------------------------------------------ commit / reveal

    function test_commit_reverts() public {
        uint256 id = _submitted();
        bytes32 h = keccak256("h");
        vm.prank(pool[0]);
        vm.expectRevert(ValidationModule.NotSelected.selector);
        validation.commitValidation(id, h, "v", noProof);
        address[] memory c = _select(id);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(ValidationModule.NotCommitteeMember.selector, outsider));
        validation.commitValidation(id, h, "v", noProof);
        vm.prank(c[0]);
        vm.expectRevert(ValidationModule.EmptySubdomain.selector);
        validation.commitValidation(id, h, "", noProof);
        vm.prank(c[0]);
        vm.expectRevert(ValidationModule.InvalidCommitHash.selector);
        validation.commitValidation(id, bytes32(0), "v", noProof);
        vm.expectEmit(true, true, true, true, address(validation));
        emit ValidationModule.ValidationCommitted(id, c[0], h, "v");
        vm.prank(c[0]);
        validation.commitValidation(id, h, "v", noProof);
        assertTrue(validation.hasCommitted(id, c[0]));
        vm.prank(c[0]);
        vm.expectRevert(ValidationModule.AlreadyCommitted.selector);
        validation.commitValidation(id, h, "v", noProof);
        _toRevealPhase(id);
        vm.prank(c[1]);
        vm.expectRevert(ValidationModule.CommitPhaseClosed.selector);
        validation.commitValidation(id, h, "v", noProof);
    }

    function test_reveal_reverts() public {
        uint256 id = _submitted();
        address[] memory c = _select(id);
        _commit(id, c[0], true);
        vm.prank(c[0]);
        vm.expectRevert(ValidationModule.RevealPhaseNotOpen.selector);
        validation.revealValidation(id, true, bytes32(0), _salt(c[0]), "v", noProof);
        _toRevealPhase(id);
        vm.prank(c[0]);
        vm.expectRevert(ValidationModule.EmptySubdomain.selector);
        validation.revealValidation(id, true, bytes32(0), _salt(c[0]), "", noProof);
        vm.prank(c[0]);
        vm.expectRevert(ValidationModule.CommitMismatch.selector);
        validation.revealValidation(id, false, bytes32(0), _salt(c[0]), "v", noProof);
        vm.prank(c[0]);
        vm.expectRevert(ValidationModule.CommitMismatch.selector);
        validation.revealValidation(id, true, bytes32(uint256(1)), _salt(c[0]), "v", noProof);
        vm.prank(c[0]);
        vm.expectRevert(ValidationModule.CommitMismatch.selector);
        validation.revealValidation(id, true, bytes32(0), keccak256("other salt"), "v", noProof);
        vm.prank(c[1]);
        vm.expectRevert(ValidationModule.NotCommitted.selector);
        validation.revealValidation(id, true, bytes32(0), _salt(c[1]), "v", noProof);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(ValidationModule.NotCommitteeMember.selector, outsider));
        validation.revealValidation(id, true, bytes32(0), _salt(c[0]), "v", noProof);
        vm.expectEmit(true, true, true, true, address(validation));
        emit ValidationModule.ValidationRevealed(id, c[0], true, bytes32(0), "validator");
        _reveal(id, c[0], true);
        vm.prank(c[0]);
        vm.expectRevert(ValidationModule.AlreadyRevealed.selector);
        validation.revealValidation(id, true, bytes32(0), _salt(c[0]), "v", noProof);
        _afterRevealDeadline(id);
        vm.prank(c[0]);
        vm.expectRevert(ValidationModule.RevealPhaseClosed.selector);
        validation.revealValidation(id, true, bytes32(0), _salt(c[0]), "v", noProof);
    }

    // ------------------------------------------------------------ finalize / tally

    function test_finalize_earlyWhenAllRevealed_andGuards() public {
        uint256 id = _submitted();
        vm.expectRevert(ValidationModule.NotSelected.selector);
        validation.finalize(id);
        address[] memory c = _select(id);
        for (uint256 i; i < 3; ++i) {
            _commit(id, c[i], true);
        }
        _toRevealPhase(id);
        _reveal(id, c[0], true);
        _reveal(id, c[1], true);
        vm.expectRevert(ValidationModule.RevealPending.selector);
        validation.finalize(id);
        _reveal(id, c[2], true);
        vm.expectEmit(true, true, true, true, address(validation));
        emit ValidationModule.ValidationTallied(id, true, 30 * ONE, 0);
        vm.expectEmit(true, true, true, true, address(validation));
        emit ValidationModule.ValidationResult(id, true);
        assertTrue(validation.finalize(id));
        vm.expectRevert(ValidationModule.AlreadyFinalized.selector);
        validation.finalize(id);
        vm.expectRevert(ValidationModule.AlreadyFinalized.selector);
        validation.forceFinalize(id);
        for (uint256 i; i < 3; ++i) {
            assertEq(stake.lockedStakes(c[i]), 0, "locks released");
        }
    }

    function _twoOfThreeRevealed() internal returns (uint256 id, address[] memory c) {
        id = _submittedAgain();
        c = _select(id);
        for (uint256 i; i < 3; ++i) {
            _commit(id, c[i], true);
        }
        _toRevealPhase(id);
        _reveal(id, c[0], true);
        _reveal(id, c[1], true);
        _afterRevealDeadline(id);
    }

    /// @notice As in v2: finalize without the reveal quorum fails the round -> the job is Disputed.
    function test_finalize_withoutQuorum_rejects() public {
        (uint256 id, address[] memory c) = _twoOfThreeRevealed();
        assertEq(validation.quorumTarget(3), 3, "default 67% of 3 = 3 reveals");
        uint256 s2 = stake.stakeOf(c[2], VALIDATOR);
        vm.expectEmit(true, true, true, true, address(validation));
        emit ValidationModule.ValidatorBanApplied(c[2], block.number + 7200);
        vm.expectEmit(true, true, true, true, address(validation));
        emit ValidationModule.ValidationQuorumFailed(id, 2, 3);
        vm.expectEmit(true, true, true, true, address(validation));
        emit ValidationModule.ValidationTallied(id, false, 20 * ONE, 0);
        vm.expectEmit(true, true, true, true, address(validation));
        emit ValidationModule.ValidationResult(id, false);
        vm.expectEmit(true, true, true, true, address(registry));
        emit JobRegistry.JobDisputed(id, address(validation));
        assertFalse(validation.finalize(id));
        assertEq(_state(id), S_DISPUTED);
        assertEq(stake.stakeOf(c[2], VALIDATOR), s2 - s2 * 50 / 100, "non-reveal costs as much as a wrong vote (50%)");
        assertEq(stake.stakeOf(c[0], VALIDATOR), 10 * ONE, "revealers not slashed without quorum");
        for (uint256 i; i < 3; ++i) {
            assertEq(stake.lockedStakes(c[i]), 0, "locks released");
        }
        _assertConservation();
    }

    function test_forceFinalize_withoutQuorum_completedFalse() public {
        (uint256 id, address[] memory c) = _twoOfThreeRevealed();
        (,,, uint256 rd,,,,) = validation.roundInfo(id);
        vm.expectRevert(abi.encodeWithSelector(ValidationModule.GracePeriodActive.selector, rd + 1 hours));
        validation.forceFinalize(id);
        vm.warp(rd + 1 hours + 1);
        uint256 s2 = stake.stakeOf(c[2], VALIDATOR);
        vm.expectEmit(true, true, true, true, address(validation));
        emit ValidationModule.ValidationQuorumFailed(id, 2, 3);
        vm.expectEmit(true, true, true, true, address(registry));
        emit JobRegistry.JobCompleted(id, false);
        // anyone may trigger it through the registry entry point too
        registry.forceFinalize(id);
        assertEq(_state(id), S_COMPLETED);
        assertFalse(_success(id));
        assertEq(stake.stakeOf(c[2], VALIDATOR), s2 - s2 * 50 / 100, "non-reveal costs as much as a wrong vote (50%)");
        assertGt(validation.bannedUntil(c[2]), block.number, "banned");
        for (uint256 i; i < 3; ++i) {
            assertEq(stake.lockedStakes(c[i]), 0, "locks released");
        }
        vm.prank(employer);
        registry.finalize(id);
        assertEq(_state(id), S_FINALIZED);
        _assertConservation();
    }

    function test_forceFinalize_withQuorum_tallies() public {
        vm.prank(gov);
        validation.setRevealQuorum(50, 1); // ceil(1.5) = 2 of 3
        uint256 id = _submitted();
        address[] memory c = _select(id);
        for (uint256 i; i < 3; ++i) {
            _commit(id, c[i], true);
        }
        _toRevealPhase(id);
        _reveal(id, c[0], true);
        _reveal(id, c[1], true);
        _afterRevealDeadline(id);
        vm.warp(block.timestamp + 1 hours);
        assertTrue(validation.forceFinalize(id));
        assertEq(_state(id), S_COMPLETED);
        assertTrue(_success(id));
        assertGt(validation.bannedUntil(c[2]), block.number, "non-revealer banned");
    }

    function test_forceFinalize_unselectedRound() public {
        uint256 id = _submitted();
        vm.expectRevert(ValidationModule.NotStarted.selector);
        validation.forceFinalize(id + 1);
        uint256 until = block.timestamp + 30 minutes + 30 minutes + 1 hours;
        vm.expectRevert(abi.encodeWithSelector(ValidationModule.GracePeriodActive.selector, until));
        validation.forceFinalize(id);
        vm.warp(until + 1);
        vm.expectEmit(true, true, true, true, address(validation));
        emit ValidationModule.ValidationQuorumFailed(id, 0, 3);
        assertFalse(validation.forceFinalize(id));
        assertEq(_state(id), S_COMPLETED);
        assertFalse(_success(id));
        vm.roll(block.number + 1);
        vm.expectRevert(ValidationModule.AlreadySelected.selector);
        validation.selectValidators(id, 0);
        // dispute -> agent wins -> agent gets the whole reward (no committee)
        vm.prank(agent);
        registry.dispute(id, bytes32(0), "validators absent");
        vm.prank(gov);
        registry.resolveDispute(id, false);
        uint256 before = token.balanceOf(agent);
        vm.prank(employer);
        registry.finalize(id);
        assertEq(token.balanceOf(agent), before + 100 * ONE, "full reward");
        _assertConservation();
    }

    function test_wrongVoteSlashed_majorityWins() public {
        uint256 id = _submitted();
        address[] memory c = _runVotes(id, _votes(true, true, false));
        validation.finalize(id);
        assertTrue(_success(id), "2 of 3 equal stakes = 66.7% >= 66%");
        assertEq(stake.stakeOf(c[2], VALIDATOR), 5 * ONE, "dissenter slashed 50%");
        assertEq(stake.stakeOf(c[0], VALIDATOR), 10 * ONE);
        uint256 id2 = _submittedAgain();
        address[] memory c2 = _runVotes(id2, _votes(true, false, false));
        uint256 before = stake.stakeOf(c2[0], VALIDATOR);
        uint256 before1 = stake.stakeOf(c2[1], VALIDATOR);
        validation.finalize(id2);
        assertEq(_state(id2), S_DISPUTED);
        assertFalse(_success(id2));
        assertEq(stake.stakeOf(c2[0], VALIDATOR), before - before * 50 / 100, "lone approver slashed");
        assertEq(stake.stakeOf(c2[1], VALIDATOR), before1, "majority untouched");
        _assertConservation();
    }

    function test_stakeWeighting() public {
        // pool[0] holds 100 tokens of validator stake, the others 10: its rejection outweighs two approvals
        _fund(pool[0], 100 * ONE);
        _stakeAs(pool[0], VALIDATOR, 90 * ONE);
        uint256 id = _submitted();
        address[] memory c = _select(id);
        uint256 big = _indexOf(c, pool[0]);
        bool[] memory v = new bool[](3);
        for (uint256 i; i < 3; ++i) {
            v[i] = i != big;
        }
        for (uint256 i; i < 3; ++i) {
            _commit(id, c[i], v[i]);
        }
        _toRevealPhase(id);
        for (uint256 i; i < 3; ++i) {
            _reveal(id, c[i], v[i]);
        }
        vm.expectEmit(true, true, true, true, address(validation));
        emit ValidationModule.ValidationTallied(id, false, 20 * ONE, 100 * ONE);
        validation.finalize(id);
        assertFalse(_success(id));
        for (uint256 i; i < 3; ++i) {
            if (i != big) assertEq(stake.stakeOf(c[i], VALIDATOR), 5 * ONE, "approvers slashed");
        }
    }

    function test_requiredApprovals_andThreshold() public {
        vm.prank(gov);
        validation.setRequiredValidatorApprovals(3);
        uint256 id = _submitted();
        _runVotes(id, _votes(true, true, false));
        validation.finalize(id);
        assertFalse(_success(id), "3 approvals required");
        vm.startPrank(gov);
        validation.setRequiredValidatorApprovals(0);
        validation.setApprovalThreshold(100);
        vm.stopPrank();
        uint256 id2 = _submittedAgain();
        _runVotes(id2, _votes(true, true, false));
        validation.finalize(id2);
        assertFalse(_success(id2), "unanimity required");
        vm.prank(gov);
        validation.setApprovalThreshold(50);
        uint256 id3 = _submittedAgain();
        _runVotes(id3, _votes(true, true, false));
        validation.finalize(id3);
        assertTrue(_success(id3));
    }

    function _runVotes(uint256 id, bool[] memory v) internal returns (address[] memory c) {
        c = _select(id);
        for (uint256 i; i < c.length; ++i) {
            _commit(id, c[i], v[i]);
        }
        _toRevealPhase(id);
        for (uint256 i; i < c.length; ++i) {
            _reveal(id, c[i], v[i]);
        }
    }

    /// @notice Fuzzed votes and reveal pattern: outcome matches the rule, every lock is released,
    ///         penalties match, tokens are conserved.
    function testFuzz_votes(uint8 votes, uint8 revealBits, uint8 threshold) public {
        threshold = uint8(bound(threshold, 1, 100));
        vm.startPrank(gov);
        validation.setApprovalThreshold(threshold);
        validation.setRevealQuorum(34, 1); // ceil(1.02) = 2 of 3
        vm.stopPrank();
        uint256 id = _submitted();
        address[] memory c = _select(id);
        for (uint256 i; i < 3; ++i) {
            _commit(id, c[i], (votes >> i) & 1 == 1);
        }
        _toRevealPhase(id);
        uint256 revealed;
        uint256 approvals;
        for (uint256 i; i < 3; ++i) {
            if ((revealBits >> i) & 1 == 1) {
                _reveal(id, c[i], (votes >> i) & 1 == 1);
                ++revealed;
                if ((votes >> i) & 1 == 1) ++approvals;
            }
        }
        _afterRevealDeadline(id);
        if (revealed < 2) {
            if (votes & 0x80 == 0) {
                assertFalse(validation.finalize(id), "no quorum");
                assertEq(_state(id), S_DISPUTED);
            } else {
                vm.warp(block.timestamp + 1 hours);
                assertFalse(validation.forceFinalize(id), "no quorum");
                assertEq(_state(id), S_COMPLETED);
                assertFalse(_success(id));
            }
            for (uint256 i; i < 3; ++i) {
                uint256 s = stake.stakeOf(c[i], VALIDATOR);
                if ((revealBits >> i) & 1 == 0) assertEq(s, 10 * ONE - 10 * ONE * 50 / 100, "non-reveal");
                else assertEq(s, 10 * ONE, "revealer untouched");
            }
        } else {
            bool expected = approvals != 0 && approvals * 100 >= uint256(threshold) * revealed;
            assertEq(validation.finalize(id), expected, "outcome");
            assertEq(_state(id), expected ? S_COMPLETED : S_DISPUTED);
            for (uint256 i; i < 3; ++i) {
                uint256 s = stake.stakeOf(c[i], VALIDATOR);
                if ((revealBits >> i) & 1 == 0) assertEq(s, 10 * ONE - 10 * ONE * 50 / 100, "non-reveal");
                else if (((votes >> i) & 1 == 1) != expected) assertEq(s, 5 * ONE, "wrong vote");
                else assertEq(s, 10 * ONE, "right vote");
            }
        }
        for (uint256 i; i < 3; ++i) {
            assertEq(stake.lockedStakes(c[i]), 0, "lock released");
        }
        _assertConservation();
    }

    // ------------------------------------------------------------ nonce, domain, quorum math

    function test_jobNonce_and_domainSeparator() public {
        assertEq(validation.jobNonce(1), 0);
        uint256 id = _submitted();
        assertEq(validation.jobNonce(id), 1);
        bytes32 expected = keccak256(
            abi.encode(
                keccak256("ValidationModule(string version,address verifyingContract,uint256 chainId)"),
                keccak256(bytes("1")),
                address(validation),
                block.chainid
            )
        );
        assertEq(validation.DOMAIN_SEPARATOR(), expected);
        vm.chainId(12345);
        bytes32 forked = keccak256(
            abi.encode(
                keccak256("ValidationModule(string version,address verifyingContract,uint256 chainId)"),
                keccak256(bytes("1")),
                address(validation),
                uint256(12345)
            )
        );
        assertEq(validation.DOMAIN_SEPARATOR(), forked, "recomputed after a chain id change");
    }

    function test_quorumTarget_values() public {
        assertEq(validation.quorumTarget(1), 1);
        assertEq(validation.quorumTarget(3), 3);
        assertEq(validation.quorumTarget(5), 4);
        vm.prank(gov);
        validation.setRevealQuorum(0, 2);
        assertEq(validation.quorumTarget(1), 1);
        assertEq(validation.quorumTarget(3), 2);
    }

    function test_paramSetters_validate() public {
        vm.startPrank(gov);
        vm.expectRevert(ValidationParams.InvalidParameter.selector);
        validation.setCommitRevealWindows(0, 1);
        vm.expectRevert(ValidationParams.InvalidParameter.selector);
        validation.setCommitRevealWindows(1, 31 days);
        vm.expectRevert(ValidationParams.InvalidParameter.selector);
        validation.setValidatorsPerJob(0);
        vm.expectRevert(ValidationParams.InvalidParameter.selector);
        validation.setValidatorsPerJob(17);
        vm.expectRevert(ValidationParams.InvalidParameter.selector);
        validation.setApprovalThreshold(0);
        vm.expectRevert(ValidationParams.InvalidParameter.selector);
        validation.setApprovalThreshold(101);
        vm.expectRevert(ValidationParams.InvalidParameter.selector);
        validation.setRequiredValidatorApprovals(17);
        vm.expectRevert(ValidationParams.InvalidParameter.selector);
        validation.setValidatorSlashingPct(101);
        vm.expectRevert(ValidationParams.InvalidParameter.selector);
        validation.setNonRevealPenalty(10_001, 1);
        vm.expectRevert(ValidationParams.InvalidParameter.selector);
        validation.setRevealQuorum(101, 1);
        vm.expectRevert(ValidationParams.InvalidParameter.selector);
        validation.setForceFinalizeGrace(31 days);
        validation.setCommitRevealWindows(60, 120);
        validation.setNonRevealPenalty(100, 0);
        vm.stopPrank();
        assertEq(validation.commitWindow(), 60);
        assertEq(validation.revealWindow(), 120);
        assertEq(validation.nonRevealPenaltyBps(), 100);
        assertEq(validation.banBlocks(), 0);
    }
}
