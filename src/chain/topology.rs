//! Who governs each module, and how a setter call reaches it.
//!
//! Two topologies exist. On our devnet by default the owner (an EOA, a multisig or a timelock)
//! owns every module and calls the setters directly. On real v2 deployments the modules belong to
//! `SystemPause`: a direct call reverts (`OwnableUnauthorizedAccount` on the ValidationModule,
//! `NotGovernance()` on the others), and each setter call must be wrapped as
//! `SystemPause.executeGovernanceCall(module, setterCalldata)`, sent to SystemPause by SystemPause's
//! own governance. `Topology::detect` reads which one a deployment has; `Topology::route` turns
//! the plain setter calls of a lever into the calls that governance actually makes.

use super::bindings::SystemPause;
use super::governance::Call;
use super::manifest::Deployment;
use super::tx::TxHub;
use alloy::primitives::{Address, Bytes};
use alloy::sol;
use alloy::sol_types::SolCall;

sol! {
    /// The two names v2 gives a module's governor: `governance()` on Governable modules (the
    /// reference's JobRegistry, StakeManager, DisputeModule, SystemPause), `owner()` on the
    /// OpenZeppelin `Ownable` ones (ours, and the reference's ValidationModule).
    interface Governed {
        function governance() external view returns (address);
        function owner() external view returns (address);
        function transferOwnership(address newOwner) external;
    }
}

/// A module and the address that governs it, as read from the chain.
#[derive(Clone, Debug, PartialEq)]
pub struct Governor {
    pub module: &'static str,
    pub address: Address,
    /// None when neither `governance()` nor `owner()` answered.
    pub governor: Option<Address>,
}

/// The governance topology of one deployment.
#[derive(Clone, Debug, PartialEq)]
pub struct Topology {
    pub system_pause: Address,
    /// SystemPause's own governance (its `governance()` or `owner()`).
    pub system_pause_governance: Option<Address>,
    pub modules: Vec<Governor>,
}

/// A call as governance must make it: `call` is what is sent, `inner` the module call it wraps
/// (when routed through SystemPause), `sender` the address allowed to send it.
#[derive(Clone, Debug, PartialEq)]
pub struct Routed {
    pub call: Call,
    pub inner: Option<Call>,
    pub sender: Option<Address>,
}

/// The governor of `target`: `governance()` first, then `owner()`.
pub async fn governor_of(hub: &TxHub, target: Address) -> Option<Address> {
    let read = |data: Vec<u8>| async move {
        let out = hub
            .call("governor", Address::ZERO, target, data.into())
            .await;
        out.ok()
            .filter(|o| o.len() == 32)
            .and_then(|o| Governed::ownerCall::abi_decode_returns(&o).ok())
    };
    match read(Governed::governanceCall {}.abi_encode()).await {
        Some(a) => Some(a),
        None => read(Governed::ownerCall {}.abi_encode()).await,
    }
}

impl Topology {
    /// Reads the governor of every module the levers touch, and SystemPause's governance.
    pub async fn detect(hub: &TxHub, d: &Deployment) -> Topology {
        let mut modules = vec![
            ("JobRegistry", d.job_registry),
            ("StakeManager", d.stake_manager),
            ("ValidationModule", d.validation_module),
            ("IdentityRegistry", d.identity_registry),
        ];
        if let Some(c) = d.checkpoint_registry {
            modules.push(("CheckpointRegistry", c));
        }
        let mut governors = Vec::new();
        for (module, address) in modules {
            let governor = governor_of(hub, address).await;
            governors.push(Governor {
                module,
                address,
                governor,
            });
        }
        Topology {
            system_pause: d.system_pause,
            system_pause_governance: governor_of(hub, d.system_pause).await,
            modules: governors,
        }
    }

    /// Whether `target` belongs to SystemPause (so its setters go through `executeGovernanceCall`).
    pub fn via_system_pause(&self, target: Address) -> bool {
        self.system_pause != Address::ZERO
            && self
                .modules
                .iter()
                .any(|m| m.address == target && m.governor == Some(self.system_pause))
    }

