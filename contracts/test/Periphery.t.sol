// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "./utils/Test.sol";
import {AGIALPHA} from "../src/AGIALPHA.sol";
import {IdentityRegistry} from "../src/IdentityRegistry.sol";
import {CheckpointRegistry} from "../src/CheckpointRegistry.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

contract PeripheryTest is Test {
    AGIALPHA internal token;
    IdentityRegistry internal identity;
    CheckpointRegistry internal cp;
    address internal owner = address(0xA11CE);
    address internal attestor = address(0xB0B);
    address internal other = address(0xCAFE);
    bytes32[] internal noProof;

    function setUp() public {
        token = new AGIALPHA(owner);
        identity = new IdentityRegistry(owner);
        cp = new CheckpointRegistry(owner);
    }

    // ------------------------------------------------------------ token

    function test_token_basics() public {
        assertEq(token.decimals(), 18);
        assertEq(keccak256(bytes(token.symbol())), keccak256("AGIALPHA"));
        vm.prank(owner);
        token.mint(other, 10e18);
        vm.prank(other);
        token.burn(1e18);
        assertEq(token.balanceOf(other), 9e18);
        assertEq(token.totalSupply(), 9e18);
        vm.prank(attestor);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, attestor, 0, 1e18));
        token.burnFrom(other, 1e18);
        vm.prank(other);
        token.approve(attestor, 2e18);
        vm.prank(attestor);
        token.burnFrom(other, 2e18);
        assertEq(token.totalSupply(), 7e18);
    }

    function testFuzz_token_mintBurn(uint256 m, uint256 b) public {
        m = bound(m, 0, 1e30);
        b = bound(b, 0, m);
        vm.prank(owner);
        token.mint(other, m);
        vm.prank(other);
        token.burn(b);
        assertEq(token.totalSupply(), m - b);
    }

    // ------------------------------------------------------------ identity

    function _agentOk(address who, string memory sub) internal view returns (bool ok) {
        bytes32 node;
        bool viaWrapper;
        bool viaMerkle;
        (ok, node, viaWrapper, viaMerkle) = identity.verifyAgent(who, sub, noProof);
        assertEq(node, bytes32(0));
        assertFalse(viaWrapper || viaMerkle);
    }

    function _validatorOk(address who, string memory sub) internal view returns (bool ok) {
        bytes32 node;
        bool viaWrapper;
        bool viaMerkle;
        (ok, node, viaWrapper, viaMerkle) = identity.verifyValidator(who, sub, noProof);
        assertEq(node, bytes32(0));
        assertFalse(viaWrapper || viaMerkle);
    }

    function test_identity_allowlists() public {
        assertFalse(_agentOk(other, "x"));
        vm.startPrank(owner);
        vm.expectRevert(IdentityRegistry.ZeroAddress.selector);
        identity.addAdditionalAgent(address(0));
        vm.expectRevert(IdentityRegistry.ZeroAddress.selector);
        identity.addAdditionalValidator(address(0));
        vm.expectEmit(true, true, true, true, address(identity));
        emit IdentityRegistry.AdditionalAgentUpdated(other, true);
        identity.addAdditionalAgent(other);
        identity.addAdditionalValidator(other);
        vm.stopPrank();
        assertTrue(_agentOk(other, "alice"));
        assertFalse(_agentOk(other, ""), "empty subdomain rejected");
        assertTrue(_validatorOk(other, "v"));
        assertFalse(_validatorOk(other, ""), "empty subdomain rejected");
        assertFalse(_validatorOk(attestor, "v"));
        vm.startPrank(owner);
        identity.removeAdditionalAgent(other);
        identity.removeAdditionalValidator(other);
        vm.stopPrank();
        assertFalse(_agentOk(other, "alice"));
        assertFalse(_validatorOk(other, "v"));
    }

    // ------------------------------------------------------------ checkpoints

    function test_checkpoint_flow() public {
        vm.expectRevert(CheckpointRegistry.NoCheckpoint.selector);
        cp.latestCheckpoint();
        vm.prank(attestor);
        vm.expectRevert(abi.encodeWithSelector(CheckpointRegistry.NotAttestor.selector, attestor));
        cp.attestCheckpoint(1, keccak256("a"), 10, "u");
        vm.prank(owner);
        vm.expectRevert(CheckpointRegistry.ZeroAddress.selector);
        cp.setAttestor(address(0), true);
        vm.prank(owner);
        cp.setAttestor(attestor, true);

        vm.expectEmit(true, true, true, true, address(cp));
        emit CheckpointRegistry.CheckpointAttested(5, keccak256("a"), attestor, 100, "ipfs://cp5");
        vm.prank(attestor);
        assertTrue(cp.attestCheckpoint(5, keccak256("a"), 100, "ipfs://cp5"));
        // same index, same hash: idempotent no-op
        vm.prank(attestor);
        assertFalse(cp.attestCheckpoint(5, keccak256("a"), 100, "ipfs://cp5"));
        // same index, different hash: fail closed
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(CheckpointRegistry.CheckpointConflict.selector, 5, keccak256("a"), keccak256("b"))
        );
        cp.attestCheckpoint(5, keccak256("b"), 100, "");
        // lower or equal index never attested: not increasing
        vm.prank(attestor);
        vm.expectRevert(abi.encodeWithSelector(CheckpointRegistry.IndexNotIncreasing.selector, 4, 5));
        cp.attestCheckpoint(4, keccak256("c"), 100, "");
        vm.prank(attestor);
        vm.expectRevert(CheckpointRegistry.ZeroHash.selector);
        cp.attestCheckpoint(6, bytes32(0), 100, "");
        vm.prank(attestor);
        vm.expectRevert(CheckpointRegistry.CursorTooLarge.selector);
        cp.attestCheckpoint(6, keccak256("d"), uint256(type(uint48).max) + 1, "");
        vm.warp(5000);
        vm.prank(owner);
        cp.attestCheckpoint(9, keccak256("e"), 200, "");

        (uint256 idx, bytes32 h, address who, uint256 cursor, uint256 at) = cp.latestCheckpoint();
        assertEq(idx, 9);
        assertEq(h, keccak256("e"));
        assertEq(who, owner);
        assertEq(cursor, 200);
        assertEq(at, 5000);
        assertEq(cp.checkpointHash(5), keccak256("a"));
        assertEq(cp.checkpointHash(6), bytes32(0));
        (bytes32 h5, address w5, uint256 c5,) = cp.checkpointAt(5);
        assertEq(h5, keccak256("a"));
        assertEq(w5, attestor);
        assertEq(c5, 100);
        assertEq(cp.checkpointCount(), 2);
        (bool exists, uint256 li) = cp.latestIndex();
        assertTrue(exists);
        assertEq(li, 9);
        // revoked attestor
        vm.prank(owner);
        cp.setAttestor(attestor, false);
        vm.prank(attestor);
        vm.expectRevert(abi.encodeWithSelector(CheckpointRegistry.NotAttestor.selector, attestor));
        cp.attestCheckpoint(10, keccak256("f"), 1, "");
    }

    function test_checkpoint_indexZeroFirst() public {
        vm.prank(owner);
        cp.attestCheckpoint(0, keccak256("genesis"), 0, "");
        (bool exists, uint256 li) = cp.latestIndex();
        assertTrue(exists);
        assertEq(li, 0);
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(CheckpointRegistry.CheckpointConflict.selector, 0, keccak256("genesis"), keccak256("x"))
        );
        cp.attestCheckpoint(0, keccak256("x"), 0, "");
    }

    function testFuzz_checkpoint_strictlyIncreasing(uint256 a, uint256 b, bytes32 ha, bytes32 hb) public {
        vm.assume(ha != bytes32(0) && hb != bytes32(0));
        a = bound(a, 0, type(uint128).max);
        b = bound(b, 0, type(uint128).max);
        vm.startPrank(owner);
        cp.attestCheckpoint(a, ha, 1, "");
        if (b == a) {
            if (hb == ha) {
                assertFalse(cp.attestCheckpoint(b, hb, 1, ""));
            } else {
                vm.expectRevert(abi.encodeWithSelector(CheckpointRegistry.CheckpointConflict.selector, a, ha, hb));
                cp.attestCheckpoint(b, hb, 1, "");
            }
        } else if (b < a) {
            vm.expectRevert(abi.encodeWithSelector(CheckpointRegistry.IndexNotIncreasing.selector, b, a));
            cp.attestCheckpoint(b, hb, 1, "");
        } else {
            assertTrue(cp.attestCheckpoint(b, hb, 1, ""));
            assertEq(cp.checkpointHash(b), hb);
        }
        vm.stopPrank();
        assertEq(cp.checkpointHash(a), ha, "earlier checkpoint never changes");
    }
}
