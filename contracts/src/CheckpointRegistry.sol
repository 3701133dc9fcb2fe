// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title CheckpointRegistry
/// @notice Anchors hashes of Omega's off-chain checkpoints: one hash per strictly increasing index.
///         Re-attesting an existing index with the same hash is an idempotent no-op (returns false,
///         emits nothing); with a different hash it reverts with `CheckpointConflict` (fail closed).
///         An index below the latest one that was never attested reverts with `IndexNotIncreasing`.
contract CheckpointRegistry is Ownable {
    struct Checkpoint {
        bytes32 stateHash;
        address attestor;
        uint48 cursorBlock;
        uint48 attestedAt;
    }

    mapping(uint256 => Checkpoint) private _checkpoints;
    mapping(address => bool) public attestors;
    /// @notice Number of checkpoints attested so far.
    uint256 public checkpointCount;
    uint256 private _latestIndex;

    error NotAttestor(address caller);
    error ZeroHash();
    error ZeroAddress();
    error CheckpointConflict(uint256 index, bytes32 existing, bytes32 given);
    error IndexNotIncreasing(uint256 index, uint256 latest);
    error NoCheckpoint();
    error CursorTooLarge();

    event CheckpointAttested(
        uint256 indexed index, bytes32 indexed stateHash, address indexed attestor, uint256 cursorBlock, string uri
    );
    event AttestorUpdated(address indexed attestor, bool allowed);

    constructor(address initialOwner) Ownable(initialOwner) {}

    /// @notice Grant or revoke the attestor role. Owner only.
    function setAttestor(address attestor, bool allowed) external onlyOwner {
        if (attestor == address(0)) revert ZeroAddress();
        attestors[attestor] = allowed;
        emit AttestorUpdated(attestor, allowed);
    }

    /// @notice Attest `stateHash` for checkpoint `index` (owner or attestor).
    /// @return recorded true if a new checkpoint was stored, false for an identical re-attestation.
    function attestCheckpoint(uint256 index, bytes32 stateHash, uint256 cursorBlock, string calldata uri)
        external
        returns (bool recorded)
    {
        if (msg.sender != owner() && !attestors[msg.sender]) revert NotAttestor(msg.sender);
        if (stateHash == bytes32(0)) revert ZeroHash();
        if (cursorBlock > type(uint48).max) revert CursorTooLarge();
        bytes32 existing = _checkpoints[index].stateHash;
        if (existing != bytes32(0)) {
            if (existing == stateHash) return false;
            revert CheckpointConflict(index, existing, stateHash);
        }
        uint256 count = checkpointCount;
        if (count != 0 && index <= _latestIndex) revert IndexNotIncreasing(index, _latestIndex);
        _checkpoints[index] = Checkpoint(stateHash, msg.sender, uint48(cursorBlock), uint48(block.timestamp));
        _latestIndex = index;
        checkpointCount = count + 1;
        emit CheckpointAttested(index, stateHash, msg.sender, cursorBlock, uri);
        return true;
    }

    /// @notice The hash attested for `index` (zero if none).
    function checkpointHash(uint256 index) external view returns (bytes32) {
        return _checkpoints[index].stateHash;
    }

    /// @notice Full record for `index` (all zero if none).
    function checkpointAt(uint256 index)
        external
        view
        returns (bytes32 stateHash, address attestor, uint256 cursorBlock, uint256 attestedAt)
    {
        Checkpoint memory c = _checkpoints[index];
        return (c.stateHash, c.attestor, c.cursorBlock, c.attestedAt);
    }

    /// @notice The latest checkpoint; reverts with `NoCheckpoint` when none exists.
    function latestCheckpoint()
        external
        view
        returns (uint256 index, bytes32 stateHash, address attestor, uint256 cursorBlock, uint256 attestedAt)
    {
        if (checkpointCount == 0) revert NoCheckpoint();
        index = _latestIndex;
        Checkpoint memory c = _checkpoints[index];
        return (index, c.stateHash, c.attestor, c.cursorBlock, c.attestedAt);
    }

    /// @notice Latest attested index and whether any checkpoint exists.
    function latestIndex() external view returns (bool exists, uint256 index) {
        return (checkpointCount != 0, _latestIndex);
    }
}
