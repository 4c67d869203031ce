//! Which year's results are valid on a date (Art. 18, and the registry's reading of it).
//!
//! One evaluation a year; year N's grades lapse when year N+1's are published. The registry
//! reads this as: year N is valid from its publication date (公布, inclusive) until year N+1's
//! publication date (exclusive), for **all** institutions at once, so an institution without a
//! year N+1 result has no valid grade from that day. A year still in publicity (公示, not yet
//! published) never makes a grade valid, and the previous year stays valid meanwhile. Status
//! comes from the data (whether a publication date is set), never from the clock.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The dates of one evaluation year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct YearDates {
    /// The evaluation year.
    pub year: i32,
    /// The day the year's results were publicized (公示); objections run from here.
    pub publicity_date: NaiveDate,
    /// The day the year's results were published as final (公布), if they have been.
    pub publication_date: Option<NaiveDate>,
}

impl YearDates {
    /// The year's status, from whether it has a publication date.
    pub const fn status(&self) -> YearStatus {
        YearStatus::from_publication(self.publication_date)
    }
}

/// Status of a year's results.
///
/// Serialized as "in_publicity", "final".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum YearStatus {
    /// Publicized (公示) but not yet published: shown and labelled, never valid, no flags.
    InPublicity,
    /// Published (公布): final.
    Final,
}

impl YearStatus {
    /// The status given by a publication date: final if set, in publicity otherwise.
    pub const fn from_publication(publication_date: Option<NaiveDate>) -> YearStatus {
        match publication_date {
            Some(_) => YearStatus::Final,
            None => YearStatus::InPublicity,
        }
    }

    /// Stable identifier, as serialized: "in_publicity", "final".
    pub const fn as_str(self) -> &'static str {
        match self {
            YearStatus::InPublicity => "in_publicity",
            YearStatus::Final => "final",
        }
    }

    /// Chinese label: 公示中, 已公布.
    pub const fn word_zh(self) -> &'static str {
        match self {
            YearStatus::InPublicity => "公示中",
            YearStatus::Final => "已公布",
        }
    }

    /// English label: in publicity, final.
    pub const fn word_en(self) -> &'static str {
        match self {
            YearStatus::InPublicity => "in publicity",
            YearStatus::Final => "final",
        }
    }
}

/// The year whose results are valid on a date, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Validity {
    /// The valid evaluation year.
    pub year: i32,
    /// Its publication date: valid from this day, inclusive.
    pub valid_from: NaiveDate,
    /// The next year's publication date, from which this year has lapsed (exclusive end);
    /// `None` while no later year is published.
    pub valid_until: Option<NaiveDate>,
}

impl Validity {
    /// Whether `date` falls in `[valid_from, valid_until)`.
    pub fn contains(&self, date: NaiveDate) -> bool {
        // No Option::is_none_or: the crate's MSRV is 1.80.
        self.valid_from <= date
            && match self.valid_until {
                Some(until) => date < until,
                None => true,
            }
    }
}

/// The year valid on `on`: the one whose publication date is the latest on or before `on`.
///
/// `None` before the first publication. The slice may be in any order; years in publicity are
/// ignored. Assumes [`check_year_dates`] holds (were two years published the same day, the
/// later year would win).
pub fn valid_year(years: &[YearDates], on: NaiveDate) -> Option<Validity> {
    let (valid_from, year) = years
        .iter()
        .filter_map(|y| y.publication_date.map(|p| (p, y.year)))
        .filter(|(p, _)| *p <= on)
        .max()?;
    let valid_until = years
        .iter()
        .filter_map(|y| y.publication_date)
        .filter(|p| *p > valid_from)
        .min();
    Some(Validity {
        year,
        valid_from,
        valid_until,
    })
}

/// Why a set of year dates is inconsistent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValidityError {
    /// The same year appears twice.
    #[error("year {year} appears more than once")]
    DuplicateYear {
        /// The repeated year.
        year: i32,
    },
    /// A year is published on or before its publicity date.
    #[error(
        "year {year} is published on {publication_date}, which is not after its publicity \
         date {publicity_date}"
    )]
    PublicationNotAfterPublicity {
        /// The year.
        year: i32,
        /// Its publicity date.
        publicity_date: NaiveDate,
        /// Its publication date.
        publication_date: NaiveDate,
    },
    /// A later year is published on or before an earlier one.
    #[error(
        "year {later_year} is published on {later_publication}, not after year {earlier_year} \
         ({earlier_publication})"
    )]
    PublicationOutOfOrder {
        /// The earlier year.
        earlier_year: i32,
        /// Its publication date.
        earlier_publication: NaiveDate,
        /// The later year.
        later_year: i32,
        /// Its publication date.
        later_publication: NaiveDate,
    },
    /// An earlier year is still in publicity while a later year is published.
    #[error("year {year} is still in publicity but the later year {later_year} is published")]
    EarlierYearUnpublished {
        /// The year still in publicity.
        year: i32,
        /// The later, published year.
        later_year: i32,
    },
}

