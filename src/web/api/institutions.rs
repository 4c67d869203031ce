//! `GET /api/v1/institutions/{code}`: one institution, its valid grade as of a date, its history.

use actix_web::{get, web, HttpResponse};
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::proofs::{listing_proof_url, violation_proof_url};
use super::{json_ok, AsOfQuery, DataInfo};
use crate::bundle::records::{
    Change, ChangeKind, EvaluationRecord, ListingState, Objection, ObjectionStatus,
};
use crate::domain::calendar::Calendar;
use crate::domain::code::CreditCode;
use crate::domain::consequences::{
    bid_flag, inspection_tier, joint_punishment_result, BidFlag, InspectionTier,
};
use crate::domain::county::County;
use crate::domain::score::{Colour, Grade, RiskLevel, Score};
use crate::domain::validity::YearStatus;
use crate::read::{Institution, ListingView, Registry, YearResult};
use crate::web::{AppState, Problem};
use crate::{Error, Result};

/// A county-level division of Jiaxing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CountyInfo {
    /// Six-digit division code, e.g. "330402".
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// A credit grade with its colour (Art. 10); the letter and word always accompany the colour.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GradeInfo {
    /// "A" … "E".
    pub letter: Grade,
    /// 优秀 / 良好 / 中等 / 较差 / 差
    pub word_zh: String,
    /// excellent / good / medium / poor / bad
    pub word_en: String,
    /// green / blue / yellow / red / black
    pub colour: Colour,
    pub colour_zh: String,
    /// Background colour (hex); `text_hex` is the text colour that meets WCAG AA on it.
    pub colour_hex: String,
    pub text_hex: String,
}

/// A risk level (Art. 10).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RiskInfo {
    /// "low", "medium" or "high".
    pub level: RiskLevel,
    pub word_zh: String,
    pub word_en: String,
}

/// The grade valid on the requested date and what follows from it (Art. 18, 19, 20).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Standing {
    /// The evaluation year the valid grade comes from.
    pub year: i32,
    pub grade: GradeInfo,
    pub risk: RiskInfo,
    /// The year's publication date.
    pub valid_from: NaiveDate,
    /// The next year's publication date (exclusive); null while no later year is published.
    pub valid_until: Option<NaiveDate>,
    /// "bonus" (A/B and low risk), "penalty" (D/E and high risk) or "none" (Art. 19).
    pub bid_flag: BidFlag,
    pub bid_rule_zh: String,
    pub bid_rule_en: String,
    /// "reduced", "normal" or "increased" double-random inspections (inferred from Art. 19).
    pub inspection_tier: InspectionTier,
    /// D/E with high risk: a joint-punishment result (Art. 20, inferred).
    pub joint_punishment_result: bool,
}

/// Scores, as decimal strings with two places (e.g. "91.50"), never floats.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BasicScoreInfo {
    pub total: String,
    pub monitoring_capability: String,
    pub information_registration: String,
    pub business_management: String,
    pub integrity_record: String,
    pub bonus: String,
    pub local: String,
}

/// How to object to a result in publicity (Art. 16).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HowToObject {
    pub zh: String,
    pub en: String,
}

impl HowToObject {
    fn until(deadline: NaiveDate) -> HowToObject {
        HowToObject {
            zh: format!(
                "对评分结果有异议的，可在 {deadline}（含）前以书面形式向嘉兴市生态环境局提出复核申请，并提供相关证据和材料（第十六条）。"
            ),
            en: format!(
                "To object, apply in writing to the Jiaxing Ecology and Environment Bureau for a review by {deadline} (inclusive), with evidence and materials (Art. 16)."
            ),
        }
    }
}

/// An Art. 11 finding: directly E and high risk.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Art11Info {
    /// 1–5, the ground of Art. 11.
    pub ground: u8,
    pub summary_zh: String,
    pub summary_en: String,
    pub description: String,
    pub determined_on: NaiveDate,
}

/// An objection mark (Art. 16).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ObjectionInfo {
    pub status: ObjectionStatus,
    pub filed_on: NaiveDate,
    pub decided_on: Option<NaiveDate>,
    pub outcome: Option<String>,
    /// While the objection is filed or under review: the last day of the bureau's review, 15
    /// working days counted from the day after `filed_on` (Art. 16; the filing date taken as
    /// the day the bureau received it). Inferred by the registry from its working-day
    /// calendar, not signed by the bureau. Null once decided, or when the count runs past the
    /// years the calendar knows (never a guess).
    pub review_deadline: Option<NaiveDate>,
    /// Whether today (Asia/Shanghai, whatever `as_of` and `revision` ask) is after
    /// `review_deadline`; null when `review_deadline` is. The bureau may extend the review in
    /// complex cases (Art. 16), so an overdue review is past the standard period, not
    /// necessarily late.
    pub overdue: Option<bool>,
}

