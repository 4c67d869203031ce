//! `GET /api/v1/statistics`: counts by year × grade × county, and by risk.

use actix_web::{get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::institutions::{county_info, CountyInfo};
use super::{json_ok, DataInfo};
use crate::domain::score::{Grade, RiskLevel};
use crate::domain::validity::YearStatus;
use crate::read::stats::statistics as count;
use crate::web::{AppState, Problem};
use crate::Result;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(statistics);
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// Answer from this earlier data revision; default the current one.
    pub revision: Option<u64>,
}

/// Counts per grade (every grade present, zero included).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct GradeCounts {
    #[serde(rename = "A")]
    pub a: usize,
    #[serde(rename = "B")]
    pub b: usize,
    #[serde(rename = "C")]
    pub c: usize,
    #[serde(rename = "D")]
    pub d: usize,
    #[serde(rename = "E")]
    pub e: usize,
}

impl GradeCounts {
    fn from(counts: &std::collections::BTreeMap<Grade, usize>) -> GradeCounts {
        let n = |g| counts.get(&g).copied().unwrap_or(0);
        GradeCounts {
            a: n(Grade::A),
            b: n(Grade::B),
            c: n(Grade::C),
            d: n(Grade::D),
            e: n(Grade::E),
        }
    }
}

/// Counts per risk level.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct RiskCounts {
    pub low: usize,
    pub medium: usize,
    pub high: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountyCounts {
    pub county: CountyInfo,
    pub by_grade: GradeCounts,
}

/// One evaluation year's current results, counted.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct YearStatistics {
    pub year: i32,
    /// "in_publicity" or "final".
    pub status: YearStatus,
    pub total: usize,
    pub by_grade: GradeCounts,
    pub by_risk: RiskCounts,
    /// Per county-level division (from each institution's record).
    pub by_county: Vec<CountyCounts>,
    /// Results with an Art. 11 finding (directly E and high risk).
    pub art11: usize,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StatisticsResponse {
    pub data: DataInfo,
    /// Newest first.
    pub years: Vec<YearStatistics>,
}

/// Counts by year × grade × county, and by risk.
#[utoipa::path(get, path = "/api/v1/statistics", tag = "results", params(StatsQuery),
    responses(
        (status = 200, description = "Counts per year", body = StatisticsResponse),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown revision", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/statistics")]
pub async fn statistics(
    state: web::Data<AppState>,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse> {
    let registry = state.live.at(query.revision)?;
    registry.require_known()?;
    let years = count(&registry)
        .into_iter()
        .rev()
        // The counts are keyed by the registry's own years, so every year has a schedule.
        .filter_map(|(year, c)| {
            let n = |r| c.by_risk.get(&r).copied().unwrap_or(0);
            Some(YearStatistics {
                year,
                status: registry.years.get(&year)?.status(),
                total: c.total,
                by_grade: GradeCounts::from(&c.by_grade),
                by_risk: RiskCounts {
                    low: n(RiskLevel::Low),
                    medium: n(RiskLevel::Medium),
                    high: n(RiskLevel::High),
                },
                by_county: c
                    .by_county
                    .iter()
                    .map(|(county, grades)| CountyCounts {
                        county: county_info(*county),
                        by_grade: GradeCounts::from(grades),
                    })
                    .collect(),
                art11: c.art11,
            })
        })
        .collect();
    Ok(json_ok(
        &StatisticsResponse {
            data: DataInfo::of(&registry),
            years,
        },
        &registry,
    ))
}
