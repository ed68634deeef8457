//! The price table: built-in prices of the preset providers' common models,
//! each from its provider's public pricing page (source and date kept), and
//! the user's own prices, which win. A model without a known price has none:
//! nothing is guessed.

use crate::types::cost::{Cost, Price};
use serde::Serialize;
use std::collections::BTreeMap;

/// The user's prices by model id.
pub type PriceBook = BTreeMap<String, Price>;

/// Longest model id a price may be set for.
pub const MAX_PRICED_MODEL_LEN: usize = 200;

/// One built-in price.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinPrice {
    /// The preset provider whose page gives it.
    pub provider: &'static str,
    /// The model id as the API spells it.
    pub model: &'static str,
    /// USD per million tokens.
    pub price: Price,
    /// The pricing page it was read from.
    pub source: &'static str,
    /// When it was read (or the date the page gives).
    pub date: &'static str,
}

const fn p(input: f64, output: f64, cached: Option<f64>) -> Price {
    Price {
        input,
        output,
        cached,
    }
}

/// When the built-in prices were read: the pages give no date of their own.
pub const PRICES_READ: &str = "2026-12-02";

const OPENAI_GPT5_MINI: &str = "https://developers.openai.com/ko-KR/api/docs/models/gpt-5-mini";
const OPENAI_GPT5_NANO: &str = "https://developers.openai.com/api/docs/models/gpt-5-nano.md";
const ANTHROPIC: &str = "https://docs.anthropic.com/en/docs/about-claude/pricing";
const DEEPSEEK: &str = "https://api-docs.deepseek.com/quick_start/pricing-details-usd";

/// The built-in prices: only figures read on the provider's own pricing or
/// model page (Anthropic's "cache hits" column is the cached price; cache
/// writes and long-context and batch tiers are not modelled). Models whose
/// price could only be found on third-party pages are left out.
pub const BUILTIN_PRICES: &[BuiltinPrice] = &[
    BuiltinPrice {
        provider: "openai",
        model: "gpt-5-mini",
        price: p(0.25, 2.0, Some(0.025)),
        source: OPENAI_GPT5_MINI,
        date: PRICES_READ,
    },
    BuiltinPrice {
        provider: "openai",
        model: "gpt-5-nano",
        price: p(0.05, 0.4, Some(0.005)),
        source: OPENAI_GPT5_NANO,
        date: PRICES_READ,
    },
    BuiltinPrice {
        provider: "anthropic",
        model: "claude-opus-4-1",
        price: p(15.0, 75.0, Some(1.5)),
        source: ANTHROPIC,
        date: PRICES_READ,
    },
    BuiltinPrice {
        provider: "anthropic",
        model: "claude-opus-4-0",
        price: p(15.0, 75.0, Some(1.5)),
        source: ANTHROPIC,
        date: PRICES_READ,
    },
    BuiltinPrice {
        provider: "anthropic",
        model: "claude-sonnet-4-0",
        price: p(3.0, 15.0, Some(0.3)),
        source: ANTHROPIC,
        date: PRICES_READ,
    },
    BuiltinPrice {
        provider: "anthropic",
        model: "claude-3-7-sonnet-latest",
        price: p(3.0, 15.0, Some(0.3)),
        source: ANTHROPIC,
        date: PRICES_READ,
    },
    BuiltinPrice {
        provider: "anthropic",
        model: "claude-3-5-haiku-latest",
        price: p(0.8, 4.0, Some(0.08)),
        source: ANTHROPIC,
        date: PRICES_READ,
    },
    BuiltinPrice {
        provider: "anthropic",
        model: "claude-3-haiku-20240307",
        price: p(0.25, 1.25, Some(0.03)),
        source: ANTHROPIC,
        date: PRICES_READ,
    },
    BuiltinPrice {
        provider: "deepseek",
        model: "deepseek-chat",
        price: p(0.27, 1.1, Some(0.07)),
        source: DEEPSEEK,
        date: PRICES_READ,
    },
    BuiltinPrice {
        provider: "deepseek",
        model: "deepseek-reasoner",
        price: p(0.55, 2.19, Some(0.14)),
        source: DEEPSEEK,
        date: PRICES_READ,
    },
];

