// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {JobRegistry} from "../src/JobRegistry.sol";
import {DisputeModule} from "../src/DisputeModule.sol";

/// @notice Issue 17, the v2 dispute path: once the JobRegistry names a DisputeModule, only the
///         module resolves disputes (`OnlyDisputeModule()` for governance too), governance opens
///         a record, waits the window, resolves, and the employer finalizes.
contract DisputeModuleTest is Fixture {
    DisputeModule internal disputes;

    function setUp() public {
        deploySystem(3);
        disputes = new DisputeModule(address(registry), gov);
        vm.prank(gov);
        registry.setDisputeModule(address(disputes));
    }

    function _disputed() internal returns (uint256 id) {
        id = _create();
        _runToVotes(id, _votes(false, false, false), _votes(true, true, true));
        validation.finalize(id);
        assertEq(_state(id), S_DISPUTED);
    }

    function test_onlyTheModuleResolvesOnceSet() public {
        uint256 id = _disputed();
        vm.prank(gov);
        vm.expectRevert(JobRegistry.OnlyDisputeModule.selector);
        registry.resolveDispute(id, true);
    }

    function test_governanceRaisesWaitsTheWindowResolvesAndTheEmployerFinalizes() public {
        uint256 id = _disputed();
        vm.prank(gov);
        vm.expectEmit(true, true, true, true, address(disputes));
        emit DisputeModule.DisputeRaised(id, employer, bytes32(0), "validation failed");
        disputes.raiseGovernanceDispute(id, "validation failed");
        (address claimant, uint64 raisedAt,,,,) = disputes.disputes(id);
        assertEq(claimant, employer);
        assertEq(raisedAt, block.timestamp);

        vm.prank(gov);
        vm.expectRevert(bytes("disputed"));
        disputes.raiseGovernanceDispute(id, "again");
        vm.prank(gov);
        vm.expectRevert(bytes("window"));
        disputes.resolveDispute(id, true);

        vm.warp(block.timestamp + disputes.disputeWindow());
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(DisputeModule.UnauthorizedResolver.selector, outsider));
        disputes.resolveDispute(id, true);
        vm.prank(gov);
        vm.expectEmit(true, true, true, true, address(disputes));
        emit DisputeModule.DisputeResolved(id, gov, true);
        disputes.resolveDispute(id, true);
        assertEq(_state(id), S_COMPLETED);
        assertFalse(_success(id));
        (, raisedAt,,,,) = disputes.disputes(id);
        assertEq(raisedAt, 0, "the record is gone");

        vm.prank(employer);
        registry.finalize(id);
        assertEq(_state(id), S_FINALIZED);
        _assertConservation();
    }

    function test_recordsOnlyForDisputedJobsAndOnlyByGovernance() public {
        uint256 id = _create();
        vm.prank(gov);
        vm.expectRevert(bytes("job"));
        disputes.raiseGovernanceDispute(id, "not disputed");
        uint256 disputed = _disputed();
        vm.prank(outsider);
        vm.expectRevert();
        disputes.raiseGovernanceDispute(disputed, "not governance");
        vm.prank(gov);
        vm.expectRevert(bytes("no dispute"));
        disputes.resolveDispute(disputed, true);
    }

    function test_windowIsGovernanceSetAndBounded() public {
        vm.prank(gov);
        disputes.setDisputeWindow(0);
        assertEq(disputes.disputeWindow(), 0);
        vm.prank(gov);
        vm.expectRevert(DisputeModule.InvalidWindow.selector);
        disputes.setDisputeWindow(31 days);
        assertEq(disputes.governance(), gov);
    }
}
