// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Vm} from "./Vm.sol";

/// @notice Minimal test base: cheatcode handle, assertion helpers and invariant target hooks.
abstract contract Test {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    bool public IS_TEST = true;

    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    address[] private _targetContracts;
    FuzzSelector[] private _targetSelectors;

    // ---------------------------------------------------------------- invariant hooks (read by forge)

    function targetContracts() public view returns (address[] memory) {
        return _targetContracts;
    }

    function targetSelectors() public view returns (FuzzSelector[] memory) {
        return _targetSelectors;
    }

    function targetContract(address target) internal {
        _targetContracts.push(target);
    }

    function targetSelector(FuzzSelector memory selector) internal {
        _targetSelectors.push(selector);
    }

    // ---------------------------------------------------------------- assertions

    function fail(string memory why) internal pure {
        revert(string.concat("assertion failed: ", why));
    }

    function assertTrue(bool c, string memory why) internal pure {
        if (!c) fail(why);
    }

    function assertTrue(bool c) internal pure {
        if (!c) fail("expected true");
    }

    function assertFalse(bool c, string memory why) internal pure {
        if (c) fail(why);
    }

    function assertFalse(bool c) internal pure {
        if (c) fail("expected false");
    }

    function assertEq(uint256 a, uint256 b, string memory why) internal pure {
        if (a != b) fail(string.concat(why, ": ", _u(a), " != ", _u(b)));
    }

    function assertEq(uint256 a, uint256 b) internal pure {
        assertEq(a, b, "uint mismatch");
    }

    function assertEq(address a, address b, string memory why) internal pure {
        if (a != b) fail(why);
    }

    function assertEq(address a, address b) internal pure {
        assertEq(a, b, "address mismatch");
    }

    function assertEq(bytes32 a, bytes32 b, string memory why) internal pure {
        if (a != b) fail(why);
    }

    function assertEq(bytes32 a, bytes32 b) internal pure {
        assertEq(a, b, "bytes32 mismatch");
    }

    function assertEq(bool a, bool b, string memory why) internal pure {
        if (a != b) fail(why);
    }

    function assertEq(bool a, bool b) internal pure {
        assertEq(a, b, "bool mismatch");
    }

    function assertLe(uint256 a, uint256 b, string memory why) internal pure {
        if (a > b) fail(string.concat(why, ": ", _u(a), " > ", _u(b)));
    }

    function assertGe(uint256 a, uint256 b, string memory why) internal pure {
        if (a < b) fail(string.concat(why, ": ", _u(a), " < ", _u(b)));
    }

    function assertGt(uint256 a, uint256 b, string memory why) internal pure {
        if (a <= b) fail(string.concat(why, ": ", _u(a), " <= ", _u(b)));
    }

    // ---------------------------------------------------------------- helpers

    /// @dev Map `x` into [lo, hi] (inclusive).
    function bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        require(lo <= hi, "bound: lo > hi");
        uint256 span = hi - lo;
        if (span == type(uint256).max) return x;
        return lo + (x % (span + 1));
    }

    function makeAddr(string memory name) internal returns (address a) {
        a = vm.addr(uint256(keccak256(bytes(name))));
        vm.label(a, name);
    }

    function _u(uint256 v) private pure returns (string memory) {
        if (v == 0) return "0";
        uint256 len;
        for (uint256 t = v; t != 0; t /= 10) ++len;
        bytes memory b = new bytes(len);
        for (; v != 0; v /= 10) b[--len] = bytes1(uint8(48 + v % 10));
        return string(b);
    }
}