/// Where a price in the table comes from.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum PriceOrigin {
    /// Runnel's table.
    Builtin {
        /// The page it was read from.
        source: String,
        /// When.
        date: String,
    },
    /// Set by the user (replacing a built-in one, if any).
    User,
}

/// A row of the price table as listed.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct PriceEntry {
    /// The model id.
    pub model: String,
    /// The preset provider a built-in price belongs to ("" for the user's).
    pub provider: String,
    /// USD per million tokens.
    pub price: Price,
    /// Where it comes from.
    pub origin: PriceOrigin,
}

/// The ids a model's price is looked up under: the id itself, then without
/// a trailing release date (`gpt-4o-2024-08-06`, `claude-sonnet-4-5-20250929`
/// are priced as their family's id).
fn lookup_ids(model: &str) -> impl Iterator<Item = &str> {
    let undated = strip_date(model);
    std::iter::once(model).chain((undated != model).then_some(undated))
}

fn strip_date(model: &str) -> &str {
    let b = model.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    // -YYYYMMDD
    if b.len() > 9 && b[b.len() - 9] == b'-' && digits(&b[b.len() - 8..]) {
        return &model[..b.len() - 9];
    }
    // -YYYY-MM-DD
    if b.len() > 11 {
        let t = &b[b.len() - 11..];
        if t[0] == b'-'
            && digits(&t[1..5])
            && t[5] == b'-'
            && digits(&t[6..8])
            && t[8] == b'-'
            && digits(&t[9..11])
        {
            return &model[..b.len() - 11];
        }
    }
    model
}

/// The price of `model`: the user's if set, else the built-in one, else None.
pub fn price_of(user: &BTreeMap<String, Price>, model: &str) -> Option<Price> {
    lookup_ids(model).find_map(|id| {
        user.get(id).copied().or_else(|| {
            BUILTIN_PRICES
                .iter()
                .find(|b| b.model == id)
                .map(|b| b.price)
        })
    })
}

/// What an answer of `model` at `provider` cost with these token counts;
/// None when the model has no known price. Local models cost nothing.
pub fn cost_of(
    user: &BTreeMap<String, Price>,
    provider: &str,
    model: &str,
    usage: &crate::types::answer::Usage,
    estimated: bool,
) -> Option<Cost> {
    let price = if provider == super::LOCAL_PROVIDER_ID {
        Price::FREE
    } else {
        price_of(user, model)?
    };
    Some(Cost {
        usd: price.cost(
            usage.input_tokens,
            usage.cached_input_tokens,
            usage.output_tokens,
        ),
        estimated,
    })
}

/// The whole table: the user's prices, then the built-in ones they do not
/// replace, by model id.
pub fn price_table(user: &BTreeMap<String, Price>) -> Vec<PriceEntry> {
    let mut out: Vec<PriceEntry> = user
        .iter()
        .map(|(model, price)| PriceEntry {
            model: model.clone(),
            provider: String::new(),
            price: *price,
            origin: PriceOrigin::User,
        })
        .collect();
    out.extend(
        BUILTIN_PRICES
            .iter()
            .filter(|b| !user.contains_key(b.model))
            .map(|b| PriceEntry {
                model: b.model.to_owned(),
                provider: b.provider.to_owned(),
                price: b.price,
                origin: PriceOrigin::Builtin {
                    source: b.source.to_owned(),
                    date: b.date.to_owned(),
                },
            }),
    );
    out.sort_by(|a, b| a.model.cmp(&b.model));
    out
}

/// Checks a price the user sets for `model`.
pub fn check_user_price(model: &str, price: &Price) -> Result<(), String> {
    let model = model.trim();
    if model.is_empty() {
        return Err("Name the model the price is for".into());
    }
    if model.len() > MAX_PRICED_MODEL_LEN || model.chars().any(char::is_control) {
        return Err(format!(
            "A model id has at most {MAX_PRICED_MODEL_LEN} characters and no control characters"
        ));
    }
    price.check()
}

