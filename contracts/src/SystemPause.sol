// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IPausableModule} from "./interfaces/IOmega.sol";

/// @title SystemPause
/// @notice Pauses / unpauses JobRegistry, StakeManager and ValidationModule in one transaction, and
///         (as on real v2 deployments, where the modules belong to SystemPause) forwards its
///         governance's setter calls to them through `executeGovernanceCall`.
///         It must be the `pauser` (or owner) of each module: call `setPauser(systemPause)` on each,
///         or hand it the modules' ownership ("reference mode", contracts/README.md).
contract SystemPause is Ownable {
    IPausableModule public immutable jobRegistry;
    IPausableModule public immutable stakeManager;
    IPausableModule public immutable validationModule;

    error ZeroAddress();
    /// @notice `executeGovernanceCall` to an address that is not one of the managed modules.
    error UnknownGovernanceTarget(address target);
    /// @notice `executeGovernanceCall` with calldata shorter than a selector.
    error MissingSelector();
    /// @notice The target reverted without revert data (non-empty revert data is bubbled verbatim).
    error GovernanceCallFailed(address target, bytes data);

    /// @notice A governance call forwarded to `target` succeeded (v2's event signature).
    event GovernanceCallExecuted(address indexed target, bytes4 indexed selector, bytes result);

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

    /// @notice v2 names SystemPause's owner `governance` (Governable): the same address.
    function governance() external view returns (address) {
        return owner();
    }

    /// @notice Calls `target` (one of the three modules) with `data` as SystemPause, so that a
    ///         module owned by SystemPause accepts its owner-only setters. Governance only. No
    ///         selector allowlist (as in v2): governance may call anything a module's owner may.
    /// @return result The target's return data.
    function executeGovernanceCall(address target, bytes calldata data)
        external
        onlyOwner
        returns (bytes memory result)
    {
        if (target != address(jobRegistry) && target != address(stakeManager) && target != address(validationModule))
        {
            revert UnknownGovernanceTarget(target);
        }
        if (data.length < 4) revert MissingSelector();
        bool ok;
        // The target is one of our own modules (checked above), and nothing is sent with the call.
        (ok, result) = target.call(data);
        if (!ok) {
            if (result.length == 0) revert GovernanceCallFailed(target, data);
            // Bubble the module's own error (e.g. InvalidParameter) verbatim.
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
        emit GovernanceCallExecuted(target, bytes4(data[:4]), result);
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
