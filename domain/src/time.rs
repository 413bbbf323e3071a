//! Time as a value. The domain never reads a clock: callers pass "now" in, so tests reach hold
//! expiry, code expiry and auto-completion without waiting, and the same inputs always give the
//! same outputs.

use serde::{Deserialize, Serialize};

/// Milliseconds since the Unix epoch, UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub const MINUTE_MS: i64 = 60_000;
    pub const DAY_MS: i64 = 86_400_000;

    pub fn millis(self) -> i64 {
        self.0
    }

    #[must_use]
    pub fn plus_millis(self, millis: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(millis))
    }

    #[must_use]
    pub fn plus_minutes(self, minutes: i64) -> Timestamp {
        self.plus_millis(minutes.saturating_mul(Self::MINUTE_MS))
    }

    #[must_use]
    pub fn plus_days(self, days: i64) -> Timestamp {
        self.plus_millis(days.saturating_mul(Self::DAY_MS))
    }

    /// The time as RFC 3339 in UTC, to the second (`2026-11-24T21:05:00Z`): the one form the
    /// catalogue's text timestamps take, so that they sort as the times do.
    pub fn to_rfc3339(self) -> String {
        let seconds = self.0.div_euclid(1_000);
        let of_day = seconds.rem_euclid(86_400);
        let date = civil_date(seconds.div_euclid(86_400));
        format!("{date}T{:02}:{:02}:{:02}Z", of_day / 3_600, of_day % 3_600 / 60, of_day % 60)
    }

    /// Parses an RFC 3339 date-time (`2026-11-24T21:05:00Z`, `2026-11-24T21:05:00.250+08:00`).
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let bytes = text.as_bytes();
        if bytes.len() < 20 || bytes[4] != b'-' || bytes[7] != b'-' || !matches!(bytes[10], b'T' | b't' | b' ') {
            return None;
        }
        if bytes[13] != b':' || bytes[16] != b':' {
            return None;
        }
        let number = |range: std::ops::Range<usize>| -> Option<i64> {
            let part = text.get(range)?;
            if part.bytes().all(|b| b.is_ascii_digit()) { part.parse().ok() } else { None }
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        if hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        let mut rest = &text[19..];
        let mut millis = 0;
        if let Some(fraction) = rest.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            let scaled = format!("{:0<3}", &fraction[..digits.min(3)]);
            millis = scaled.parse::<i64>().ok()?;
            rest = &fraction[digits..];
        }
        let offset_minutes = match rest {
            "Z" | "z" => 0,
            _ => {
                let sign = match rest.as_bytes().first()? {
                    b'+' => 1,
                    b'-' => -1,
                    _ => return None,
                };
                let (h, m) = (rest.get(1..3)?, rest.get(4..6)?);
                if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                    return None;
                }
                let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
                if h > 23 || m > 59 {
                    return None;
                }
                sign * (h * 60 + m)
            }
        };
        let days = days_from_civil(year, month, day);
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second.min(59) - offset_minutes * 60;
        Some(Timestamp(seconds * 1_000 + millis))
    }
}

/// Days since 1970-01-01 of a calendar date, or `None` when the date does not exist.
pub fn civil_day(year: i64, month: i64, day: i64) -> Option<i64> {
    ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month))
        .then(|| days_from_civil(year, month, day))
}

/// The calendar date of a day number, as `YYYY-MM-DD` (the inverse of [`civil_day`]).
pub fn civil_date(day_number: i64) -> String {
    let z = day_number + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_and_dates_round_trip() {
        assert_eq!(civil_day(1970, 1, 1), Some(0));
        assert_eq!(civil_day(2025, 1, 1), Some(20_089));
        assert_eq!(civil_day(2024, 2, 30), None);
        for day in [-1, 0, 59, 11_016, 20_089, 20_513, 30_000] {
            let date = civil_date(day);
            let parts: Vec<i64> = date.split('-').map(|p| p.parse().unwrap()).collect();
            assert_eq!(civil_day(parts[0], parts[1], parts[2]), Some(day), "{date}");
        }
        assert_eq!(civil_date(20_089), "2025-01-01");
    }

    #[test]
    fn times_are_written_as_rfc3339_to_the_second_and_read_back() {
        let at = Timestamp::parse_rfc3339("2026-11-01T08:00:00Z").unwrap();
        assert_eq!(at.to_rfc3339(), "2026-11-01T08:00:00Z");
        assert_eq!(at.plus_millis(61_999).to_rfc3339(), "2026-11-01T08:01:01Z");
        assert_eq!(Timestamp(0).to_rfc3339(), "1970-01-01T00:00:00Z");
        assert!(at.to_rfc3339() < at.plus_days(40).to_rfc3339(), "text order is time order");
    }

    #[test]
    fn rfc3339_times_become_milliseconds() {
        assert_eq!(Timestamp::parse_rfc3339("1970-01-01T00:00:00Z"), Some(Timestamp(0)));
        assert_eq!(Timestamp::parse_rfc3339("2026-11-24T21:05:00Z"), Some(Timestamp(1_795_554_300_000)));
        assert_eq!(Timestamp::parse_rfc3339("2026-11-25T05:05:00.25+08:00"), Some(Timestamp(1_795_554_300_250)));
        assert_eq!(Timestamp::parse_rfc3339("2024-02-29T00:00:00-00:30"), Some(Timestamp(1_709_166_600_000)));
        for bad in [
            "2026-02-29T00:00:00Z",
            "2026-11-24 21:05",
            "2026-13-01T00:00:00Z",
            "2026-11-24T21:05:00",
            "2026-11-24T21:05:00+0800",
            "x",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad}");
        }
    }
}
