// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ValidationParams} from "./utils/ValidationParams.sol";
import {IStakeManagerInternal, IJobRegistryInternal, IIdentityRegistryInternal} from "./interfaces/IOmega.sol";

/// @title ValidationModule
/// @notice Committee selection, commit-reveal voting, tally and validator penalties for AGI Jobs v2
///         compatible jobs.
///
/// Round lifecycle per job:
///  1. `start(jobId)` (JobRegistry, on submit) records the submit block; the pool must hold at least
///     `validatorsPerJob` addresses.
///  2. `selectValidators(jobId, entropy)` by anyone in a block > the submit block (block.number >=
///     startBlock + 1, else `SelectionTooEarly`): samples `validatorsPerJob` distinct eligible pool
///     members (allowlisted in the IdentityRegistry, not banned, unlocked Validator stake >= the lock
///     amount) without replacement from a seed derived from blockhash(startBlock) and the job id only
///     (nothing of the calling block; more than 256 blocks later the anchor moves to the calling
///     block and selection happens in a later one), locks `roleMinimum(Validator)` of each member's stake, snapshots each member's stake as
///     its voting weight and opens the commit window. The caller's `entropy` is accepted for ABI
///     compatibility but not mixed into the seed (it would let the caller grind the committee).
///  3. `commitValidation` before `commitDeadline`; `revealValidation` after `commitDeadline` and up to
///     `revealDeadline`.
///  4. `finalize` once everybody revealed or the reveal deadline passed (without the reveal quorum the
///     round fails and the job is reported rejected, as in v2), or `forceFinalize` after
///     `revealDeadline + forceFinalizeGrace` (a quorum failure then records Completed, success = false).
contract ValidationModule is ValidationParams {
    uint8 internal constant ROLE_VALIDATOR = 1;
    uint256 public constant MAX_POOL = 128;

    uint8 internal constant R_NONE = 0;
    uint8 internal constant R_STARTED = 1;
    uint8 internal constant R_SELECTED = 2;
    uint8 internal constant R_FINALIZED = 3;

    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("ValidationModule(string version,address verifyingContract,uint256 chainId)");
    bytes32 internal constant VERSION_HASH = keccak256(bytes("1"));

    struct Member {
        address account;
        uint96 weight; // Validator stake snapshot at selection (capped at 2^96-1)
    }

    struct Round {
        uint40 startBlock;
        uint40 startedAt;
        uint40 commitDeadline;
        uint40 revealDeadline;
        uint8 status;
        uint8 size;
        uint16 revealedMask;
        uint16 approveMask;
        uint40 pauseBase; // pausedTotal when the current deadlines were set (pause freezes time)
        uint96 lockAmount; // second slot
        Member[16] members;
        bytes32[16] commits;
    }

    IStakeManagerInternal public immutable stakeManager;
    IIdentityRegistryInternal public immutable identityRegistry;
    address public jobRegistry;

    uint256 private immutable _cachedChainId;
    bytes32 private immutable _cachedDomainSeparator;

    address[] private _pool;
    mapping(uint256 => Round) private _rounds;
    /// @notice Block number until which a validator is banned from selection.
    mapping(address => uint256) public bannedUntil;

    error NotJobRegistry(address caller);
    error PoolTooSmall(uint256 poolSize, uint256 required);
    error PoolTooLarge();
    error DuplicateValidator(address validator);
    error AlreadyStarted();
    error NotStarted();
    error AlreadySelected();
    error NotSelected();
    error AlreadyFinalized();
    error SelectionTooEarly(uint256 startBlock);
    error NotEnoughEligibleValidators(uint256 found, uint256 required);
    error NotCommitteeMember(address caller);
    error CommitPhaseClosed();
    error RevealPhaseNotOpen();
    error RevealPhaseClosed();
    error EmptySubdomain();
    error InvalidCommitHash();
    error AlreadyCommitted();
    error NotCommitted();
    error AlreadyRevealed();
    error CommitMismatch();
    error RevealPending();
    error GracePeriodActive(uint256 until);
    error AlreadySet();

    event ValidatorsSelected(uint256 indexed jobId, address[] validators);
    event ValidationCommitted(uint256 indexed jobId, address indexed validator, bytes32 commitHash, string subdomain);
    event ValidationRevealed(
        uint256 indexed jobId, address indexed validator, bool approve, bytes32 burnTxHash, string subdomain
    );
    event ValidationTallied(uint256 indexed jobId, bool success, uint256 approvals, uint256 rejections);
    event ValidationResult(uint256 indexed jobId, bool success);
    event ValidationQuorumFailed(uint256 indexed jobId, uint256 revealed, uint256 quorumTarget);
    event ValidatorBanApplied(address indexed validator, uint256 untilBlock);
    event ValidatorPoolUpdated(address[] pool);
    event JobRegistryUpdated(address indexed jobRegistry);

    constructor(address stakeManager_, address identityRegistry_, address initialOwner) ValidationParams(initialOwner) {
        if (stakeManager_ == address(0) || identityRegistry_ == address(0)) revert ZeroAddress();
        stakeManager = IStakeManagerInternal(stakeManager_);
        identityRegistry = IIdentityRegistryInternal(identityRegistry_);
        _cachedChainId = block.chainid;
        _cachedDomainSeparator = _domainSeparator();
    }

    // ---------------------------------------------------------------- round lifecycle

    /// @notice Open a validation round for a freshly submitted job. JobRegistry only.
    function start(uint256 jobId) external whenNotPaused {
        if (msg.sender != jobRegistry) revert NotJobRegistry(msg.sender);
        Round storage r = _rounds[jobId];
        if (r.status != R_NONE) revert AlreadyStarted();
        uint256 k = validatorsPerJob;
        uint256 n = _pool.length;
        if (n < k) revert PoolTooSmall(n, k);
        r.startBlock = uint40(block.number);
        r.startedAt = uint40(block.timestamp);
        r.pauseBase = pausedTotal;
        r.status = R_STARTED;
    }

    /// @notice Sample and lock the committee (see contract docs). Callable by anyone in a block after
    ///         the submit block. Reverts without side effects if too few pool members are eligible.
    function selectValidators(uint256 jobId, uint256 /* entropy */ )
        external
        whenNotPaused
        returns (address[] memory selected)
    {
        Round storage r = _rounds[jobId];
        uint8 status = r.status;
        if (status == R_NONE) revert NotStarted();
        if (status != R_STARTED) revert AlreadySelected();
        uint256 startBlock = r.startBlock;
        if (block.number <= startBlock) revert SelectionTooEarly(startBlock);
        if (block.number - startBlock > 256) {
            // blockhash(startBlock) is no longer available: re-anchor the seed to this block, whose
            // hash the caller cannot know when sending, and select in a later block (nothing else
            // changes; no committee, no event, as v2 selects nobody too early).
            r.startBlock = uint40(block.number);
            return selected;
        }

        uint256 k = validatorsPerJob;
        uint256 n = _pool.length;
        if (n < k) revert PoolTooSmall(n, k);
        uint256 lockAmount = stakeManager.roleMinimum(ROLE_VALIDATOR);

        // The seed is fixed by the hash of the submit block: the same in every block a caller may
        // pick, so retrying (or reverting unless the committee suits) gains nothing.
        uint256 seed = uint256(keccak256(abi.encode(blockhash(startBlock), jobId, address(this))));
        uint256 found;
        (selected, found) = _sample(r, seed, k, n, lockAmount);
        if (found < k) revert NotEnoughEligibleValidators(found, k);

        uint256 commitDeadline = block.timestamp + commitWindow;
        r.commitDeadline = uint40(commitDeadline);
        r.revealDeadline = uint40(commitDeadline + revealWindow);
        r.size = uint8(k);
        r.pauseBase = pausedTotal;
        r.status = R_SELECTED;
        r.lockAmount = uint96(lockAmount);
        emit ValidatorsSelected(jobId, selected);
    }

    /// @notice Committee member commits `commitHash` (see `commitHashFor`) before the commit deadline.
    function commitValidation(uint256 jobId, bytes32 commitHash, string calldata subdomain, bytes32[] calldata)
        external
        whenNotPaused
    {
        Round storage r = _rounds[jobId];
        if (r.status != R_SELECTED) revert NotSelected();
        if (block.timestamp > r.commitDeadline + _paused(r)) revert CommitPhaseClosed();
        if (bytes(subdomain).length == 0) revert EmptySubdomain();
        if (commitHash == bytes32(0)) revert InvalidCommitHash();
        (uint256 i,) = _memberIndex(r, msg.sender);
        if (r.commits[i] != bytes32(0)) revert AlreadyCommitted();
        r.commits[i] = commitHash;
        emit ValidationCommitted(jobId, msg.sender, commitHash, subdomain);
    }

    /// @notice Reveal a vote after the commit deadline and up to the reveal deadline.
    function revealValidation(
        uint256 jobId,
        bool approve,
        bytes32 burnTxHash,
        bytes32 salt,
        string calldata subdomain,
        bytes32[] calldata
    ) external whenNotPaused {
        if (bytes(subdomain).length == 0) revert EmptySubdomain();
        _reveal(jobId, approve, burnTxHash, salt);
        emit ValidationRevealed(jobId, msg.sender, approve, burnTxHash, subdomain);
    }

    function _reveal(uint256 jobId, bool approve, bytes32 burnTxHash, bytes32 salt) private {
        Round storage r = _rounds[jobId];
        if (r.status != R_SELECTED) revert NotSelected();
        uint256 paused = _paused(r);
        if (block.timestamp <= r.commitDeadline + paused) revert RevealPhaseNotOpen();
        if (block.timestamp > r.revealDeadline + paused) revert RevealPhaseClosed();
        (uint256 i,) = _memberIndex(r, msg.sender);
        bytes32 committed = r.commits[i];
        uint256 bit = uint256(1) << i;
        if (committed == bytes32(0)) {
            if (r.revealedMask & bit != 0) revert AlreadyRevealed();
            revert NotCommitted();
        }
        bytes32 specHash = IJobRegistryInternal(jobRegistry).specHashOf(jobId);
        if (commitHashFor(jobId, 1, specHash, approve, burnTxHash, salt, msg.sender) != committed) {
            revert CommitMismatch();
        }
        r.commits[i] = bytes32(0);
        r.revealedMask = uint16(r.revealedMask | bit);
        if (approve) r.approveMask = uint16(r.approveMask | bit);
    }

    /// @notice Tally the round (anyone) once all members revealed or the reveal deadline passed.
    ///         Without the reveal quorum the round fails (as in v2): `ValidationQuorumFailed`, then the
    ///         job is reported as rejected (JobRegistry: Disputed).
    function finalize(uint256 jobId) external whenNotPaused returns (bool success) {
        Round storage r = _rounds[jobId];
        _requireSelected(r.status);
        uint256 size = r.size;
        uint256 revealedMask = r.revealedMask;
        if (revealedMask != (uint256(1) << size) - 1 && block.timestamp <= r.revealDeadline + _paused(r)) {
            revert RevealPending();
        }
        uint256 revealed = _popcount(revealedMask);
        uint256 target = quorumTarget(size);
        return _settle(jobId, r, size, revealed >= target, revealed, target, false);
    }

    /// @notice After `revealDeadline + forceFinalizeGrace` (or, if no committee was ever selected,
    ///         `startedAt + commitWindow + revealWindow + forceFinalizeGrace`): if the quorum was met this
    ///         tallies like `finalize`; otherwise emits `ValidationQuorumFailed`, penalises non-revealers,
    ///         releases the other locks and records a failed job through `JobRegistry.forceFinalize`
    ///         (Completed, success = false).
    function forceFinalize(uint256 jobId) external whenNotPaused returns (bool success) {
        Round storage r = _rounds[jobId];
        uint8 status = r.status;
        if (status == R_NONE) revert NotStarted();
        if (status == R_FINALIZED) revert AlreadyFinalized();
        if (status == R_STARTED) {
            uint256 until = uint256(r.startedAt) + commitWindow + revealWindow + forceFinalizeGrace + _paused(r);
            if (block.timestamp <= until) revert GracePeriodActive(until);
            r.status = R_FINALIZED;
            emit ValidationQuorumFailed(jobId, 0, quorumTarget(validatorsPerJob));
            emit ValidationTallied(jobId, false, 0, 0);
            emit ValidationResult(jobId, false);
            IJobRegistryInternal(jobRegistry).forceFinalize(jobId);
            return false;
        }
        uint256 deadline = uint256(r.revealDeadline) + forceFinalizeGrace + _paused(r);
        if (block.timestamp <= deadline) revert GracePeriodActive(deadline);
        uint256 size = r.size;
        uint256 revealed = _popcount(r.revealedMask);
        uint256 target = quorumTarget(size);
        return _settle(jobId, r, size, revealed >= target, revealed, target, true);
    }

    // ---------------------------------------------------------------- views

    /// @notice The committee of `jobId` (empty before selection).
    function validators(uint256 jobId) public view returns (address[] memory vals) {
        Round storage r = _rounds[jobId];
        uint256 size = r.size;
        vals = new address[](size);
        for (uint256 i; i < size; ++i) {
            vals[i] = r.members[i].account;
        }
    }

    /// @notice Members of `jobId`'s committee who revealed an approving vote, and the committee size
    ///         (JobRegistry pays these on success).
    function paidMembers(uint256 jobId) external view returns (address[] memory approvers, uint256 size) {
        Round storage r = _rounds[jobId];
        size = r.size;
        uint256 mask = r.approveMask;
        approvers = new address[](_popcount(mask));
        uint256 k = 0;
        for (uint256 i; i < size; ++i) {
            if ((mask >> i) & 1 == 1) approvers[k++] = r.members[i].account;
        }
    }

    /// @notice Commit-reveal nonce of `jobId`: 1 once the (single) round started, 0 before.
    function jobNonce(uint256 jobId) external view returns (uint256) {
        return _rounds[jobId].status == R_NONE ? 0 : 1;
    }

    /// @notice EIP-712-style domain separator of the commit hash (recomputed if the chain id changes).
    function DOMAIN_SEPARATOR() public view returns (bytes32) {
        return block.chainid == _cachedChainId ? _cachedDomainSeparator : _domainSeparator();
    }

    /// @notice The v2 commit hash a validator must commit for the given vote.
    function commitHashFor(
        uint256 jobId,
        uint256 nonce,
        bytes32 specHash,
        bool approve,
        bytes32 burnTxHash,
        bytes32 salt,
        address validator
    ) public view returns (bytes32) {
        bytes32 outcomeHash = keccak256(abi.encode(nonce, specHash, approve, burnTxHash));
        return keccak256(abi.encode(jobId, outcomeHash, salt, validator, block.chainid, DOMAIN_SEPARATOR()));
    }

    /// @notice Round summary for bridges and tests. The deadlines include the pause time since the
    ///         committee was selected (pause freezes time).
    function roundInfo(uint256 jobId)
        external
        view
        returns (
            uint8 status,
            uint256 startBlock,
            uint256 commitDeadline,
            uint256 revealDeadline,
            uint256 size,
            uint256 revealedMask,
            uint256 approveMask,
            uint256 lockAmount
        )
    {
        Round storage r = _rounds[jobId];
        uint256 paused = r.status == R_SELECTED ? _paused(r) : 0;
        return (
            r.status,
            r.startBlock,
            r.commitDeadline + paused,
            r.revealDeadline + paused,
            r.size,
            r.revealedMask,
            r.approveMask,
            r.lockAmount
        );
    }

    /// @notice Whether `validator` has an unrevealed commit in `jobId`.
    function hasCommitted(uint256 jobId, address validator) external view returns (bool) {
        Round storage r = _rounds[jobId];
        uint256 size = r.size;
        for (uint256 i; i < size; ++i) {
            if (r.members[i].account == validator) {
                return r.commits[i] != bytes32(0) || (r.revealedMask >> i) & 1 == 1;
            }
        }
        return false;
    }

    function validatorPool() external view returns (address[] memory) {
        return _pool;
    }

    // ---------------------------------------------------------------- owner parameters

    /// @notice Wire the JobRegistry, once (it starts rounds and receives their outcome).
    function setJobRegistry(address registry) external onlyOwner {
        if (registry == address(0)) revert ZeroAddress();
        if (jobRegistry != address(0)) revert AlreadySet();
        jobRegistry = registry;
        emit JobRegistryUpdated(registry);
    }

    /// @notice Replace the validator pool (distinct non-zero addresses, at most MAX_POOL).
    function setValidatorPool(address[] calldata pool) external onlyOwner {
        uint256 n = pool.length;
        if (n > MAX_POOL) revert PoolTooLarge();
        for (uint256 i; i < n; ++i) {
            address v = pool[i];
            if (v == address(0)) revert ZeroAddress();
            for (uint256 j; j < i; ++j) {
                if (pool[j] == v) revert DuplicateValidator(v);
            }
        }
        _pool = pool;
        emit ValidatorPoolUpdated(pool);
    }

    // ---------------------------------------------------------------- internals

    struct Tally {
        address[] members;
        uint256[] weights;
        uint256 revealedMask;
        uint256 approveMask;
        uint256 approvals;
        uint256 approveStake;
        uint256 rejectStake;
        bool success;
    }

    /// @dev `viaForce`: a quorum failure is recorded with `JobRegistry.forceFinalize` (Completed,
    ///      success = false) instead of `onValidationResult(false)` (Disputed).
    function _settle(
        uint256 jobId,
        Round storage r,
        uint256 size,
        bool quorumMet,
        uint256 revealed,
        uint256 target,
        bool viaForce
    ) private returns (bool success) {
        Tally memory t = _tally(r, size, quorumMet);
        success = t.success;
        r.status = R_FINALIZED;
        stakeManager.settleValidators(jobId, t.members, r.lockAmount, _penalties(t, size, quorumMet));

        if (!quorumMet) emit ValidationQuorumFailed(jobId, revealed, target);
        emit ValidationTallied(jobId, success, t.approveStake, t.rejectStake);
        emit ValidationResult(jobId, success);
        IJobRegistryInternal registry = IJobRegistryInternal(jobRegistry);
        if (!quorumMet && viaForce) registry.forceFinalize(jobId);
        else registry.onValidationResult(jobId, success, t.members);
    }

    function _tally(Round storage r, uint256 size, bool quorumMet) private view returns (Tally memory t) {
        t.revealedMask = r.revealedMask;
        t.approveMask = r.approveMask;
        t.members = new address[](size);
        t.weights = new uint256[](size);
        for (uint256 i; i < size; ++i) {
            Member memory m = r.members[i];
            t.members[i] = m.account;
            t.weights[i] = m.weight;
            if ((t.revealedMask >> i) & 1 == 1) {
                if ((t.approveMask >> i) & 1 == 1) {
                    t.approveStake += m.weight;
                    ++t.approvals;
                } else {
                    t.rejectStake += m.weight;
                }
            }
        }
        if (quorumMet) {
            uint256 required = requiredValidatorApprovals < size ? requiredValidatorApprovals : size;
            t.success = t.approvals != 0 && t.approvals >= required
                && t.approveStake * 100 >= approvalThreshold * (t.approveStake + t.rejectStake);
        }
    }

    /// @dev Non-revealers: `nonRevealPenaltyBps` of their stake snapshot, but never less than a wrong
    ///      vote costs (`validatorSlashingPct`), so silence never beats dissent; + ban. Revealers whose
    ///      vote differs from the outcome (only when the quorum was met): `validatorSlashingPct`.
    function _penalties(Tally memory t, uint256 size, bool quorumMet) private returns (uint256[] memory slashes) {
        slashes = new uint256[](size);
        uint256 banUntil = block.number + banBlocks;
        uint256 silentBps = nonRevealPenaltyBps;
        if (silentBps < validatorSlashingPct * 100) silentBps = validatorSlashingPct * 100;
        for (uint256 i; i < size; ++i) {
            if ((t.revealedMask >> i) & 1 == 0) {
                slashes[i] = t.weights[i] * silentBps / 10_000;
                if (banUntil > block.number) {
                    bannedUntil[t.members[i]] = banUntil;
                    emit ValidatorBanApplied(t.members[i], banUntil);
                }
            } else if (quorumMet && (((t.approveMask >> i) & 1 == 1) != t.success)) {
                slashes[i] = t.weights[i] * validatorSlashingPct / 100;
            }
        }
    }

    /// @dev Lazy Fisher-Yates over the pool: draws without replacement until `k` eligible members
    ///      are locked or the pool is exhausted. `perm[x]` = 0 means identity, else index + 1.
    function _sample(Round storage r, uint256 seed, uint256 k, uint256 n, uint256 lockAmount)
        private
        returns (address[] memory selected, uint256 found)
    {
        selected = new address[](k);
        uint256[] memory perm = new uint256[](n);
        for (uint256 i; i < n && found < k; ++i) {
            seed = uint256(keccak256(abi.encode(seed)));
            address cand = _pool[_draw(perm, i, i + seed % (n - i))];
            uint256 stake = _tryLock(cand, lockAmount);
            if (stake == 0) continue;
            r.members[found] = Member(cand, uint96(stake));
            selected[found] = cand;
            unchecked {
                ++found;
            }
        }
    }

    function _draw(uint256[] memory perm, uint256 i, uint256 j) private pure returns (uint256 pick) {
        uint256 pj = perm[j];
        uint256 pi = perm[i];
        pick = pj == 0 ? j : pj - 1;
        perm[j] = pi == 0 ? i + 1 : pi;
    }

    /// @dev Eligibility (not banned, allowlisted, enough unlocked stake) + lock; returns the capped
    ///      stake weight or 0 when ineligible.
    function _tryLock(address cand, uint256 lockAmount) private returns (uint256 stake) {
        if (bannedUntil[cand] > block.number) return 0;
        if (!identityRegistry.additionalValidators(cand)) return 0;
        stake = stakeManager.lockIfAvailable(cand, ROLE_VALIDATOR, lockAmount);
        if (stake > type(uint96).max) stake = type(uint96).max;
    }

    function _memberIndex(Round storage r, address who) private view returns (uint256 i, uint256 weight) {
        uint256 size = r.size;
        for (; i < size; ++i) {
            Member memory m = r.members[i];
            if (m.account == who) return (i, m.weight);
        }
        revert NotCommitteeMember(who);
    }

    /// @dev Pause time since the round's deadlines were set: they move by that much.
    function _paused(Round storage r) private view returns (uint256) {
        return pausedTotal - r.pauseBase;
    }

    function _requireSelected(uint8 status) private pure {
        if (status == R_SELECTED) return;
        if (status == R_FINALIZED) revert AlreadyFinalized();
        if (status == R_NONE) revert NotStarted();
        revert NotSelected();
    }

    function _popcount(uint256 x) private pure returns (uint256 c) {
        while (x != 0) {
            x &= x - 1;
            ++c;
        }
    }

    function _domainSeparator() private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, VERSION_HASH, address(this), block.chainid));
    }
}
