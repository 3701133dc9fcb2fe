// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";

/// @notice Full successful lifecycle with three validators; each step's gas goes to
///         contracts/snapshots/lifecycle.json (run with --isolate so every call is its own tx).
contract GasTest is Fixture {
    function setUp() public {
        deploySystem(3);
    }

    /// @dev Snapshots are only meaningful per transaction: without `--isolate` the test is skipped
    ///      (under --isolate even a trivial call is charged the 21,000 intrinsic gas).
    function _requireIsolation() internal {
        vm.prank(gov);
        registry.setTreasury(address(0));
        vm.skip(vm.lastCallGas().gasTotalUsed < 21_000);
    }

    function _run(string memory group) internal {
        uint256 deadline = block.timestamp + 1 days;
        vm.prank(employer);
        registry.createJob(100 * ONE, uint64(deadline), SPEC, "ipfs://spec");
        vm.snapshotGasLastCall(group, "1_createJob");
        uint256 id = registry.nextJobId();

        vm.prank(agent);
        registry.applyForJob(id, "agent", noProof);
        vm.snapshotGasLastCall(group, "2_applyForJob");

        vm.prank(agent);
        registry.submit(id, RESULT, "ipfs://result", "agent", noProof);
        vm.snapshotGasLastCall(group, "3_submit");

        vm.roll(block.number + 1);
        address[] memory c = validation.selectValidators(id, 42);
        vm.snapshotGasLastCall(group, "4_selectValidators");

        bytes32[3] memory h;
        for (uint256 i; i < 3; ++i) {
            h[i] = _commitHash(id, c[i], true);
        }
        vm.prank(c[0]);
        validation.commitValidation(id, h[0], "validator", noProof);
        vm.snapshotGasLastCall(group, "5_commit_1");
        vm.prank(c[1]);
        validation.commitValidation(id, h[1], "validator", noProof);
        vm.snapshotGasLastCall(group, "5_commit_2");
        vm.prank(c[2]);
        validation.commitValidation(id, h[2], "validator", noProof);
        vm.snapshotGasLastCall(group, "5_commit_3");

        _toRevealPhase(id);
        vm.prank(c[0]);
        validation.revealValidation(id, true, bytes32(0), _salt(c[0]), "validator", noProof);
        vm.snapshotGasLastCall(group, "6_reveal_1");
        vm.prank(c[1]);
        validation.revealValidation(id, true, bytes32(0), _salt(c[1]), "validator", noProof);
        vm.snapshotGasLastCall(group, "6_reveal_2");
        vm.prank(c[2]);
        validation.revealValidation(id, true, bytes32(0), _salt(c[2]), "validator", noProof);
        vm.snapshotGasLastCall(group, "6_reveal_3");

        validation.finalize(id);
        vm.snapshotGasLastCall(group, "7_validation_finalize");

        vm.prank(employer);
        registry.finalize(id);
        vm.snapshotGasLastCall(group, "8_registry_finalize");
        assertEq(_state(id), S_FINALIZED, "finalized");
    }

    function test_gas_lifecycle_first_and_warm() public {
        _requireIsolation();
        _run("lifecycle_first_job");
        _run("lifecycle_warm_job");
    }
}
