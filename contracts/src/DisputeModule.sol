// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

interface IJobRegistryDisputes {
    function resolveDispute(uint256 jobId, bool employerWins) external;
    function jobs(uint256 jobId)
        external
        view
        returns (address, address, uint256, uint256, uint256, bytes32, bytes32, bytes32, uint256);
}

/// @title DisputeModule
/// @notice The v2 path out of `Disputed`: governance opens a record for a disputed job, and after
///         the dispute window resolves it, which moves the job to Completed with
///         success = !employerWins (the employer then finalizes). Once a JobRegistry names this
///         module, only it may resolve disputes there, as on the reference deployment.
///         Ours is lean: governance is the only resolver (no moderators, committee or fee).
contract DisputeModule is Ownable {
    struct Dispute {
        address claimant;
        uint64 raisedAt;
        bool resolved;
        uint256 fee;
        bytes32 evidenceHash;
        string reason;
    }

    uint8 private constant S_DISPUTED = 5;

    IJobRegistryDisputes public immutable jobRegistry;
    /// @notice Seconds between opening a record and resolving it (the reference's default: 1 day).
    uint256 public disputeWindow = 1 days;
    mapping(uint256 => Dispute) public disputes;

    error UnauthorizedResolver(address caller);
    error InvalidWindow();

    event DisputeRaised(uint256 indexed jobId, address indexed claimant, bytes32 indexed evidenceHash, string reason);
    event DisputeResolved(uint256 indexed jobId, address indexed resolver, bool employerWins);
    event DisputeWindowUpdated(uint256 window);

    constructor(address registry, address initialOwner) Ownable(initialOwner) {
        jobRegistry = IJobRegistryDisputes(registry);
    }

    /// @notice The reference's name for the owner (Governable).
    function governance() external view returns (address) {
        return owner();
    }

    /// @notice Governance opens a record for a Disputed job; the employer is the claimant.
    function raiseGovernanceDispute(uint256 jobId, string calldata reason) external onlyOwner {
        require(disputes[jobId].raisedAt == 0, "disputed");
        require(bytes(reason).length != 0, "reason");
        (address employer,,,,,,,, uint256 packed) = jobRegistry.jobs(jobId);
        require(packed & 7 == S_DISPUTED, "job"); // v2 packed metadata: state in bits 0-2
        disputes[jobId] = Dispute(employer, uint64(block.timestamp), false, 0, bytes32(0), reason);
        emit DisputeRaised(jobId, employer, bytes32(0), reason);
    }

    /// @notice Resolves an open record once the window has passed. Governance only.
    function resolveDispute(uint256 jobId, bool employerWins) external {
        if (msg.sender != owner()) revert UnauthorizedResolver(msg.sender);
        Dispute storage d = disputes[jobId];
        require(d.raisedAt != 0, "no dispute");
        require(block.timestamp >= d.raisedAt + disputeWindow, "window");
        delete disputes[jobId];
        jobRegistry.resolveDispute(jobId, employerWins);
        emit DisputeResolved(jobId, msg.sender, employerWins);
    }

    /// @notice Sets the dispute window (0 allowed, as on the reference; at most 30 days).
    function setDisputeWindow(uint256 window) external onlyOwner {
        if (window > 30 days) revert InvalidWindow();
        disputeWindow = window;
        emit DisputeWindowUpdated(window);
    }
}
