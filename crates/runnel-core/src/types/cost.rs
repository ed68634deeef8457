//! What an answer cost: a model's price and the arithmetic from token counts
//! to US dollars.

use serde::{Deserialize, Serialize};

/// Tokens a price is quoted for: prices are USD per million tokens.
pub const TOKENS_PER_PRICE_UNIT: f64 = 1_000_000.0;

/// Highest price per million tokens accepted (a typo guard: the dearest
/// models cost well under this).
pub const MAX_PRICE_PER_MILLION: f64 = 10_000.0;

/// A model's price in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Input (prompt) tokens.
    pub input: f64,
    /// Output (completion, reasoning included) tokens.
    pub output: f64,
    /// Input tokens read from the provider's prompt cache; None: billed as
    /// input.
    #[serde(default)]
    pub cached: Option<f64>,
}

// Prices in use passed `check`: finite, so equality is an equivalence.
impl Eq for Price {}

impl Price {
    /// Free: what local models cost.
    pub const FREE: Price = Price {
        input: 0.0,
        output: 0.0,
        cached: Some(0.0),
    };

    /// Checks that every figure is a finite, non-negative amount under
    /// [`MAX_PRICE_PER_MILLION`]; the message names the bad one.
    pub fn check(&self) -> Result<(), String> {
        let ok = |v: f64| v.is_finite() && (0.0..=MAX_PRICE_PER_MILLION).contains(&v);
        for (name, v) in [
            ("input", Some(self.input)),
            ("output", Some(self.output)),
            ("cached input", self.cached),
        ] {
            if let Some(v) = v.filter(|v| !ok(*v)) {
                return Err(format!(
                    "The {name} price must be between 0 and {MAX_PRICE_PER_MILLION} USD per million tokens (got {v})"
                ));
            }
        }
        Ok(())
    }

    /// The cost in USD of `input` prompt tokens (of which `cached` came from
    /// the prompt cache) and `output` completion tokens.
    pub fn cost(&self, input: u64, cached: u64, output: u64) -> f64 {
        let cached = cached.min(input);
        let fresh = (input - cached) as f64 * self.input;
        let cached = cached as f64 * self.cached.unwrap_or(self.input);
        (fresh + cached + output as f64 * self.output) / TOKENS_PER_PRICE_UNIT
    }
}

/// An answer's (or a sum of answers') cost.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize, ts_rs::TS)]
pub struct Cost {
    /// US dollars.
    pub usd: f64,
    /// Some token counts were estimated (the server reported no usage).
    pub estimated: bool,
}

impl Cost {
    /// Adds another cost; the sum is estimated if either part is.
    pub fn add(&mut self, other: Cost) {
        self.usd += other.usd;
        self.estimated |= other.estimated;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn cost_counts_cached_tokens_at_the_cached_price() {
        let p = Price {
            input: 2.5,
            output: 10.0,
            cached: Some(1.25),
        };
        // 1,000 prompt tokens, 400 of them cached, 200 out.
        assert!(close(
            p.cost(1_000, 400, 200),
            (600.0 * 2.5 + 400.0 * 1.25 + 200.0 * 10.0) / 1e6
        ));
        // Without a cached price, cached tokens cost as input.
        let p = Price { cached: None, ..p };
        assert!(close(
            p.cost(1_000, 400, 200),
            (1_000.0 * 2.5 + 2_000.0) / 1e6
        ));
        // More cached than prompt tokens (a server's bug) never goes negative.
        assert!(p.cost(10, 50, 0) >= 0.0);
        assert_eq!(Price::FREE.cost(10_000, 0, 10_000), 0.0);
    }

    #[test]
    fn prices_are_checked() {
        let p = Price {
            input: 1.0,
            output: 2.0,
            cached: None,
        };
        assert!(p.check().is_ok());
        for bad in [-1.0, f64::NAN, f64::INFINITY, 20_000.0] {
            let e = Price { output: bad, ..p }.check().unwrap_err();
            assert!(e.contains("output price"), "{e}");
            let e = Price {
                cached: Some(bad),
                ..p
            }
            .check()
            .unwrap_err();
            assert!(e.contains("cached input price"), "{e}");
        }
    }

    #[test]
    fn a_sum_is_estimated_if_any_part_is() {
        let mut c = Cost::default();
        c.add(Cost {
            usd: 0.5,
            estimated: false,
        });
        assert!(!c.estimated);
        c.add(Cost {
            usd: 0.25,
            estimated: true,
        });
        assert!(close(c.usd, 0.75) && c.estimated);
    }
}
