// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @notice Internal cross-module interfaces (not part of the v2 ABI subset).
interface IStakeManagerInternal {
    function stakeOf(address user, uint8 role) external view returns (uint256);
    function lockEscrow(uint256 jobId, address from, uint256 amount) external;
    function refundEscrow(uint256 jobId, address to) external returns (uint256);
    function refundPart(uint256 jobId, address to, uint256 amount) external;
    function lockStake(address user, uint8 role, uint256 amount) external;
    function lockIfAvailable(address user, uint8 role, uint256 amount) external returns (uint256 stake);
    function settleJob(
        uint256 jobId,
        address agent,
        uint256 agentLock,
        uint256 agentAmount,
        address[] calldata validators,
        uint256 perValidator,
        address feeRecipient
    ) external;
    function settleFailure(uint256 jobId, address employer, address agent, uint256 agentLock) external;
    function settleValidators(uint256 jobId, address[] calldata validators, uint256 lockAmount, uint256[] calldata slashAmounts)
        external;
    function roleMinimum(uint8 role) external view returns (uint256);
}

interface IValidationModuleInternal {
    function start(uint256 jobId) external;
    function forceFinalize(uint256 jobId) external returns (bool);
    function validators(uint256 jobId) external view returns (address[] memory);
    function paidMembers(uint256 jobId) external view returns (address[] memory approvers, uint256 size);
}

interface IJobRegistryInternal {
    function specHashOf(uint256 jobId) external view returns (bytes32);
    function onValidationResult(uint256 jobId, bool success, address[] calldata validators) external;
    function forceFinalize(uint256 jobId) external;
}

interface IIdentityRegistryInternal {
    function verifyAgent(address claimant, string calldata subdomain, bytes32[] calldata proof)
        external
        view
        returns (bool ok, bytes32 node, bool viaWrapper, bool viaMerkle);
    function additionalValidators(address validator) external view returns (bool);
}

interface IPausableModule {
    function pause() external;
    function unpause() external;
    function paused() external view returns (bool);
}

interface IBurnableToken {
    function burn(uint256 amount) external;
}
