// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {StakeManager} from "../src/StakeManager.sol";
import {ValidationModule} from "../src/ValidationModule.sol";

/// @notice Issue 19, bounded owner power: the wiring is set once, so the owner cannot re-point the
///         StakeManager's hooks at itself and pull the balance of everyone who approved it.
contract OwnerPowerTest is Fixture {
    function setUp() public {
        deploySystem(3);
    }

    function test_wiringIsSetOnce() public {
        vm.startPrank(gov);
        vm.expectRevert(StakeManager.AlreadySet.selector);
        stake.setJobRegistry(gov);
        vm.expectRevert(StakeManager.AlreadySet.selector);
        stake.setValidationModule(gov);
        vm.expectRevert(ValidationModule.AlreadySet.selector);
        validation.setJobRegistry(gov);
        vm.stopPrank();
        assertEq(stake.jobRegistry(), address(registry));
        assertEq(stake.validationModule(), address(validation));
        assertEq(validation.jobRegistry(), address(registry));
    }

    /// The attack of the issue: re-point the JobRegistry hook, then pull an approver's balance.
    function test_ownerCannotDrainAnApprover() public {
        uint256 before = token.balanceOf(employer);
        assertGt(token.allowance(employer, address(stake)), before, "outstanding approval");
        vm.startPrank(gov);
        try stake.setJobRegistry(gov) {} catch {}
        vm.expectRevert(abi.encodeWithSelector(StakeManager.NotJobRegistry.selector, gov));
        stake.lockEscrow(999, employer, before);
        vm.stopPrank();
        assertEq(token.balanceOf(employer), before);
    }

    /// One pull per job id: the registry (or anything impersonating it) cannot top a job's escrow up.
    function test_escrowIsPulledOncePerJob() public {
        uint256 id = _create();
        uint256 escrow = stake.jobEscrows(bytes32(id));
        assertEq(escrow, 105 * ONE);
        vm.prank(address(registry));
        vm.expectRevert(abi.encodeWithSelector(StakeManager.EscrowExists.selector, bytes32(id)));
        stake.lockEscrow(id, employer, ONE);
        assertEq(stake.jobEscrows(bytes32(id)), escrow);
    }
}
