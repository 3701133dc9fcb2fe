//! Revert errors by meaning. A revert is worth something to the bridge only through what it
//! means for the step that met it: try again later (a window not open yet, validators busy), the
//! step is already done (a second commit, a job already selected), or a permanent refusal (fix
//! inputs, permissions or configuration). The reference v2 contracts' errors and their classes
//! are facts from the spec (`v2_errors.rs`, generated); errors that only our contracts raise are
//! classed here. Some errors depend on context (`T/P`: retry before the step's time, permanent
//! after): the caller, which knows the step, picks among the kinds offered.

use super::v2_errors::V2_ERRORS;

/// One custom error of the reference contracts.
#[derive(Debug)]
pub struct V2Error {
    pub contract: &'static str,
    pub signature: &'static str,
    pub selector: [u8; 4],
    /// As the spec gives it: `T`, `D`, `P`, `-` (never thrown), or two of them (`T/P`, `D/P`,
    /// `T/D`) when it depends on context.
    pub class: &'static str,
    /// When the reference raises it.
    pub when: &'static str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    RetryLater,
    AlreadyDone,
    Permanent,
}

impl V2Error {
    pub fn name(&self) -> &'static str {
        self.signature
            .split_once('(')
            .map_or(self.signature, |(n, _)| n)
    }

    /// What it can mean; two kinds when it depends on context, none when it is never thrown.
    pub fn kinds(&self) -> Vec<Kind> {
        kinds_of(self.class)
    }
}

fn kinds_of(class: &str) -> Vec<Kind> {
    class
        .split('/')
        .filter_map(|c| match c {
            "T" => Some(Kind::RetryLater),
            "D" => Some(Kind::AlreadyDone),
            "P" => Some(Kind::Permanent),
            _ => None,
        })
        .collect()
}

/// Errors only our contracts raise (or raise under another name than the reference), by name,
/// with the class the reference gives its counterpart.
const OURS: &[(&str, &str)] = &[
    ("NotEnoughEligibleValidators", "T"),
    ("SelectionTooEarly", "T"),
    ("RevealPhaseNotOpen", "T"),
    ("GracePeriodActive", "T"),
    ("QuorumNotReached", "T/P"),
    ("WithdrawalLocked", "T"),
    ("AlreadySelected", "D"),
    ("AlreadyStarted", "D"),
    ("AlreadyFinalized", "D"),
    ("NotSelected", "T/P"),
    ("NotStarted", "T/P"),
    ("InvalidState", "T/D/P"),
    ("NotCommitted", "P"),
    ("CommitMismatch", "P"),
    ("NotCommitteeMember", "P"),
    ("NotEmployer", "P"),
    ("NotAgent", "P"),
    ("NotParty", "P"),
    ("NotDisputeResolver", "P"),
    ("PoolTooSmall", "T"),
    ("NotExpired", "T"),
];

/// The reference's error behind revert data (by its 4-byte selector), if any.
pub fn v2_error(data: &[u8]) -> Option<&'static V2Error> {
    let selector: [u8; 4] = data.get(..4)?.try_into().ok()?;
    V2_ERRORS.iter().find(|e| e.selector == selector)
}

/// What an error, by name, can mean for the step that met it: the reference's class for its
/// errors, ours for the rest; empty when the name is unknown (the caller keeps the context).
pub fn kinds(name: &str) -> Vec<Kind> {
    if let Some(e) = V2_ERRORS.iter().find(|e| e.name() == name) {
        return e.kinds();
    }
    OURS.iter()
        .find(|(n, _)| *n == name)
        .map(|(_, class)| kinds_of(class))
        .unwrap_or_default()
}

/// The reference error's name and its raw arguments, for a revert our ABIs do not know.
pub fn describe_v2(data: &[u8]) -> Option<String> {
    let e = v2_error(data)?;
    let args = &data[4..];
    Some(if args.is_empty() {
        format!("{}() [v2 {}]", e.name(), e.contract)
    } else {
        format!(
            "{}(0x{}) [v2 {}]",
            e.name(),
            alloy::hex::encode(args),
            e.contract
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::primitives::keccak256;

    #[test]
    fn every_selector_is_keccak_of_its_signature() {
        assert!(V2_ERRORS.len() >= 190, "the whole v2 error set");
        for e in V2_ERRORS {
            let want = &keccak256(e.signature.as_bytes())[..4];
            assert_eq!(&e.selector, want, "{} in {}", e.signature, e.contract);
        }
    }

    #[test]
    fn one_selector_means_one_thing_across_contracts() {
        for a in V2_ERRORS {
            for b in V2_ERRORS.iter().filter(|b| b.selector == a.selector) {
                assert_eq!(a.signature, b.signature);
            }
        }
    }

    #[test]
    fn reverts_are_read_by_meaning() {
        assert_eq!(kinds("InsufficientValidators"), vec![Kind::RetryLater]);
        assert_eq!(kinds("AlreadyCommitted"), vec![Kind::AlreadyDone]);
        assert_eq!(kinds("OnlyDisputeModule"), vec![Kind::Permanent]);
        assert_eq!(
            kinds("CommitPhaseClosed"),
            vec![Kind::RetryLater, Kind::Permanent]
        );
        assert_eq!(kinds("NotEnoughEligibleValidators"), vec![Kind::RetryLater]);
        assert_eq!(kinds("AlreadySelected"), vec![Kind::AlreadyDone]);
        assert!(kinds("NeverHeardOf").is_empty());
        assert!(kinds("BurnNotConfirmed").is_empty(), "never thrown");
    }

    #[test]
    fn a_reference_revert_is_named_with_its_arguments() {
        // InsufficientAgentStake(uint256 required, uint256 actual)
        let mut data = vec![0xe8, 0xb3, 0xfe, 0xe9];
        data.extend([0u8; 31].iter().chain(&[5u8]));
        data.extend([0u8; 31].iter().chain(&[1u8]));
        let shown = describe_v2(&data).unwrap();
        assert!(shown.starts_with("InsufficientAgentStake(0x"), "{shown}");
        assert!(shown.ends_with("[v2 JobRegistry]"), "{shown}");
        assert_eq!(
            describe_v2(&[0xdd, 0xfe, 0x5d, 0xad]).unwrap(),
            "InsufficientValidators() [v2 ValidationModule]"
        );
        assert_eq!(describe_v2(&[1, 2, 3, 4]), None);
    }
}