impl ObjectionInfo {
    fn of(o: &Objection, today: NaiveDate) -> ObjectionInfo {
        let review_deadline = match o.status {
            ObjectionStatus::Filed | ObjectionStatus::UnderReview => {
                Calendar::official().review_deadline(o.filed_on).ok()
            }
            ObjectionStatus::Decided => None,
        };
        ObjectionInfo {
            status: o.status,
            filed_on: o.filed_on,
            decided_on: o.decided_on,
            outcome: o.outcome.clone(),
            review_deadline,
            overdue: review_deadline.map(|deadline| today > deadline),
        }
    }
}

/// A grade with its risk level, as one version of a record has them.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct GradeAndRisk {
    pub grade: GradeInfo,
    pub risk: RiskInfo,
}

impl GradeAndRisk {
    fn of(record: &EvaluationRecord) -> GradeAndRisk {
        GradeAndRisk {
            grade: grade_info(record.grade),
            risk: risk_info(record.risk),
        }
    }
}

/// Why a published record changed, and what the change set.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChangeInfo {
    /// "correction" (after review, Art. 16; effective from the original publication) or
    /// "determination" (e.g. a new Art. 11 finding; effective from its date).
    pub kind: ChangeKind,
    pub decision_date: NaiveDate,
    pub effective_from: NaiveDate,
    pub reason: String,
    /// Decision number.
    pub reference: String,
    /// The bundle that carried the change.
    pub sequence: u64,
    /// What the record said just before this change.
    pub from: GradeAndRisk,
    /// What this change set (a later change may have set something else since: the year's
    /// `grade` and `risk` are the current ones).
    pub to: GradeAndRisk,
    /// Deprecated: `from.grade.letter`.
    #[schema(schema_with = previous_grade)]
    pub previous_grade: Grade,
    /// Deprecated: `from.risk.level`.
    #[schema(schema_with = previous_risk)]
    pub previous_risk: RiskLevel,
}

fn previous_grade() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    deprecated::<Grade>("Deprecated: `from.grade.letter`.")
}

fn previous_risk() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    deprecated::<RiskLevel>("Deprecated: `from.risk.level`.")
}

/// The schema of a deprecated field of type `T`: `T`'s own, written out and marked
/// `deprecated` (utoipa 5 writes a `$ref` without the mark, and a generated client would not
/// warn).
fn deprecated<T: utoipa::PartialSchema>(
    description: &str,
) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::{Deprecated, RefOr};
    match T::schema() {
        RefOr::T(Schema::Object(mut object)) => {
            object.deprecated = Some(Deprecated::True);
            object.description = Some(description.to_string());
            RefOr::T(Schema::Object(object))
        }
        other => other,
    }
}

/// One evaluation year of an institution, as currently known.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct YearInfo {
    pub year: i32,
    /// "in_publicity" (shown, but gives no valid grade or flag) or "final".
    pub status: YearStatus,
    pub publicity_date: NaiveDate,
    /// Last day to object in writing (5 working days after publicity, Art. 16).
    pub objection_deadline: NaiveDate,
    pub publication_date: Option<NaiveDate>,
    /// While the year is in publicity: how and until when to object (Chinese and English);
    /// null once final.
    pub how_to_object: Option<HowToObject>,
    /// Whether the result was corrected after publication (after review, Art. 16: a correction
    /// reaches back to the original publication). A determination alone does not make it
    /// corrected: see `determined`.
    pub corrected: bool,
    /// Whether the result was changed after publication by a new determination (e.g. an
    /// Art. 11 finding: it applies from its own date, not back to publication).
    pub determined: bool,
    pub grade: GradeInfo,
    pub risk: RiskInfo,
    pub basic_score: Option<BasicScoreInfo>,
    pub risk_score: Option<String>,
    pub art11: Vec<Art11Info>,
    pub objection: Option<ObjectionInfo>,
    /// Every change, oldest first.
    pub changes: Vec<ChangeInfo>,
    /// Where the current record sits: bundle sequence and Merkle leaf index.
    pub sequence: u64,
    pub leaf_index: u64,
}

/// A serious-dishonesty listing (Art. 12).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ListingInfo {
    pub decision_number: String,
    pub reason: String,
    pub state: ListingState,
    pub in_force: bool,
    pub listed_on: NaiveDate,
    pub in_force_from: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
    /// Where the listing's inclusion proof is (relative URL, at this answer's revision): check
    /// it offline with `envcredit verify-proof --listing` (docs/verify.md).
    pub proof: String,
}

