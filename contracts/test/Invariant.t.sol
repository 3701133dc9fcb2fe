// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {Vm} from "./utils/Vm.sol";
import {AGIALPHA} from "../src/AGIALPHA.sol";
import {StakeManager} from "../src/StakeManager.sol";
import {JobRegistry} from "../src/JobRegistry.sol";
import {ValidationModule} from "../src/ValidationModule.sol";
import {SystemPause} from "../src/SystemPause.sol";

/// @notice Drives random sequences of protocol actions. Every action is bounded and swallows reverts
///         so that the fuzzer spends its depth on meaningful transitions.
contract Handler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    AGIALPHA public token;
    StakeManager public stake;
    JobRegistry public registry;
    ValidationModule public validation;
    SystemPause public systemPause;
    address public gov;
    address[] public employers;
    address[] public agents;
    address[] public validatorSet;
    address[] public actors; // every address that ever stakes

    /// @notice Number of successful settlements (finalize / cancel / expiry) per job.
    mapping(uint256 => uint256) public settlements;
    mapping(uint256 => mapping(address => bool)) internal _vote;
    bytes32[] internal _noProof;

    uint256 public calls;
    /// @notice Immediate withdrawals of a stake that had served (must stay 0: unbonding for everyone).
    uint256 public servedInstantExits;
    /// @notice Ghost clock: seconds that passed while the system was paused.
    uint256 public ghostPaused;
    mapping(uint256 => uint256) internal _pausedAtCreate;
    mapping(uint256 => uint256) internal _pausedAtSelect;
    mapping(uint256 => uint256) internal _selectedAt;
    /// @notice Penalties (expiry slash, non-reveal slash) that only a pause made due: must stay 0.
    uint256 public penalisedByPause;
    mapping(bytes32 => uint256) public okCalls;

    constructor(
        AGIALPHA token_,
        StakeManager stake_,
        JobRegistry registry_,
        ValidationModule validation_,
        SystemPause systemPause_,
        address gov_,
        address[] memory employers_,
        address[] memory agents_,
        address[] memory validators_
    ) {
        token = token_;
        stake = stake_;
        registry = registry_;
        validation = validation_;
        systemPause = systemPause_;
        gov = gov_;
        employers = employers_;
        agents = agents_;
        validatorSet = validators_;
        for (uint256 i; i < agents_.length; ++i) {
            actors.push(agents_[i]);
        }
        for (uint256 i; i < validators_.length; ++i) {
            actors.push(validators_[i]);
        }
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function _job(uint256 seed) internal view returns (uint256) {
        uint256 n = registry.nextJobId();
        return n == 0 ? 1 : 1 + seed % n;
    }

    function _warpTo(uint256 t) internal {
        if (t <= block.timestamp) return;
        if (registry.paused()) ghostPaused += t - block.timestamp;
        vm.warp(t);
    }

    /// @dev Unpaused seconds since `t0`, given the ghost pause clock then.
    function _unpausedSince(uint256 t0, uint256 ghostAtT0) internal view returns (uint256) {
        return block.timestamp - t0 - (ghostPaused - ghostAtT0);
    }

    function _recordSelect(uint256 id) internal {
        _pausedAtSelect[id] = ghostPaused;
        _selectedAt[id] = block.timestamp;
    }

    /// @dev Before a tally that will penalise a non-revealer: the windows must have run out in
    ///      unpaused time.
    function _checkRoundPenalty(uint256 id) internal {
        (uint8 rs,,,, uint256 size, uint256 revealedMask,,) = validation.roundInfo(id);
        if (rs != 2 || revealedMask == (uint256(1) << size) - 1) return;
        uint256 windows = validation.commitWindow() + validation.revealWindow();
        if (_unpausedSince(_selectedAt[id], _pausedAtSelect[id]) <= windows) ++penalisedByPause;
    }

    /// @dev Expiry (the agent's job stake slashed) is due only once the posted deadline passed in
    ///      unpaused time.
    function _checkExpiry(uint256 id) internal {
        (,,,,,,,, uint256 packed) = registry.jobs(id);
        uint256 deadline = (packed >> 77) & type(uint64).max;
        if (block.timestamp - (ghostPaused - _pausedAtCreate[id]) <= deadline) ++penalisedByPause;
    }

    function _ok(bytes32 what) internal {
        ++okCalls[what];
    }

    // ------------------------------------------------------------ job lifecycle

    function createJob(uint256 who, uint256 reward, uint256 ahead) external {
        ++calls;
        address e = employers[who % employers.length];
        reward = 1 + reward % (50e18);
        ahead = 1 + ahead % (3 days);
        vm.prank(e);
        try registry.createJob(reward, uint64(block.timestamp + ahead), keccak256(abi.encode(reward, ahead)), "u") {
            _pausedAtCreate[registry.nextJobId()] = ghostPaused;
            _ok("create");
        } catch {}
    }

    function applyForJob(uint256 jobSeed, uint256 who) external {
        ++calls;
        address a = agents[who % agents.length];
        vm.prank(a);
        try registry.applyForJob(_job(jobSeed), "agent", _noProof) {
            _ok("apply");
        } catch {}
    }

    function submit(uint256 jobSeed) external {
        ++calls;
        uint256 id = _job(jobSeed);
        (, address a,,,,,,,) = registry.jobs(id);
        vm.prank(a);
        try registry.submit(id, keccak256("r"), "r", "agent", _noProof) {
            _ok("submit");
        } catch {}
    }

    function selectValidators(uint256 jobSeed) external {
        ++calls;
        vm.roll(block.number + 1);
        uint256 id = _job(jobSeed);
        try validation.selectValidators(id, 0) returns (address[] memory c) {
            if (c.length != 0) _recordSelect(id);
            _ok("select");
        } catch {}
    }

    function commit(uint256 jobSeed, uint256 member, bool approve) external {
        ++calls;
        uint256 id = _job(jobSeed);
        address[] memory c = validation.validators(id);
        if (c.length == 0) return;
        address v = c[member % c.length];
        bytes32 h = validation.commitHashFor(id, 1, registry.specHashOf(id), approve, bytes32(0), bytes32(id), v);
        vm.prank(v);
        try validation.commitValidation(id, h, "v", _noProof) {
            _vote[id][v] = approve;
            _ok("commit");
        } catch {}
    }

    function reveal(uint256 jobSeed, uint256 member) external {
        ++calls;
        uint256 id = _job(jobSeed);
        address[] memory c = validation.validators(id);
        if (c.length == 0) return;
        address v = c[member % c.length];
        vm.prank(v);
        try validation.revealValidation(id, _vote[id][v], bytes32(0), bytes32(id), "v", _noProof) {
            _ok("reveal");
        } catch {}
    }

    function finalizeValidation(uint256 jobSeed) external {
        ++calls;
        uint256 id = _job(jobSeed);
        try this.checkedFinalize(id) {
            _ok("vfinalize");
        } catch {}
    }

    function forceFinalize(uint256 jobSeed) external {
        ++calls;
        try this.checkedForce(_job(jobSeed)) {
            _ok("force");
        } catch {}
    }

    function finalizeJob(uint256 jobSeed, bool byGov) external {
        ++calls;
        uint256 id = _job(jobSeed);
        (address e,,,,,,,,) = registry.jobs(id);
        vm.prank(byGov ? gov : e);
        try registry.finalize(id) {
            ++settlements[id];
            _ok("finalize");
        } catch {}
    }

    function cancelJob(uint256 jobSeed) external {
        ++calls;
        uint256 id = _job(jobSeed);
        (address e,,,,,,,,) = registry.jobs(id);
        vm.prank(e);
        try registry.cancelJob(id) {
            ++settlements[id];
            _ok("cancel");
        } catch {}
    }

    function cancelExpiredJob(uint256 jobSeed) external {
        ++calls;
        uint256 id = _job(jobSeed);
        uint8 before = registry.jobState(id);
        vm.prank(gov);
        try registry.cancelExpiredJob(id) {
            if (before == 2) _checkExpiry(id);
            ++settlements[id];
            _ok("expire");
        } catch {}
    }

    function dispute(uint256 jobSeed, bool byAgent) external {
        ++calls;
        uint256 id = _job(jobSeed);
        (address e, address a,,,,,,,) = registry.jobs(id);
        vm.prank(byAgent ? a : e);
        try registry.dispute(id, bytes32(0), "") {
            _ok("dispute");
        } catch {}
    }

    function resolveDispute(uint256 jobSeed, bool employerWins) external {
        ++calls;
        vm.prank(gov);
        try registry.resolveDispute(_job(jobSeed), employerWins) {
            _ok("resolve");
        } catch {}
    }

    function warp(uint256 secs) external {
        ++calls;
        _warpTo(block.timestamp + 1 + secs % 2 hours);
        vm.roll(block.number + 1);
    }

    /// @dev Tally / force-finalize after checking that any penalty they apply is not due to a pause
    ///      (external so that a revert undoes the check's bookkeeping with the call).
    function checkedFinalize(uint256 id) external {
        _checkRoundPenalty(id);
        validation.finalize(id);
    }

    function checkedForce(uint256 id) external {
        (uint8 rs,,,,,,,) = validation.roundInfo(id);
        if (rs == 2) _checkRoundPenalty(id);
        registry.forceFinalize(id);
    }

    // ------------------------------------------------------------ staking

    function deposit(uint256 who, uint8 role, uint256 amount) external {
        ++calls;
        address a = actors[who % actors.length];
        role = role % 3;
        amount = 1e18 + amount % 20e18;
        vm.prank(gov);
        token.mint(a, amount);
        vm.prank(a);
        try stake.depositStake(role, amount) {
            _ok("deposit");
        } catch {
            // keep the balance outside the StakeManager: nothing to undo
        }
    }

    function withdraw(uint256 who, uint8 role, uint256 amount) external {
        ++calls;
        address a = actors[who % actors.length];
        role = role % 3;
        uint256 avail = stake.availableStake(a, role);
        if (avail == 0) return;
        amount = 1 + amount % avail;
        bool served = stake.bonded(a, role);
        vm.prank(a);
        try stake.withdrawStake(role, amount) {
            _ok("withdraw");
            if (served) ++servedInstantExits;
        } catch {}
    }

    function requestWithdraw(uint256 who, uint8 role, uint256 amount) external {
        ++calls;
        address a = actors[who % actors.length];
        role = role % 3;
        amount = 1 + amount % 5e18;
        vm.prank(a);
        try stake.requestWithdraw(role, amount) {
            _ok("request");
        } catch {}
    }

    function finalizeWithdraw(uint256 who, uint8 role) external {
        ++calls;
        address a = actors[who % actors.length];
        _warpTo(block.timestamp + 7 days);
        vm.prank(a);
        try stake.finalizeWithdraw(role % 3) {
            _ok("finalizeWithdraw");
        } catch {}
    }

    function governanceSlash(uint256 who, uint8 role, uint256 bps) external {
        ++calls;
        vm.prank(gov);
        try stake.governanceSlash(actors[who % actors.length], role % 3, bps % 2_000, address(0)) {
            _ok("govslash");
        } catch {}
    }

    function togglePause(bool pauseIt) external {
        ++calls;
        vm.prank(gov);
        if (pauseIt) systemPause.pauseAll();
        else systemPause.unpauseAll();
    }

    // ------------------------------------------------------------ guided progress

    /// @notice Take the natural next step of a job (weighted heavily so runs reach deep states).
    function advance(uint256 jobSeed, uint256 entropy) external {
        ++calls;
        uint256 id = _job(jobSeed);
        uint8 s = registry.jobState(id);
        if (s == 1) {
            vm.prank(agents[entropy % agents.length]);
            try registry.applyForJob(id, "agent", _noProof) {
                _ok("apply");
            } catch {}
        } else if (s == 2) {
            (, address a,,,,,,,) = registry.jobs(id);
            vm.prank(a);
            try registry.submit(id, keccak256("r"), "r", "agent", _noProof) {
                _ok("submit");
            } catch {}
        } else if (s == 3) {
            _advanceRound(id, entropy);
        } else if (s == 4) {
            (address e,,,,,,,,) = registry.jobs(id);
            vm.prank(e);
            try registry.finalize(id) {
                ++settlements[id];
                _ok("finalize");
            } catch {}
        } else if (s == 5) {
            vm.prank(gov);
            try registry.resolveDispute(id, entropy % 2 == 0) {
                _ok("resolve");
            } catch {}
        }
    }

    function _advanceRound(uint256 id, uint256 entropy) internal {
        (uint8 rs,, uint256 cd, uint256 rd,, uint256 revealedMask,,) = validation.roundInfo(id);
        if (rs == 1) {
            vm.roll(block.number + 1);
            try validation.selectValidators(id, entropy) returns (address[] memory sel) {
                if (sel.length != 0) _recordSelect(id);
                _ok("select");
            } catch {
                _warpTo(block.timestamp + 3 hours);
                try this.checkedForce(id) {
                    _ok("force");
                } catch {}
            }
            return;
        }
        if (rs != 2) return;
        address[] memory c = validation.validators(id);
        if (block.timestamp <= cd) {
            for (uint256 i; i < c.length; ++i) {
                if (!validation.hasCommitted(id, c[i])) {
                    // mostly approve; sometimes reject; sometimes stay silent (skip by warping)
                    uint256 r = (entropy >> (8 * i)) % 8;
                    if (r == 7) break;
                    this.commit(id - 1, i, r != 6);
                    return;
                }
            }
            _warpTo(cd + 1);
        }
        if (block.timestamp <= rd) {
            for (uint256 i; i < c.length; ++i) {
                if ((revealedMask >> i) & 1 == 0 && validation.hasCommitted(id, c[i])) {
                    this.reveal(id - 1, i);
                    return;
                }
            }
        }
        try this.checkedFinalize(id) {
            _ok("vfinalize");
        } catch {
            _warpTo(rd + 2 hours);
            try this.checkedForce(id) {
                _ok("force");
            } catch {}
        }
    }

    // ------------------------------------------------------------ drain (used after each run)

    /// @notice Bring every job to a terminal state using only permissionless / governance paths.
    function drain() external {
        vm.prank(gov);
        systemPause.unpauseAll();
        uint256 n = registry.nextJobId();
        for (uint256 id = 1; id <= n; ++id) {
            for (uint256 step; step < 6; ++step) {
                uint8 s = registry.jobState(id);
                (address e,,,,,,,,) = registry.jobs(id);
                if (s == 1) {
                    vm.prank(e);
                    registry.cancelJob(id);
                    ++settlements[id];
                } else if (s == 2) {
                    vm.warp(block.timestamp + 4 days);
                    vm.prank(gov);
                    registry.cancelExpiredJob(id);
                    ++settlements[id];
                } else if (s == 3) {
                    vm.warp(block.timestamp + 31 days);
                    vm.roll(block.number + 1);
                    registry.forceFinalize(id);
                } else if (s == 4) {
                    vm.prank(gov);
                    registry.finalize(id);
                    ++settlements[id];
                } else if (s == 5) {
                    vm.prank(gov);
                    registry.resolveDispute(id, step % 2 == 0);
                } else {
                    break;
                }
            }
        }
    }
}

