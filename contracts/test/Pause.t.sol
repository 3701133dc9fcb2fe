// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {JobRegistry} from "../src/JobRegistry.sol";

/// @notice Issue 19, pause freezes time: job deadlines and commit/reveal windows are extended by the
///         length of any pause inside them, so nobody is penalised for a pause they did not cause.
contract PauseTest is Fixture {
    function setUp() public {
        deploySystem(3);
    }

    function _pauseFor(uint256 secs) internal {
        vm.prank(gov);
        systemPause.pauseAll();
        vm.warp(block.timestamp + secs);
        vm.roll(block.number + 1);
        vm.prank(gov);
        systemPause.unpauseAll();
    }

    function test_pauseExtendsTheJobDeadline() public {
        uint256 deadline = block.timestamp + 1 days;
        uint256 id = _create(100 * ONE, uint64(deadline));
        _apply(id);
        vm.warp(deadline - 1 hours);
        _pauseFor(2 days);
        assertEq(registry.effectiveDeadline(id), deadline + 2 days);
        // the agent still has the hour the pause took from it; nobody can expire the job
        vm.prank(employer);
        vm.expectRevert(JobRegistry.NotExpired.selector);
        registry.cancelExpiredJob(id);
        vm.warp(block.timestamp + 59 minutes);
        _submit(id);
        assertEq(_state(id), S_SUBMITTED);
    }

    function test_pausedBeforeApply_theJobStaysOpen() public {
        uint256 deadline = block.timestamp + 1 hours;
        uint256 id = _create(100 * ONE, uint64(deadline));
        _pauseFor(3 hours);
        _apply(id);
        assertEq(_state(id), S_APPLIED);
    }

    function test_pauseExtendsCommitAndRevealWindows_noPenalty() public {
        uint256 id = _create();
        _apply(id);
        _submit(id);
        address[] memory c = _select(id);
        (,, uint256 cd0, uint256 rd0,,,,) = validation.roundInfo(id);
        _pauseFor(validation.commitWindow() + validation.revealWindow() + 1 days);
        (,, uint256 cd, uint256 rd,,,,) = validation.roundInfo(id);
        uint256 shift = validation.commitWindow() + validation.revealWindow() + 1 days;
        assertEq(cd, cd0 + shift, "commit deadline moved by the pause");
        assertEq(rd, rd0 + shift, "reveal deadline moved by the pause");
        uint256[3] memory before;
        for (uint256 i; i < 3; ++i) {
            before[i] = stake.stakeOf(c[i], VALIDATOR);
            _commit(id, c[i], true); // the commit window is still open
        }
        _toRevealPhase(id);
        _pauseFor(validation.revealWindow() * 2); // a second pause, inside the reveal window
        for (uint256 i; i < 3; ++i) {
            _reveal(id, c[i], true);
        }
        assertTrue(validation.finalize(id));
        for (uint256 i; i < 3; ++i) {
            assertEq(stake.stakeOf(c[i], VALIDATOR), before[i], "penalised for a pause");
        }
    }

    function test_forceFinalizeWaitsOutThePauseToo() public {
        uint256 id = _create();
        _apply(id);
        _submit(id);
        _select(id);
        (,,, uint256 rd,,,,) = validation.roundInfo(id);
        uint256 grace = validation.forceFinalizeGrace();
        vm.warp(rd);
        _pauseFor(grace);
        vm.warp(rd + grace + 1); // past the grace in wall time, not in unpaused time
        vm.expectRevert();
        registry.forceFinalize(id);
        vm.warp(rd + 2 * grace + 1);
        registry.forceFinalize(id);
        assertEq(_state(id), S_COMPLETED);
    }
}
