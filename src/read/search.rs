//! Searching and filtering institutions, with stable order and cursor pagination.

use chrono::NaiveDate;

use super::{Institution, Registry};
use crate::domain::county::County;
use crate::domain::score::{Grade, RiskLevel};

/// Most results in one page.
pub const MAX_LIMIT: usize = 100;
/// Results in one page when no limit is asked for.
pub const DEFAULT_LIMIT: usize = 20;
/// Longest search text accepted (characters).
pub const MAX_QUERY_CHARS: usize = 100;

/// What to look for. Text matches a code prefix, any part of the name or a former name (no
/// word splitting: `监测` finds every name containing it), or any part of the CMA certificate
/// number. With a year, grade and risk filter that year's result; without one, the grade valid
/// on `as_of`.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub text: Option<String>,
    pub year: Option<i32>,
    pub county: Option<County>,
    pub grade: Option<Grade>,
    pub risk: Option<RiskLevel>,
    pub as_of: NaiveDate,
}

/// One page of matches, in code order.
#[derive(Debug)]
pub struct Page<'a> {
    pub total: usize,
    pub items: Vec<&'a Institution>,
    /// The cursor for the next page (the last code of this one), when there is one.
    pub next: Option<String>,
}

impl Filter {
    pub fn matches(&self, registry: &Registry, inst: &Institution) -> bool {
        if let Some(text) = self
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            let upper = text.to_uppercase();
            let found = inst.code.starts_with(&upper)
                || inst.name.contains(text)
                || inst.former_names.iter().any(|n| n.contains(text))
                || inst
                    .cma_certificate
                    .as_deref()
                    .is_some_and(|c| c.contains(text));
            if !found {
                return false;
            }
        }
        // With a year, the county is that year's record's (as in the year's rows and the
        // statistics); without one, the institution's current identity.
        let county = match self.year {
            Some(year) => inst
                .results
                .get(&year)
                .and_then(|r| r.current())
                .map(|v| v.record.county),
            None => inst.county,
        };
        if self.county.is_some() && county != self.county {
            return false;
        }
        let (grade, risk) = match self.year {
            Some(year) => match inst.results.get(&year).and_then(|r| r.current()) {
                Some(v) => (Some(v.record.grade), Some(v.record.risk)),
                None => return false,
            },
            None => match registry.standing(inst, self.as_of) {
                Some(s) => (Some(s.version.record.grade), Some(s.version.record.risk)),
                None => (None, None),
            },
        };
        if self.grade.is_some() && grade != self.grade {
            return false;
        }
        if self.risk.is_some() && risk != self.risk {
            return false;
        }
        true
    }
}

/// Matches after `cursor` (a code), at most `limit` of them.
pub fn search<'a>(
    registry: &'a Registry,
    filter: &Filter,
    cursor: Option<&str>,
    limit: usize,
) -> Page<'a> {
    let limit = limit.clamp(1, MAX_LIMIT);
    let mut total = 0;
    let mut items = Vec::with_capacity(limit);
    let mut more = false;
    for inst in registry.institutions.values() {
        if !filter.matches(registry, inst) {
            continue;
        }
        total += 1;
        if cursor.is_some_and(|c| inst.code.as_str() <= c) {
            continue;
        }
        if items.len() < limit {
            items.push(inst);
        } else {
            more = true;
        }
    }
    let next = if more {
        items.last().map(|i| i.code.clone())
    } else {
        None
    };
    Page { total, items, next }
}
