//! Working days, the objection deadline and the review deadline (Art. 16).
//!
//! Working days follow the State Council's annual holiday notices, make-up working weekends
//! (调休) included. The notices are kept as data in `holidays.txt` (format in its header), so a
//! new year is added by adding its lines. A date the calendar does not know is an error
//! ([`CalendarError::OutOfRange`]), never a guess: a new notice can move any day of its year.
//!
//! Caveat: a year's notice may also change days at the end of the previous December (the 2019
//! notice made Saturday 2018-12-29 a working day). Answers about the last days of the last known
//! year assume the next notice leaves them alone; in 2023–2026 no notice did.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate, Weekday};

/// Working days within which an institution may object, counted from the publicity date
/// (Art. 16, first paragraph).
pub const OBJECTION_WORKING_DAYS: u32 = 5;

/// Working days within which the bureau reviews an objection, counted from its receipt
/// (Art. 16, second paragraph; the bureau may extend it in complex cases).
pub const REVIEW_WORKING_DAYS: u32 = 15;

/// The State Council holiday notices the registry knows, as data.
const OFFICIAL_TEXT: &str = include_str!("holidays.txt");

/// Why a working-day question has no answer, or why calendar data is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// The date (or a day the count runs through) is outside the years whose holiday notices
    /// the calendar holds.
    #[error(
        "{date} is outside the working-day calendar, which covers {first} to {last} \
         (the State Council holiday notices it holds)"
    )]
    OutOfRange {
        /// The first date that is not known.
        date: NaiveDate,
        /// First day the calendar knows.
        first: NaiveDate,
        /// Last day the calendar knows.
        last: NaiveDate,
    },
    /// A line of calendar data is malformed or contradicts another.
    #[error("holiday calendar line {line}: {message}")]
    Parse {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The calendar data as a whole is incomplete (e.g. a year or a line is missing).
    #[error("holiday calendar: {message}")]
    Invalid {
        /// What is wrong.
        message: String,
    },
}

impl CalendarError {
    /// A stable snake_case identifier of the reason, for API error bodies and logs.
    pub fn code(&self) -> &'static str {
        match self {
            CalendarError::OutOfRange { .. } => "out_of_range",
            CalendarError::Parse { .. } => "parse",
            CalendarError::Invalid { .. } => "invalid",
        }
    }
}

/// Kind of a data line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Off,
    Work,
}