contract InvariantTest is Fixture {
    Handler internal handler;

    function setUp() public {
        deploySystem(4);
        address[] memory employers = new address[](2);
        employers[0] = employer;
        employers[1] = makeAddr("employer2");
        _fund(employers[1], 1_000_000 * ONE);
        address[] memory agents = new address[](2);
        agents[0] = agent;
        agents[1] = makeAddr("agent2");
        vm.prank(gov);
        identity.addAdditionalAgent(agents[1]);
        _fund(agents[1], 100 * ONE);
        _stakeAs(agents[1], AGENT, 60 * ONE);
        vm.startPrank(gov);
        validation.setCommitRevealWindows(10 minutes, 10 minutes);
        validation.setRevealQuorum(50, 1);
        validation.setForceFinalizeGrace(10 minutes);
        stake.setSlashingPercentages(50, 50);
        validation.setNonRevealPenalty(50, 3); // short bans so the small pool keeps producing committees
        vm.stopPrank();
        _stakeAs(agent, AGENT, 50 * ONE);

        handler = new Handler(token, stake, registry, validation, systemPause, gov, employers, agents, pool);
        // the handler funds deposits by minting: make it the token owner's delegate via gov pranks
        for (uint256 i; i < agents.length; ++i) {
            vm.prank(agents[i]);
            token.approve(address(stake), type(uint256).max);
        }
        for (uint256 i; i < pool.length; ++i) {
            _stakeAs(pool[i], AGENT, 5 * ONE);
        }
        targetContract(address(handler));
        bytes4[] memory sel = new bytes4[](27);
        sel[0] = Handler.createJob.selector;
        sel[1] = Handler.applyForJob.selector;
        sel[2] = Handler.submit.selector;
        sel[3] = Handler.selectValidators.selector;
        sel[4] = Handler.commit.selector;
        sel[5] = Handler.reveal.selector;
        sel[6] = Handler.finalizeValidation.selector;
        sel[7] = Handler.forceFinalize.selector;
        sel[8] = Handler.finalizeJob.selector;
        sel[9] = Handler.cancelJob.selector;
        sel[10] = Handler.cancelExpiredJob.selector;
        sel[11] = Handler.dispute.selector;
        sel[12] = Handler.resolveDispute.selector;
        sel[13] = Handler.warp.selector;
        sel[14] = Handler.deposit.selector;
        sel[15] = Handler.withdraw.selector;
        sel[16] = Handler.requestWithdraw.selector;
        sel[17] = Handler.finalizeWithdraw.selector;
        sel[18] = Handler.governanceSlash.selector;
        sel[19] = Handler.togglePause.selector;
        sel[20] = Handler.commit.selector;
        for (uint256 i = 21; i < 27; ++i) {
            sel[i] = Handler.advance.selector; // guided progress, weighted x6
        }
        targetSelector(FuzzSelector(address(handler), sel));
    }

    /// @notice The handler can reach every path (sanity check of the fuzzing harness itself).
    function test_handlerReachesDeepStates() public {
        for (uint256 i; i < 400; ++i) {
            uint256 r = uint256(keccak256(abi.encode(i)));
            if (i % 5 == 0) handler.createJob(r, r >> 8, r >> 16);
            else if (i % 7 == 3) handler.dispute(r, (r >> 40) % 2 == 0);
            else handler.advance(r, r >> 32);
        }
        bytes32[8] memory paths = [bytes32("apply"), "submit", "select", "commit", "reveal", "vfinalize", "finalize", "resolve"];
        for (uint256 k; k < paths.length; ++k) {
            assertGt(handler.okCalls(paths[k]), 0, string(abi.encodePacked(paths[k])));
        }
        afterInvariant();
    }

    /// @notice Tokens are never created or lost inside the StakeManager.
    function invariant_stakeManagerBalanceEqualsStakesPlusEscrows() public view {
        _assertConservation();
    }

    /// @notice totalStake(role) equals the sum of every staker's stake.
    function invariant_totalStakeMatchesAccounts() public view {
        for (uint8 r; r < 3; ++r) {
            uint256 sum;
            for (uint256 i; i < handler.actorCount(); ++i) {
                sum += stake.stakeOf(handler.actors(i), r);
            }
            assertEq(stake.totalStake(r), sum, "totalStake");
        }
    }

    /// @notice No job is settled twice; settled jobs hold no escrow.
    function invariant_noDoublePayout() public view {
        uint256 n = registry.nextJobId();
        for (uint256 id = 1; id <= n; ++id) {
            uint256 s = handler.settlements(id);
            assertLe(s, 1, "settled twice");
            uint8 st = registry.jobState(id);
            if (st == S_FINALIZED || st == S_CANCELLED) {
                assertEq(stake.jobEscrows(bytes32(id)), 0, "terminal job holds escrow");
            } else {
                assertEq(s, 0, "settled but not terminal");
            }
        }
    }

    /// @notice Locks never exceed stakes, and locks exist only for live jobs / rounds.
    function invariant_locksBounded() public view {
        uint256 n = registry.nextJobId();
        for (uint256 i; i < handler.actorCount(); ++i) {
            address a = handler.actors(i);
            uint256 expected;
            for (uint256 id = 1; id <= n; ++id) {
                (, address ag,, uint96 st,,,,,) = registry.jobs(id);
                uint8 s = registry.jobState(id);
                if (ag == a && s >= S_APPLIED && s <= S_DISPUTED) expected += st;
                (uint8 rs,,,,,,, uint256 lockAmt) = validation.roundInfo(id);
                if (rs == 2) {
                    address[] memory c = validation.validators(id);
                    for (uint256 k; k < c.length; ++k) {
                        if (c[k] == a) expected += lockAmt;
                    }
                }
            }
            for (uint8 r; r < 3; ++r) {
                assertLe(stake.lockedStakeOf(a, r), stake.stakeOf(a, r), "locked <= stake");
            }
            assertLe(stake.lockedStakes(a), expected, "lock without a live job");
        }
    }

    /// @notice A stake that served (job stake or committee seat) never leaves without unbonding.
    function invariant_servedStakeLeavesOnlyThroughUnbonding() public view {
        assertEq(handler.servedInstantExits(), 0, "served stake withdrawn at once");
    }

    /// @notice Pause freezes time: no expiry or non-reveal penalty is applied before the job's or the
    ///         round's time has run out in unpaused time.
    function invariant_noOneIsPenalisedForAPause() public view {
        assertEq(handler.penalisedByPause(), 0, "penalised for a pause");
    }

    /// @notice Every stake lock is eventually released or slashed: after draining every job to a
    ///         terminal state nothing is locked, nothing is escrowed and conservation still holds.
    function afterInvariant() public {
        handler.drain();
        uint256 n = registry.nextJobId();
        for (uint256 id = 1; id <= n; ++id) {
            uint8 s = registry.jobState(id);
            assertTrue(s == S_FINALIZED || s == S_CANCELLED, "terminal");
            assertEq(stake.jobEscrows(bytes32(id)), 0, "escrow drained");
            assertLe(handler.settlements(id), 1, "settled twice");
        }
        for (uint256 i; i < handler.actorCount(); ++i) {
            assertEq(stake.lockedStakes(handler.actors(i)), 0, "lock released or slashed");
        }
        _assertConservation();
    }
}
