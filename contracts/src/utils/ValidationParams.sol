// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PausableModule} from "./PausableModule.sol";

/// @title ValidationParams
/// @notice The ValidationModule's owner parameters (defaults, bounds, setters) and the reveal quorum
///         they define; kept apart so that ValidationModule.sol holds only the round logic.
abstract contract ValidationParams is PausableModule {
    uint256 public constant MAX_COMMITTEE = 16;

    uint256 public validatorsPerJob = 3;
    uint256 public commitWindow = 30 minutes;
    uint256 public revealWindow = 30 minutes;
    uint256 public approvalThreshold = 66;
    uint256 public requiredValidatorApprovals = 0;
    uint256 public validatorSlashingPct = 50;
    uint256 public nonRevealPenaltyBps = 50;
    uint256 public banBlocks = 7200;
    uint256 public revealQuorumPct = 67;
    uint256 public minRevealers = 1;
    uint256 public forceFinalizeGrace = 1 hours;

    error InvalidParameter();

    event ValidationParameterUpdated(bytes32 indexed name, uint256 value);

    constructor(address initialOwner) PausableModule(initialOwner) {}

    /// @notice Reveal quorum for a committee of `size`: max(ceil(size*revealQuorumPct/100), min(minRevealers, size)).
    function quorumTarget(uint256 size) public view returns (uint256) {
        uint256 byPct = (size * revealQuorumPct + 99) / 100;
        uint256 byMin = minRevealers < size ? minRevealers : size;
        return byPct > byMin ? byPct : byMin;
    }

    /// @notice v2's name for `validatorSlashingPct` (the reference has only this getter).
    function validatorSlashingPercentage() external view returns (uint256) {
        return validatorSlashingPct;
    }

    /// @notice v2's name for `banBlocks`: blocks a non-revealer is banned for.
    function nonRevealBanBlocks() external view returns (uint256) {
        return banBlocks;
    }

    /// @notice Commit and reveal window lengths in seconds (each 1 .. 30 days). Defaults 1800 / 1800.
    function setCommitRevealWindows(uint256 commitDur, uint256 revealDur) external onlyOwner {
        if (commitDur == 0 || revealDur == 0 || commitDur > 30 days || revealDur > 30 days) revert InvalidParameter();
        commitWindow = commitDur;
        revealWindow = revealDur;
        emit ValidationParameterUpdated("commitWindow", commitDur);
        emit ValidationParameterUpdated("revealWindow", revealDur);
    }

    /// @notice Committee size (1 .. 16). Default 3.
    function setValidatorsPerJob(uint256 count) external onlyOwner {
        if (count == 0 || count > MAX_COMMITTEE) revert InvalidParameter();
        validatorsPerJob = count;
        emit ValidationParameterUpdated("validatorsPerJob", count);
    }

    /// @notice Stake-weighted approval threshold in percent of revealed stake (1 .. 100). Default 66.
    function setApprovalThreshold(uint256 pct) external onlyOwner {
        if (pct == 0 || pct > 100) revert InvalidParameter();
        approvalThreshold = pct;
        emit ValidationParameterUpdated("approvalThreshold", pct);
    }

    /// @notice Minimum number of approving reveals (capped at the committee size). Default 0.
    function setRequiredValidatorApprovals(uint256 count) external onlyOwner {
        if (count > MAX_COMMITTEE) revert InvalidParameter();
        requiredValidatorApprovals = count;
        emit ValidationParameterUpdated("requiredValidatorApprovals", count);
    }

    /// @notice Percent of stake slashed from a revealer who voted against the outcome. Default 50.
    function setValidatorSlashingPct(uint256 pct) external onlyOwner {
        if (pct > 100) revert InvalidParameter();
        validatorSlashingPct = pct;
        emit ValidationParameterUpdated("validatorSlashingPct", pct);
    }

    /// @notice Non-reveal penalty in basis points of stake and ban length in blocks. Defaults 50 / 7200.
    function setNonRevealPenalty(uint256 penaltyBps, uint256 banBlocks_) external onlyOwner {
        if (penaltyBps > 10_000 || banBlocks_ > 10_000_000) revert InvalidParameter();
        nonRevealPenaltyBps = penaltyBps;
        banBlocks = banBlocks_;
        emit ValidationParameterUpdated("nonRevealPenaltyBps", penaltyBps);
        emit ValidationParameterUpdated("banBlocks", banBlocks_);
    }

    /// @notice Reveal quorum percent (0 .. 100) and minimum revealers (0 .. 16). Defaults 67 / 1.
    function setRevealQuorum(uint256 pct, uint256 minRevealers_) external onlyOwner {
        if (pct > 100 || minRevealers_ > MAX_COMMITTEE) revert InvalidParameter();
        revealQuorumPct = pct;
        minRevealers = minRevealers_;
        emit ValidationParameterUpdated("revealQuorumPct", pct);
        emit ValidationParameterUpdated("minRevealers", minRevealers_);
    }

    /// @notice Seconds after the reveal deadline before `forceFinalize` is allowed (<= 30 days). Default 3600.
    function setForceFinalizeGrace(uint256 grace) external onlyOwner {
        if (grace > 30 days) revert InvalidParameter();
        forceFinalizeGrace = grace;
        emit ValidationParameterUpdated("forceFinalizeGrace", grace);
    }
}
