// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Burnable} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Burnable.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title AGIALPHA (local stand-in)
/// @notice ERC-20 with 18 decimals, `burn` / `burnFrom`, and owner-only `mint`. Used on local devnets
///         only; on a real network the bridge reads the token address from `StakeManager.token()`.
contract AGIALPHA is ERC20, ERC20Burnable, Ownable {
    constructor(address initialOwner) ERC20("AGI ALPHA", "AGIALPHA") Ownable(initialOwner) {}

    /// @notice Mint `amount` (18-decimal units) to `to`. Owner only.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