impl ListingInfo {
    /// A displayed listing, `in_force` on `on`.
    pub fn of(registry: &Registry, l: &ListingView, on: NaiveDate) -> ListingInfo {
        ListingInfo {
            decision_number: l.listing.decision_number.clone(),
            reason: l.listing.reason.clone(),
            state: l.listing.state,
            in_force: l.in_force_on(on),
            listed_on: l.listing.listed_on,
            in_force_from: l.listing.in_force_from,
            ended_on: l.listing.ended_on,
            proof: listing_proof_url(registry, &l.listing.code, &l.listing.decision_number),
        }
    }
}

/// A publicized verified violation (Art. 17).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ViolationInfo {
    pub decision_number: String,
    pub authority: String,
    pub description: String,
    pub decided_on: NaiveDate,
    /// Where the violation's inclusion proof is (relative URL, at this answer's revision):
    /// check it offline with `envcredit verify-proof --violation` (docs/verify.md).
    pub proof: String,
}

/// An institution.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct InstitutionResponse {
    pub data: DataInfo,
    /// The date the standing is answered for.
    pub as_of: NaiveDate,
    /// True when `as_of` is after today (Asia/Shanghai): answered from the data held now, which
    /// may still change before that day.
    pub provisional: bool,
    /// Unified social credit code.
    pub code: String,
    pub name: String,
    pub former_names: Vec<String>,
    pub county: Option<CountyInfo>,
    pub cma_certificate: Option<String>,
    /// The grade valid on `as_of`; null when there is none (before the first publication, or
    /// the institution has no result in the valid year).
    pub standing: Option<Standing>,
    /// Every evaluation year, newest first.
    pub years: Vec<YearInfo>,
    /// Listings displayed today (a repaired one leaves display at once; a removed one after 5
    /// years), whatever `as_of` and `revision` ask.
    pub listings: Vec<ListingInfo>,
    /// Violations displayed today (until 5 years after their decision).
    pub violations: Vec<ViolationInfo>,
}

