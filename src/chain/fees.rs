//! Fees: EIP-1559 fees from the node's fee history (alloy's estimator), the gas price on chains
//! without a base fee, and the rule for replacing a transaction the market has priced out: the
//! same nonce, every fee at least 12.5 % higher (nodes refuse a replacement below +10 %) and at
//! least the market's, up to the operator's cap.

use alloy::network::TransactionBuilder;
use alloy::providers::Provider;
use alloy::rpc::types::TransactionRequest;
use std::time::Duration;

/// A replacement raises each fee by at least this much, in thousandths.
pub const BUMP_PERMILLE: u128 = 125;

/// The default cap on `maxFeePerGas` (or the gas price): 500 gwei.
pub const DEFAULT_MAX_FEE: u128 = 500_000_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fees {
    Eip1559 { max_fee: u128, priority: u128 },
    Legacy { gas_price: u128 },
}

impl Fees {
    /// What one unit of gas may cost at most.
    pub fn max_fee(&self) -> u128 {
        match *self {
            Fees::Eip1559 { max_fee, .. } => max_fee,
            Fees::Legacy { gas_price } => gas_price,
        }
    }

    /// The fees of a replacement for a transaction sent with `self`, given what the market asks
    /// now: each fee at least `BUMP_PERMILLE` over the old one, and never below the market's.
    pub fn bumped(&self, market: Fees) -> Fees {
        let up = |x: u128| x + (x * BUMP_PERMILLE).div_ceil(1000).max(1);
        match (*self, market) {
            (
                Fees::Eip1559 { max_fee, priority },
                Fees::Eip1559 {
                    max_fee: m_fee,
                    priority: m_priority,
                },
            ) => {
                let priority = up(priority).max(m_priority);
                Fees::Eip1559 {
                    max_fee: up(max_fee).max(m_fee).max(priority),
                    priority,
                }
            }
            (Fees::Eip1559 { max_fee, priority }, Fees::Legacy { gas_price }) => {
                let priority = up(priority);
                Fees::Eip1559 {
                    max_fee: up(max_fee).max(gas_price).max(priority),
                    priority,
                }
            }
            (Fees::Legacy { gas_price }, market) => Fees::Legacy {
                gas_price: up(gas_price).max(market.max_fee()),
            },
        }
    }

    /// These fees, lowered to `cap` if they exceed it (None when even the priority fee does).
    pub fn capped(&self, cap: u128) -> Option<Fees> {
        match *self {
            Fees::Eip1559 { priority, .. } if priority > cap => None,
            Fees::Eip1559 { max_fee, priority } => Some(Fees::Eip1559 {
                max_fee: max_fee.min(cap),
                priority,
            }),
            Fees::Legacy { gas_price } => Some(Fees::Legacy {
                gas_price: gas_price.min(cap),
            }),
        }
    }

    pub fn apply(&self, request: TransactionRequest) -> TransactionRequest {
        match *self {
            Fees::Eip1559 { max_fee, priority } => request
                .with_max_fee_per_gas(max_fee)
                .with_max_priority_fee_per_gas(priority),
            Fees::Legacy { gas_price } => request.with_gas_price(gas_price),
        }
    }
}

/// What the market asks now: EIP-1559 fees where the chain has a base fee, else its gas price.
pub async fn market<P: Provider>(provider: &P) -> Result<Fees, alloy::transports::TransportError> {
    match provider.estimate_eip1559_fees().await {
        Ok(e) => Ok(Fees::Eip1559 {
            max_fee: e.max_fee_per_gas,
            priority: e.max_priority_fee_per_gas,
        }),
        Err(alloy::transports::RpcError::UnsupportedFeature(_)) => Ok(Fees::Legacy {
            gas_price: provider.get_gas_price().await?,
        }),
        Err(e) => Err(e),
    }
}

/// How the transaction layer prices and waits, per chain.
#[derive(Clone, Copy, Debug)]
pub struct FeePolicy {
    /// A transaction still unmined this long after it was sent is replaced with higher fees.
    pub stuck_after: Duration,
    /// No replacement goes above this `maxFeePerGas` (or gas price).
    pub max_fee: u128,
}

impl FeePolicy {
    /// For a chain whose blocks come every `block_time`: replaced after about five blocks
    /// (at least 15 s), polled for receipts four times a block (between 15 ms and 2 s).
    pub fn for_block_time(block_time: Duration) -> (FeePolicy, Duration) {
        let policy = FeePolicy {
            stuck_after: (block_time * 5).max(Duration::from_secs(15)),
            max_fee: DEFAULT_MAX_FEE,
        };
        let poll = (block_time / 4).clamp(Duration::from_millis(15), Duration::from_secs(2));
        (policy, poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GWEI: u128 = 1_000_000_000;

    #[test]
    fn a_replacement_raises_every_fee_by_at_least_an_eighth_and_meets_the_market() {
        let old = Fees::Eip1559 {
            max_fee: 10 * GWEI,
            priority: GWEI,
        };
        let quiet = Fees::Eip1559 {
            max_fee: GWEI,
            priority: 1,
        };
        assert_eq!(
            old.bumped(quiet),
            Fees::Eip1559 {
                max_fee: 11_250_000_000,
                priority: 1_125_000_000
            }
        );
        let busy = Fees::Eip1559 {
            max_fee: 40 * GWEI,
            priority: 2 * GWEI,
        };
        assert_eq!(
            old.bumped(busy),
            Fees::Eip1559 {
                max_fee: 40 * GWEI,
                priority: 2 * GWEI
            }
        );
        // A zero tip still rises (a node refuses an equal replacement).
        let free = Fees::Eip1559 {
            max_fee: 7,
            priority: 0,
        };
        let Fees::Eip1559 { max_fee, priority } = free.bumped(free) else {
            panic!("kind changed")
        };
        assert!(max_fee >= 8 && priority >= 1);
        let legacy = Fees::Legacy { gas_price: 8 };
        assert_eq!(legacy.bumped(legacy), Fees::Legacy { gas_price: 9 });
    }

    #[test]
    fn the_cap_holds_and_a_tip_above_it_is_refused() {
        let f = Fees::Eip1559 {
            max_fee: 900 * GWEI,
            priority: 2 * GWEI,
        };
        assert_eq!(f.capped(500 * GWEI).unwrap().max_fee(), 500 * GWEI);
        assert_eq!(f.capped(GWEI), None);
        assert_eq!(
            Fees::Legacy { gas_price: 9 }.capped(5),
            Some(Fees::Legacy { gas_price: 5 })
        );
    }

    #[test]
    fn waits_follow_the_block_time() {
        let (slow, poll) = FeePolicy::for_block_time(Duration::from_secs(12));
        assert_eq!(
            (slow.stuck_after, poll),
            (Duration::from_secs(60), Duration::from_secs(2))
        );
        let (fast, poll) = FeePolicy::for_block_time(Duration::from_millis(250));
        assert_eq!(fast.stuck_after, Duration::from_secs(15));
        assert_eq!(poll, Duration::from_micros(62_500));
        let (_, poll) = FeePolicy::for_block_time(Duration::ZERO);
        assert_eq!(poll, Duration::from_millis(15));
    }
}
