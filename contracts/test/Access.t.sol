// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {PausableModule} from "../src/utils/PausableModule.sol";
import {SystemPause} from "../src/SystemPause.sol";

/// @notice Every owner function rejects non-owners with a decodable custom error, and pause blocks
///         every state-changing lifecycle / staking function.
contract AccessTest is Fixture {
    function setUp() public {
        deploySystem(3);
    }

    function _expectNotOwner() internal {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, outsider));
    }

    function test_nonOwner_reverts_everywhere() public {
        address[] memory p = new address[](0);
        vm.startPrank(outsider);
        // JobRegistry
        _expectNotOwner();
        registry.setJobStake(1);
        _expectNotOwner();
        registry.setFeePct(1);
        _expectNotOwner();
        registry.setValidatorRewardPct(1);
        _expectNotOwner();
        registry.setJobDurationLimit(1);
        _expectNotOwner();
        registry.setMinAgentStake(1);
        _expectNotOwner();
        registry.setTreasury(outsider);
        _expectNotOwner();
        registry.setDisputeModule(outsider);
        _expectNotOwner();
        registry.setPauser(outsider);
        _expectNotOwner();
        registry.transferOwnership(outsider);
        _expectNotOwner();
        registry.renounceOwnership();
        // StakeManager
        _expectNotOwner();
        stake.setMinStake(1);
        _expectNotOwner();
        stake.setRoleMinimum(0, 1);
        _expectNotOwner();
        stake.setSlashingPercentages(50, 50);
        _expectNotOwner();
        stake.setTreasury(outsider);
        _expectNotOwner();
        stake.setUnbondingPeriod(1);
        _expectNotOwner();
        stake.setJobRegistry(outsider);
        _expectNotOwner();
        stake.setValidationModule(outsider);
        _expectNotOwner();
        stake.governanceSlash(agent, 0, 1, outsider);
        _expectNotOwner();
        stake.setPauser(outsider);
        _expectNotOwner();
        stake.transferOwnership(outsider);
        // ValidationModule
        _expectNotOwner();
        validation.setJobRegistry(outsider);
        _expectNotOwner();
        validation.setValidatorPool(p);
        _expectNotOwner();
        validation.setCommitRevealWindows(1, 1);
        _expectNotOwner();
        validation.setValidatorsPerJob(1);
        _expectNotOwner();
        validation.setApprovalThreshold(1);
        _expectNotOwner();
        validation.setRequiredValidatorApprovals(1);
        _expectNotOwner();
        validation.setValidatorSlashingPct(1);
        _expectNotOwner();
        validation.setNonRevealPenalty(1, 1);
        _expectNotOwner();
        validation.setRevealQuorum(1, 1);
        _expectNotOwner();
        validation.setForceFinalizeGrace(1);
        _expectNotOwner();
        validation.setPauser(outsider);
        _expectNotOwner();
        validation.transferOwnership(outsider);
        // IdentityRegistry
        _expectNotOwner();
        identity.addAdditionalAgent(outsider);
        _expectNotOwner();
        identity.addAdditionalValidator(outsider);
        _expectNotOwner();
        identity.removeAdditionalAgent(agent);
        _expectNotOwner();
        identity.removeAdditionalValidator(pool[0]);
        // SystemPause
        _expectNotOwner();
        systemPause.pauseAll();
        _expectNotOwner();
        systemPause.unpauseAll();
        // CheckpointRegistry
        _expectNotOwner();
        checkpoints.setAttestor(outsider, true);
        // Token
        _expectNotOwner();
        token.mint(outsider, 1);
        // pause / unpause: owner or pauser only
        vm.expectRevert(abi.encodeWithSelector(PausableModule.NotOwnerOrPauser.selector, outsider));
        registry.pause();
        vm.expectRevert(abi.encodeWithSelector(PausableModule.NotOwnerOrPauser.selector, outsider));
        stake.pause();
        vm.expectRevert(abi.encodeWithSelector(PausableModule.NotOwnerOrPauser.selector, outsider));
        validation.pause();
        vm.expectRevert(abi.encodeWithSelector(PausableModule.NotOwnerOrPauser.selector, outsider));
        registry.unpause();
        vm.expectRevert(abi.encodeWithSelector(PausableModule.NotOwnerOrPauser.selector, outsider));
        stake.unpause();
        vm.expectRevert(abi.encodeWithSelector(PausableModule.NotOwnerOrPauser.selector, outsider));
        validation.unpause();
        vm.stopPrank();
    }

    function test_owner_views() public view {
        assertEq(registry.owner(), gov);
        assertEq(stake.owner(), gov);
        assertEq(validation.owner(), gov);
        assertEq(identity.owner(), gov);
        assertEq(systemPause.owner(), gov);
        assertEq(checkpoints.owner(), gov);
        assertEq(token.owner(), gov);
        assertEq(registry.pauser(), address(systemPause));
    }

    function test_systemPause_pausesAndUnpausesAll() public {
        vm.expectEmit(true, true, true, true, address(registry));
        emit Pausable.Paused(address(systemPause));
        vm.expectEmit(true, true, true, true, address(stake));
        emit Pausable.Paused(address(systemPause));
        vm.expectEmit(true, true, true, true, address(validation));
        emit Pausable.Paused(address(systemPause));
        vm.prank(gov);
        systemPause.pauseAll();
        assertTrue(registry.paused() && stake.paused() && validation.paused(), "all paused");
        vm.prank(gov);
        systemPause.pauseAll(); // idempotent
        vm.expectEmit(true, true, true, true, address(registry));
        emit Pausable.Unpaused(address(systemPause));
        vm.prank(gov);
        systemPause.unpauseAll();
        assertFalse(registry.paused() || stake.paused() || validation.paused(), "all unpaused");
        // a module paused by its owner is unpaused by unpauseAll too
        vm.prank(gov);
        stake.pause();
        vm.prank(gov);
        systemPause.unpauseAll();
        assertFalse(stake.paused());
        vm.expectRevert(SystemPause.ZeroAddress.selector);
        new SystemPause(address(0), address(stake), address(validation), gov);
    }

    /// @dev Brings one job to each interesting state before pausing.
    function test_pause_blocksEveryStateChangingFunction() public {
        uint256 created = _create();
        uint256 applied = _create();
        _apply(applied);
        uint256 submitted = _create();
        _apply(submitted);
        _submit(submitted);
        address[] memory c = _select(submitted);
        _commit(submitted, c[0], true);
        vm.prank(agent);
        stake.requestWithdraw(AGENT, ONE);

        vm.prank(gov);
        systemPause.pauseAll();
        bytes4 paused = Pausable.EnforcedPause.selector;
        address[] memory none;
        uint256[] memory zero;

        // JobRegistry
        vm.prank(employer);
        vm.expectRevert(paused);
        registry.createJob(ONE, uint64(block.timestamp + 1 days), SPEC, "u");
        vm.prank(agent);
        vm.expectRevert(paused);
        registry.applyForJob(created, "agent", noProof);
        vm.prank(agent);
        vm.expectRevert(paused);
        registry.submit(applied, RESULT, "r", "agent", noProof);
        vm.prank(employer);
        vm.expectRevert(paused);
        registry.finalize(created);
        vm.prank(employer);
        vm.expectRevert(paused);
        registry.cancelJob(created);
        vm.prank(employer);
        vm.expectRevert(paused);
        registry.cancelExpiredJob(applied);
        vm.prank(employer);
        vm.expectRevert(paused);
        registry.dispute(created, bytes32(0), "");
        vm.prank(gov);
        vm.expectRevert(paused);
        registry.resolveDispute(created, true);
        vm.prank(address(validation));
        vm.expectRevert(paused);
        registry.onValidationResult(submitted, true, none);
        vm.expectRevert(paused);
        registry.forceFinalize(submitted);

        // StakeManager
        vm.startPrank(agent);
        vm.expectRevert(paused);
        stake.depositStake(AGENT, ONE);
        vm.expectRevert(paused);
        stake.withdrawStake(AGENT, ONE);
        vm.expectRevert(paused);
        stake.requestWithdraw(AGENT, ONE);
        vm.expectRevert(paused);
        stake.finalizeWithdraw(AGENT);
        vm.stopPrank();
        vm.startPrank(address(registry));
        vm.expectRevert(paused);
        stake.lockEscrow(created, employer, 1);
        vm.expectRevert(paused);
        stake.refundEscrow(created, employer);
        vm.expectRevert(paused);
        stake.settleJob(created, agent, 0, 0, none, 0, address(0));
        vm.expectRevert(paused);
        stake.settleFailure(created, employer, agent, 0);
        vm.expectRevert(paused);
        stake.lockStake(agent, AGENT, 1);
        vm.expectRevert(paused);
        stake.releaseStake(agent, AGENT, 1);
        vm.expectRevert(paused);
        stake.slash(agent, AGENT, 1, employer);
        vm.stopPrank();
        vm.startPrank(address(validation));
        vm.expectRevert(paused);
        stake.lockIfAvailable(agent, VALIDATOR, 1);
        vm.expectRevert(paused);
        stake.settleValidators(submitted, none, 0, zero);
        vm.stopPrank();
        vm.prank(gov);
        vm.expectRevert(paused);
        stake.governanceSlash(agent, AGENT, 1, address(0));

        // ValidationModule
        vm.prank(address(registry));
        vm.expectRevert(paused);
        validation.start(created);
        vm.expectRevert(paused);
        validation.selectValidators(submitted, 0);
        vm.prank(c[1]);
        vm.expectRevert(paused);
        validation.commitValidation(submitted, keccak256("x"), "v", noProof);
        vm.prank(c[0]);
        vm.expectRevert(paused);
        validation.revealValidation(submitted, true, bytes32(0), _salt(c[0]), "v", noProof);
        vm.expectRevert(paused);
        validation.finalize(submitted);
        vm.expectRevert(paused);
        validation.forceFinalize(submitted);

        // after unpausing, the lifecycle resumes
        vm.prank(gov);
        systemPause.unpauseAll();
        _commit(submitted, c[1], true);
        _commit(submitted, c[2], true);
        _toRevealPhase(submitted);
        for (uint256 i; i < 3; ++i) {
            _reveal(submitted, c[i], true);
        }
        validation.finalize(submitted);
        vm.prank(employer);
        registry.finalize(submitted);
        assertEq(_state(submitted), S_FINALIZED);
        _assertConservation();
    }
}
