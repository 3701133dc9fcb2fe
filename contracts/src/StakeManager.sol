// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {PausableModule} from "./utils/PausableModule.sol";
import {IBurnableToken} from "./interfaces/IOmega.sol";

/// @title StakeManager
/// @notice Holds every token of the protocol: per-role stakes, job escrows (keyed `bytes32(jobId)`)
///         and nothing else (no pools: fees and slashes leave the contract immediately).
///         Invariant: token.balanceOf(this) == sum(stakes) + sum(jobEscrows).
/// @dev Roles: 0 Agent, 1 Validator, 2 Platform. A stake slot packs `amount` and `locked`
///      (locked <= amount always; slashing clamps `locked` down to the remaining amount).
contract StakeManager is PausableModule {
    using SafeERC20 for IERC20;

    uint8 internal constant AGENT = 0;
    uint8 internal constant VALIDATOR = 1;
    uint8 internal constant ROLE_COUNT = 3;

    /// @dev One slot. `bonded` (ever locked, see `bonded()`) shares it so that setting it costs no
    ///      extra storage write; `amount` is capped at 2^120-1 wei (~1.3e18 tokens) to make room.
    struct Account {
        uint120 amount;
        bool bonded;
        uint128 locked;
    }

    struct PendingWithdrawal {
        uint128 amount;
        uint64 unlockAt;
    }

    /// @notice The staking / reward token (AGIALPHA).
    IERC20 public immutable token;

    mapping(address => mapping(uint8 => Account)) private _accounts;
    mapping(address => mapping(uint8 => PendingWithdrawal)) private _pending;
    uint256[3] private _totalStake;

    /// @notice Escrowed reward + fee per job, keyed by `bytes32(jobId)`.
    mapping(bytes32 => uint256) public jobEscrows;

    /// @notice Default minimum stake of every role (v2 default 1e18).
    uint256 public minStake = 1e18;
    /// @notice Per-role override of `minStake` (0 = use `minStake`).
    mapping(uint8 => uint256) public roleMinimums;
    /// @notice Slash split: employer share and treasury share in percent (sum 100).
    uint256 public employerSlashPct = 0;
    uint256 public treasurySlashPct = 100;
    /// @notice Receives the treasury share of slashes; address(0) burns it.
    address public treasury;
    /// @notice Delay between `requestWithdraw` and `finalizeWithdraw`.
    uint256 public unbondingPeriod = 7 days;
    address public jobRegistry;
    address public validationModule;

    error InvalidRole(uint8 role);
    error InvalidAmount();
    error BelowMinimumStake(uint256 newBalance, uint256 minimum);
    error InsufficientStake(uint256 available, uint256 requested);
    error NoPendingWithdrawal();
    error WithdrawalLocked(uint64 unlockAt);
    error InvalidPercentages();
    error InvalidPercentage();
    error NotJobRegistry(address caller);
    error NotModule(address caller);
    error NotValidationModule(address caller);
    error InsufficientEscrow(uint256 escrow, uint256 requested);
    error LengthMismatch();
    error InvalidTreasury();
    error AlreadySet();
    error UnbondingRequired();
    error EscrowExists(bytes32 jobId);

    event StakeDeposited(address indexed user, uint8 indexed role, uint256 amount);
    event StakeWithdrawn(address indexed user, uint8 indexed role, uint256 amount);
    event WithdrawRequested(address indexed user, uint8 indexed role, uint256 amount, uint64 unlockAt);
    event StakeSlashed(
        address indexed user,
        uint8 role,
        address indexed employer,
        address indexed treasury,
        uint256 employerShare,
        uint256 treasuryShare,
        uint256 operatorShare,
        uint256 validatorShare,
        uint256 burnShare
    );
    event StakeEscrowLocked(bytes32 indexed jobId, address indexed from, uint256 amount);
    event StakeReleased(bytes32 indexed jobId, address indexed to, uint256 amount);
    event RewardPaid(bytes32 indexed jobId, address indexed to, uint256 amount);
    event TokensBurned(bytes32 indexed jobId, uint256 amount);
    event GovernanceSlash(
        address indexed user, uint8 indexed role, address indexed beneficiary, uint256 amount, uint256 pctBps, address caller
    );
    event MinStakeUpdated(uint256 minStake);
    event RoleMinimumUpdated(uint8 indexed role, uint256 minimum);
    event SlashingPercentagesUpdated(uint256 employerPct, uint256 treasuryPct);
    event TreasuryUpdated(address indexed treasury);
    event UnbondingPeriodUpdated(uint256 period);
    event JobRegistryUpdated(address indexed jobRegistry);
    event ValidationModuleUpdated(address indexed validationModule);

    constructor(address token_, address initialOwner) PausableModule(initialOwner) {
        if (token_ == address(0)) revert ZeroAddress();
        token = IERC20(token_);
    }

    // ---------------------------------------------------------------- modifiers

    modifier validRole(uint8 role) {
        if (role >= ROLE_COUNT) revert InvalidRole(role);
        _;
    }

    modifier onlyJobRegistry() {
        if (msg.sender != jobRegistry) revert NotJobRegistry(msg.sender);
        _;
    }

    modifier onlyValidationModule() {
        if (msg.sender != validationModule) revert NotValidationModule(msg.sender);
        _;
    }

    modifier onlyModule() {
        if (msg.sender != jobRegistry && msg.sender != validationModule) revert NotModule(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- views

    /// @notice Stake of `user` in `role` (locked part included).
    function stakeOf(address user, uint8 role) external view returns (uint256) {
        return _accounts[user][role].amount;
    }

    /// @notice True once any of `user`'s stake in `role` has been locked (a job stake or a committee
    ///         seat): such a stake leaves only through `requestWithdraw` + `unbondingPeriod`, so it
    ///         stays slashable for what it served on.
    function bonded(address user, uint8 role) external view returns (bool) {
        return _accounts[user][role].bonded;
    }

    /// @notice Locked part of the stake of `user` in `role`.
    function lockedStakeOf(address user, uint8 role) external view returns (uint256) {
        return _accounts[user][role].locked;
    }

    /// @notice Total locked stake of `user` across roles.
    function lockedStakes(address user) external view returns (uint256 total) {
        for (uint8 r; r < ROLE_COUNT; ++r) {
            total += _accounts[user][r].locked;
        }
    }

    /// @notice Unlocked stake of `user` in `role`.
    function availableStake(address user, uint8 role) external view returns (uint256) {
        Account memory a = _accounts[user][role];
        return a.amount - a.locked;
    }

    /// @notice Sum of all stakes in `role`.
    function totalStake(uint8 role) external view validRole(role) returns (uint256) {
        return _totalStake[role];
    }

    /// @notice Effective minimum stake of `role` (`roleMinimums[role]` if set, else `minStake`).
    function roleMinimum(uint8 role) public view returns (uint256) {
        uint256 m = roleMinimums[role];
        return m == 0 ? minStake : m;
    }

    /// @notice Pending unbonding withdrawal of `user` in `role`.
    function pendingWithdrawal(address user, uint8 role) external view returns (uint256 amount, uint64 unlockAt) {
        PendingWithdrawal memory p = _pending[user][role];
        return (p.amount, p.unlockAt);
    }

    // ---------------------------------------------------------------- staking

    /// @notice Deposit `amount` as stake in `role`; the caller must have approved this contract.
    ///         The new role balance must be at least `roleMinimum(role)`.
    function depositStake(uint8 role, uint256 amount) external whenNotPaused validRole(role) {
        if (amount == 0 || amount > type(uint120).max) revert InvalidAmount();
        Account storage a = _accounts[msg.sender][role];
        uint256 newBalance = uint256(a.amount) + amount;
        uint256 minimum = roleMinimum(role);
        if (newBalance < minimum) revert BelowMinimumStake(newBalance, minimum);
        if (newBalance > type(uint120).max) revert InvalidAmount();
        a.amount = uint120(newBalance);
        _totalStake[role] += amount;
        token.safeTransferFrom(msg.sender, address(this), amount);
        emit StakeDeposited(msg.sender, role, amount);
    }

    /// @notice Withdraw unlocked stake immediately, only if it never served (`bonded` is false; else
    ///         `UnbondingRequired`). The remaining balance must be zero or at least the role minimum.
    function withdrawStake(uint8 role, uint256 amount) external whenNotPaused validRole(role) {
        if (amount == 0) revert InvalidAmount();
        Account storage a = _accounts[msg.sender][role];
        if (a.bonded) revert UnbondingRequired();
        uint256 amt = a.amount;
        uint256 available = amt - a.locked;
        if (amount > available) revert InsufficientStake(available, amount);
        uint256 remaining = amt - amount;
        uint256 minimum = roleMinimum(role);
        if (remaining != 0 && remaining < minimum) revert BelowMinimumStake(remaining, minimum);
        a.amount = uint120(remaining);
        _totalStake[role] -= amount;
        token.safeTransfer(msg.sender, amount);
        emit StakeWithdrawn(msg.sender, role, amount);
    }

    /// @notice Start unbonding `amount` of unlocked stake (adds to any pending request and restarts
    ///         the unbonding clock). The stake stays slashable until `finalizeWithdraw`.
    function requestWithdraw(uint8 role, uint256 amount) external whenNotPaused validRole(role) {
        if (amount == 0) revert InvalidAmount();
        Account memory a = _accounts[msg.sender][role];
        PendingWithdrawal storage p = _pending[msg.sender][role];
        uint256 total = uint256(p.amount) + amount;
        uint256 available = a.amount - a.locked;
        if (total > available) revert InsufficientStake(available, total);
        uint256 remaining = a.amount - total;
        uint256 minimum = roleMinimum(role);
        if (remaining != 0 && remaining < minimum) revert BelowMinimumStake(remaining, minimum);
        uint64 unlockAt = uint64(block.timestamp + unbondingPeriod);
        p.amount = uint128(total);
        p.unlockAt = unlockAt;
        emit WithdrawRequested(msg.sender, role, amount, unlockAt);
    }

    /// @notice Complete an unbonding withdrawal after its unlock time. Pays the pending amount, capped
    ///         by the stake that is unlocked now (it may have been slashed or locked meanwhile).
    function finalizeWithdraw(uint8 role) external whenNotPaused validRole(role) {
        PendingWithdrawal memory p = _pending[msg.sender][role];
        if (p.amount == 0) revert NoPendingWithdrawal();
        if (block.timestamp < p.unlockAt) revert WithdrawalLocked(p.unlockAt);
        delete _pending[msg.sender][role];
        Account storage a = _accounts[msg.sender][role];
        uint256 available = a.amount - a.locked;
        uint256 amount = p.amount < available ? p.amount : available;
        if (amount == 0) revert InsufficientStake(0, p.amount);
        a.amount -= uint120(amount);
        _totalStake[role] -= amount;
        token.safeTransfer(msg.sender, amount);
        emit StakeWithdrawn(msg.sender, role, amount);
    }

    // ---------------------------------------------------------------- module hooks: escrow

    /// @notice Pull `amount` (reward + fee) from `from` into the escrow of `jobId`. JobRegistry only
    ///         (wired once), which passes the job's employer (`createJob`'s caller) and that job's
    ///         reward + fee; one pull per job id.
    function lockEscrow(uint256 jobId, address from, uint256 amount) external onlyJobRegistry whenNotPaused {
        bytes32 key = bytes32(jobId);
        if (jobEscrows[key] != 0) revert EscrowExists(key);
        jobEscrows[key] = amount;
        token.safeTransferFrom(from, address(this), amount);
        emit StakeEscrowLocked(key, from, amount);
    }

    /// @notice Return the whole escrow of `jobId` to `to`. JobRegistry only.
    function refundEscrow(uint256 jobId, address to) external onlyJobRegistry whenNotPaused returns (uint256 amount) {
        amount = _refund(bytes32(jobId), to);
    }

    /// @notice Return `amount` of the escrow of `jobId` to `to` (the employer: the committee share
    ///         of members who did not reveal an approving vote on a successful job). JobRegistry only.
    function refundPart(uint256 jobId, address to, uint256 amount) external onlyJobRegistry whenNotPaused {
        bytes32 key = bytes32(jobId);
        uint256 escrow = jobEscrows[key];
        if (amount > escrow) revert InsufficientEscrow(escrow, amount);
        jobEscrows[key] = escrow - amount;
        token.safeTransfer(to, amount);
        emit StakeReleased(key, to, amount);
    }

    /// @notice Successful job: release the agent's job stake, pay the agent and every validator, and
    ///         send the rest of the escrow (the fee) to `feeRecipient` (burn when zero). JobRegistry only.
    function settleJob(
        uint256 jobId,
        address agent,
        uint256 agentLock,
        uint256 agentAmount,
        address[] calldata validators,
        uint256 perValidator,
        address feeRecipient
    ) external onlyJobRegistry whenNotPaused {
        bytes32 key = bytes32(jobId);
        uint256 escrow = jobEscrows[key];
        uint256 n = validators.length;
        uint256 paid = agentAmount + perValidator * n;
        if (paid > escrow) revert InsufficientEscrow(escrow, paid);
        delete jobEscrows[key];
        if (agentLock != 0) {
            _release(agent, AGENT, agentLock);
            emit StakeReleased(key, agent, agentLock);
        }
        if (agentAmount != 0) {
            token.safeTransfer(agent, agentAmount);
            emit RewardPaid(key, agent, agentAmount);
        }
        if (perValidator != 0) {
            for (uint256 i; i < n; ++i) {
                token.safeTransfer(validators[i], perValidator);
                emit RewardPaid(key, validators[i], perValidator);
            }
        }
        uint256 fee = escrow - paid;
        if (fee != 0) {
            if (feeRecipient == address(0)) {
                IBurnableToken(address(token)).burn(fee);
                emit TokensBurned(key, fee);
            } else {
                token.safeTransfer(feeRecipient, fee);
                emit RewardPaid(key, feeRecipient, fee);
            }
        }
    }

    /// @notice Failed job: refund the escrow to the employer, then slash the agent's locked job
    ///         stake through the employer/treasury split. JobRegistry only.
    function settleFailure(uint256 jobId, address employer, address agent, uint256 agentLock)
        external
        onlyJobRegistry
        whenNotPaused
    {
        _refund(bytes32(jobId), employer);
        if (agentLock != 0) {
            _release(agent, AGENT, agentLock);
            _slash(agent, AGENT, agentLock, employer);
        }
    }

    // ---------------------------------------------------------------- module hooks: locks & slashing

    /// @notice Lock `amount` of `user`'s unlocked stake in `role`. JobRegistry or ValidationModule.
    function lockStake(address user, uint8 role, uint256 amount) external onlyModule whenNotPaused validRole(role) {
        Account storage a = _accounts[user][role];
        uint256 locked = a.locked;
        uint256 available = a.amount - locked;
        if (amount > available) revert InsufficientStake(available, amount);
        a.locked = uint128(locked + amount);
        a.bonded = true;
    }

    /// @notice Release up to `amount` of `user`'s locked stake in `role`. JobRegistry or ValidationModule.
    function releaseStake(address user, uint8 role, uint256 amount) external onlyModule whenNotPaused validRole(role) {
        _release(user, role, amount);
    }

    /// @notice Lock `amount` of `user`'s stake in `role` if that much is unlocked.
    /// @return stake the user's whole stake in `role` if the lock succeeded, else 0 (nothing locked).
    function lockIfAvailable(address user, uint8 role, uint256 amount)
        external
        onlyValidationModule
        whenNotPaused
        validRole(role)
        returns (uint256 stake)
    {
        Account storage a = _accounts[user][role];
        uint256 amt = a.amount;
        uint256 locked = a.locked;
        if (amt == 0 || amt - locked < amount) return 0;
        a.locked = uint128(locked + amount);
        a.bonded = true;
        return amt;
    }

    /// @notice Release each validator's round lock and apply the given slashes (0 = none).
    ///         ValidationModule only.
    function settleValidators(
        uint256 jobId,
        address[] calldata validators,
        uint256 lockAmount,
        uint256[] calldata slashAmounts
    ) external onlyValidationModule whenNotPaused {
        uint256 n = validators.length;
        if (slashAmounts.length != n) revert LengthMismatch();
        bytes32 key = bytes32(jobId);
        for (uint256 i; i < n; ++i) {
            address v = validators[i];
            if (lockAmount != 0) {
                _release(v, VALIDATOR, lockAmount);
                emit StakeReleased(key, v, lockAmount);
            }
            if (slashAmounts[i] != 0) _slash(v, VALIDATOR, slashAmounts[i], address(0));
        }
    }

    /// @notice Slash up to `amount` of `user`'s stake in `role`; split per `setSlashingPercentages`
    ///         (the employer share goes to the treasury side when `employer` is zero; the treasury share
    ///         is burned when `treasury` is zero). JobRegistry or ValidationModule.
    function slash(address user, uint8 role, uint256 amount, address employer)
        external
        onlyModule
        whenNotPaused
        validRole(role)
        returns (uint256 slashed)
    {
        return _slash(user, role, amount, employer);
    }

    /// @notice Governance slash of `pctBps` (basis points) of `user`'s stake in `role`, paid entirely
    ///         to `beneficiary` (burned when zero). Owner only.
    function governanceSlash(address user, uint8 role, uint256 pctBps, address beneficiary)
        external
        onlyOwner
        whenNotPaused
        validRole(role)
        returns (uint256 amount)
    {
        if (pctBps > 10_000) revert InvalidPercentage();
        Account storage a = _accounts[user][role];
        uint256 amt = a.amount;
        amount = amt * pctBps / 10_000;
        if (amount != 0) {
            uint256 remaining = amt - amount;
            a.amount = uint120(remaining);
            if (a.locked > remaining) a.locked = uint128(remaining);
            _totalStake[role] -= amount;
            if (beneficiary == address(0)) {
                IBurnableToken(address(token)).burn(amount);
            } else {
                token.safeTransfer(beneficiary, amount);
            }
        }
        emit GovernanceSlash(user, role, beneficiary, amount, pctBps, msg.sender);
    }

    // ---------------------------------------------------------------- owner parameters

    function setMinStake(uint256 newMinStake) external onlyOwner {
        if (newMinStake == 0) revert InvalidAmount();
        minStake = newMinStake;
        emit MinStakeUpdated(newMinStake);
    }

    /// @notice Per-role minimum (0 = fall back to `minStake`).
    function setRoleMinimum(uint8 role, uint256 minimum) external onlyOwner validRole(role) {
        roleMinimums[role] = minimum;
        emit RoleMinimumUpdated(role, minimum);
    }

    function setSlashingPercentages(uint256 employerPct, uint256 treasuryPct) external onlyOwner {
        if (employerPct + treasuryPct != 100) revert InvalidPercentages();
        employerSlashPct = employerPct;
        treasurySlashPct = treasuryPct;
        emit SlashingPercentagesUpdated(employerPct, treasuryPct);
    }

    /// @notice Treasury for slash shares; address(0) = burn.
    function setTreasury(address newTreasury) external onlyOwner {
        if (newTreasury == address(this)) revert InvalidTreasury();
        treasury = newTreasury;
        emit TreasuryUpdated(newTreasury);
    }

    function setUnbondingPeriod(uint256 period) external onlyOwner {
        if (period > 365 days) revert InvalidAmount();
        unbondingPeriod = period;
        emit UnbondingPeriodUpdated(period);
    }

    /// @notice Wire the JobRegistry, once: re-pointing it would let the owner pull escrow through
    ///         `lockEscrow` from anyone who approved this contract.
    function setJobRegistry(address registry) external onlyOwner {
        if (registry == address(0)) revert ZeroAddress();
        if (jobRegistry != address(0)) revert AlreadySet();
        jobRegistry = registry;
        emit JobRegistryUpdated(registry);
    }

    /// @notice Wire the ValidationModule, once: its hooks lock, release and slash stakes.
    function setValidationModule(address module) external onlyOwner {
        if (module == address(0)) revert ZeroAddress();
        if (validationModule != address(0)) revert AlreadySet();
        validationModule = module;
        emit ValidationModuleUpdated(module);
    }

    // ---------------------------------------------------------------- internals

    function _refund(bytes32 key, address to) private returns (uint256 amount) {
        amount = jobEscrows[key];
        if (amount != 0) {
            delete jobEscrows[key];
            token.safeTransfer(to, amount);
            emit StakeReleased(key, to, amount);
        }
    }

    function _release(address user, uint8 role, uint256 amount) private {
        Account storage a = _accounts[user][role];
        uint256 locked = a.locked;
        a.locked = uint128(amount >= locked ? 0 : locked - amount);
    }

    function _slash(address user, uint8 role, uint256 amount, address employer) private returns (uint256 slashed) {
        Account storage a = _accounts[user][role];
        uint256 amt = a.amount;
        slashed = amount < amt ? amount : amt;
        if (slashed == 0) return 0;
        uint256 remaining = amt - slashed;
        a.amount = uint120(remaining);
        if (a.locked > remaining) a.locked = uint128(remaining);
        _totalStake[role] -= slashed;

        uint256 employerShare = employer == address(0) ? 0 : slashed * employerSlashPct / 100;
        uint256 treasuryShare = slashed - employerShare;
        address treasury_ = treasury;
        uint256 burnShare = 0;
        if (treasury_ == address(0)) {
            burnShare = treasuryShare;
            treasuryShare = 0;
        }
        if (employerShare != 0) token.safeTransfer(employer, employerShare);
        if (treasuryShare != 0) token.safeTransfer(treasury_, treasuryShare);
        if (burnShare != 0) IBurnableToken(address(token)).burn(burnShare);
        emit StakeSlashed(user, role, employer, treasury_, employerShare, treasuryShare, 0, 0, burnShare);
    }
}
