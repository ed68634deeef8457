//! Dates without a date crate: UTC civil dates from and to milliseconds since
//! the epoch (Howard Hinnant's algorithms), and the two forms users type,
//! `YYYY-MM-DD` and RFC 3339.

/// Milliseconds in a day.
pub const DAY_MS: i64 = 86_400_000;

/// A UTC date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Year (four digits in every form printed here).
    pub year: i64,
    /// Month, 1-12.
    pub month: i64,
    /// Day of the month, 1-31.
    pub day: i64,
    /// Hour, 0-23.
    pub hour: i64,
    /// Minute, 0-59.
    pub minute: i64,
    /// Second, 0-59.
    pub second: i64,
}

/// The UTC date and time of `ms` (milliseconds since 1970-01-01).
pub fn civil(ms: i64) -> Civil {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    Civil {
        year: yoe + era * 400 + i64::from(month <= 2),
        month,
        day,
        hour: rem / 3600,
        minute: rem % 3600 / 60,
        second: rem % 60,
    }
}

/// Days since 1970-01-01 of a valid date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Exactly `n` ASCII digits as a number.
fn digits(s: &str, n: usize) -> Option<i64> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Midnight UTC of `YYYY-MM-DD`, in ms since the epoch; None if it is not a real date.
pub fn parse_day(s: &str) -> Option<i64> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let (y, m, d) = (digits(y, 4)?, digits(m, 2)?, digits(d, 2)?);
    if !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    Some(days_from_civil(y, m, d) * DAY_MS)
}

/// An RFC 3339 date-time (`2026-12-02T13:40:05Z`, `...05.25+01:00`; `t`, `z`
/// and a space for `T` are accepted), in ms since the epoch.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let (date, rest) = s.split_at_checked(10)?;
    let day = parse_day(date)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (time, zone) = match rest.find(['Z', 'z', '+', '-']) {
        Some(i) => rest.split_at(i),
        None => return None,
    };
    let (hms, frac) = match time.split_once('.') {
        Some((hms, frac)) => (hms, Some(frac)),
        None => (time, None),
    };
    let mut t = hms.split(':');
    let (h, mi, se) = (
        digits(t.next()?, 2)?,
        digits(t.next()?, 2)?,
        digits(t.next()?, 2)?,
    );
    if t.next().is_some() || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let ms = match frac {
        None => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()) => {
            let first3: String = f.chars().chain("000".chars()).take(3).collect();
            first3.parse::<i64>().ok()?
        }
        Some(_) => return None,
    };
    let offset_min = match zone {
        "Z" | "z" => 0,
        z => {
            let sign = if z.starts_with('-') { -1 } else { 1 };
            let (oh, om) = z.get(1..)?.split_once(':')?;
            let (oh, om) = (digits(oh, 2)?, digits(om, 2)?);
            if oh > 23 || om > 59 {
                return None;
            }
            sign * (oh * 60 + om)
        }
    };
    Some(day + ((h * 60 + mi - offset_min) * 60 + se.min(59)) * 1000 + ms)
}

/// A date bound typed by a user: `YYYY-MM-DD` (UTC; with `end`, the end of
/// that day, so `--until 2026-12-02` includes the 2nd) or RFC 3339 (that instant).
/// The result is inclusive for a start and exclusive for an end.
pub fn parse_bound(s: &str, end: bool) -> Option<i64> {
    let s = s.trim();
    if s.len() == 10 {
        return parse_day(s).map(|d| if end { d + DAY_MS } else { d });
    }
    parse_rfc3339(s).map(|t| if end { t + 1 } else { t })
}

/// `2026-12-02T13:40:05Z`.
pub fn rfc3339(ms: i64) -> String {
    let c = civil(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_to_utc_midnight_and_bad_ones_are_refused() {
        assert_eq!(parse_day("1970-01-01"), Some(0));
        assert_eq!(parse_day("2000-03-01"), Some(951_868_800_000));
        assert_eq!(parse_day("2024-02-29"), Some(1_709_164_800_000));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-1-01",
            "yesterday",
            "2024-01-01-01",
            "+024-01-01",
            "",
        ] {
            assert_eq!(parse_day(bad), None, "{bad}");
        }
    }

    #[test]
    fn rfc3339_parses_zones_and_fractions_and_round_trips() {
        let t = parse_rfc3339("2026-12-02T13:40:05Z").expect("parse");
        assert_eq!(rfc3339(t), "2026-12-02T13:40:05Z");
        assert_eq!(parse_rfc3339("2026-12-02T14:40:05+01:00"), Some(t));
        assert_eq!(parse_rfc3339("2026-12-02t08:10:05-05:30"), Some(t));
        assert_eq!(parse_rfc3339("2026-12-02 13:40:05.5z"), Some(t + 500));
        assert_eq!(parse_rfc3339("2026-12-02T13:40:05.123456Z"), Some(t + 123));
        for bad in [
            "2026-12-02",
            "2026-12-02T13:40Z",
            "2026-12-02T25:00:00Z",
            "2026-12-02T13:40:05",
            "2026-12-02T13:40:05+0100",
            "2026-12-02T13:40:05.Z",
            "2026-12-02T13:40:05Zjunk",
            "2026-12-02T13:40:05\u{e9}",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        let c = civil(t);
        assert_eq!((c.year, c.month, c.day, c.hour), (2026, 12, 2, 13));
    }

    #[test]
    fn a_day_bound_covers_the_whole_day() {
        let start = parse_bound("2026-12-02", false).expect("start");
        let end = parse_bound("2026-12-02", true).expect("end");
        assert_eq!(end - start, DAY_MS);
        let t = parse_bound("2026-12-02T10:00:00Z", true).expect("instant");
        assert!(start < t && t < end);
        assert_eq!(parse_bound("next week", false), None);
    }
}
