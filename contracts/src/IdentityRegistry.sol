// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title IdentityRegistry
/// @notice Manual allowlists of agents and validators (the part of the v2 IdentityRegistry Omega
///         needs). As in v2, verification requires a non-empty subdomain label even for allowlisted
///         addresses; the Merkle/ENS proof argument is accepted and ignored.
contract IdentityRegistry is Ownable {
    mapping(address => bool) public additionalAgents;
    mapping(address => bool) public additionalValidators;

    error ZeroAddress();

    event AdditionalAgentUpdated(address indexed agent, bool allowed);
    event AdditionalValidatorUpdated(address indexed validator, bool allowed);

    constructor(address initialOwner) Ownable(initialOwner) {}

    function addAdditionalAgent(address agent) external onlyOwner {
        if (agent == address(0)) revert ZeroAddress();
        additionalAgents[agent] = true;
        emit AdditionalAgentUpdated(agent, true);
    }

    function removeAdditionalAgent(address agent) external onlyOwner {
        additionalAgents[agent] = false;
        emit AdditionalAgentUpdated(agent, false);
    }

    function addAdditionalValidator(address validator) external onlyOwner {
        if (validator == address(0)) revert ZeroAddress();
        additionalValidators[validator] = true;
        emit AdditionalValidatorUpdated(validator, true);
    }

    function removeAdditionalValidator(address validator) external onlyOwner {
        additionalValidators[validator] = false;
        emit AdditionalValidatorUpdated(validator, false);
    }

    /// @notice `ok` is true iff `claimant` is an allowlisted agent and `subdomain` is non-empty.
    ///         Returns the v2 4-tuple `(ok, node, viaWrapper, viaMerkle)`; the last three are always
    ///         zero/false here (no ENS / Merkle paths).
    function verifyAgent(address claimant, string calldata subdomain, bytes32[] calldata)
        external
        view
        returns (bool ok, bytes32 node, bool viaWrapper, bool viaMerkle)
    {
        ok = bytes(subdomain).length != 0 && additionalAgents[claimant];
        return (ok, node, viaWrapper, viaMerkle);
    }

    /// @notice `ok` is true iff `claimant` is an allowlisted validator and `subdomain` is non-empty
    ///         (same 4-tuple as `verifyAgent`).
    function verifyValidator(address claimant, string calldata subdomain, bytes32[] calldata)
        external
        view
        returns (bool ok, bytes32 node, bool viaWrapper, bool viaMerkle)
    {
        ok = bytes(subdomain).length != 0 && additionalValidators[claimant];
        return (ok, node, viaWrapper, viaMerkle);
    }
}
