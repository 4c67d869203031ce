//! Partner agencies (Art. 20, joint punishment 联合惩戒): `POST /api/v1/joint-punishment/batch`
//! checks up to 1,000 codes against the serious-dishonesty list in force and the D/E + high-risk
//! results (inferred), as of a date.

use actix_web::{post, web, HttpResponse};
use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::flags::{
    lookup_on, no_valid_grade, valid_grade, BatchRequest, Lookup, ValidGrade, WITHHELD_DETAIL,
};
use super::institutions::{Art11Info, ListingInfo};
use super::receipts::{self, ReceiptQuery};
use super::{as_of, json_ok, DataInfo};
use crate::bundle::Dataset;
use crate::domain::consequences::joint_punishment_result;
use crate::domain::text;
use crate::read::{Institution, Registry};
use crate::receipt::Envelope;
use crate::web::{AppState, Problem};
use crate::Result;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(joint_punishment_batch);
}

/// What the answer for a code is. `found`: a known institution (the other fields say what
/// applies; it may have no valid grade on the date); `not_found`: no institution with this
/// code; `invalid_code`: not a unified social credit code (`reason` names the failed check);
/// `withheld`: the answer depends on stored data that failed its integrity check (the
/// institution's own records, or a bundle the registry can no longer verify): not shown, and
/// never an older answer in its place; `not_displayed`: an issued listing of the institution on
/// the serious-dishonesty list was in force on the date and has since left public display under
/// the display rules (docs/rules.md: repaired, or removed): the registry says so instead of "not
/// on the list", and shows nothing else (`reason` is `left_display`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JointStatus {
    Found,
    NotFound,
    InvalidCode,
    Withheld,
    NotDisplayed,
}

/// The detail of a `not_displayed` answer.
pub const NOT_DISPLAYED_DETAIL: &str = "an issued listing on the serious-dishonesty list was in \
force on this date and has since left public display under the display rules (repaired, or \
removed); nothing more about it is shown";

/// The joint-punishment check of one code.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JointItem {
    /// The code as given.
    pub code: String,
    /// The date answered for.
    pub as_of: NaiveDate,
    /// True when `as_of` is after today (Asia/Shanghai): answered from the data held now, which
    /// may still change before that day.
    pub provisional: bool,
    pub status: JointStatus,
    /// For `invalid_code`: the failed check (`length`, `invalid_character`,
    /// `division_not_digits`, `check_character`); for `withheld`: `integrity`; for
    /// `not_displayed`: `left_display`; for `found` without a valid grade on the date:
    /// `no_published_year` or `no_result_in_valid_year`.
    pub reason: Option<String>,
    /// The reason in words.
    pub detail: Option<String>,
    /// The institution's name, when it is known.
    pub name: Option<String>,
    /// Whether an issued (签发) listing on the serious-dishonesty list is in force on the date;
    /// null unless `found` (a listing in force on the date that has left display since makes
    /// the answer `not_displayed`, never `false`).
    pub on_dishonesty_list_in_force: Option<bool>,
    /// Whether the grade valid on the date is D or E with high risk (a joint-punishment result,
    /// inferred from Art. 19, 20); false without a valid grade; null unless `found`.
    pub de_high_risk: Option<bool>,
    /// The grade valid on the date that `de_high_risk` comes from; null when there is none.
    pub valid_grade: Option<ValidGrade>,
    /// Art. 11 findings of that valid result (directly E and high risk); empty when there are
    /// none.
    pub art11: Vec<Art11Info>,
    /// The institution's listings on the serious-dishonesty list displayed today, with their
    /// state and dates; `in_force` is as of the date; `proof` links each to the proof of its
    /// signed record (so a receipt signs where to check it).
    pub listings: Vec<ListingInfo>,
}

/// The answers of a batch, in the order of the request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct JointBatchResponse {
    pub data: DataInfo,
    /// Number of items.
    pub total: usize,
    pub items: Vec<JointItem>,
    /// With `receipt`: this answer signed by the registry (its `answers` are exactly `items`);
    /// absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Envelope>,
}

/// The answer for `code` (as given: echoed bounded and escaped) on `as_of`, asked on `today`,
/// with nothing but its status set.
fn item(code: &str, as_of: NaiveDate, today: NaiveDate, status: JointStatus) -> JointItem {
    JointItem {
        code: text::echo(code).into_owned(),
        as_of,
        provisional: as_of::provisional(as_of, today),
        status,
        reason: None,
        detail: None,
        name: None,
        on_dishonesty_list_in_force: None,
        de_high_risk: None,
        valid_grade: None,
        art11: Vec::new(),
        listings: Vec::new(),
    }
}

