// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {JobRegistry} from "../src/JobRegistry.sol";
import {StakeManager} from "../src/StakeManager.sol";
import {ValidationModule} from "../src/ValidationModule.sol";

/// @notice Remaining revert paths: parameter bounds, constructor checks, role checks.
contract RevertsTest is Fixture {
    bytes4 internal constant ZERO_ADDRESS = bytes4(keccak256("ZeroAddress()"));

    function setUp() public {
        deploySystem(3);
    }

    function test_constructors_rejectZeroAddresses() public {
        vm.expectRevert(ZERO_ADDRESS);
        new StakeManager(address(0), gov);
        vm.expectRevert(ZERO_ADDRESS);
        new ValidationModule(address(0), address(identity), gov);
        vm.expectRevert(ZERO_ADDRESS);
        new ValidationModule(address(stake), address(0), gov);
        vm.expectRevert(ZERO_ADDRESS);
        new JobRegistry(address(0), address(validation), address(identity), gov);
        vm.expectRevert(ZERO_ADDRESS);
        new JobRegistry(address(stake), address(0), address(identity), gov);
        vm.expectRevert(ZERO_ADDRESS);
        new JobRegistry(address(stake), address(validation), address(0), gov);
        vm.expectRevert(ZERO_ADDRESS);
        vm.prank(gov);
        validation.setJobRegistry(address(0));
    }

    function test_registry_parameterBounds() public {
        vm.startPrank(gov);
        vm.expectRevert(JobRegistry.InvalidPercentage.selector);
        registry.setFeePct(101);
        vm.expectRevert(JobRegistry.InvalidPercentage.selector);
        registry.setValidatorRewardPct(101);
        vm.expectRevert(JobRegistry.ValueTooLarge.selector);
        registry.setJobDurationLimit(uint256(type(uint64).max) + 1);
        vm.expectRevert(JobRegistry.ValueTooLarge.selector);
        registry.setMinAgentStake(uint256(type(uint96).max) + 1);
        registry.setFeePct(100);
        registry.setValidatorRewardPct(100);
        registry.setJobStake(uint96(2 * ONE));
        registry.setJobDurationLimit(7 days);
        registry.setMinAgentStake(3 * ONE);
        vm.stopPrank();
        assertEq(registry.feePct(), 100);
        assertEq(registry.validatorRewardPct(), 100);
        assertEq(registry.jobStake(), 2 * ONE);
        assertEq(registry.jobDurationLimit(), 7 days);
        assertEq(registry.minAgentStake(), 3 * ONE);
    }

    function test_fullValidatorShare_and_zeroFee() public {
        // validatorRewardPct 100: the committee takes the whole reward, the agent gets 0 (+ stake back)
        vm.startPrank(gov);
        registry.setValidatorRewardPct(100);
        registry.setFeePct(0);
        vm.stopPrank();
        uint256 id = _create(99, uint64(block.timestamp + 1 days));
        address[] memory c = _runToVotes(id, _votes(true, true, true), _votes(true, true, true));
        validation.finalize(id);
        uint256 before = token.balanceOf(c[0]);
        vm.prank(employer);
        registry.finalize(id);
        assertEq(token.balanceOf(c[0]), before + 33, "99 / 3");
        assertEq(stake.lockedStakes(agent), 0);
        _assertConservation();
    }

    function test_stake_roleChecks() public {
        vm.prank(address(registry));
        vm.expectRevert(abi.encodeWithSelector(StakeManager.InvalidRole.selector, 3));
        stake.lockStake(agent, 3, 1);
        vm.prank(address(registry));
        vm.expectRevert(abi.encodeWithSelector(StakeManager.InvalidRole.selector, 7));
        stake.releaseStake(agent, 7, 1);
        vm.prank(address(registry));
        vm.expectRevert(abi.encodeWithSelector(StakeManager.InvalidRole.selector, 3));
        stake.slash(agent, 3, 1, address(0));
        vm.prank(gov);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.InvalidRole.selector, 3));
        stake.governanceSlash(agent, 3, 1, address(0));
        vm.prank(gov);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.InvalidRole.selector, 3));
        stake.setRoleMinimum(3, 1);
        vm.startPrank(agent);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.InvalidRole.selector, 3));
        stake.withdrawStake(3, 1);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.InvalidRole.selector, 3));
        stake.requestWithdraw(3, 1);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.InvalidRole.selector, 3));
        stake.finalizeWithdraw(3);
        vm.stopPrank();
    }

    function test_finalizeWithdraw_allLockedReverts() public {
        vm.prank(agent);
        stake.requestWithdraw(AGENT, 10 * ONE);
        vm.prank(address(registry));
        stake.lockStake(agent, AGENT, 10 * ONE);
        vm.warp(block.timestamp + 7 days);
        vm.prank(agent);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.InsufficientStake.selector, 0, 10 * ONE));
        stake.finalizeWithdraw(AGENT);
    }

    function test_lockIfAvailable_returnsZeroWhenShort() public {
        vm.prank(address(validation));
        assertEq(stake.lockIfAvailable(pool[0], VALIDATOR, 11 * ONE), 0);
        vm.prank(address(validation));
        assertEq(stake.lockIfAvailable(outsider, VALIDATOR, 1), 0);
        vm.prank(address(validation));
        assertEq(stake.lockIfAvailable(pool[0], VALIDATOR, 4 * ONE), 10 * ONE);
        assertEq(stake.availableStake(pool[0], VALIDATOR), 6 * ONE);
        assertEq(stake.lockedStakeOf(pool[0], VALIDATOR), 4 * ONE);
    }

    function test_deposit_overflowGuard() public {
        vm.prank(agent);
        vm.expectRevert(StakeManager.InvalidAmount.selector);
        stake.depositStake(AGENT, uint256(type(uint128).max) + 1);
    }
}
