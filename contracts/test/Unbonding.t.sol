// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {StakeManager} from "../src/StakeManager.sol";

/// @notice Issue 19, unbonding for everyone: a stake that served (locked for a job or a committee
///         seat) leaves only through `requestWithdraw` + `unbondingPeriod`, so a validator cannot vote
///         and leave before a slash.
contract UnbondingTest is Fixture {
    function setUp() public {
        deploySystem(3);
    }

    function test_voteThenWithdraw_goesThroughUnbonding() public {
        uint256 id = _create();
        address[] memory c = _runToVotes(id, _votes(true, true, true), _votes(true, true, true));
        address v = c[0];
        assertTrue(stake.bonded(v, VALIDATOR), "a committee seat bonds the stake");
        validation.finalize(id);
        assertEq(stake.lockedStakeOf(v, VALIDATOR), 0, "lock released");

        vm.startPrank(v);
        vm.expectRevert(StakeManager.UnbondingRequired.selector);
        stake.withdrawStake(VALIDATOR, 10 * ONE);
        stake.requestWithdraw(VALIDATOR, 10 * ONE);
        (, uint64 unlockAt) = stake.pendingWithdrawal(v, VALIDATOR);
        vm.warp(unlockAt - 1);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.WithdrawalLocked.selector, unlockAt));
        stake.finalizeWithdraw(VALIDATOR);
        vm.warp(unlockAt);
        uint256 before = token.balanceOf(v);
        stake.finalizeWithdraw(VALIDATOR);
        vm.stopPrank();
        assertEq(token.balanceOf(v) - before, 10 * ONE);
        _assertConservation();
    }

    /// A dissenter that tries to leave between its vote and the tally is still slashed.
    function test_dissenter_cannotEscapeTheSlash() public {
        uint256 id = _create();
        _apply(id);
        _submit(id);
        address[] memory c = _select(id);
        address d = c[2];
        for (uint256 i; i < 3; ++i) {
            _commit(id, c[i], i != 2);
        }
        // the dissenter tries to take its unlocked stake out before the tally
        uint256 free = stake.availableStake(d, VALIDATOR);
        assertGt(free, 0, "unlocked stake beside the seat");
        vm.prank(d);
        vm.expectRevert(StakeManager.UnbondingRequired.selector);
        stake.withdrawStake(VALIDATOR, free);
        _toRevealPhase(id);
        for (uint256 i; i < 3; ++i) {
            _reveal(id, c[i], i != 2);
        }
        uint256 before = stake.stakeOf(d, VALIDATOR);
        validation.finalize(id);
        assertEq(stake.stakeOf(d, VALIDATOR), before / 2, "wrong vote slashed 50%");
    }

    function test_agentJobStake_bondsToo() public {
        uint256 id = _create();
        _apply(id);
        assertTrue(stake.bonded(agent, AGENT));
        vm.prank(agent);
        vm.expectRevert(StakeManager.UnbondingRequired.selector);
        stake.withdrawStake(AGENT, ONE);
    }

    function test_neverServed_withdrawsAtOnce() public {
        address u = makeAddr("fresh");
        _fund(u, 10 * ONE);
        _stakeAs(u, VALIDATOR, 5 * ONE);
        vm.prank(u);
        stake.withdrawStake(VALIDATOR, 5 * ONE);
        assertEq(stake.stakeOf(u, VALIDATOR), 0);
    }
}