/// A working-day calendar over a known, contiguous range of dates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    first: NaiveDate,
    last: NaiveDate,
    /// Days off: weekdays off, and weekend days inside holidays (off anyway).
    off: BTreeSet<NaiveDate>,
    /// Weekend days worked (调休).
    work: BTreeSet<NaiveDate>,
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// Parses `n` ASCII digits exactly (no sign, no padding slack).
fn fixed_digits(s: &str, n: usize) -> Option<u32> {
    if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Parses "MM-DD" (in `year`) or "YYYY-MM-DD".
fn parse_date(token: &str, year: i32) -> Option<NaiveDate> {
    let parts: Vec<&str> = token.split('-').collect();
    match parts.as_slice() {
        [m, d] => NaiveDate::from_ymd_opt(year, fixed_digits(m, 2)?, fixed_digits(d, 2)?),
        [y, m, d] => NaiveDate::from_ymd_opt(
            i32::try_from(fixed_digits(y, 4)?).ok()?,
            fixed_digits(m, 2)?,
            fixed_digits(d, 2)?,
        ),
        _ => None,
    }
}

impl Calendar {
    /// The calendar of the State Council holiday notices shipped with the registry
    /// (2023 to 2026), parsed once.
    pub fn official() -> &'static Calendar {
        static OFFICIAL: OnceLock<Calendar> = OnceLock::new();
        OFFICIAL.get_or_init(|| {
            // The embedded data is checked by a unit test; were it ever broken, a calendar
            // that knows no day makes every question an error rather than a guess.
            Calendar::parse(OFFICIAL_TEXT).unwrap_or_else(|_| Calendar::knowing_nothing())
        })
    }

    /// A calendar whose known range is empty.
    fn knowing_nothing() -> Calendar {
        Calendar {
            first: NaiveDate::MAX,
            last: NaiveDate::MIN,
            off: BTreeSet::new(),
            work: BTreeSet::new(),
        }
    }

    /// Parses calendar data in the format of `holidays.txt` (see its header): for each year
    /// from the first to the last, one `YEAR OFF dates…` and one `YEAR WORK dates…` line.
    ///
    /// Rejected: malformed lines or dates, reversed ranges, dates outside their line's year
    /// (except the previous December), a day listed twice or as both OFF and WORK, a WORK day
    /// that is not a Saturday or Sunday, a missing year or line.
    pub fn parse(text: &str) -> Result<Calendar, CalendarError> {
        let mut off = BTreeSet::new();
        let mut work = BTreeSet::new();
        // (year, kind) -> line number, to find duplicates and missing lines.
        let mut seen: BTreeMap<(i32, Kind), usize> = BTreeMap::new();

        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let err = |message: String| CalendarError::Parse { line, message };
            let content = raw.trim();
            if content.is_empty() || content.starts_with('#') {
                continue;
            }
            let mut tokens = content.split_whitespace();
            let year_token = tokens.next().unwrap_or("");
            let year = fixed_digits(year_token, 4)
                .and_then(|y| i32::try_from(y).ok())
                .ok_or_else(|| err(format!("expected a 4-digit year, found '{year_token}'")))?;
            let kind = match tokens.next() {
                Some("OFF") => Kind::Off,
                Some("WORK") => Kind::Work,
                Some(other) => return Err(err(format!("expected OFF or WORK, found '{other}'"))),
                None => return Err(err("expected OFF or WORK after the year".to_owned())),
            };
            if let Some(previous) = seen.insert((year, kind), line) {
                return Err(err(format!(
                    "second {year} {} line (the first is line {previous})",
                    kind_name(kind)
                )));
            }
            // A notice covers its year and may reach into the previous December.
            let span = NaiveDate::from_ymd_opt(year - 1, 12, 1)
                .zip(NaiveDate::from_ymd_opt(year, 12, 31))
                .ok_or_else(|| err(format!("year {year} is out of range")))?;

            for token in tokens {
                let (from, to) = match token.split_once("..") {
                    Some((a, b)) => (a, b),
                    None => (token, token),
                };
                let bad_date = || {
                    err(format!(
                        "'{token}' is not a date MM-DD or YYYY-MM-DD or a range FROM..TO of them"
                    ))
                };
                let from = parse_date(from, year).ok_or_else(bad_date)?;
                let to = parse_date(to, year).ok_or_else(bad_date)?;
                if from > to {
                    return Err(err(format!("range '{token}' ends before it starts")));
                }
                for day in from.iter_days().take_while(|d| *d <= to) {
                    if day < span.0 || day > span.1 {
                        return Err(err(format!(
                            "{day} is outside {year} (only the previous December may be listed)"
                        )));
                    }
                    let (this, other) = match kind {
                        Kind::Off => (&mut off, &work),
                        Kind::Work => (&mut work, &off),
                    };
                    if other.contains(&day) {
                        return Err(err(format!("{day} is listed as both OFF and WORK")));
                    }
                    if kind == Kind::Work && !is_weekend(day) {
                        return Err(err(format!(
                            "WORK day {day} is a {:?}: only Saturdays and Sundays can be \
                             make-up working days",
                            day.weekday()
                        )));
                    }
                    if !this.insert(day) {
                        return Err(err(format!("{day} is listed twice as {}", kind_name(kind))));
                    }
                }
            }
        }

        let years: BTreeSet<i32> = seen.keys().map(|(y, _)| *y).collect();
        let (first_year, last_year) = match (years.first(), years.last()) {
            (Some(a), Some(b)) => (*a, *b),
            _ => {
                return Err(CalendarError::Invalid {
                    message: "no year is listed".to_owned(),
                })
            }
        };
        for year in first_year..=last_year {
            for kind in [Kind::Off, Kind::Work] {
                if !seen.contains_key(&(year, kind)) {
                    return Err(CalendarError::Invalid {
                        message: format!(
                            "the {year} {} line is missing (years must be contiguous, \
                             each with an OFF and a WORK line)",
                            kind_name(kind)
                        ),
                    });
                }
            }
        }

        let invalid_year = || CalendarError::Invalid {
            message: "year out of range".to_owned(),
        };
        let mut first = NaiveDate::from_ymd_opt(first_year, 1, 1).ok_or_else(invalid_year)?;
        let last = NaiveDate::from_ymd_opt(last_year, 12, 31).ok_or_else(invalid_year)?;
        // Days before the first year are known only as far back as they are all listed.
        while let Some(before) = first.pred_opt() {
            if off.contains(&before) || work.contains(&before) {
                first = before;
            } else {
                break;
            }
        }
        Ok(Calendar {
            first,
            last,
            off,
            work,
        })
    }

    /// First day the calendar knows. For the official calendar 2022-12-31: the 2023 notice's
    /// New Year holiday starts that day, so it is known although it lies before 2023.
    pub fn first_day(&self) -> NaiveDate {
        self.first
    }

    /// Last day the calendar knows: 31 December of the last year whose notice it holds.
    pub fn last_day(&self) -> NaiveDate {
        self.last
    }

    /// Whether `date` is within the known range.
    pub fn knows(&self, date: NaiveDate) -> bool {
        self.first <= date && date <= self.last
    }

    fn check_known(&self, date: NaiveDate) -> Result<(), CalendarError> {
        if self.knows(date) {
            Ok(())
        } else {
            Err(CalendarError::OutOfRange {
                date,
                first: self.first,
                last: self.last,
            })
        }
    }

    /// Whether `date` is a working day: a weekday not listed as a day off, or a weekend day
    /// listed as a make-up working day.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        self.check_known(date)?;
        Ok(if self.off.contains(&date) {
            false
        } else if self.work.contains(&date) {
            true
        } else {
            !is_weekend(date)
        })
    }

    /// The `n`th working day after `from` (`from` itself never counts, whether or not it is a
    /// working day; `n = 0` gives `from`). Both `from` and every day counted through must be
    /// known.
    pub fn working_days_after(&self, from: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        self.check_known(from)?;
        let mut day = from;
        let mut counted = 0;
        while counted < n {
            day = match day.succ_opt() {
                Some(next) => next,
                None => {
                    return Err(CalendarError::OutOfRange {
                        date: day,
                        first: self.first,
                        last: self.last,
                    })
                }
            };
            // Errors once the count runs past the known range, so the loop is bounded.
            if self.is_working_day(day)? {
                counted += 1;
            }
        }
        Ok(day)
    }

    /// Last day on which an institution may object to results publicized on `publicity`:
    /// 5 working days counted from the day after publicity (Art. 16, with Civil Code Art. 201:
    /// a period in days starts the next day). The publicity day never counts, even when it is
    /// not a working day.
    pub fn objection_deadline(&self, publicity: NaiveDate) -> Result<NaiveDate, CalendarError> {
        self.working_days_after(publicity, OBJECTION_WORKING_DAYS)
    }

    /// Last day of the bureau's review of an objection filed on `filed`: 15 working days
    /// counted from the day after (Art. 16, second paragraph, with Civil Code Art. 201). The
    /// measures count from the day the bureau *receives* the request; the registry knows only
    /// the filing date and takes it as the day of receipt (inferred). The bureau may extend the
    /// period in complex cases, so a later decision is not necessarily unlawful.
    pub fn review_deadline(&self, filed: NaiveDate) -> Result<NaiveDate, CalendarError> {
        self.working_days_after(filed, REVIEW_WORKING_DAYS)
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Off => "OFF",
        Kind::Work => "WORK",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn cal() -> &'static Calendar {
        Calendar::official()
    }

    /// Expands "YYYY-MM-DD" and "YYYY-MM-DD..YYYY-MM-DD" into days.
    fn expand(items: &[&str]) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        for item in items {
            let (a, b) = item.split_once("..").unwrap_or((item, item));
            let (a, b) = (d(a), d(b));
            out.extend(a.iter_days().take_while(|x| *x <= b));
        }
        out
    }

    /// The notices as listed in DOMAIN.md, typed again independently of holidays.txt.
    fn notice_off_days() -> Vec<NaiveDate> {
        expand(&[
            "2022-12-31..2023-01-02",
            "2023-01-21..2023-01-27",
            "2023-04-05",
            "2023-04-29..2023-05-03",
            "2023-06-22..2023-06-24",
            "2023-09-29..2023-10-06",
            "2024-01-01",
            "2024-02-10..2024-02-17",
            "2024-04-04..2024-04-06",
            "2024-05-01..2024-05-05",
            "2024-06-10",
            "2024-09-15..2024-09-17",
            "2024-10-01..2024-10-07",
            "2025-01-01",
            "2025-01-28..2025-02-04",
            "2025-04-04..2025-04-06",
            "2025-05-01..2025-05-05",
            "2025-05-31..2025-06-02",
            "2025-10-01..2025-10-08",
            "2026-01-01..2026-01-03",
            "2026-02-15..2026-02-23",
            "2026-04-04..2026-04-06",
            "2026-05-01..2026-05-05",
            "2026-06-19..2026-06-21",
            "2026-09-25..2026-09-27",
            "2026-10-01..2026-10-07",
        ])
    }

    fn notice_work_days() -> Vec<NaiveDate> {
        expand(&[
            "2023-01-28",
            "2023-01-29",
            "2023-04-23",
            "2023-05-06",
            "2023-06-25",
            "2023-10-07",
            "2023-10-08",
            "2024-02-04",
            "2024-02-18",
            "2024-04-07",
            "2024-04-28",
            "2024-05-11",
            "2024-09-14",
            "2024-09-29",
            "2024-10-12",
            "2025-01-26",
            "2025-02-08",
            "2025-04-27",
            "2025-09-28",
            "2025-10-11",
            "2026-01-04",
            "2026-02-14",
            "2026-02-28",
            "2026-05-09",
            "2026-09-20",
            "2026-10-10",
        ])
    }

    #[test]
    fn official_data_parses_and_matches_the_notices() {
        let parsed = Calendar::parse(OFFICIAL_TEXT).unwrap();
        assert_eq!(&parsed, cal());
        let off: BTreeSet<_> = notice_off_days().into_iter().collect();
        let work: BTreeSet<_> = notice_work_days().into_iter().collect();
        assert_eq!(parsed.off, off);
        assert_eq!(parsed.work, work);
    }

    #[test]
    fn known_range() {
        assert_eq!(cal().first_day(), d("2022-12-31"));
        assert_eq!(cal().last_day(), d("2026-12-31"));
        assert!(cal().knows(d("2022-12-31")));
        assert!(!cal().knows(d("2022-12-30")));
        assert!(cal().knows(d("2026-12-31")));
        assert!(!cal().knows(d("2027-01-01")));
    }

    #[test]
    fn objection_deadline_vectors() {
        let cases = [
            // Fri; Sun 09-28 is a make-up day, then the National Day week.
            ("2025-09-26", "2025-10-10"),
            // Fri; Sun 09-20 is a make-up day.
            ("2026-09-18", "2026-09-24"),
            // Fri; Sun 09-29 is a make-up day, then the National Day week.
            ("2024-09-27", "2024-10-10"),
            // Fri before Labour Day; Sat 05-06 is a make-up day.
            ("2023-04-28", "2023-05-09"),
            // Thu before Spring Festival; Sat 02-14 is a make-up day.
            ("2026-02-12", "2026-02-26"),
        ];
        for (publicity, deadline) in cases {
            assert_eq!(
                cal().objection_deadline(d(publicity)).unwrap(),
                d(deadline),
                "{publicity}"
            );
        }
    }

    #[test]
    fn objection_deadline_ordinary_weeks() {
        // Mon → the next Mon; Fri → the next Fri.
        assert_eq!(
            cal().objection_deadline(d("2025-03-03")).unwrap(),
            d("2025-03-10")
        );
        assert_eq!(
            cal().objection_deadline(d("2025-03-07")).unwrap(),
            d("2025-03-14")
        );
        // Publicity on a Saturday or Sunday: the publicity day is not counted, the next
        // Monday is day 1.
        assert_eq!(
            cal().objection_deadline(d("2025-03-08")).unwrap(),
            d("2025-03-14")
        );
        assert_eq!(
            cal().objection_deadline(d("2025-03-09")).unwrap(),
            d("2025-03-14")
        );
    }

    #[test]
    fn publicity_day_never_counts_even_on_holidays_or_make_up_days() {
        // Publicity on a make-up working Sunday (2025-09-28): counting starts on Mon 09-29:
        // 09-29, 09-30, 10-09, 10-10, Sat 10-11 (make-up).
        assert_eq!(
            cal().objection_deadline(d("2025-09-28")).unwrap(),
            d("2025-10-11")
        );
        // Publicity on a holiday (2025-10-01): 10-09, 10-10, Sat 10-11 (make-up), 10-13, 10-14.
        assert_eq!(
            cal().objection_deadline(d("2025-10-01")).unwrap(),
            d("2025-10-14")
        );
        // Publicity on the first known day.
        assert_eq!(
            cal().objection_deadline(d("2022-12-31")).unwrap(),
            d("2023-01-09")
        );
    }

    #[test]
    fn deadline_at_the_last_known_day() {
        // Thu 2026-12-24: 12-25, 12-28, 12-29, 12-30, 12-31.
        assert_eq!(
            cal().objection_deadline(d("2026-12-24")).unwrap(),
            d("2026-12-31")
        );
    }

    /// The bureau's review deadline: 15 working days from the day after filing (Art. 16).
    #[test]
    fn review_deadline_vectors() {
        for (filed, deadline) in [
            // Tue 09-30, the National Day holidays (10-01 to 10-08) not counted, Thu 10-09,
            // Fri 10-10, make-up Saturday 10-11, then 10-13 … 10-27.
            ("2025-09-29", "2025-10-27"),
            // Filed on the last day to object: Sat 10-11 (make-up) is the first day counted.
            ("2025-10-10", "2025-10-30"),
            // Filed on a holiday (2024-10-01): counting starts after the holidays, make-up
            // Saturday 10-12 included.
            ("2024-10-01", "2024-10-25"),
            // Across the Spring Festival 2026: make-up Saturdays 02-14 and 02-28 count, 02-15
            // to 02-23 do not.
            ("2026-02-12", "2026-03-11"),
            // An ordinary three weeks.
            ("2025-03-03", "2025-03-24"),
            // Ends on the last day the calendar knows.
            ("2026-12-10", "2026-12-31"),
        ] {
            assert_eq!(
                cal().review_deadline(d(filed)).unwrap(),
                d(deadline),
                "filed on {filed}"
            );
        }
        // A count that runs past the calendar is an error, never a guess.
        assert_eq!(
            cal().review_deadline(d("2026-12-11")).unwrap_err(),
            CalendarError::OutOfRange {
                date: d("2027-01-01"),
                first: d("2022-12-31"),
                last: d("2026-12-31"),
            }
        );
    }

    #[test]
    fn out_of_range_is_an_error() {
        let first = d("2022-12-31");
        let last = d("2026-12-31");
        for (publicity, date) in [
            ("2027-01-04", "2027-01-04"),
            // The count runs past the end of 2026.
            ("2026-12-30", "2027-01-01"),
            ("2026-12-31", "2027-01-01"),
            ("2022-06-01", "2022-06-01"),
            ("2022-12-30", "2022-12-30"),
        ] {
            let err = cal().objection_deadline(d(publicity)).unwrap_err();
            assert_eq!(
                err,
                CalendarError::OutOfRange {
                    date: d(date),
                    first,
                    last
                },
                "{publicity}"
            );
            assert_eq!(err.code(), "out_of_range");
        }
        let err = cal().is_working_day(d("2027-01-04")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "2027-01-04 is outside the working-day calendar, which covers 2022-12-31 to \
             2026-12-31 (the State Council holiday notices it holds)"
        );
        assert!(cal().working_days_after(NaiveDate::MAX, 1).is_err());
        assert!(cal().working_days_after(NaiveDate::MIN, 1).is_err());
    }

    #[test]
    fn extreme_dates_do_not_panic() {
        let c = Calendar::parse("9999 OFF 12-31\n9999 WORK\n").unwrap();
        let err = c.working_days_after(d("9999-12-30"), 2).unwrap_err();
        assert_eq!(err.code(), "out_of_range");
        assert!(Calendar::parse("0000 OFF\n0000 WORK\n").is_ok());
    }

    #[test]
    fn listed_days() {
        for day in notice_work_days() {
            assert!(is_weekend(day), "{day}");
            assert!(cal().is_working_day(day).unwrap(), "{day}");
        }
        for day in notice_off_days() {
            assert!(!cal().is_working_day(day).unwrap(), "{day}");
        }
    }

    #[test]
    fn ordinary_days() {
        // An ordinary weekend.
        assert!(!cal().is_working_day(d("2025-03-08")).unwrap());
        assert!(!cal().is_working_day(d("2025-03-09")).unwrap());
        // Ordinary weekdays.
        for day in expand(&["2025-03-10..2025-03-14"]) {
            assert!(cal().is_working_day(day).unwrap(), "{day}");
        }
    }

    #[test]
    fn working_day_counts_per_year() {
        // Published totals: 2023 had 249 working days, 2024 had 251, 2025 had 248.
        let count = |year: i32| {
            expand(&[&format!("{year}-01-01..{year}-12-31")])
                .into_iter()
                .filter(|x| cal().is_working_day(*x).unwrap())
                .count()
        };
        assert_eq!(count(2023), 249);
        assert_eq!(count(2024), 251);
        assert_eq!(count(2025), 248);
    }

    #[test]
    fn working_days_after_counts() {
        assert_eq!(
            cal().working_days_after(d("2025-03-07"), 0).unwrap(),
            d("2025-03-07")
        );
        assert_eq!(
            cal().working_days_after(d("2025-03-07"), 1).unwrap(),
            d("2025-03-10")
        );
        // Review period: 15 working days.
        assert_eq!(
            cal()
                .working_days_after(d("2025-03-03"), REVIEW_WORKING_DAYS)
                .unwrap(),
            d("2025-03-24")
        );
    }

    fn parse_err(text: &str) -> CalendarError {
        Calendar::parse(text).unwrap_err()
    }

    #[test]
    fn parse_accepts_a_new_year_as_data() {
        let text =
            format!("{OFFICIAL_TEXT}\n2027 OFF 2026-12-31..2027-01-02\n2027 WORK 2026-12-27\n");
        let c = Calendar::parse(&text).unwrap();
        assert_eq!(c.last_day(), d("2027-12-31"));
        assert!(!c.is_working_day(d("2026-12-31")).unwrap());
        assert!(c.is_working_day(d("2026-12-27")).unwrap());
        assert_eq!(
            c.objection_deadline(d("2026-12-30")).unwrap(),
            d("2027-01-08")
        );
    }

    #[test]
    fn parse_errors() {
        let cases: &[(&str, usize, &str)] = &[
            (
                "2023 OFF 01-01\n2023 WORK\n2023 OFF 01-02\n",
                3,
                "second 2023 OFF line",
            ),
            ("2023 HOLIDAY 01-01\n", 1, "expected OFF or WORK"),
            ("2023\n", 1, "expected OFF or WORK"),
            ("23 OFF 01-01\n", 1, "4-digit year"),
            ("2023 OFF 1-1\n", 1, "is not a date"),
            ("2023 OFF 02-30\n", 1, "is not a date"),
            ("2023 OFF 01-01..\n", 1, "is not a date"),
            ("2023 OFF 2023/01/01\n", 1, "is not a date"),
            ("2023 OFF 01-05..01-03\n", 1, "ends before it starts"),
            ("2023 OFF 2022-11-30\n", 1, "outside 2023"),
            ("2023 OFF 2024-01-01\n", 1, "outside 2023"),
            ("2023 OFF 01-01 01-01\n", 1, "listed twice as OFF"),
            ("2023 OFF 01-01..01-03 01-02\n", 1, "listed twice as OFF"),
            ("2023 OFF 01-28\n2023 WORK 01-28\n", 2, "both OFF and WORK"),
            ("2023 WORK 01-27\n", 1, "only Saturdays and Sundays"),
        ];
        for (text, line, fragment) in cases {
            match parse_err(text) {
                CalendarError::Parse { line: l, message } => {
                    assert_eq!(l, *line, "{text}");
                    assert!(message.contains(fragment), "{text}: {message}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn parse_rejects_incomplete_data() {
        assert_eq!(parse_err("# nothing\n\n").code(), "invalid");
        assert_eq!(parse_err("").code(), "invalid");
        let err = parse_err("2023 OFF 01-01\n");
        assert!(
            err.to_string().contains("2023 WORK line is missing"),
            "{err}"
        );
        let err = parse_err("2023 OFF\n2023 WORK\n2025 OFF\n2025 WORK\n");
        assert!(
            err.to_string().contains("2024 OFF line is missing"),
            "{err}"
        );
    }

    #[test]
    fn parse_range_start() {
        // Without a listed previous-December day the range starts on 1 January.
        let c = Calendar::parse("2024 OFF 01-01\n2024 WORK\n").unwrap();
        assert_eq!(c.first_day(), d("2024-01-01"));
        // A listed day not adjacent to 1 January does not extend the range.
        let c = Calendar::parse("2019 OFF 2018-12-30..2019-01-01\n2019 WORK 2018-12-29\n").unwrap();
        assert_eq!(c.first_day(), d("2018-12-29"));
        let c = Calendar::parse("2019 OFF 01-01\n2019 WORK 2018-12-29\n").unwrap();
        assert_eq!(c.first_day(), d("2019-01-01"));
        assert!(c.is_working_day(d("2018-12-29")).is_err());
    }

    #[test]
    fn comments_blank_lines_and_spacing() {
        let c = Calendar::parse("  # header\n\n\t2024   OFF\t01-01  \n2024 WORK\n").unwrap();
        assert!(!c.is_working_day(d("2024-01-01")).unwrap());
        assert!(c.is_working_day(d("2024-01-02")).unwrap());
    }

    #[test]
    fn knowing_nothing_answers_nothing() {
        let c = Calendar::knowing_nothing();
        assert!(c.is_working_day(d("2025-01-02")).is_err());
        assert!(c.objection_deadline(d("2025-01-02")).is_err());
    }
}
