// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {SystemPause} from "../src/SystemPause.sol";
import {JobRegistry} from "../src/JobRegistry.sol";
import {StakeManager} from "../src/StakeManager.sol";
import {ValidationModule} from "../src/ValidationModule.sol";
import {ValidationParams} from "../src/utils/ValidationParams.sol";

/// @notice Reference mode: the modules belong to SystemPause, and governance reaches their setters
///         only through `SystemPause.executeGovernanceCall`, as on a real v2 deployment.
contract GovernanceTest is Fixture {
    function setUp() public {
        deploySystem(3);
        vm.startPrank(gov);
        registry.transferOwnership(address(systemPause));
        stake.transferOwnership(address(systemPause));
        validation.transferOwnership(address(systemPause));
        vm.stopPrank();
    }

    function _exec(address target, bytes memory data) internal returns (bytes memory) {
        vm.prank(gov);
        return systemPause.executeGovernanceCall(target, data);
    }

    function test_selector_matches_v2() public pure {
        assertEq(SystemPause.executeGovernanceCall.selector, bytes4(0xa64cfe10));
        assertEq(SystemPause.UnknownGovernanceTarget.selector, bytes4(0x04815379));
        assertEq(SystemPause.GovernanceCallFailed.selector, bytes4(0x425df6ce));
        assertEq(SystemPause.MissingSelector.selector, bytes4(0x47d77419));
        assertEq(
            SystemPause.GovernanceCallExecuted.selector,
            bytes32(0x7822dbd9748b06a619d7b63124ad0e4419b6d2a24c214a566c4b805a99718995)
        );
    }

    function test_governance_is_the_owner() public view {
        assertEq(systemPause.governance(), gov);
        assertEq(registry.owner(), address(systemPause));
    }

    function test_setters_go_through_systemPause() public {
        _exec(address(registry), abi.encodeCall(JobRegistry.setFeePct, (7)));
        _exec(address(stake), abi.encodeCall(StakeManager.setMinStake, (5 * ONE)));
        _exec(address(validation), abi.encodeCall(ValidationParams.setCommitRevealWindows, (120, 90)));
        _exec(address(validation), abi.encodeCall(ValidationParams.setValidatorSlashingPct, (40)));
        assertEq(registry.feePct(), 7);
        assertEq(stake.minStake(), 5 * ONE);
        assertEq(validation.commitWindow(), 120);
        assertEq(validation.revealWindow(), 90);
        assertEq(validation.validatorSlashingPercentage(), 40);
    }

    function test_returns_the_targets_data_and_emits() public {
        bytes memory data = abi.encodeCall(Ownable.owner, ());
        vm.expectEmit(true, true, true, true, address(systemPause));
        emit SystemPause.GovernanceCallExecuted(address(registry), Ownable.owner.selector, abi.encode(address(systemPause)));
        bytes memory out = _exec(address(registry), data);
        assertEq(abi.decode(out, (address)), address(systemPause));
    }

    function test_direct_owner_calls_are_refused() public {
        vm.startPrank(gov);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, gov));
        registry.setFeePct(7);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, gov));
        validation.setValidatorSlashingPct(7);
        vm.stopPrank();
    }

    function test_only_governance_may_execute() public {
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
        systemPause.executeGovernanceCall(address(registry), abi.encodeCall(JobRegistry.setFeePct, (7)));
    }

    function test_unknown_target_and_missing_selector() public {
        vm.startPrank(gov);
        vm.expectRevert(abi.encodeWithSelector(SystemPause.UnknownGovernanceTarget.selector, address(identity)));
        systemPause.executeGovernanceCall(address(identity), abi.encodeWithSignature("addAdditionalAgent(address)", outsider));
        vm.expectRevert(SystemPause.MissingSelector.selector);
        systemPause.executeGovernanceCall(address(registry), hex"a64cfe");
        vm.stopPrank();
    }

    function test_target_reverts_bubble_verbatim() public {
        vm.prank(gov);
        vm.expectRevert(ValidationParams.InvalidParameter.selector);
        systemPause.executeGovernanceCall(address(validation), abi.encodeCall(ValidationParams.setApprovalThreshold, (0)));
    }

    function test_empty_revert_becomes_GovernanceCallFailed() public {
        bytes memory data = hex"deadbeef"; // no such function and no fallback: empty revert data
        vm.prank(gov);
        vm.expectRevert(abi.encodeWithSelector(SystemPause.GovernanceCallFailed.selector, address(stake), data));
        systemPause.executeGovernanceCall(address(stake), data);
    }

    function test_pauseAll_still_works_as_owner_of_the_modules() public {
        vm.prank(gov);
        systemPause.pauseAll();
        assertTrue(registry.paused() && stake.paused() && validation.paused());
        vm.prank(gov);
        systemPause.unpauseAll();
        assertFalse(registry.paused());
    }

    function test_ownership_can_come_back() public {
        _exec(address(registry), abi.encodeCall(Ownable.transferOwnership, (gov)));
        assertEq(registry.owner(), gov);
    }

    function test_reference_getter_names() public {
        assertEq(validation.validatorSlashingPercentage(), validation.validatorSlashingPct());
        assertEq(validation.nonRevealPenaltyBps(), 50);
        _exec(address(validation), abi.encodeCall(ValidationParams.setNonRevealPenalty, (70, 9)));
        assertEq(validation.nonRevealPenaltyBps(), 70);
        assertEq(validation.nonRevealBanBlocks(), 9);
        assertEq(validation.banBlocks(), 9);
    }
}
