// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {ValidationModule} from "../src/ValidationModule.sol";

/// @notice Calls `selectValidators` and reverts unless the committee contains `want`: retried every
///         block, this would grind the committee if the seed depended on the calling block.
contract Grinder {
    ValidationModule internal immutable validation;
    address internal immutable want;

    constructor(ValidationModule validation_, address want_) {
        validation = validation_;
        want = want_;
    }

    function attempt(uint256 id) external returns (bool) {
        try this.selectOrRevert(id) {
            return true;
        } catch {
            return false;
        }
    }

    function selectOrRevert(uint256 id) external {
        address[] memory c = validation.selectValidators(id, uint256(keccak256(abi.encode(block.number))));
        for (uint256 i; i < c.length; ++i) {
            if (c[i] == want) return;
        }
        revert("committee does not suit");
    }
}

/// @notice Issue 19, selection that cannot be ground: the committee is fixed by the submit block,
///         whatever block (prevrandao, entropy) a caller picks.
contract GrindingTest is Fixture {
    uint256 internal constant TRIES = 40;

    function setUp() public {
        deploySystem(8);
    }

    function _submitted() internal returns (uint256 id, uint256 submitBlock) {
        id = _create();
        _apply(id);
        _submit(id);
        submitBlock = block.number;
        vm.setBlockhash(submitBlock, keccak256("the submit block"));
    }

    /// The committee a plain call would get in block `b` (state restored afterwards).
    function _committeeAt(uint256 id, uint256 b) internal returns (address[] memory c) {
        uint256 snap = vm.snapshotState();
        vm.roll(b);
        vm.prevrandao(keccak256(abi.encode("randao", b)));
        c = validation.selectValidators(id, b);
        vm.revertToState(snap);
    }

    function _assertSame(address[] memory a, address[] memory b) internal pure {
        assertEq(a.length, b.length, "size");
        for (uint256 i; i < a.length; ++i) {
            assertEq(a[i], b[i], "the committee depends on the calling block");
        }
    }

    function test_committeeDoesNotDependOnTheCallingBlock() public {
        (uint256 id, uint256 b0) = _submitted();
        address[] memory first = _committeeAt(id, b0 + 1);
        assertEq(first.length, 3);
        for (uint256 k = 2; k <= TRIES; ++k) {
            _assertSame(_committeeAt(id, b0 + k), first);
        }
    }

    function test_aGrinderGainsNothing() public {
        (uint256 id, uint256 b0) = _submitted();
        address[] memory fixedCommittee = _committeeAt(id, b0 + 1);
        address outsiderValidator;
        for (uint256 i; i < pool.length && outsiderValidator == address(0); ++i) {
            bool inside;
            for (uint256 j; j < fixedCommittee.length; ++j) {
                if (fixedCommittee[j] == pool[i]) inside = true;
            }
            if (!inside) outsiderValidator = pool[i];
        }
        Grinder g = new Grinder(validation, outsiderValidator);
        for (uint256 k = 1; k <= TRIES; ++k) {
            vm.roll(b0 + k);
            vm.prevrandao(keccak256(abi.encode("randao", b0 + k)));
            assertFalse(g.attempt(id), "the grinder got the committee it wanted");
        }
        // an honest call afterwards gets the committee fixed at submit
        _assertSame(validation.selectValidators(id, 7), fixedCommittee);
    }

    /// More than 256 blocks after submit the anchor moves to the calling block (no committee, no
    /// event); from then on the committee is again fixed, whatever block selects it.
    function test_staleAnchorIsReplaced_thenFixed() public {
        (uint256 id, uint256 b0) = _submitted();
        uint256 late = b0 + 300;
        vm.roll(late);
        address[] memory none = validation.selectValidators(id, 1);
        assertEq(none.length, 0, "nothing selected on a stale anchor");
        (uint8 status, uint256 anchor,,,,,,) = validation.roundInfo(id);
        assertEq(status, 1, "still waiting for selection");
        assertEq(anchor, late, "re-anchored to the calling block");
        vm.expectRevert(abi.encodeWithSelector(ValidationModule.SelectionTooEarly.selector, late));
        validation.selectValidators(id, 1);
        vm.setBlockhash(late, keccak256("the re-anchor block"));
        address[] memory first = _committeeAt(id, late + 1);
        assertEq(first.length, 3);
        for (uint256 k = 2; k <= TRIES; ++k) {
            _assertSame(_committeeAt(id, late + k), first);
        }
    }
}
