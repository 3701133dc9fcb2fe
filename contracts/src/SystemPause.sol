// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IPausableModule} from "./interfaces/IOmega.sol";

/// @title SystemPause
/// @notice Pauses / unpauses JobRegistry, StakeManager and ValidationModule in one transaction.
///         It must be the `pauser` (or owner) of each module: call `setPauser(systemPause)` on each.
contract SystemPause is Ownable {
    IPausableModule public immutable jobRegistry;
    IPausableModule public immutable stakeManager;
    IPausableModule public immutable validationModule;

    error ZeroAddress();

    constructor(address jobRegistry_, address stakeManager_, address validationModule_, address initialOwner)
        Ownable(initialOwner)
    {
        if (jobRegistry_ == address(0) || stakeManager_ == address(0) || validationModule_ == address(0)) {
            revert ZeroAddress();
        }
        jobRegistry = IPausableModule(jobRegistry_);
        stakeManager = IPausableModule(stakeManager_);
        validationModule = IPausableModule(validationModule_);
    }

    /// @notice Pause every module that is not already paused. Governance only.
    function pauseAll() external onlyOwner {
        _pause(jobRegistry);
        _pause(stakeManager);
        _pause(validationModule);
    }

    /// @notice Unpause every module that is paused. Governance only.
    function unpauseAll() external onlyOwner {
        _unpause(jobRegistry);
        _unpause(stakeManager);
        _unpause(validationModule);
    }

    function _pause(IPausableModule m) private {
        if (!m.paused()) m.pause();
    }

    function _unpause(IPausableModule m) private {
        if (m.paused()) m.unpause();
    }
}