/// One institution by unified social credit code.
#[utoipa::path(get, path = "/api/v1/institutions/{code}", tag = "institutions",
    params(("code" = inline(crate::domain::code::CreditCode), Path, description = "Unified social credit code (18 characters)"), AsOfQuery),
    responses(
        (status = 200, description = "The institution", body = InstitutionResponse),
        (status = 400, description = "Invalid code (the reason names the failed check) or date", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No institution with this code, or unknown revision", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Record withheld: it failed the integrity check", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/institutions/{code}")]
pub async fn get_institution(
    state: web::Data<AppState>,
    code: web::Path<String>,
    query: web::Query<AsOfQuery>,
) -> Result<HttpResponse> {
    let registry = state.live.at(query.revision)?;
    let today = state.clock.today();
    let as_of = query.as_of.unwrap_or(today);
    let view = institution_view(&registry, &code, as_of, today)?;
    Ok(json_ok(&view, &registry))
}

/// The institution as the API and the page show it: its standing as of `as_of`; only the
/// listings and violations displayed on `today` (docs/rules.md, "Public display limits").
pub fn institution_view(
    registry: &Registry,
    code: &str,
    as_of: NaiveDate,
    today: NaiveDate,
) -> Result<InstitutionResponse> {
    let code = CreditCode::normalize_query(code)?;
    registry.require_known()?;
    if let Some(withheld) = registry.withheld.get(code.as_str()) {
        return Err(Error::Integrity(format!("{}: {}", code, withheld.reason)));
    }
    let inst = registry
        .institutions
        .get(code.as_str())
        .ok_or_else(|| Error::NotFound(format!("institution {code}")))?;
    Ok(InstitutionResponse {
        data: DataInfo::of(registry),
        as_of,
        provisional: super::as_of::provisional(as_of, today),
        code: inst.code.clone(),
        name: inst.name.clone(),
        former_names: inst.former_names.clone(),
        county: inst.county.map(county_info),
        cma_certificate: inst.cma_certificate.clone(),
        standing: standing(registry, inst, as_of),
        years: inst
            .results
            .values()
            .rev()
            .filter_map(|r| year_info(registry, r, today))
            .collect(),
        listings: registry
            .displayed_listings(inst, today)
            .map(|l| ListingInfo::of(registry, l, as_of))
            .collect(),
        violations: registry
            .displayed_violations(inst, today)
            .map(|v| ViolationInfo {
                decision_number: v.violation.decision_number.clone(),
                authority: v.violation.authority.clone(),
                description: v.violation.description.clone(),
                decided_on: v.violation.decided_on,
                proof: violation_proof_url(
                    registry,
                    &v.violation.code,
                    &v.violation.decision_number,
                ),
            })
            .collect(),
    })
}

fn standing(registry: &Registry, inst: &Institution, as_of: NaiveDate) -> Option<Standing> {
    let s = registry.standing(inst, as_of)?;
    let (grade, risk) = (s.version.record.grade, s.version.record.risk);
    let flag = bid_flag(grade, risk);
    Some(Standing {
        year: s.validity.year,
        grade: grade_info(grade),
        risk: risk_info(risk),
        valid_from: s.validity.valid_from,
        valid_until: s.validity.valid_until,
        bid_flag: flag,
        bid_rule_zh: flag.rule_zh().to_string(),
        bid_rule_en: flag.rule_en().to_string(),
        inspection_tier: inspection_tier(grade, risk),
        joint_punishment_result: joint_punishment_result(grade, risk),
    })
}

fn year_info(registry: &Registry, result: &YearResult, today: NaiveDate) -> Option<YearInfo> {
    let year = registry.years.get(&result.year)?;
    let current = result.current()?;
    let r = &current.record;
    let status = year.status();
    let mut changes = Vec::new();
    let mut previous = result.versions.first().map(|v| &v.record);
    for v in result.changes() {
        if let (Some(change), Some(before)) = (&v.record.change, previous) {
            changes.push(change_info(change, v.sequence, before, &v.record));
        }
        previous = Some(&v.record);
    }
    let final_with = |kind| status == YearStatus::Final && result.changed_by(kind);
    Some(YearInfo {
        year: result.year,
        status,
        publicity_date: year.schedule.publicity_date,
        objection_deadline: year.schedule.objection_deadline,
        how_to_object: (status == YearStatus::InPublicity)
            .then(|| HowToObject::until(year.schedule.objection_deadline)),
        publication_date: year.schedule.publication_date,
        corrected: final_with(ChangeKind::Correction),
        determined: final_with(ChangeKind::Determination),
        grade: grade_info(r.grade),
        risk: risk_info(r.risk),
        basic_score: r.basic.map(|b| BasicScoreInfo {
            total: score(b.total),
            monitoring_capability: score(b.monitoring_capability),
            information_registration: score(b.information_registration),
            business_management: score(b.business_management),
            integrity_record: score(b.integrity_record),
            bonus: score(b.bonus),
            local: score(b.local),
        }),
        risk_score: r.risk_score.map(score),
        art11: r
            .art11
            .iter()
            .map(|f| Art11Info {
                ground: f.ground.number(),
                summary_zh: f.ground.summary_zh().to_string(),
                summary_en: f.ground.summary_en().to_string(),
                description: f.description.clone(),
                determined_on: f.determined_on,
            })
            .collect(),
        objection: r.objection.as_ref().map(|o| ObjectionInfo::of(o, today)),
        changes,
        sequence: current.sequence,
        leaf_index: current.leaf_index,
    })
}

/// One change: what the record said before it (`before`) and what it set (`after`, the record
/// the change came with).
fn change_info(
    change: &Change,
    sequence: u64,
    before: &EvaluationRecord,
    after: &EvaluationRecord,
) -> ChangeInfo {
    ChangeInfo {
        kind: change.kind,
        decision_date: change.decision_date,
        effective_from: change.effective_from,
        reason: change.reason.clone(),
        reference: change.reference.clone(),
        sequence,
        from: GradeAndRisk::of(before),
        to: GradeAndRisk::of(after),
        previous_grade: before.grade,
        previous_risk: before.risk,
    }
}

pub fn grade_info(grade: Grade) -> GradeInfo {
    let colour = grade.colour();
    GradeInfo {
        letter: grade,
        word_zh: grade.word_zh().to_string(),
        word_en: grade.word_en().to_string(),
        colour,
        colour_zh: colour.name_zh().to_string(),
        colour_hex: colour.hex().to_string(),
        text_hex: colour.text_hex().to_string(),
    }
}

pub fn risk_info(risk: RiskLevel) -> RiskInfo {
    RiskInfo {
        level: risk,
        word_zh: risk.word_zh().to_string(),
        word_en: risk.word_en().to_string(),
    }
}

pub fn county_info(county: County) -> CountyInfo {
    CountyInfo {
        code: county.code().to_string(),
        name_zh: county.name_zh().to_string(),
        name_en: county.name_en().to_string(),
    }
}

pub fn score(hundredths: i64) -> String {
    Score::from_hundredths(hundredths).to_string()
}
