//! The Usage view and `runnel usage`: tokens per day, provider and model
//! from the store, priced with today's price table.

use super::Service;
use crate::store::{Store, StoreError, UsageRow};
use crate::types::answer::Usage;
use crate::types::cost::Cost;
use serde::Serialize;

/// Tokens and cost of one group of answers.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct UsageLine {
    /// The day (`YYYY-MM-DD`), or "" in totals.
    pub day: String,
    /// The provider, or "" in the grand total.
    pub provider: String,
    /// The model, or "" in the grand total.
    pub model: String,
    /// Answers.
    pub answers: u64,
    /// Prompt tokens, cached ones included.
    pub input_tokens: u64,
    /// Completion tokens.
    pub output_tokens: u64,
    /// Prompt tokens read from the provider's cache.
    pub cached_input_tokens: u64,
    /// Answers whose usage was estimated.
    pub estimated_answers: u64,
    /// Their cost at today's prices; None when no answer in it has a known
    /// price.
    pub cost: Option<Cost>,
    /// Answers without a known price (not in `cost`).
    pub unpriced_answers: u64,
}

impl UsageLine {
    fn empty(day: &str, provider: &str, model: &str) -> Self {
        Self {
            day: day.to_owned(),
            provider: provider.to_owned(),
            model: model.to_owned(),
            answers: 0,
            input_tokens: 0,
            output_tokens: 0,
            cached_input_tokens: 0,
            estimated_answers: 0,
            cost: None,
            unpriced_answers: 0,
        }
    }

    fn add(&mut self, other: &UsageLine) {
        self.answers += other.answers;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cached_input_tokens += other.cached_input_tokens;
        self.estimated_answers += other.estimated_answers;
        self.unpriced_answers += other.unpriced_answers;
        if let Some(c) = other.cost {
            self.cost.get_or_insert_with(Cost::default).add(c);
        }
    }
}

/// Usage over a range: per day, per provider and model, and in total.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct UsageReport {
    /// Per day, provider and model, in that order.
    pub days: Vec<UsageLine>,
    /// Per provider and model over the range, dearest first.
    pub models: Vec<UsageLine>,
    /// Everything.
    pub total: UsageLine,
}

impl Service {
    /// Usage of answers started in `[since_ms, until_ms)`, days counted at
    /// `utc_offset_minutes` from UTC, priced at today's prices.
    pub fn usage(
        &self,
        store: &Store,
        since_ms: Option<i64>,
        until_ms: Option<i64>,
        utc_offset_minutes: i32,
    ) -> Result<UsageReport, StoreError> {
        let rows = store.usage(since_ms, until_ms, utc_offset_minutes)?;
        let prices = self.settings().prices;
        Ok(report(rows, |provider, model, usage, estimated| {
            crate::config::prices::cost_of(&prices, provider, model, usage, estimated)
        }))
    }
}

fn report(
    rows: Vec<UsageRow>,
    cost_of: impl Fn(&str, &str, &Usage, bool) -> Option<Cost>,
) -> UsageReport {
    let days: Vec<UsageLine> = rows
        .into_iter()
        .map(|r| {
            let usage = Usage {
                input_tokens: r.input_tokens,
                output_tokens: r.output_tokens,
                cached_input_tokens: r.cached_input_tokens,
            };
            let cost = cost_of(&r.provider, &r.model, &usage, r.estimated_answers > 0);
            UsageLine {
                unpriced_answers: if cost.is_none() { r.answers } else { 0 },
                cost,
                day: r.day,
                provider: r.provider,
                model: r.model,
                answers: r.answers,
                input_tokens: r.input_tokens,
                output_tokens: r.output_tokens,
                cached_input_tokens: r.cached_input_tokens,
                estimated_answers: r.estimated_answers,
            }
        })
        .collect();
    let mut models: Vec<UsageLine> = Vec::new();
    let mut total = UsageLine::empty("", "", "");
    for d in &days {
        match models
            .iter_mut()
            .find(|m| m.provider == d.provider && m.model == d.model)
        {
            Some(m) => m.add(d),
            None => {
                let mut m = UsageLine::empty("", &d.provider, &d.model);
                m.add(d);
                models.push(m);
            }
        }
        total.add(d);
    }
    let usd = |l: &UsageLine| l.cost.map_or(0.0, |c| c.usd);
    models.sort_by(|a, b| {
        usd(b)
            .total_cmp(&usd(a))
            .then_with(|| b.output_tokens.cmp(&a.output_tokens))
            .then_with(|| (&a.provider, &a.model).cmp(&(&b.provider, &b.model)))
    });
    UsageReport {
        days,
        models,
        total,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(day: &str, model: &str, input: u64, output: u64, estimated: u64) -> UsageRow {
        UsageRow {
            day: day.into(),
            provider: "p".into(),
            model: model.into(),
            answers: 2,
            input_tokens: input,
            output_tokens: output,
            cached_input_tokens: 0,
            estimated_answers: estimated,
        }
    }

    #[test]
    fn totals_add_up_per_model_and_unpriced_answers_are_counted_apart() {
        let rows = vec![
            row("2026-01-01", "a", 1_000_000, 0, 0),
            row("2026-01-01", "free", 5, 5, 0),
            row("2026-01-02", "a", 0, 1_000_000, 1),
            row("2026-01-02", "unknown", 7, 7, 0),
        ];
        let r = report(rows, |_, model, u, est| match model {
            "a" => Some(Cost {
                usd: u.input_tokens as f64 / 1e6 + 2.0 * u.output_tokens as f64 / 1e6,
                estimated: est,
            }),
            "free" => Some(Cost {
                usd: 0.0,
                estimated: est,
            }),
            _ => None,
        });
        assert_eq!(r.days.len(), 4);
        let a = &r.models[0];
        assert_eq!((a.model.as_str(), a.answers), ("a", 4));
        assert_eq!(
            a.cost,
            Some(Cost {
                usd: 3.0,
                estimated: true
            })
        );
        assert_eq!(r.total.answers, 8);
        assert_eq!(r.total.unpriced_answers, 2);
        assert_eq!(r.total.cost.map(|c| c.usd), Some(3.0));
        assert!(r.total.cost.is_some_and(|c| c.estimated));
        let unknown = r.models.iter().find(|m| m.model == "unknown").unwrap();
        assert_eq!(unknown.cost, None);
    }
}