/// True when `model` has a built-in price.
pub fn is_builtin(model: &str) -> bool {
    BUILTIN_PRICES.iter().any(|b| b.model == model)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::answer::Usage;

    #[test]
    fn every_builtin_price_is_valid_sourced_and_listed_once() {
        assert!(!BUILTIN_PRICES.is_empty());
        for b in BUILTIN_PRICES {
            assert!(b.price.check().is_ok(), "{}", b.model);
            assert!(b.source.starts_with("https://"), "{}", b.model);
            assert_eq!(b.date.len(), 10, "{}: a YYYY-MM-DD date", b.model);
            assert_eq!(
                BUILTIN_PRICES.iter().filter(|o| o.model == b.model).count(),
                1,
                "{}",
                b.model
            );
            assert!(
                crate::config::presets().iter().any(|p| p.id == b.provider),
                "{}: {} is a preset",
                b.model,
                b.provider
            );
        }
    }

    #[test]
    fn dated_ids_take_their_familys_price_and_unknown_models_have_none() {
        let user = BTreeMap::new();
        let b = BUILTIN_PRICES[0];
        assert_eq!(price_of(&user, b.model), Some(b.price));
        assert_eq!(
            price_of(&user, &format!("{}-2025-01-31", b.model)),
            Some(b.price)
        );
        assert_eq!(
            price_of(&user, &format!("{}-20250131", b.model)),
            Some(b.price)
        );
        assert_eq!(price_of(&user, "no-such-model"), None);
        assert_eq!(price_of(&user, "x-2025-13"), None);
        assert_eq!(strip_date("gpt-4o-2024-08-06"), "gpt-4o");
        assert_eq!(
            strip_date("claude-sonnet-4-5-20250929"),
            "claude-sonnet-4-5"
        );
        assert_eq!(strip_date("llama3.2:1b"), "llama3.2:1b");
    }

    #[test]
    fn the_users_price_wins_and_is_listed_first_by_model() {
        let b = BUILTIN_PRICES[0];
        let mine = Price {
            input: 9.0,
            output: 9.0,
            cached: None,
        };
        let user = BTreeMap::from([(b.model.to_owned(), mine), ("my-model".to_owned(), mine)]);
        assert_eq!(price_of(&user, b.model), Some(mine));
        let table = price_table(&user);
        assert_eq!(
            table.iter().filter(|e| e.model == b.model).count(),
            1,
            "replaced, not listed twice"
        );
        let row = table.iter().find(|e| e.model == b.model).unwrap();
        assert_eq!(row.origin, PriceOrigin::User);
        assert!(table.iter().any(|e| e.model == "my-model"));
        assert!(table.windows(2).all(|w| w[0].model <= w[1].model));
    }

    #[test]
    fn local_models_cost_nothing_and_unpriced_ones_have_no_cost() {
        let user = BTreeMap::new();
        let u = Usage {
            input_tokens: 1000,
            output_tokens: 1000,
            cached_input_tokens: 0,
        };
        let c = cost_of(&user, crate::config::LOCAL_PROVIDER_ID, "qwen", &u, true).unwrap();
        assert_eq!(c.usd, 0.0);
        assert!(c.estimated);
        assert_eq!(cost_of(&user, "openai", "no-such-model", &u, false), None);
    }

    #[test]
    fn user_prices_are_checked() {
        let ok = Price {
            input: 1.0,
            output: 1.0,
            cached: None,
        };
        assert!(check_user_price("m", &ok).is_ok());
        assert!(check_user_price("  ", &ok).is_err());
        assert!(check_user_price(&"m".repeat(201), &ok).is_err());
        assert!(check_user_price("m\u{7}x", &ok).is_err());
        assert!(check_user_price("m", &Price { input: -1.0, ..ok }).is_err());
    }
}
