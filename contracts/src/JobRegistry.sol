// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {PausableModule} from "./utils/PausableModule.sol";
import {IStakeManagerInternal, IValidationModuleInternal, IIdentityRegistryInternal} from "./interfaces/IOmega.sol";

/// @title JobRegistry
/// @notice The AGI Jobs v2 job state machine. Holds no funds: the StakeManager escrows reward + fee
///         (pulled from the employer, who approves the StakeManager) and the agent's job stake.
///
/// State: None 0, Created 1, Applied 2, Submitted 3, Completed 4, Disputed 5, Finalized 6, Cancelled 7.
/// Packed metadata bits: 0-2 state, 3 success, 4 burnConfirmed, 5-12 agentTypes, 13-44 feePct,
/// 45-76 agentPct (100 = no boost), 77-140 deadline, 141-204 assignedAt. Bits 208-215 hold an internal
/// snapshot of validatorRewardPct and bits 216-255 one of `pausedTotal` at creation (the deadline is
/// extended by the pause time since: `effectiveDeadline`); both are masked out of `jobs()`.
contract JobRegistry is PausableModule {
    uint8 internal constant S_NONE = 0;
    uint8 internal constant S_CREATED = 1;
    uint8 internal constant S_APPLIED = 2;
    uint8 internal constant S_SUBMITTED = 3;
    uint8 internal constant S_COMPLETED = 4;
    uint8 internal constant S_DISPUTED = 5;
    uint8 internal constant S_FINALIZED = 6;
    uint8 internal constant S_CANCELLED = 7;

    uint8 internal constant ROLE_AGENT = 0;

    uint256 internal constant STATE_MASK = 0x7;
    uint256 internal constant SUCCESS_BIT = 1 << 3;
    uint256 internal constant FEE_SHIFT = 13;
    uint256 internal constant AGENT_PCT_SHIFT = 45;
    uint256 internal constant DEADLINE_SHIFT = 77;
    uint256 internal constant ASSIGNED_SHIFT = 141;
    uint256 internal constant VRP_SHIFT = 208;
    uint256 internal constant PAUSE_SHIFT = 216;
    uint256 internal constant PUBLIC_META_MASK = (uint256(1) << 205) - 1;
    uint256 internal constant U64 = type(uint64).max;
    uint256 internal constant U32 = type(uint32).max;

    struct Job {
        address employer;
        uint96 stake;
        address agent;
        uint96 reward;
        uint256 meta;
        bytes32 specHash;
        bytes32 uriHash;
        bytes32 resultHash;
    }

    /// @dev One slot: read once per createJob.
    struct Config {
        uint96 jobStake;
        uint32 feePct;
        uint32 validatorRewardPct;
        uint64 jobDurationLimit;
        uint32 nextJobId;
    }

    /// @dev One slot: fee recipient + agent minimum.
    struct Config2 {
        address treasury;
        uint96 minAgentStake;
    }

    IStakeManagerInternal public immutable stakeManager;
    IValidationModuleInternal public immutable validationModule;
    IIdentityRegistryInternal public immutable identityRegistry;

    Config private _cfg;
    Config2 private _cfg2;
    /// @notice Optional dispute module allowed to call `resolveDispute` besides governance.
    address public disputeModule;
    mapping(uint256 => Job) private _jobs;

    error InvalidState(uint8 current);
    error InvalidReward();
    error InvalidDeadline();
    error InvalidSpecHash();
    error EmptySubdomain();
    error NotAuthorizedAgent(address caller);
    error NotAgent(address caller);
    error NotEmployer(address caller);
    error NotEmployerOrGovernance(address caller);
    error NotParty(address caller);
    error NotValidationModule(address caller);
    error NotDisputeResolver(address caller);
    error OnlyDisputeModule();
    error DeadlinePassed();
    error NotExpired();
    error InsufficientAgentStake(uint256 stake, uint256 minimum);
    error InvalidPercentage();
    error ValueTooLarge();

    event JobCreated(
        uint256 indexed jobId,
        address indexed employer,
        address indexed agent,
        uint256 reward,
        uint256 stake,
        uint256 fee,
        bytes32 specHash,
        string uri
    );
    event AgentAssigned(uint256 indexed jobId, address indexed agent, string subdomain);
    event ResultSubmitted(
        uint256 indexed jobId, address indexed worker, bytes32 resultHash, string resultURI, string subdomain
    );
    event JobCompleted(uint256 indexed jobId, bool success);
    event JobDisputed(uint256 indexed jobId, address indexed caller);
    event DisputeEvidence(uint256 indexed jobId, address indexed caller, bytes32 evidenceHash, string reason);
    event DisputeResolved(uint256 indexed jobId, bool employerWins);
    event JobPayout(uint256 indexed jobId, address indexed worker, uint256 base, uint256 bonus, uint256 fee);
    event JobFinalized(uint256 indexed jobId, address indexed worker);
    event JobCancelled(uint256 indexed jobId);
    event JobExpired(uint256 indexed jobId, address indexed caller);
    event JobParameterUpdated(bytes32 indexed name, uint256 value);
    event TreasuryUpdated(address indexed treasury);
    event DisputeModuleUpdated(address indexed disputeModule);

    constructor(address stakeManager_, address validationModule_, address identityRegistry_, address initialOwner)
        PausableModule(initialOwner)
    {
        if (stakeManager_ == address(0) || validationModule_ == address(0) || identityRegistry_ == address(0)) {
            revert ZeroAddress();
        }
        stakeManager = IStakeManagerInternal(stakeManager_);
        validationModule = IValidationModuleInternal(validationModule_);
        identityRegistry = IIdentityRegistryInternal(identityRegistry_);
        _cfg = Config({jobStake: 1e18, feePct: 5, validatorRewardPct: 8, jobDurationLimit: 0, nextJobId: 0});
    }

    // ---------------------------------------------------------------- lifecycle

    /// @notice Post a job. The StakeManager pulls `reward + reward*feePct/100` from the caller.
    function createJob(uint256 reward, uint64 deadline, bytes32 specHash, string calldata uri)
        external
        whenNotPaused
        returns (uint256 jobId)
    {
        if (reward == 0 || reward > type(uint96).max) revert InvalidReward();
        Config memory c = _cfg;
        if (deadline <= block.timestamp) revert InvalidDeadline();
        if (c.jobDurationLimit != 0 && deadline > block.timestamp + c.jobDurationLimit) revert InvalidDeadline();
        if (specHash == bytes32(0)) revert InvalidSpecHash();
        uint256 fee = reward * c.feePct / 100;
        unchecked {
            jobId = uint256(c.nextJobId) + 1;
        }
        if (jobId > U32) revert ValueTooLarge();
        _cfg.nextJobId = uint32(jobId);

        Job storage j = _jobs[jobId];
        j.employer = msg.sender;
        j.stake = c.jobStake;
        j.reward = uint96(reward);
        j.meta = uint256(S_CREATED) | (uint256(c.feePct) << FEE_SHIFT) | (uint256(100) << AGENT_PCT_SHIFT)
            | (uint256(deadline) << DEADLINE_SHIFT) | (uint256(c.validatorRewardPct) << VRP_SHIFT)
            | (uint256(pausedTotal) << PAUSE_SHIFT);
        j.specHash = specHash;
        j.uriHash = keccak256(bytes(uri));

        stakeManager.lockEscrow(jobId, msg.sender, reward + fee);
        emit JobCreated(jobId, msg.sender, address(0), reward, c.jobStake, fee, specHash, uri);
    }

    /// @notice Take a Created job. Requires an allowlisted agent, a non-empty subdomain and enough
    ///         unlocked Agent-role stake to lock the job's `stake`.
    function applyForJob(uint256 jobId, string calldata subdomain, bytes32[] calldata proof) external whenNotPaused {
        Job storage j = _jobs[jobId];
        uint256 meta = j.meta;
        _requireState(meta, S_CREATED);
        // No deadline check here, as on v2: a late apply fails at `submit` (DeadlinePassed) and
        // the job can then be expired (`cancelExpiredJob`), which releases the escrow.
        if (bytes(subdomain).length == 0) revert EmptySubdomain();
        (bool allowed,,,) = identityRegistry.verifyAgent(msg.sender, subdomain, proof);
        if (!allowed) revert NotAuthorizedAgent(msg.sender);
        uint256 minAgent = _cfg2.minAgentStake;
        if (minAgent != 0) {
            uint256 s = stakeManager.stakeOf(msg.sender, ROLE_AGENT);
            if (s < minAgent) revert InsufficientAgentStake(s, minAgent);
        }
        j.agent = msg.sender;
        j.meta = _withState(meta, S_APPLIED) | (block.timestamp << ASSIGNED_SHIFT);
        uint256 stake = j.stake;
        if (stake != 0) stakeManager.lockStake(msg.sender, ROLE_AGENT, stake);
        emit AgentAssigned(jobId, msg.sender, subdomain);
    }

    /// @notice The assigned agent submits its result (by the deadline); starts validation.
    function submit(
        uint256 jobId,
        bytes32 resultHash,
        string calldata resultURI,
        string calldata subdomain,
        bytes32[] calldata
    ) external whenNotPaused {
        Job storage j = _jobs[jobId];
        uint256 meta = j.meta;
        _requireState(meta, S_APPLIED);
        if (msg.sender != j.agent) revert NotAgent(msg.sender);
        if (_deadline(meta) < block.timestamp) revert DeadlinePassed();
        j.resultHash = resultHash;
        j.meta = _withState(meta, S_SUBMITTED);
        validationModule.start(jobId);
        emit ResultSubmitted(jobId, msg.sender, resultHash, resultURI, subdomain);
    }

    /// @notice Validation outcome. ValidationModule only. Approve -> Completed(success),
    ///         reject -> Disputed.
    function onValidationResult(uint256 jobId, bool success, address[] calldata) external whenNotPaused {
        if (msg.sender != address(validationModule)) revert NotValidationModule(msg.sender);
        Job storage j = _jobs[jobId];
        uint256 meta = j.meta;
        _requireState(meta, S_SUBMITTED);
        if (success) {
            j.meta = _withState(meta, S_COMPLETED) | SUCCESS_BIT;
            emit JobCompleted(jobId, true);
        } else {
            j.meta = _withState(meta, S_DISPUTED);
            emit JobDisputed(jobId, msg.sender);
        }
    }

    /// @notice Record a failed outcome when validation quorum was not met. Called by the
    ///         ValidationModule from its `forceFinalize`; any other caller is forwarded to
    ///         `ValidationModule.forceFinalize(jobId)`, which enforces the timing rules.
    function forceFinalize(uint256 jobId) external whenNotPaused {
        if (msg.sender != address(validationModule)) {
            validationModule.forceFinalize(jobId);
            return;
        }
        Job storage j = _jobs[jobId];
        uint256 meta = j.meta;
        _requireState(meta, S_SUBMITTED);
        j.meta = _withState(meta, S_COMPLETED) & ~SUCCESS_BIT;
        emit JobCompleted(jobId, false);
    }

    /// @notice Agent or employer disputes a Completed job.
    function dispute(uint256 jobId, bytes32 evidenceHash, string calldata reason) external whenNotPaused {
        Job storage j = _jobs[jobId];
        uint256 meta = j.meta;
        _requireState(meta, S_COMPLETED);
        if (msg.sender != j.agent && msg.sender != j.employer) revert NotParty(msg.sender);
        j.meta = _withState(meta, S_DISPUTED);
        emit JobDisputed(jobId, msg.sender);
        emit DisputeEvidence(jobId, msg.sender, evidenceHash, reason);
    }

    /// @notice Resolve a dispute: Completed with success = !employerWins. Only the DisputeModule once
    ///         one is set (as on v2); governance while none is (ours, the devnet's friendly mode).
    function resolveDispute(uint256 jobId, bool employerWins) external whenNotPaused {
        address module = disputeModule;
        if (module != address(0)) {
            if (msg.sender != module) revert OnlyDisputeModule();
        } else if (msg.sender != owner()) {
            revert NotDisputeResolver(msg.sender);
        }
        Job storage j = _jobs[jobId];
        uint256 meta = j.meta;
        _requireState(meta, S_DISPUTED);
        meta = _withState(meta, S_COMPLETED);
        j.meta = employerWins ? meta & ~SUCCESS_BIT : meta | SUCCESS_BIT;
        emit DisputeResolved(jobId, employerWins);
    }

    /// @notice Settle a Completed job (employer or governance; not the agent). Success pays the agent,
    ///         each committee member who revealed an approving vote (the others' shares go back to the
    ///         employer) and burns/sends the fee; failure refunds the employer and
    ///         slashes the agent's job stake.
    function finalize(uint256 jobId) external whenNotPaused {
        Job storage j = _jobs[jobId];
        uint256 meta = j.meta;
        _requireState(meta, S_COMPLETED);
        address employer = j.employer;
        if (msg.sender != employer && msg.sender != owner()) revert NotEmployerOrGovernance(msg.sender);
        j.meta = _withState(meta, S_FINALIZED);
        address agent = j.agent;
        uint256 stake = j.stake;
        if (meta & SUCCESS_BIT != 0) {
            uint256 reward = j.reward;
            // Only members who revealed an approving vote (the outcome) are paid; the seats of the
            // others go back to the employer.
            (address[] memory paid, uint256 n) = validationModule.paidMembers(jobId);
            uint256 perValidator = 0;
            if (n != 0) perValidator = reward * ((meta >> VRP_SHIFT) & 0xff) / 100 / n;
            uint256 agentAmount = reward - perValidator * n;
            uint256 fee = reward * ((meta >> FEE_SHIFT) & U32) / 100;
            uint256 unpaid = perValidator * (n - paid.length);
            if (unpaid != 0) stakeManager.refundPart(jobId, employer, unpaid);
            stakeManager.settleJob(jobId, agent, stake, agentAmount, paid, perValidator, _cfg2.treasury);
            emit JobPayout(jobId, agent, agentAmount, 0, fee);
        } else {
            stakeManager.settleFailure(jobId, employer, agent, stake);
        }
        emit JobFinalized(jobId, agent);
    }

    /// @notice Employer cancels a Created job (no agent yet): full refund of reward + fee.
    function cancelJob(uint256 jobId) external whenNotPaused {
        Job storage j = _jobs[jobId];
        uint256 meta = j.meta;
        _requireState(meta, S_CREATED);
        if (msg.sender != j.employer) revert NotEmployer(msg.sender);
        j.meta = _withState(meta, S_CANCELLED);
        stakeManager.refundEscrow(jobId, msg.sender);
        emit JobCancelled(jobId);
    }

    /// @notice Employer or governance closes an Applied job whose deadline passed without a
    ///         submission: Finalized with success = false, escrow refunded, agent's job stake slashed.
    function cancelExpiredJob(uint256 jobId) external whenNotPaused {
        Job storage j = _jobs[jobId];
        uint256 meta = j.meta;
        _requireState(meta, S_APPLIED);
        address employer = j.employer;
        if (msg.sender != employer && msg.sender != owner()) revert NotEmployerOrGovernance(msg.sender);
        if (block.timestamp <= _deadline(meta)) revert NotExpired();
        j.meta = _withState(meta, S_FINALIZED) & ~SUCCESS_BIT;
        stakeManager.settleFailure(jobId, employer, j.agent, j.stake);
        emit JobExpired(jobId, msg.sender);
    }

    // ---------------------------------------------------------------- views

    /// @notice The v2 9-field job tuple.
    function jobs(uint256 jobId)
        external
        view
        returns (
            address employer,
            address agent,
            uint128 reward,
            uint96 stake,
            uint128 burnReceiptAmount,
            bytes32 uriHash,
            bytes32 resultHash,
            bytes32 specHash,
            uint256 packedMetadata
        )
    {
        Job storage j = _jobs[jobId];
        return (j.employer, j.agent, j.reward, j.stake, 0, j.uriHash, j.resultHash, j.specHash, j.meta & PUBLIC_META_MASK);
    }

    /// @notice Decode `packedMetadata` from `jobs()`.
    function decodeJobMetadata(uint256 packed)
        external
        pure
        returns (
            uint8 state,
            bool success,
            bool burnConfirmed,
            uint8 agentTypes,
            uint32 feePct,
            uint32 agentPct,
            uint64 deadline,
            uint64 assignedAt
        )
    {
        state = uint8(packed & STATE_MASK);
        success = (packed >> 3) & 1 == 1;
        burnConfirmed = (packed >> 4) & 1 == 1;
        agentTypes = uint8(packed >> 5);
        feePct = uint32(packed >> FEE_SHIFT);
        agentPct = uint32(packed >> AGENT_PCT_SHIFT);
        deadline = uint64(packed >> DEADLINE_SHIFT);
        assignedAt = uint64(packed >> ASSIGNED_SHIFT);
    }

    /// @notice The job's deadline extended by the time the registry spent paused since its creation
    ///         (ours; `jobs()` keeps the deadline as posted).
    function effectiveDeadline(uint256 jobId) external view returns (uint256) {
        return _deadline(_jobs[jobId].meta);
    }

    /// @notice Current state of `jobId` (State enum as uint8).
    function jobState(uint256 jobId) external view returns (uint8) {
        return uint8(_jobs[jobId].meta & STATE_MASK);
    }

    /// @notice The job's specHash (used by the ValidationModule for the commit hash).
    function specHashOf(uint256 jobId) external view returns (bytes32) {
        return _jobs[jobId].specHash;
    }

    function nextJobId() external view returns (uint256) {
        return _cfg.nextJobId;
    }

    function jobStake() external view returns (uint96) {
        return _cfg.jobStake;
    }

    function feePct() external view returns (uint256) {
        return _cfg.feePct;
    }

    function validatorRewardPct() external view returns (uint256) {
        return _cfg.validatorRewardPct;
    }

    function jobDurationLimit() external view returns (uint256) {
        return _cfg.jobDurationLimit;
    }

    function minAgentStake() external view returns (uint256) {
        return _cfg2.minAgentStake;
    }

    function treasury() external view returns (address) {
        return _cfg2.treasury;
    }

    // ---------------------------------------------------------------- owner parameters

    /// @notice Agent stake locked per job (snapshotted at creation). Default 1e18.
    function setJobStake(uint96 stake) external onlyOwner {
        _cfg.jobStake = stake;
        emit JobParameterUpdated("jobStake", stake);
    }

    /// @notice Fee on top of the reward, percent (0-100). Default 5.
    function setFeePct(uint256 pct) external onlyOwner {
        if (pct > 100) revert InvalidPercentage();
        _cfg.feePct = uint32(pct);
        emit JobParameterUpdated("feePct", pct);
    }

    /// @notice Committee share of the reward on success, percent (0-100). Default 8.
    function setValidatorRewardPct(uint256 pct) external onlyOwner {
        if (pct > 100) revert InvalidPercentage();
        _cfg.validatorRewardPct = uint32(pct);
        emit JobParameterUpdated("validatorRewardPct", pct);
    }

    /// @notice Max seconds between creation and deadline (0 = unlimited). Default 0.
    function setJobDurationLimit(uint256 limit) external onlyOwner {
        if (limit > U64) revert ValueTooLarge();
        _cfg.jobDurationLimit = uint64(limit);
        emit JobParameterUpdated("jobDurationLimit", limit);
    }

    /// @notice Minimum total Agent-role stake to apply (0 = none). Default 0.
    function setMinAgentStake(uint256 minimum) external onlyOwner {
        if (minimum > type(uint96).max) revert ValueTooLarge();
        _cfg2.minAgentStake = uint96(minimum);
        emit JobParameterUpdated("minAgentStake", minimum);
    }

    /// @notice Fee recipient; address(0) burns fees. Default address(0).
    function setTreasury(address newTreasury) external onlyOwner {
        _cfg2.treasury = newTreasury;
        emit TreasuryUpdated(newTreasury);
    }

    /// @notice Optional module allowed to call `resolveDispute`. Default address(0).
    function setDisputeModule(address module) external onlyOwner {
        disputeModule = module;
        emit DisputeModuleUpdated(module);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Posted deadline + pause time since creation (pausedTotal minus its snapshot in bits 216+).
    function _deadline(uint256 meta) private view returns (uint256) {
        return ((meta >> DEADLINE_SHIFT) & U64) + pausedTotal - (meta >> PAUSE_SHIFT);
    }

    function _requireState(uint256 meta, uint8 expected) private pure {
        uint8 s = uint8(meta & STATE_MASK);
        if (s != expected) revert InvalidState(s);
    }

    function _withState(uint256 meta, uint8 s) private pure returns (uint256) {
        return (meta & ~STATE_MASK) | s;
    }
}