impl ValidityError {
    /// A stable snake_case identifier of the reason, for API error bodies and logs.
    pub fn code(&self) -> &'static str {
        match self {
            ValidityError::DuplicateYear { .. } => "duplicate_year",
            ValidityError::PublicationNotAfterPublicity { .. } => "publication_not_after_publicity",
            ValidityError::PublicationOutOfOrder { .. } => "publication_out_of_order",
            ValidityError::EarlierYearUnpublished { .. } => "earlier_year_unpublished",
        }
    }
}

/// Checks that year dates are consistent: each year once; each publication after its
/// publicity; publication dates strictly increasing with the year (a later year cannot be
/// published on or before an earlier one); and no year still in publicity once a later year is
/// published. The slice may be in any order.
pub fn check_year_dates(years: &[YearDates]) -> Result<(), ValidityError> {
    let mut sorted: Vec<&YearDates> = years.iter().collect();
    sorted.sort_by_key(|y| y.year);
    for pair in sorted.windows(2) {
        if let [a, b] = pair {
            if a.year == b.year {
                return Err(ValidityError::DuplicateYear { year: a.year });
            }
        }
    }
    for y in &sorted {
        if let Some(p) = y.publication_date {
            if p <= y.publicity_date {
                return Err(ValidityError::PublicationNotAfterPublicity {
                    year: y.year,
                    publicity_date: y.publicity_date,
                    publication_date: p,
                });
            }
        }
    }
    // Compare each year with the nearest earlier year; gaps in years are allowed.
    for pair in sorted.windows(2) {
        if let [a, b] = pair {
            match (a.publication_date, b.publication_date) {
                (Some(pa), Some(pb)) if pb <= pa => {
                    return Err(ValidityError::PublicationOutOfOrder {
                        earlier_year: a.year,
                        earlier_publication: pa,
                        later_year: b.year,
                        later_publication: pb,
                    });
                }
                (None, Some(_)) => {
                    return Err(ValidityError::EarlierYearUnpublished {
                        year: a.year,
                        later_year: b.year,
                    });
                }
                _ => {}
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn year(year: i32, publicity: &str, publication: Option<&str>) -> YearDates {
        YearDates {
            year,
            publicity_date: d(publicity),
            publication_date: publication.map(d),
        }
    }

    fn three_years() -> Vec<YearDates> {
        vec![
            year(2023, "2024-03-01", Some("2024-03-20")),
            year(2024, "2025-03-03", Some("2025-03-24")),
            year(2025, "2026-03-02", None),
        ]
    }

    #[test]
    fn status_comes_from_publication_date() {
        let y = three_years();
        assert_eq!(y[0].status(), YearStatus::Final);
        assert_eq!(y[2].status(), YearStatus::InPublicity);
        assert_eq!(
            serde_json::to_string(&YearStatus::InPublicity).unwrap(),
            "\"in_publicity\""
        );
        assert_eq!(
            serde_json::to_string(&YearStatus::Final).unwrap(),
            "\"final\""
        );
        for s in [YearStatus::InPublicity, YearStatus::Final] {
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
            assert!(!s.word_zh().is_empty() && !s.word_en().is_empty());
        }
    }

    #[test]
    fn before_the_first_publication_nothing_is_valid() {
        let y = three_years();
        assert_eq!(valid_year(&y, d("2024-03-19")), None);
        // In publicity is not valid either.
        assert_eq!(valid_year(&y, d("2024-03-01")), None);
        assert_eq!(valid_year(&[], d("2025-01-01")), None);
    }

    #[test]
    fn valid_from_publication_day_until_the_next_publication() {
        let y = three_years();
        let v2023 = Validity {
            year: 2023,
            valid_from: d("2024-03-20"),
            valid_until: Some(d("2025-03-24")),
        };
        assert_eq!(valid_year(&y, d("2024-03-20")), Some(v2023));
        assert_eq!(valid_year(&y, d("2025-03-23")), Some(v2023));
        // Year 2024 in publicity (公示 2025-03-03): 2023 still valid.
        assert_eq!(valid_year(&y, d("2025-03-03")), Some(v2023));
        let v2024 = Validity {
            year: 2024,
            valid_from: d("2025-03-24"),
            valid_until: None,
        };
        assert_eq!(valid_year(&y, d("2025-03-24")), Some(v2024));
        // Year 2025 in publicity: 2024 stays valid, open-ended.
        assert_eq!(valid_year(&y, d("2026-03-10")), Some(v2024));
        assert_eq!(valid_year(&y, d("2030-01-01")), Some(v2024));
        assert!(v2023.contains(d("2024-03-20")));
        assert!(v2023.contains(d("2025-03-23")));
        assert!(!v2023.contains(d("2025-03-24")));
        assert!(!v2023.contains(d("2024-03-19")));
        assert!(v2024.contains(d("2099-12-31")));
    }

    #[test]
    fn unsorted_input() {
        let mut y = three_years();
        y.reverse();
        y.swap(0, 1);
        assert_eq!(check_year_dates(&y), Ok(()));
        assert_eq!(valid_year(&y, d("2025-03-23")).map(|v| v.year), Some(2023));
        assert_eq!(
            valid_year(&y, d("2025-03-23")).and_then(|v| v.valid_until),
            Some(d("2025-03-24"))
        );
        assert_eq!(valid_year(&y, d("2025-03-24")).map(|v| v.year), Some(2024));
    }

    #[test]
    fn next_publication_after_a_gap_year() {
        let y = vec![
            year(2023, "2024-03-01", Some("2024-03-20")),
            year(2025, "2026-03-02", Some("2026-03-23")),
        ];
        assert_eq!(check_year_dates(&y), Ok(()));
        let v = valid_year(&y, d("2025-06-01")).unwrap();
        assert_eq!(v.year, 2023);
        assert_eq!(v.valid_until, Some(d("2026-03-23")));
    }

    #[test]
    fn check_accepts_consistent_dates() {
        assert_eq!(check_year_dates(&three_years()), Ok(()));
        assert_eq!(check_year_dates(&[]), Ok(()));
    }

    #[test]
    fn check_rejects_duplicate_year() {
        let mut y = three_years();
        y.push(year(2024, "2025-03-03", Some("2025-03-24")));
        let err = check_year_dates(&y).unwrap_err();
        assert_eq!(err, ValidityError::DuplicateYear { year: 2024 });
        assert_eq!(err.code(), "duplicate_year");
    }

    #[test]
    fn check_rejects_publication_not_after_publicity() {
        for publication in ["2025-03-03", "2025-03-02"] {
            let y = vec![year(2024, "2025-03-03", Some(publication))];
            let err = check_year_dates(&y).unwrap_err();
            assert_eq!(
                err,
                ValidityError::PublicationNotAfterPublicity {
                    year: 2024,
                    publicity_date: d("2025-03-03"),
                    publication_date: d(publication),
                }
            );
            assert_eq!(err.code(), "publication_not_after_publicity");
        }
    }

    #[test]
    fn check_rejects_publication_out_of_order() {
        for later in ["2024-03-20", "2024-03-19"] {
            let y = vec![
                year(2024, "2024-03-01", Some(later)),
                year(2023, "2024-03-01", Some("2024-03-20")),
            ];
            let err = check_year_dates(&y).unwrap_err();
            assert_eq!(
                err,
                ValidityError::PublicationOutOfOrder {
                    earlier_year: 2023,
                    earlier_publication: d("2024-03-20"),
                    later_year: 2024,
                    later_publication: d(later),
                }
            );
            assert_eq!(err.code(), "publication_out_of_order");
            assert!(err.to_string().contains("year 2024 is published on"));
        }
    }

    #[test]
    fn check_rejects_unpublished_year_before_published_one() {
        let y = vec![
            year(2023, "2024-03-01", None),
            year(2024, "2025-03-03", Some("2025-03-24")),
        ];
        let err = check_year_dates(&y).unwrap_err();
        assert_eq!(
            err,
            ValidityError::EarlierYearUnpublished {
                year: 2023,
                later_year: 2024
            }
        );
        assert_eq!(err.code(), "earlier_year_unpublished");
    }

    #[test]
    fn serde_field_names() {
        let v = Validity {
            year: 2024,
            valid_from: d("2025-03-24"),
            valid_until: None,
        };
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"year":2024,"valid_from":"2025-03-24","valid_until":null}"#
        );
        let y = year(2024, "2025-03-03", Some("2025-03-24"));
        let json = serde_json::to_string(&y).unwrap();
        assert_eq!(
            json,
            r#"{"year":2024,"publicity_date":"2025-03-03","publication_date":"2025-03-24"}"#
        );
        assert_eq!(serde_json::from_str::<YearDates>(&json).unwrap(), y);
    }
}
