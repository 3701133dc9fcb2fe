// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {StakeManager} from "../src/StakeManager.sol";

contract StakeManagerTest is Fixture {
    address internal user;

    function setUp() public {
        deploySystem(3);
        user = makeAddr("user");
        _fund(user, 1_000 * ONE);
    }

    function test_token_and_defaults() public view {
        assertEq(address(stake.token()), address(token));
        assertEq(stake.minStake(), ONE);
        assertEq(stake.roleMinimum(AGENT), ONE);
        assertEq(stake.employerSlashPct(), 0);
        assertEq(stake.treasurySlashPct(), 100);
        assertEq(stake.unbondingPeriod(), 7 days);
        assertEq(stake.treasury(), address(0));
        assertEq(token.decimals(), 18);
    }

    function test_deposit() public {
        vm.expectEmit(true, true, true, true, address(stake));
        emit StakeManager.StakeDeposited(user, PLATFORM, 2 * ONE);
        _stakeAs(user, PLATFORM, 2 * ONE);
        assertEq(stake.stakeOf(user, PLATFORM), 2 * ONE);
        assertEq(stake.totalStake(PLATFORM), 2 * ONE);
        vm.startPrank(user);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.InvalidRole.selector, 3));
        stake.depositStake(3, ONE);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.InvalidRole.selector, 3));
        stake.totalStake(3);
        vm.expectRevert(StakeManager.InvalidAmount.selector);
        stake.depositStake(AGENT, 0);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.BelowMinimumStake.selector, ONE - 1, ONE));
        stake.depositStake(AGENT, ONE - 1);
        vm.stopPrank();
        vm.prank(gov);
        stake.setRoleMinimum(AGENT, 5 * ONE);
        assertEq(stake.roleMinimum(AGENT), 5 * ONE);
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.BelowMinimumStake.selector, 4 * ONE, 5 * ONE));
        stake.depositStake(AGENT, 4 * ONE);
        _stakeAs(user, AGENT, 5 * ONE);
        _stakeAs(user, AGENT, 1); // top-ups only need the new balance above the minimum
        assertEq(stake.stakeOf(user, AGENT), 5 * ONE + 1);
        _assertConservation();
    }

    function test_withdraw() public {
        _stakeAs(user, AGENT, 5 * ONE);
        vm.prank(user);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.BelowMinimumStake.selector, ONE / 2, ONE));
        stake.withdrawStake(AGENT, 9 * ONE / 2);
        vm.startPrank(user);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.InsufficientStake.selector, 5 * ONE, 6 * ONE));
        stake.withdrawStake(AGENT, 6 * ONE);
        vm.expectRevert(StakeManager.InvalidAmount.selector);
        stake.withdrawStake(AGENT, 0);
        uint256 bal = token.balanceOf(user);
        vm.expectEmit(true, true, true, true, address(stake));
        emit StakeManager.StakeWithdrawn(user, AGENT, 3 * ONE);
        stake.withdrawStake(AGENT, 3 * ONE);
        vm.stopPrank();
        assertEq(token.balanceOf(user), bal + 3 * ONE);
        assertEq(stake.stakeOf(user, AGENT), 2 * ONE);
        // once locked (served), even after the release only unbonding gets it out
        vm.prank(address(registry));
        stake.lockStake(user, AGENT, 2 * ONE);
        vm.prank(address(registry));
        stake.releaseStake(user, AGENT, 2 * ONE);
        vm.prank(user);
        vm.expectRevert(StakeManager.UnbondingRequired.selector);
        stake.withdrawStake(AGENT, 2 * ONE);
        assertEq(stake.stakeOf(user, AGENT), 2 * ONE);
        _assertConservation();
    }

    function test_unbonding() public {
        _stakeAs(user, VALIDATOR, 10 * ONE);
        vm.prank(user);
        vm.expectRevert(StakeManager.NoPendingWithdrawal.selector);
        stake.finalizeWithdraw(VALIDATOR);
        uint64 unlockAt = uint64(block.timestamp + 7 days);
        vm.expectEmit(true, true, true, true, address(stake));
        emit StakeManager.WithdrawRequested(user, VALIDATOR, 4 * ONE, unlockAt);
        vm.prank(user);
        stake.requestWithdraw(VALIDATOR, 4 * ONE);
        (uint256 amt, uint64 at) = stake.pendingWithdrawal(user, VALIDATOR);
        assertEq(amt, 4 * ONE);
        assertEq(at, unlockAt);
        vm.startPrank(user);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.InsufficientStake.selector, 10 * ONE, 11 * ONE));
        stake.requestWithdraw(VALIDATOR, 7 * ONE);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.BelowMinimumStake.selector, ONE / 2, ONE));
        stake.requestWithdraw(VALIDATOR, 5 * ONE + ONE / 2);
        vm.expectRevert(StakeManager.InvalidAmount.selector);
        stake.requestWithdraw(VALIDATOR, 0);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.WithdrawalLocked.selector, unlockAt));
        stake.finalizeWithdraw(VALIDATOR);
        vm.stopPrank();
        // slashing meanwhile caps the payout at the unlocked stake
        vm.prank(address(validation));
        stake.slash(user, VALIDATOR, 7 * ONE, address(0));
        vm.warp(unlockAt);
        vm.expectEmit(true, true, true, true, address(stake));
        emit StakeManager.StakeWithdrawn(user, VALIDATOR, 3 * ONE);
        vm.prank(user);
        stake.finalizeWithdraw(VALIDATOR);
        assertEq(stake.stakeOf(user, VALIDATOR), 0);
        (amt,) = stake.pendingWithdrawal(user, VALIDATOR);
        assertEq(amt, 0);
        _assertConservation();
    }

    function test_moduleOnly() public {
        address[] memory none;
        uint256[] memory zero;
        vm.startPrank(outsider);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.NotJobRegistry.selector, outsider));
        stake.lockEscrow(1, outsider, 1);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.NotJobRegistry.selector, outsider));
        stake.refundEscrow(1, outsider);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.NotJobRegistry.selector, outsider));
        stake.settleJob(1, outsider, 0, 0, none, 0, address(0));
        vm.expectRevert(abi.encodeWithSelector(StakeManager.NotJobRegistry.selector, outsider));
        stake.settleFailure(1, outsider, outsider, 0);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.NotModule.selector, outsider));
        stake.lockStake(agent, AGENT, 1);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.NotModule.selector, outsider));
        stake.releaseStake(agent, AGENT, 1);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.NotModule.selector, outsider));
        stake.slash(agent, AGENT, 1, outsider);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.NotValidationModule.selector, outsider));
        stake.lockIfAvailable(agent, AGENT, 1);
        vm.expectRevert(abi.encodeWithSelector(StakeManager.NotValidationModule.selector, outsider));
        stake.settleValidators(1, none, 0, zero);
        vm.stopPrank();
        vm.prank(address(validation));
        vm.expectRevert(StakeManager.LengthMismatch.selector);
        stake.settleValidators(1, new address[](1), 0, zero);
        vm.prank(address(registry));
        vm.expectRevert(abi.encodeWithSelector(StakeManager.InsufficientEscrow.selector, 0, 1));
        stake.settleJob(1, agent, 0, 1, none, 0, address(0));
    }

    function test_slashSplit_employerTreasuryBurn() public {
        _stakeAs(user, AGENT, 10 * ONE);
        address treasury = makeAddr("treasury");
        vm.startPrank(gov);
        vm.expectRevert(StakeManager.InvalidPercentages.selector);
        stake.setSlashingPercentages(50, 49);
        stake.setSlashingPercentages(70, 30);
        stake.setTreasury(treasury);
        vm.expectRevert(StakeManager.InvalidTreasury.selector);
        stake.setTreasury(address(stake));
        vm.stopPrank();
        vm.expectEmit(true, true, true, true, address(stake));
        emit StakeManager.StakeSlashed(user, AGENT, employer, treasury, 7 * ONE / 10, 3 * ONE / 10, 0, 0, 0);
        vm.prank(address(registry));
        stake.slash(user, AGENT, ONE, employer);
        // no employer: everything to the treasury side
        vm.expectEmit(true, true, true, true, address(stake));
        emit StakeManager.StakeSlashed(user, AGENT, address(0), treasury, 0, ONE, 0, 0, 0);
        vm.prank(address(registry));
        stake.slash(user, AGENT, ONE, address(0));
        // treasury unset: treasury share burned
        vm.prank(gov);
        stake.setTreasury(address(0));
        uint256 supply = token.totalSupply();
        vm.expectEmit(true, true, true, true, address(stake));
        emit StakeManager.StakeSlashed(user, AGENT, employer, address(0), 7 * ONE / 10, 0, 0, 0, 3 * ONE / 10);
        vm.prank(address(registry));
        stake.slash(user, AGENT, ONE, employer);
        assertEq(token.totalSupply(), supply - 3 * ONE / 10);
        // slashing more than the stake takes what is there and clamps locks
        vm.prank(address(registry));
        stake.lockStake(user, AGENT, 5 * ONE);
        vm.prank(address(registry));
        uint256 got = stake.slash(user, AGENT, 100 * ONE, employer);
        assertEq(got, 7 * ONE);
        assertEq(stake.stakeOf(user, AGENT), 0);
        assertEq(stake.lockedStakes(user), 0);
        assertEq(stake.totalStake(AGENT), 10 * ONE, "only the fixture agent remains");
        _assertConservation();
    }

    function test_governanceSlash() public {
        _stakeAs(user, VALIDATOR, 10 * ONE);
        address ben = makeAddr("beneficiary");
        vm.prank(gov);
        vm.expectRevert(StakeManager.InvalidPercentage.selector);
        stake.governanceSlash(user, VALIDATOR, 10_001, ben);
        vm.expectEmit(true, true, true, true, address(stake));
        emit StakeManager.GovernanceSlash(user, VALIDATOR, ben, 25 * ONE / 10, 2_500, gov);
        vm.prank(gov);
        stake.governanceSlash(user, VALIDATOR, 2_500, ben);
        assertEq(token.balanceOf(ben), 25 * ONE / 10);
        assertEq(stake.stakeOf(user, VALIDATOR), 75 * ONE / 10);
        uint256 supply = token.totalSupply();
        vm.prank(gov);
        stake.governanceSlash(user, VALIDATOR, 10_000, address(0));
        assertEq(token.totalSupply(), supply - 75 * ONE / 10, "burned");
        _assertConservation();
    }

    function test_ownerSetters() public {
        vm.startPrank(gov);
        vm.expectRevert(StakeManager.InvalidAmount.selector);
        stake.setMinStake(0);
        vm.expectEmit(true, true, true, true, address(stake));
        emit StakeManager.MinStakeUpdated(3 * ONE);
        stake.setMinStake(3 * ONE);
        vm.expectRevert(StakeManager.InvalidAmount.selector);
        stake.setUnbondingPeriod(366 days);
        stake.setUnbondingPeriod(1 days);
        vm.expectRevert(abi.encodeWithSelector(bytes4(keccak256("ZeroAddress()"))));
        stake.setJobRegistry(address(0));
        vm.expectRevert(abi.encodeWithSelector(bytes4(keccak256("ZeroAddress()"))));
        stake.setValidationModule(address(0));
        vm.stopPrank();
        assertEq(stake.minStake(), 3 * ONE);
        assertEq(stake.unbondingPeriod(), 1 days);
    }

    function testFuzz_depositWithdraw(uint256 a, uint256 w, uint8 role) public {
        role = uint8(bound(role, 0, 2));
        a = bound(a, ONE, 1_000 * ONE);
        w = bound(w, 1, a);
        _stakeAs(user, role, a);
        uint256 remaining = a - w;
        vm.prank(user);
        if (remaining != 0 && remaining < ONE) {
            vm.expectRevert(abi.encodeWithSelector(StakeManager.BelowMinimumStake.selector, remaining, ONE));
            stake.withdrawStake(role, w);
        } else {
            stake.withdrawStake(role, w);
            assertEq(stake.stakeOf(user, role), remaining);
            assertEq(token.balanceOf(user), 1_000 * ONE - remaining);
        }
        _assertConservation();
    }

    function testFuzz_lockSlashRelease(uint256 a, uint256 lockAmt, uint256 slashAmt) public {
        a = bound(a, ONE, 1_000 * ONE);
        lockAmt = bound(lockAmt, 0, a);
        slashAmt = bound(slashAmt, 0, 2 * a);
        _stakeAs(user, VALIDATOR, a);
        vm.prank(address(validation));
        stake.lockStake(user, VALIDATOR, lockAmt);
        vm.prank(address(validation));
        stake.slash(user, VALIDATOR, slashAmt, address(0));
        uint256 left = slashAmt >= a ? 0 : a - slashAmt;
        assertEq(stake.stakeOf(user, VALIDATOR), left);
        assertLe(stake.lockedStakes(user), left, "locked <= stake");
        vm.prank(address(validation));
        stake.releaseStake(user, VALIDATOR, lockAmt);
        assertEq(stake.lockedStakes(user), 0, "fully released");
        _assertConservation();
    }
}
