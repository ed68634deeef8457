//! `runnel prices` (the price table) and `runnel usage` (tokens and cost
//! over time).

use crate::args::PricesAction;
use crate::output::{prices_table, usage_table};
use crate::{fail, service};
use runnel_core::config::prices::PriceEntry;
use runnel_core::store::Store;
use runnel_core::types::cost::Price;

/// Runs `runnel prices ...`; returns the exit status.
pub fn run(action: PricesAction) -> i32 {
    let svc = match service() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    match action {
        PricesAction::List { json } => {
            let table: Vec<PriceEntry> = svc.prices();
            if json {
                match serde_json::to_string(&table) {
                    Ok(s) => println!("{s}"),
                    Err(e) => {
                        eprintln!("runnel: could not encode the prices: {e}");
                        return 1;
                    }
                }
            } else {
                print!("{}", prices_table(&table));
            }
            0
        }
        PricesAction::Set {
            model,
            input,
            output,
            cached,
        } => {
            let price = Price {
                input,
                output,
                cached,
            };
            match svc.set_price(&model, price) {
                Ok(()) => {
                    eprintln!("runnel: {} now costs {}", model.trim(), price_line(&price));
                    0
                }
                Err(e) => fail(&e),
            }
        }
        PricesAction::Remove { model } => match svc.remove_price(&model) {
            Ok(()) => {
                eprintln!("runnel: removed your price of {}", model.trim());
                0
            }
            Err(e) => fail(&e),
        },
    }
}

fn price_line(p: &Price) -> String {
    let cached = p
        .cached
        .map(|c| format!(", cached input ${c}"))
        .unwrap_or_default();
    format!(
        "${} input, ${} output{cached} per million tokens",
        p.input, p.output
    )
}

/// Runs `runnel usage`; returns the exit status.
pub fn usage(since: Option<&str>, json: bool) -> i32 {
    let since_ms = match since.map(parse_day).transpose() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("runnel: {e}");
            return 2;
        }
    };
    let svc = match service() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    let store = match Store::open_default() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("runnel: error [storage]: {e}");
            return 1;
        }
    };
    let report = match svc.usage(&store, since_ms, None, 0) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("runnel: error [storage]: {e}");
            return 1;
        }
    };
    if json {
        match serde_json::to_string(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("runnel: could not encode the report: {e}");
                return 1;
            }
        }
    } else if report.total.answers == 0 {
        println!("No answers in this range.");
    } else {
        print!("{}", usage_table(&report));
        if report.total.unpriced_answers > 0 {
            eprintln!(
                "runnel: {} answers have no known price and are not in the cost: set one with `runnel prices set MODEL --input USD --output USD`",
                report.total.unpriced_answers
            );
        }
    }
    0
}

/// Midnight UTC of `YYYY-MM-DD`, in ms since the epoch.
fn parse_day(s: &str) -> Result<i64, String> {
    runnel_core::types::time::parse_day(s.trim())
        .ok_or_else(|| format!("--since takes a date as YYYY-MM-DD (got {s:?})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_to_utc_midnight_and_bad_ones_are_refused() {
        assert_eq!(parse_day("1970-01-01"), Ok(0));
        assert_eq!(parse_day("2000-03-01"), Ok(951_868_800_000));
        assert_eq!(parse_day("2024-02-29"), Ok(1_709_164_800_000));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "yesterday",
            "2024-01-01-01",
            "",
        ] {
            assert!(parse_day(bad).is_err(), "{bad}");
        }
        // The inverse of the output's date formatting.
        let ms = parse_day("2026-12-02").unwrap();
        assert_eq!(crate::output::format_time(ms), "2026-12-02 00:00");
    }
}