    /// The modules that belong to SystemPause.
    pub fn owned_by_system_pause(&self) -> Vec<&'static str> {
        self.modules
            .iter()
            .filter(|m| self.via_system_pause(m.address))
            .map(|m| m.module)
            .collect()
    }

    /// One line naming the topology, for the owner console.
    pub fn describe(&self) -> String {
        let owned = self.owned_by_system_pause();
        let governance = self
            .system_pause_governance
            .map_or("unknown".to_string(), |a| a.to_string());
        if owned.is_empty() {
            let owners: Vec<String> = self
                .modules
                .iter()
                .map(|m| {
                    let g = m.governor.map_or("unknown".to_string(), |a| a.to_string());
                    format!("{} {g}", m.module)
                })
                .collect();
            format!(
                "governance topology: owner (each module's owner calls its setters directly: {})",
                owners.join(", ")
            )
        } else {
            format!(
                "governance topology: system-pause ({} belong to SystemPause {}; its governance {governance} sends SystemPause.executeGovernanceCall(module, setter calldata))",
                owned.join(", "),
                self.system_pause
            )
        }
    }

    /// The calls governance makes for `calls`. A call to a module owned by SystemPause is wrapped
    /// in `executeGovernanceCall`, except a `transferOwnership`: such a module follows
    /// SystemPause's governance, so handing governance over is SystemPause's own transfer.
    pub fn route(&self, calls: Vec<Call>) -> Vec<Routed> {
        let handover = Governed::transferOwnershipCall::SELECTOR;
        calls
            .into_iter()
            .filter(|c| !(self.via_system_pause(c.target) && c.calldata.starts_with(&handover)))
            .map(|c| self.route_one(c))
            .collect()
    }

    fn route_one(&self, c: Call) -> Routed {
        if !self.via_system_pause(c.target) {
            let sender = if c.target == self.system_pause {
                self.system_pause_governance
            } else {
                self.modules
                    .iter()
                    .find(|m| m.address == c.target)
                    .and_then(|m| m.governor)
            };
            return Routed {
                call: c,
                inner: None,
                sender,
            };
        }
        let wrapped = SystemPause::executeGovernanceCallCall {
            target: c.target,
            data: c.calldata.clone(),
        };
        Routed {
            call: Call {
                label: c.label,
                target: self.system_pause,
                calldata: Bytes::from(wrapped.abi_encode()),
            },
            inner: Some(c),
            sender: self.system_pause_governance,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topology(governor: Address) -> Topology {
        let sp = Address::repeat_byte(0x50);
        Topology {
            system_pause: sp,
            system_pause_governance: Some(Address::repeat_byte(0x60)),
            modules: vec![Governor {
                module: "JobRegistry",
                address: Address::repeat_byte(0x01),
                governor: Some(governor),
            }],
        }
    }

    fn setter() -> Call {
        Call {
            label: "JobRegistry.setFeePct",
            target: Address::repeat_byte(0x01),
            calldata: Bytes::from(vec![1, 2, 3, 4, 5]),
        }
    }

    #[test]
    fn a_module_owned_by_system_pause_is_reached_through_it() {
        let t = topology(Address::repeat_byte(0x50));
        let routed = t.route(vec![setter()]);
        assert_eq!(routed.len(), 1);
        let r = &routed[0];
        assert_eq!(r.call.target, t.system_pause);
        assert!(r.call.calldata.starts_with(&[0xa6, 0x4c, 0xfe, 0x10]));
        assert_eq!(r.inner, Some(setter()));
        assert_eq!(r.sender, Some(Address::repeat_byte(0x60)));
        assert!(t.describe().contains("system-pause"));
    }

    #[test]
    fn a_module_owned_directly_is_called_directly() {
        let owner = Address::repeat_byte(0x70);
        let t = topology(owner);
        let r = &t.route(vec![setter()])[0];
        assert_eq!((r.call.clone(), r.inner.clone()), (setter(), None));
        assert_eq!(r.sender, Some(owner));
        assert!(t.describe().contains("topology: owner"));
    }

    #[test]
    fn a_module_of_system_pause_is_not_handed_over_by_itself() {
        let t = topology(Address::repeat_byte(0x50));
        let mut handover = setter();
        handover.calldata = Governed::transferOwnershipCall {
            newOwner: Address::repeat_byte(0x70),
        }
        .abi_encode()
        .into();
        assert!(t.route(vec![handover]).is_empty());
    }
}