fn found(
    registry: &Registry,
    inst: &Institution,
    code: &str,
    on: NaiveDate,
    today: NaiveDate,
) -> JointItem {
    let displayed_in_force = registry
        .displayed_listings(inst, today)
        .any(|l| l.in_force_on(on));
    let hidden_in_force = inst
        .listings
        .iter()
        .any(|l| l.in_force_on(on) && !registry.listing_displayed(l, today));
    if hidden_in_force && !displayed_in_force {
        return JointItem {
            reason: Some("left_display".into()),
            detail: Some(NOT_DISPLAYED_DETAIL.into()),
            name: Some(inst.name.clone()),
            ..item(code, on, today, JointStatus::NotDisplayed)
        };
    }
    let standing = registry.standing(inst, on);
    let (reason, detail) = match &standing {
        Some(_) => (None, None),
        None => {
            let (reason, detail) = no_valid_grade(registry, inst, on);
            (Some(reason), Some(detail))
        }
    };
    let record = standing.as_ref().map(|s| &s.version.record);
    JointItem {
        reason,
        detail,
        name: Some(inst.name.clone()),
        on_dishonesty_list_in_force: Some(displayed_in_force),
        de_high_risk: Some(record.is_some_and(|r| joint_punishment_result(r.grade, r.risk))),
        valid_grade: standing.as_ref().map(valid_grade),
        art11: record
            .map(|r| {
                r.art11
                    .iter()
                    .map(|f| Art11Info {
                        ground: f.ground.number(),
                        summary_zh: f.ground.summary_zh().to_string(),
                        summary_en: f.ground.summary_en().to_string(),
                        description: f.description.clone(),
                        determined_on: f.determined_on,
                    })
                    .collect()
            })
            .unwrap_or_default(),
        listings: registry
            .displayed_listings(inst, today)
            .map(|l| ListingInfo::of(registry, l, on))
            .collect(),
        ..item(code, on, today, JointStatus::Found)
    }
}

/// Joint-punishment check (Art. 20) of up to 1,000 codes in one request (codes in the body),
/// each as of its own date or the batch's (default today): whether the institution is on the
/// serious-dishonesty list in force, whether its valid grade is D/E with high risk, the Art. 11
/// reasons of that result and the listing decision numbers and dates. Same body as
/// `POST /api/v1/flags/batch`. With `receipt` (in the body or the query) the answer also carries
/// a `receipt` signed by the registry (docs/receipts.md).
#[utoipa::path(post, path = "/api/v1/joint-punishment/batch", tag = "joint-punishment",
    params(ReceiptQuery),
    request_body = BatchRequest,
    responses(
        (status = 200, description = "One answer per item, in order", body = JointBatchResponse),
        (status = 400, description = "Not a valid batch: bad JSON, both or neither of `items` and `codes`, or more than 1,000 codes", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown revision, or a receipt asked for from a registry that issues none (`receipts-unavailable`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body not sent as `application/json`", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/api/v1/joint-punishment/batch")]
pub async fn joint_punishment_batch(
    state: web::Data<AppState>,
    query: web::Query<ReceiptQuery>,
    body: web::Json<BatchRequest>,
) -> Result<HttpResponse> {
    let body = body.into_inner();
    let receipt_key = (query.receipt || body.receipt())
        .then(|| receipts::key(&state))
        .transpose()?;
    let registry = state.live.at(body.revision())?;
    let today = state.clock.today();
    let question = body.question("POST /api/v1/joint-punishment/batch");
    let batch_as_of = body.as_of(today);
    let items: Vec<JointItem> = body
        .dated_items(today)?
        .into_iter()
        .map(|(code, as_of)| {
            let unknown = registry.unknown_on(as_of).is_some()
                || registry.unknown_for(Dataset::DishonestyList).is_some();
            (code, as_of, unknown)
        })
        .map(
            |(code, as_of, unknown)| match lookup_on(&registry, &code, unknown) {
                Lookup::Found(inst) => found(&registry, inst, &code, as_of, today),
                Lookup::NotFound => item(&code, as_of, today, JointStatus::NotFound),
                Lookup::Invalid(e) => JointItem {
                    reason: Some(e.code().to_string()),
                    detail: Some(e.to_string()),
                    ..item(&code, as_of, today, JointStatus::InvalidCode)
                },
                Lookup::Withheld => JointItem {
                    reason: Some("integrity".into()),
                    detail: Some(WITHHELD_DETAIL.into()),
                    ..item(&code, as_of, today, JointStatus::Withheld)
                },
            },
        )
        .collect();
    let mut response = JointBatchResponse {
        data: DataInfo::of(&registry),
        total: items.len(),
        items,
        receipt: None,
    };
    let Some(key) = receipt_key else {
        return Ok(json_ok(&response, &registry));
    };
    response.receipt = Some(receipts::issue(
        &state,
        key,
        &registry,
        question,
        batch_as_of,
        &response.items,
    )?);
    Ok(receipts::not_cached(json_ok(&response, &registry)))
}
