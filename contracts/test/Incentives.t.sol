// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";

/// @notice Issue 19, incentives: only members who revealed a vote with the outcome are paid (the
///         other seats go back to the employer), silence costs at least as much as dissent, and
///         honest play is a best response when the other members are honest.
contract IncentivesTest is Fixture {
    uint8 internal constant HONEST = 0; // reveals the truth
    uint8 internal constant LAZY = 1; // reveals "approve" without checking
    uint8 internal constant DISSENT = 2; // reveals the opposite of the truth
    uint8 internal constant SILENT = 3; // commits, never reveals

    function setUp() public {
        deploySystem(3);
    }

    /// A member that votes against the outcome is not paid; its seat goes back to the employer.
    function test_dissenterIsNotPaid_employerGetsTheSeatBack() public {
        uint256 id = _create();
        address[] memory c = _runToVotes(id, _votes(true, true, false), _votes(true, true, true));
        validation.finalize(id);
        uint256[3] memory before;
        for (uint256 i; i < 3; ++i) {
            before[i] = token.balanceOf(c[i]);
        }
        uint256 employerBefore = token.balanceOf(employer);
        vm.prank(employer);
        registry.finalize(id);
        uint256 seat = 100 * ONE * 8 / 100 / 3;
        assertEq(token.balanceOf(c[0]) - before[0], seat);
        assertEq(token.balanceOf(c[1]) - before[1], seat);
        assertEq(token.balanceOf(c[2]), before[2], "dissenter paid");
        assertEq(token.balanceOf(employer) - employerBefore, seat, "seat not returned to the employer");
        _assertConservation();
    }

    /// A silent member is not paid and loses at least what a wrong vote costs.
    function test_silentMemberIsNotPaid_andPaysAtLeastTheWrongVoteSlash() public {
        vm.prank(gov);
        validation.setRevealQuorum(50, 2); // 2 of 3 reveals are enough to settle
        uint256 id = _create();
        address[] memory c = _runToVotes(id, _votes(true, true, true), _votes(true, true, false));
        address silent = c[2];
        uint256 stakeBefore = stake.stakeOf(silent, VALIDATOR);
        _afterRevealDeadline(id);
        validation.finalize(id);
        uint256 lost = stakeBefore - stake.stakeOf(silent, VALIDATOR);
        assertGe(lost, stakeBefore * validation.validatorSlashingPct() / 100, "silence cheaper than dissent");
        uint256 bal = token.balanceOf(silent);
        vm.prank(employer);
        registry.finalize(id);
        assertEq(token.balanceOf(silent), bal, "silent member paid");
        _assertConservation();
    }

    /// Fuzz: with the other two members honest, no strategy pays the fuzzed member more than
    /// honesty, whatever the truth, the reward and the stakes (stake-weighted votes included).
    function testFuzz_honestIsBestResponse(bool good, uint256 reward, uint256 s0, uint256 s1, uint256 s2) public {
        reward = bound(reward, 1, 900_000) * ONE; // the employer holds 1e6 tokens (reward + 5% fee)
        uint256[3] memory extra = [bound(s0, 0, 10_000) * ONE, bound(s1, 0, 10_000) * ONE, bound(s2, 0, 10_000) * ONE];
        for (uint256 i; i < 3; ++i) {
            if (extra[i] != 0) {
                _fund(pool[i], extra[i]);
                _stakeAs(pool[i], VALIDATOR, extra[i]);
            }
        }
        int256[4] memory payoff;
        for (uint8 s; s < 4; ++s) {
            uint256 snap = vm.snapshotState();
            payoff[s] = _play(good, reward, s);
            vm.revertToState(snap);
        }
        for (uint8 s = 1; s < 4; ++s) {
            assertTrue(payoff[HONEST] >= payoff[s], "a deviation pays more than honesty");
        }
        assertTrue(payoff[HONEST] > payoff[SILENT], "silence must cost");
        assertTrue(payoff[SILENT] <= payoff[DISSENT], "silence cheaper than dissent");
        if (good) assertTrue(payoff[HONEST] > 0, "honest work on a good job is paid");
    }

    /// One lifecycle in which `pool[0]` plays `strategy` and the others vote the truth; a wrong
    /// validation outcome is disputed by the wronged party and the owner rules by the truth.
    /// Returns pool[0]'s change in tokens + stake.
    function _play(bool good, uint256 reward, uint8 strategy) internal returns (int256) {
        address me = pool[0];
        int256 start = int256(token.balanceOf(me) + stake.stakeOf(me, VALIDATOR));
        uint256 id = _create(reward, uint64(block.timestamp + 1 days));
        _apply(id);
        _submit(id);
        address[] memory c = _select(id);
        bool[3] memory vote;
        for (uint256 i; i < 3; ++i) {
            vote[i] = c[i] != me ? good : (strategy == LAZY ? true : strategy == DISSENT ? !good : good);
            _commit(id, c[i], vote[i]);
        }
        _toRevealPhase(id);
        for (uint256 i; i < 3; ++i) {
            if (c[i] != me || strategy != SILENT) _reveal(id, c[i], vote[i]);
        }
        _afterRevealDeadline(id);
        validation.finalize(id);
        uint8 st = _state(id);
        if (st == S_COMPLETED && _success(id) != good) {
            vm.prank(employer); // the wronged employer disputes an approval of a bad job
            registry.dispute(id, bytes32(0), "bad work");
            st = S_DISPUTED;
        }
        if (st == S_DISPUTED) {
            vm.prank(gov);
            registry.resolveDispute(id, !good);
        }
        vm.prank(employer);
        registry.finalize(id);
        return int256(token.balanceOf(me) + stake.stakeOf(me, VALIDATOR)) - start;
    }
}
