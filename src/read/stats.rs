//! Counts by year × grade × county and by risk.

use std::collections::BTreeMap;

use super::Registry;
use crate::domain::county::County;
use crate::domain::score::{Grade, RiskLevel};

/// Counts of one year's current results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct YearCounts {
    pub total: usize,
    pub by_grade: BTreeMap<Grade, usize>,
    pub by_risk: BTreeMap<RiskLevel, usize>,
    /// County → grade → count (institutions without a county record are not in this split).
    pub by_county: BTreeMap<County, BTreeMap<Grade, usize>>,
    /// Results with an Art. 11 finding.
    pub art11: usize,
}

/// Counts for every year, from each institution's current result.
pub fn statistics(registry: &Registry) -> BTreeMap<i32, YearCounts> {
    let mut years: BTreeMap<i32, YearCounts> = registry
        .years
        .keys()
        .map(|y| (*y, YearCounts::default()))
        .collect();
    for inst in registry.institutions.values() {
        for (year, result) in &inst.results {
            let (Some(counts), Some(current)) = (years.get_mut(year), result.current()) else {
                continue;
            };
            let r = &current.record;
            counts.total += 1;
            *counts.by_grade.entry(r.grade).or_default() += 1;
            *counts.by_risk.entry(r.risk).or_default() += 1;
            *counts
                .by_county
                .entry(r.county)
                .or_default()
                .entry(r.grade)
                .or_default() += 1;
            if !r.art11.is_empty() {
                counts.art11 += 1;
            }
        }
    }
    years
}
