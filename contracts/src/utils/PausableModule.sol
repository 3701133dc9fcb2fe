// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/// @title PausableModule
/// @notice Ownable + Pausable base shared by JobRegistry, StakeManager and ValidationModule.
///         `pause()` / `unpause()` may be called by the owner (governance) or by the `pauser`
///         (normally the SystemPause contract).
abstract contract PausableModule is Ownable, Pausable {
    /// @notice Seconds this module has spent paused, over all completed pauses. Deadlines and
    ///         windows are extended by the pause time that fell inside them (pause freezes time).
    /// @dev Declared before `pauser` so that both counters share the owner / paused slot, which every
    ///      `whenNotPaused` call reads anyway.
    uint40 public pausedTotal;
    uint40 private _pausedSince;
    /// @notice Address allowed to pause/unpause besides the owner (e.g. SystemPause).
    address public pauser;

    /// @notice Caller is neither the owner nor the pauser.
    error NotOwnerOrPauser(address caller);
    /// @notice A required address argument was zero.
    error ZeroAddress();

    event PauserUpdated(address indexed pauser);

    constructor(address initialOwner) Ownable(initialOwner) {}

    /// @notice Set (or clear with address(0)) the pauser.
    function setPauser(address newPauser) external onlyOwner {
        pauser = newPauser;
        emit PauserUpdated(newPauser);
    }

    /// @notice Pause every state-changing lifecycle / staking function of this module.
    function pause() external {
        _checkOwnerOrPauser();
        _pause();
        _pausedSince = uint40(block.timestamp);
    }

    /// @notice Resume the module.
    function unpause() external {
        _checkOwnerOrPauser();
        _unpause();
        pausedTotal += uint40(block.timestamp) - _pausedSince;
    }

    function _checkOwnerOrPauser() internal view {
        if (msg.sender != owner() && msg.sender != pauser) revert NotOwnerOrPauser(msg.sender);
    }
}
