//! The rules page: the measures in plain words (grades and colours, Art. 11, publicity and
//! objections, which grade is valid, what grades are used for, the serious-dishonesty list and
//! display limits) and how a reader can verify a record.
//!
//! Every number and domain word comes from `domain` (bands, grade and risk words, colours, the
//! Art. 11 grounds, the Art. 19 rule texts, the inspection tiers, the objection calendar), so
//! the page cannot drift from the checks the registry applies; the sentences come from the
//! catalogues' `[rules]` section.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::NaiveDate;
use serde::Serialize;
use tera::Context;

use super::Page;
use crate::domain::art11::Art11Ground;
use crate::domain::calendar::{Calendar, OBJECTION_WORKING_DAYS};
use crate::domain::consequences::{BidFlag, InspectionTier};
use crate::domain::score::{Grade, RiskLevel, Score};
use crate::web::api::institutions::{grade_info, risk_info, GradeInfo, RiskInfo};
use crate::web::AppState;

/// A score band: from `min` (inclusive) to below `max`, in points ("90.00"); `None` where the
/// band is open.
#[derive(Serialize)]
struct Band {
    min: Option<String>,
    max: Option<String>,
}

impl Band {
    fn new(min: Option<Score>, max: Option<Score>) -> Band {
        Band {
            min: min.map(|s| s.to_string()),
            max: max.map(|s| s.to_string()),
        }
    }
}

#[derive(Serialize)]
struct GradeBand {
    grade: GradeInfo,
    band: Band,
}

#[derive(Serialize)]
struct RiskBand {
    risk: RiskInfo,
    band: Band,
}

/// Where a band starts, shown with the score just below it: "90.00 is A, 89.99 is B".
#[derive(Serialize)]
struct Boundary {
    at: String,
    at_grade: String,
    below: String,
    below_grade: String,
}

#[derive(Serialize)]
struct Ground {
    number: u8,
    summary_zh: &'static str,
    summary_en: &'static str,
}

#[derive(Serialize)]
struct FlagRule {
    /// "bonus", "penalty", "none": the key of its name in the catalogue's `[bid]`.
    flag: &'static str,
    rule_zh: &'static str,
    rule_en: &'static str,
}

#[derive(Serialize)]
struct Tier {
    word_zh: &'static str,
    word_en: &'static str,
    /// The catalogue key (in `[rules]`) of the results the registry puts in this tier.
    when: &'static str,
}

/// A worked objection deadline from the official calendar.
#[derive(Serialize)]
struct ObjectionExample {
    publicity: String,
    deadline: String,
}

/// Publicity on this day runs into the National Day holidays and a make-up working day.
fn example_publicity() -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(2025, 9, 26)
}

pub async fn rules(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let page = Page::new(&state, &req);

    let grades: Vec<GradeBand> = Grade::ALL
        .iter()
        .map(|g| GradeBand {
            grade: grade_info(*g),
            band: Band::new(g.min_score(), g.max_score_exclusive()),
        })
        .collect();
    let risks: Vec<RiskBand> = RiskLevel::ALL
        .iter()
        .map(|r| RiskBand {
            risk: risk_info(*r),
            band: Band::new(r.min_score(), r.max_score_exclusive()),
        })
        .collect();
    let boundary = Grade::A.min_score().map(|at| {
        let below = Score::from_hundredths(at.hundredths() - 1);
        Boundary {
            at: at.to_string(),
            at_grade: Grade::from_basic_score(at).to_string(),
            below: below.to_string(),
            below_grade: Grade::from_basic_score(below).to_string(),
        }
    });
    let grounds: Vec<Ground> = Art11Ground::ALL
        .iter()
        .map(|g| Ground {
            number: g.number(),
            summary_zh: g.summary_zh(),
            summary_en: g.summary_en(),
        })
        .collect();
    let flags: Vec<FlagRule> = BidFlag::ALL
        .iter()
        .map(|f| FlagRule {
            flag: f.as_str(),
            rule_zh: f.rule_zh(),
            rule_en: f.rule_en(),
        })
        .collect();
    let tiers: Vec<Tier> = InspectionTier::ALL
        .iter()
        .map(|t| Tier {
            word_zh: t.word_zh(),
            word_en: t.word_en(),
            when: match t {
                InspectionTier::Reduced => "tier_reduced",
                InspectionTier::Normal => "tier_normal",
                InspectionTier::Increased => "tier_increased",
            },
        })
        .collect();
    let objection_example = example_publicity().and_then(|publicity| {
        Calendar::official()
            .objection_deadline(publicity)
            .ok()
            .map(|deadline| ObjectionExample {
                publicity: publicity.to_string(),
                deadline: deadline.to_string(),
            })
    });

    let mut context = Context::new();
    context.insert("grades", &grades);
    context.insert("risks", &risks);
    context.insert("boundary", &boundary);
    context.insert("grounds", &grounds);
    context.insert("flags", &flags);
    context.insert("tiers", &tiers);
    context.insert("objection_days", &OBJECTION_WORKING_DAYS);
    context.insert("objection_example", &objection_example);
    context.insert(
        "valid_year",
        &page.registry.valid_year(page.today).map(|v| v.year),
    );
    page.ok("rules.html", context)
}
