//! Token amounts as integers of the smallest unit (18 decimals, like AGIALPHA on chain).
//!
//! Integer arithmetic keeps the ledger invariant exact; amounts travel as decimal strings in JSON
//! because they exceed what JSON numbers hold safely.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Smallest units per whole token.
pub const UNIT: u128 = 1_000_000_000_000_000_000;
/// Ratios are applied in parts per million so that stake and slash amounts are exact integers.
const PPM: u128 = 1_000_000;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(pub u128);

impl Amount {
    pub const ZERO: Amount = Amount(0);

    /// Whole tokens (possibly fractional, as config files write them) to units.
    pub fn from_tokens(tokens: f64) -> Amount {
        if !tokens.is_finite() || tokens <= 0.0 {
            return Amount::ZERO;
        }
        let whole = tokens.trunc();
        let frac = tokens - whole;
        Amount((whole as u128).saturating_mul(UNIT) + (frac * UNIT as f64) as u128)
    }

    pub fn tokens(self) -> f64 {
        (self.0 / UNIT) as f64 + (self.0 % UNIT) as f64 / UNIT as f64
    }

    /// `self × ratio`, ratio rounded to parts per million (deterministic, never above `self` for ratio ≤ 1).
    pub fn mul_ratio(self, ratio: f64) -> Amount {
        let ppm = (ratio.clamp(0.0, 1e6) * PPM as f64).round() as u128;
        Amount(self.0 / PPM * ppm + self.0 % PPM * ppm / PPM)
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    pub fn saturating_sub(self, other: Amount) -> Amount {
        Amount(self.0.saturating_sub(other.0))
    }

    pub fn min(self, other: Amount) -> Amount {
        if self <= other { self } else { other }
    }

    pub fn max(self, other: Amount) -> Amount {
        if self >= other { self } else { other }
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }
}

impl std::ops::Add for Amount {
    type Output = Amount;
    fn add(self, o: Amount) -> Amount {
        Amount(self.0 + o.0)
    }
}

impl std::ops::AddAssign for Amount {
    fn add_assign(&mut self, o: Amount) {
        self.0 += o.0;
    }
}

impl std::iter::Sum for Amount {
    fn sum<I: Iterator<Item = Amount>>(iter: I) -> Amount {
        iter.fold(Amount::ZERO, |a, b| a + b)
    }
}

impl fmt::Display for Amount {
    /// Whole tokens with up to 4 decimals, for people.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / UNIT;
        let frac = (self.0 % UNIT) / (UNIT / 10_000);
        if frac == 0 {
            write!(f, "{whole}")
        } else {
            write!(f, "{whole}.{frac:04}")
        }
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        let text = String::deserialize(d)?;
        text.parse::<u128>().map(Amount).map_err(|_| {
            serde::de::Error::custom(format!(
                "amount must be a decimal integer string, got {text:?}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_conversion_round_trips() {
        assert_eq!(Amount::from_tokens(2.5).0, 25 * UNIT / 10);
        assert_eq!(Amount::from_tokens(2_500_000.0).tokens(), 2_500_000.0);
        assert_eq!(Amount::from_tokens(-1.0), Amount::ZERO);
        assert_eq!(Amount::from_tokens(f64::NAN), Amount::ZERO);
    }

    #[test]
    fn ratios_are_exact_in_ppm() {
        let a = Amount::from_tokens(1000.0);
        assert_eq!(a.mul_ratio(0.1), Amount::from_tokens(100.0));
        assert_eq!(a.mul_ratio(0.35), Amount::from_tokens(350.0));
        assert_eq!(a.mul_ratio(1.0), a);
        assert_eq!(a.mul_ratio(0.0), Amount::ZERO);
    }

    #[test]
    fn serializes_as_string() {
        let a = Amount(12345678901234567890123);
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(text, "\"12345678901234567890123\"");
        assert_eq!(serde_json::from_str::<Amount>(&text).unwrap(), a);
        assert!(serde_json::from_str::<Amount>("\"12x\"").is_err());
    }

    #[test]
    fn displays_tokens() {
        assert_eq!(Amount::from_tokens(2.5).to_string(), "2.5000");
        assert_eq!(Amount::from_tokens(7.0).to_string(), "7");
    }
}
