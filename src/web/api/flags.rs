//! Procurement platforms (Art. 18, 19): the bid flag of a code as of a date, one at a time
//! (`GET /api/v1/flags/{code}`), in batches of up to 1,000 (`POST /api/v1/flags/batch`) and as a
//! CSV of every current flag (`GET /api/v1/flags.csv`).
//!
//! Only a final grade valid on the date gives a flag: before the first publication, or while the
//! only results are in publicity, or for an institution absent from the valid year, the answer
//! is `no_valid_grade` with the reason — never a flag from the clock or from an old year.

use actix_web::{get, post, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::institutions::{county_info, grade_info, risk_info, GradeInfo, RiskInfo};
use super::receipts::{self, ReceiptQuery};
use super::{as_of, csv_ok, json_ok, CsvQuery, DataInfo};
use crate::bundle::records::ChangeKind;
use crate::domain::code::{CodeError, CreditCode};
use crate::domain::consequences::{bid_flag, BidFlag};
use crate::domain::text;
use crate::read::{Institution, Registry, Standing};
use crate::receipt::{Envelope, Question, QuestionItem};
use crate::web::{AppState, Problem};
use crate::{Error, Result};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(flags_batch)
        .service(flags_csv)
        .service(get_flag);
}

/// The most codes one batch may hold.
pub const MAX_BATCH: usize = 1_000;

/// What the answer for a code is. `found`: a final grade valid on the date, with its flag;
/// `no_valid_grade`: a known institution without a valid grade on the date (`reason` and
/// `detail` say why; no flag applies); `not_found`: no institution with this code;
/// `invalid_code`: not a unified social credit code (`reason` names the failed check);
/// `withheld`: the answer depends on stored data that failed its integrity check (the
/// institution's own records, or a bundle the registry can no longer verify): not shown, and
/// never an older answer in its place.
/// `GET /api/v1/flags/{code}` answers only `found` or `no_valid_grade` (the others are 4xx/5xx).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FlagStatus {
    Found,
    NoValidGrade,
    NotFound,
    InvalidCode,
    Withheld,
}

/// A change that the applied record carries (it replaced the originally published one).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AppliedChange {
    /// "correction" (after review, Art. 16; applies from the original publication) or
    /// "determination" (e.g. a new Art. 11 finding; applies from `effective_from`).
    pub kind: ChangeKind,
    pub decision_date: NaiveDate,
    pub effective_from: NaiveDate,
    pub reason: String,
    /// Decision number.
    pub reference: String,
}

/// The final grade valid on the date and where it comes from (Art. 18).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ValidGrade {
    /// The evaluation year.
    #[schema(example = 2024)]
    pub year: i32,
    pub grade: GradeInfo,
    pub risk: RiskInfo,
    /// The year's publication date: valid from this day, inclusive.
    #[schema(example = "2024-10-25")]
    pub valid_from: NaiveDate,
    /// The next year's publication date, from which this grade has lapsed (exclusive); null
    /// while no later year is published.
    pub valid_until: Option<NaiveDate>,
    /// Set when the record that applies on the date is a changed version (correction or
    /// determination); null when it is the originally published one.
    pub change: Option<AppliedChange>,
    /// The bundle (data revision) that carried the applied record.
    pub record_sequence: u64,
}

/// The flag part of an answer; everything but `status` is null when it does not apply.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagAnswer {
    pub status: FlagStatus,
    /// For `no_valid_grade`: `no_published_year` or `no_result_in_valid_year`; for
    /// `invalid_code`: the failed check (`length`, `invalid_character`, `division_not_digits`,
    /// `check_character`); for `withheld`: `integrity`. Null for `found` and `not_found`.
    pub reason: Option<String>,
    /// The reason in words, e.g. "no evaluation year was published on 2024-10-24".
    pub detail: Option<String>,
    /// The institution's name (from its latest final record), when it is known.
    pub name: Option<String>,
    /// The bid flag; null unless `found`.
    pub bid_flag: Option<BidFlag>,
    /// The rule of Art. 19 applied, in Chinese (names its force: 鼓励 or 应); null unless `found`.
    pub rule_zh: Option<String>,
    /// The rule of Art. 19 applied, in English; null unless `found`.
    #[schema(
        example = "Art. 19: grade A or B with low risk — bid bonus and priority in commendations are encouraged (鼓励)"
    )]
    pub rule_en: Option<String>,
    /// The valid grade the flag comes from; null unless `found`.
    pub valid_grade: Option<ValidGrade>,
}

/// The bid flag of one institution as of a date.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagResponse {
    pub data: DataInfo,
    /// The date answered for.
    #[schema(example = "2025-01-10")]
    pub as_of: NaiveDate,
    /// True when `as_of` is after today (Asia/Shanghai): answered from the data held now, which
    /// may still change before that day.
    pub provisional: bool,
    /// Unified social credit code (normalized: uppercase, trimmed).
    #[schema(example = "91330402MA0000001U")]
    pub code: String,
    #[serde(flatten)]
    pub answer: FlagAnswer,
    /// With `receipt=true`: this answer signed by the registry (its `answers` hold this answer
    /// without `data` and `receipt`); absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Envelope>,
}

/// The query parameters of `GET /api/v1/flags/{code}`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FlagQuery {
    /// The date (Asia/Shanghai, exactly `YYYY-MM-DD`, 2000-01-01 to 2099-12-31) to answer for,
    /// e.g. a bid deadline; default today. A date after today is answered as `provisional`.
    #[param(value_type = Option<crate::web::api::as_of::AsOfDate>, inline)]
    #[serde(default, deserialize_with = "crate::web::api::as_of::optional")]
    pub as_of: Option<NaiveDate>,
    /// Answer from this earlier data revision (a bundle sequence number), reproducing what the
    /// registry said then; default the current one.
    pub revision: Option<u64>,
    /// `true` to add a signed `receipt` of the answer (docs/receipts.md).
    #[serde(default)]
    pub receipt: bool,
}

/// One code of a batch, with an optional date of its own.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchItem {
    /// Unified social credit code; lowercase and surrounding spaces are accepted.
    #[schema(example = "91330402MA0000001U")]
    pub code: String,
    /// The date for this code (e.g. its bid deadline), exactly `YYYY-MM-DD`, 2000-01-01 to
    /// 2099-12-31; default the batch's `as_of`.
    #[schema(value_type = Option<crate::web::api::as_of::AsOfDate>, inline)]
    #[serde(default, deserialize_with = "crate::web::api::as_of::optional")]
    pub as_of: Option<NaiveDate>,
}

/// A batch of up to 1,000 codes, in the body, in one of two forms: `items` (codes with optional
/// dates of their own) or `codes` (codes only). Exactly one of the two is given.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged, try_from = "RawBatch")]
#[schema(example = json!({"as_of": "2025-01-10", "codes": ["91330402MA0000001U"]}))]
pub enum BatchRequest {
    Items(ItemsBatch),
    Codes(CodesBatch),
}

/// Codes with optional dates of their own.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemsBatch {
    /// The date for every item without its own (exactly `YYYY-MM-DD`, 2000-01-01 to
    /// 2099-12-31); default today (Asia/Shanghai). A date after today is answered as
    /// `provisional`.
    #[schema(value_type = Option<crate::web::api::as_of::AsOfDate>, inline)]
    pub as_of: Option<NaiveDate>,
    /// Answer from this earlier data revision (a bundle sequence number); default the current.
    pub revision: Option<u64>,
    /// At most 1,000.
    #[schema(max_items = 1000)]
    pub items: Vec<BatchItem>,
    /// `true` to add a signed `receipt` of the answer (also `?receipt=true`).
    #[serde(default)]
    pub receipt: bool,
}

/// Codes only.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodesBatch {
    /// The date for every code (exactly `YYYY-MM-DD`, 2000-01-01 to 2099-12-31); default today
    /// (Asia/Shanghai). A date after today is answered as `provisional`.
    #[schema(value_type = Option<crate::web::api::as_of::AsOfDate>, inline)]
    pub as_of: Option<NaiveDate>,
    /// Answer from this earlier data revision (a bundle sequence number); default the current.
    pub revision: Option<u64>,
    /// Unified social credit codes (lowercase and surrounding spaces are accepted); at most
    /// 1,000.
    #[schema(max_items = 1000, example = json!(["91330402MA0000001U"]))]
    pub codes: Vec<String>,
    /// `true` to add a signed `receipt` of the answer (also `?receipt=true`).
    #[serde(default)]
    pub receipt: bool,
}

/// The body as sent, so that a wrong one gets a precise message (an untagged enum would only
/// say that nothing matched). Only a JSON object: serde's derive alone would also fill the
/// fields from a list, by position, and `[1, 2]` would then be answered as "expected a string"
/// about its first element instead of "expected an object, found a list".
struct RawBatch(RawFields);

impl<'de> Deserialize<'de> for RawBatch {
    fn deserialize<D>(deserializer: D) -> std::result::Result<Self, D::Error>
    where
        D: serde::Deserializer<'de>,
    {
        struct ObjectOnly;
        impl<'de> serde::de::Visitor<'de> for ObjectOnly {
            type Value = RawFields;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                // "struct …" is what the error mapping (api::extract) recognises as the body as
                // a whole being the wrong kind of value.
                f.write_str("struct RawBatch")
            }
            fn visit_map<A>(self, map: A) -> std::result::Result<RawFields, A::Error>
            where
                A: serde::de::MapAccess<'de>,
            {
                RawFields::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer.deserialize_map(ObjectOnly).map(RawBatch)
    }
}

/// The fields of a batch body, before deciding which of the two forms it is.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFields {
    #[serde(default, deserialize_with = "crate::web::api::as_of::optional")]
    as_of: Option<NaiveDate>,
    #[serde(default, deserialize_with = "revision_number")]
    revision: Option<u64>,
    #[serde(default, deserialize_with = "present")]
    items: Option<Vec<BatchItem>>,
    #[serde(default, deserialize_with = "present")]
    codes: Option<Vec<String>>,
    #[serde(default)]
    receipt: bool,
}

/// A field that may be absent but, when given, is not null.
fn present<'de, D, T>(deserializer: D) -> std::result::Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// A revision as JSON Schema counts integers: `7`, and also `7.0`.
fn revision_number<'de, D>(deserializer: D) -> std::result::Result<Option<u64>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    use serde::de::Error as _;
    let Some(number) = Option::<serde_json::Number>::deserialize(deserializer)? else {
        return Ok(None);
    };
    let integral = number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.fract() == 0.0 && (0.0..u64::MAX as f64).contains(f))
            .map(|f| f as u64)
    });
    integral.map(Some).ok_or_else(|| {
        D::Error::custom(format!(
            "revision: expected a non-negative integer, found {number}"
        ))
    })
}

impl TryFrom<RawBatch> for BatchRequest {
    type Error = String;

    fn try_from(RawBatch(raw): RawBatch) -> std::result::Result<BatchRequest, String> {
        let (as_of, revision, receipt) = (raw.as_of, raw.revision, raw.receipt);
        match (raw.items, raw.codes) {
            (Some(items), None) => Ok(BatchRequest::Items(ItemsBatch {
                as_of,
                revision,
                items,
                receipt,
            })),
            (None, Some(codes)) => Ok(BatchRequest::Codes(CodesBatch {
                as_of,
                revision,
                codes,
                receipt,
            })),
            (Some(_), Some(_)) => Err("give either `items` or `codes`, not both".into()),
            (None, None) => {
                Err("give the codes as `items` (with optional dates) or as `codes`".into())
            }
        }
    }
}

impl BatchRequest {
    /// The data revision asked for.
    pub fn revision(&self) -> Option<u64> {
        match self {
            BatchRequest::Items(b) => b.revision,
            BatchRequest::Codes(b) => b.revision,
        }
    }

    /// Whether the body asks for a signed receipt.
    pub fn receipt(&self) -> bool {
        match self {
            BatchRequest::Items(b) => b.receipt,
            BatchRequest::Codes(b) => b.receipt,
        }
    }

    /// The question as asked, for a receipt (`endpoint`: method and path template).
    pub fn question(&self, endpoint: &str) -> Question {
        let (as_of, revision, items) = match self {
            BatchRequest::Items(b) => (
                b.as_of,
                b.revision,
                b.items
                    .iter()
                    .map(|i| QuestionItem {
                        as_of: i.as_of,
                        code: text::echo(&i.code).into_owned(),
                    })
                    .collect(),
            ),
            BatchRequest::Codes(b) => (
                b.as_of,
                b.revision,
                b.codes
                    .iter()
                    .map(|code| QuestionItem {
                        as_of: None,
                        code: text::echo(code).into_owned(),
                    })
                    .collect(),
            ),
        };
        Question {
            as_of,
            endpoint: endpoint.to_string(),
            items,
            revision,
        }
    }

    /// The batch's date: its `as_of`, default `today`.
    pub fn as_of(&self, today: NaiveDate) -> NaiveDate {
        match self {
            BatchRequest::Items(b) => b.as_of,
            BatchRequest::Codes(b) => b.as_of,
        }
        .unwrap_or(today)
    }

    /// The items, each with the date it is answered for; a clear 400 beyond [`MAX_BATCH`].
    pub fn dated_items(self, today: NaiveDate) -> Result<Vec<(String, NaiveDate)>> {
        let count = match &self {
            BatchRequest::Items(b) => b.items.len(),
            BatchRequest::Codes(b) => b.codes.len(),
        };
        if count > MAX_BATCH {
            return Err(Error::BadRequest(format!(
                "a batch holds at most {MAX_BATCH} codes; this one has {count}"
            )));
        }
        Ok(match self {
            BatchRequest::Items(b) => {
                let default = b.as_of.unwrap_or(today);
                b.items
                    .into_iter()
                    .map(|item| (item.code, item.as_of.unwrap_or(default)))
                    .collect()
            }
            BatchRequest::Codes(b) => {
                let on = b.as_of.unwrap_or(today);
                b.codes.into_iter().map(|code| (code, on)).collect()
            }
        })
    }
}

/// The answer for one code of a batch.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagItem {
    /// The code as given.
    pub code: String,
    /// The date answered for.
    pub as_of: NaiveDate,
    /// True when `as_of` is after today (Asia/Shanghai): answered from the data held now, which
    /// may still change before that day.
    pub provisional: bool,
    #[serde(flatten)]
    pub answer: FlagAnswer,
}

/// The answers of a batch, in the order of the request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FlagsBatchResponse {
    pub data: DataInfo,
    /// Number of items.
    pub total: usize,
    pub items: Vec<FlagItem>,
    /// With `receipt`: this answer signed by the registry (its `answers` are exactly `items`);
    /// absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receipt: Option<Envelope>,
}

/// What a code names in the registry.
pub enum Lookup<'a> {
    Invalid(CodeError),
    NotFound,
    Withheld,
    Found(&'a Institution),
}

/// Looks a code up as a user typed it (trimmed, uppercased, then checked strictly).
pub fn lookup<'a>(registry: &'a Registry, given: &str) -> Lookup<'a> {
    let code = match CreditCode::normalize_query(given) {
        Ok(code) => code,
        Err(e) => return Lookup::Invalid(e),
    };
    if registry.withheld.contains_key(code.as_str()) {
        return Lookup::Withheld;
    }
    match registry.institutions.get(code.as_str()) {
        Some(inst) => Lookup::Found(inst),
        None => Lookup::NotFound,
    }
}

/// [`lookup`], for an answer that depends on data the registry cannot vouch for when `unknown`
/// (see [`crate::read::Unknown`]): every well-formed code is then withheld, since the unverified
/// bundles may have added, changed or removed it.
pub fn lookup_on<'a>(registry: &'a Registry, given: &str, unknown: bool) -> Lookup<'a> {
    match lookup(registry, given) {
        Lookup::Invalid(e) => Lookup::Invalid(e),
        _ if unknown => Lookup::Withheld,
        found => found,
    }
}

/// The detail given for a withheld answer.
pub const WITHHELD_DETAIL: &str =
    "withheld: the stored data this answer depends on does not match its signed, verified form";

/// The valid grade an answer reports.
pub fn valid_grade(standing: &Standing<'_>) -> ValidGrade {
    let record = &standing.version.record;
    ValidGrade {
        year: standing.validity.year,
        grade: grade_info(record.grade),
        risk: risk_info(record.risk),
        valid_from: standing.validity.valid_from,
        valid_until: standing.validity.valid_until,
        change: record.change.as_ref().map(|c| AppliedChange {
            kind: c.kind,
            decision_date: c.decision_date,
            effective_from: c.effective_from,
            reason: c.reason.clone(),
            reference: c.reference.clone(),
        }),
        record_sequence: standing.version.sequence,
    }
}

/// Why a known institution has no valid grade on `on`: a stable id and the reason in words.
pub fn no_valid_grade(registry: &Registry, inst: &Institution, on: NaiveDate) -> (String, String) {
    // Years publicized but not yet published on `on` (as known now): shown, never valid.
    let in_publicity = registry.years.values().filter(|y| {
        y.schedule.publicity_date <= on && y.schedule.publication_date.is_none_or(|p| p > on)
    });
    let Some(validity) = registry.valid_year(on) else {
        let mut detail = format!("no evaluation year was published on {on}");
        for y in in_publicity {
            detail.push_str(&format!(
                "; {} was in publicity (公示) from {}, and results in publicity give no valid grade or flag",
                y.year, y.schedule.publicity_date
            ));
        }
        return ("no_published_year".into(), detail);
    };
    let window = match validity.valid_until {
        Some(until) => format!("{} until {until}", validity.valid_from),
        None => format!("{} on", validity.valid_from),
    };
    let mut detail = match inst
        .results
        .get(&validity.year)
        .and_then(|r| r.versions.first())
        .and_then(|v| v.record.change.as_ref())
    {
        Some(change) => format!(
            "its result in the valid year {} applies only from {} (valid year from {window})",
            validity.year, change.effective_from
        ),
        None => format!(
            "no result in the valid year {} (valid from {window}); an institution absent from \
             the valid year has no valid grade (Art. 18)",
            validity.year
        ),
    };
    for y in in_publicity.filter(|y| inst.results.contains_key(&y.year)) {
        detail.push_str(&format!(
            "; its {} result was in publicity (公示) and gives no valid grade or flag until published",
            y.year
        ));
    }
    ("no_result_in_valid_year".into(), detail)
}

/// The flag answer for a known institution on a date.
fn answer_for(registry: &Registry, inst: &Institution, on: NaiveDate) -> FlagAnswer {
    match registry.standing(inst, on) {
        Some(standing) => {
            let record = &standing.version.record;
            let flag = bid_flag(record.grade, record.risk);
            FlagAnswer {
                status: FlagStatus::Found,
                reason: None,
                detail: None,
                name: Some(inst.name.clone()),
                bid_flag: Some(flag),
                rule_zh: Some(flag.rule_zh().to_string()),
                rule_en: Some(flag.rule_en().to_string()),
                valid_grade: Some(valid_grade(&standing)),
            }
        }
        None => {
            let (reason, detail) = no_valid_grade(registry, inst, on);
            FlagAnswer {
                status: FlagStatus::NoValidGrade,
                reason: Some(reason),
                detail: Some(detail),
                name: Some(inst.name.clone()),
                ..empty(FlagStatus::NoValidGrade)
            }
        }
    }
}

fn empty(status: FlagStatus) -> FlagAnswer {
    FlagAnswer {
        status,
        reason: None,
        detail: None,
        name: None,
        bid_flag: None,
        rule_zh: None,
        rule_en: None,
        valid_grade: None,
    }
}

/// The bid flag of one institution as of a date (default today): `bonus` (A/B and low risk),
/// `penalty` (D/E and high risk) or `none`, with the valid grade it comes from, its validity
/// window and the rule applied; or `no_valid_grade` with the reason. With `receipt=true` the
/// answer also carries a `receipt` signed by the registry (docs/receipts.md).
#[utoipa::path(get, path = "/api/v1/flags/{code}", tag = "flags",
    params(("code" = inline(crate::domain::code::CreditCode), Path, description = "Unified social credit code (18 characters)"), FlagQuery),
    responses(
        (status = 200, description = "The flag, or `no_valid_grade` with the reason", body = FlagResponse),
        (status = 400, description = "Invalid code (the reason names the failed check) or parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No institution with this code, or unknown revision, or a receipt asked for from a registry that issues none (`receipts-unavailable`)", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Record withheld: it failed the integrity check", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/flags/{code}")]
pub async fn get_flag(
    state: web::Data<AppState>,
    code: web::Path<String>,
    query: web::Query<FlagQuery>,
) -> Result<HttpResponse> {
    let receipt_key = query.receipt.then(|| receipts::key(&state)).transpose()?;
    let registry = state.live.at(query.revision)?;
    let today = state.clock.today();
    let as_of = query.as_of.unwrap_or(today);
    let provisional = as_of::provisional(as_of, today);
    if let (Some(unknown), Ok(_)) = (
        registry.unknown_on(as_of),
        CreditCode::normalize_query(&code),
    ) {
        // Even "not found" is unknown: the unverified bundles may hold the code.
        return Err(unknown.error());
    }
    let inst = match lookup(&registry, &code) {
        Lookup::Found(inst) => inst,
        Lookup::Invalid(e) => return Err(e.into()),
        Lookup::NotFound => return Err(Error::NotFound(format!("institution {}", code.trim()))),
        Lookup::Withheld => return Err(Error::Integrity(code.trim().to_string())),
    };
    let mut body = FlagResponse {
        data: DataInfo::of(&registry),
        as_of,
        provisional,
        code: inst.code.clone(),
        answer: answer_for(&registry, inst, as_of),
        receipt: None,
    };
    let Some(key) = receipt_key else {
        return Ok(json_ok(&body, &registry));
    };
    let question = Question {
        as_of: query.as_of,
        endpoint: "GET /api/v1/flags/{code}".to_string(),
        items: vec![QuestionItem {
            as_of: None,
            code: text::echo(&code).into_owned(),
        }],
        revision: query.revision,
    };
    // The one item of this answer: the answer without `data` (and `receipt`), as a batch item.
    let item = FlagItem {
        code: body.code.clone(),
        as_of,
        provisional,
        answer: body.answer.clone(),
    };
    body.receipt = Some(receipts::issue(
        &state,
        key,
        &registry,
        question,
        as_of,
        &[item],
    )?);
    Ok(receipts::not_cached(json_ok(&body, &registry)))
}

/// Bid flags for up to 1,000 codes in one request (codes in the body, not the URL), each as of
/// its own date or the batch's (default today). Each item has its own status: `found`,
/// `no_valid_grade`, `not_found`, `invalid_code` (with the failed check) or `withheld`. With
/// `receipt` (in the body or the query) the answer also carries a `receipt` signed by the
/// registry (docs/receipts.md).
#[utoipa::path(post, path = "/api/v1/flags/batch", tag = "flags",
    params(ReceiptQuery),
    request_body = BatchRequest,
    responses(
        (status = 200, description = "One answer per item, in order", body = FlagsBatchResponse),
        (status = 400, description = "Not a valid batch: bad JSON, both or neither of `items` and `codes`, or more than 1,000 codes", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown revision, or a receipt asked for from a registry that issues none (`receipts-unavailable`)", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than 256 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body not sent as `application/json`", body = Problem, content_type = "application/problem+json"),
    ))]
#[post("/api/v1/flags/batch")]
pub async fn flags_batch(
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
    let question = body.question("POST /api/v1/flags/batch");
    let batch_as_of = body.as_of(today);
    let items = body.dated_items(today)?;
    let items: Vec<FlagItem> = items
        .into_iter()
        .map(|(code, as_of)| {
            let answer = match lookup_on(&registry, &code, registry.unknown_on(as_of).is_some()) {
                Lookup::Found(inst) => answer_for(&registry, inst, as_of),
                Lookup::NotFound => empty(FlagStatus::NotFound),
                Lookup::Invalid(e) => FlagAnswer {
                    reason: Some(e.code().to_string()),
                    detail: Some(e.to_string()),
                    ..empty(FlagStatus::InvalidCode)
                },
                Lookup::Withheld => FlagAnswer {
                    reason: Some("integrity".into()),
                    detail: Some(WITHHELD_DETAIL.into()),
                    ..empty(FlagStatus::Withheld)
                },
            };
            FlagItem {
                code: text::echo(&code).into_owned(),
                as_of,
                provisional: as_of::provisional(as_of, today),
                answer,
            }
        })
        .collect();
    let mut response = FlagsBatchResponse {
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

/// A row of the flags CSV.
#[derive(Debug, Serialize)]
struct FlagCsv<'a> {
    code: &'a str,
    name: &'a str,
    county_code: String,
    county: String,
    year: i32,
    grade: String,
    risk: &'static str,
    bid_flag: &'static str,
    valid_from: NaiveDate,
    valid_until: Option<NaiveDate>,
    as_of: NaiveDate,
    provisional: bool,
    revision: Option<u64>,
}

/// Every institution with a valid grade on the date (default today), one row each, by code, as
/// UTF-8 CSV with a header row. Columns: `code`, `name`, `county_code` (e.g. 330402), `county`
/// (e.g. 南湖区), `year` (the valid evaluation year), `grade` (A–E), `risk` (low, medium, high),
/// `bid_flag` (bonus, penalty, none), `valid_from`, `valid_until` (empty while no later year is
/// published), `as_of` (the date answered for), `provisional` (`true` when `as_of` is after today:
/// data arriving before that date may change the row), `revision` (the data revision's sequence
/// number).
/// Institutions without a valid grade on the date have no row. `bom=true` starts the file with
/// a UTF-8 byte-order mark for Excel.
#[utoipa::path(get, path = "/api/v1/flags.csv", tag = "flags", params(CsvQuery),
    responses(
        (status = 200, description = "UTF-8 CSV (RFC 4180): a header row, then one row per valid flag on the date. Columns: `code`, `name`, `county_code`, `county`, `year`, `grade`, `risk`, `bid_flag`, `valid_from`, `valid_until`, `as_of`, `provisional`, `revision`. Cells that would start a spreadsheet formula begin with `'`", body = String, content_type = "text/csv"),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown revision", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/flags.csv")]
pub async fn flags_csv(
    state: web::Data<AppState>,
    query: web::Query<CsvQuery>,
) -> Result<HttpResponse> {
    let registry = state.live.at(query.revision)?;
    let today = state.clock.today();
    let as_of = query.as_of.unwrap_or(today);
    let provisional = as_of::provisional(as_of, today);
    if let Some(unknown) = registry.unknown_on(as_of) {
        return Err(unknown.error());
    }
    let revision = registry.revision.as_ref().map(|r| r.sequence);
    let rows = registry.institutions.values().filter_map(|inst| {
        let standing = registry.standing(inst, as_of)?;
        let record = &standing.version.record;
        let county = inst.county.map(county_info);
        Some(FlagCsv {
            code: &inst.code,
            name: &inst.name,
            county_code: county.as_ref().map(|c| c.code.clone()).unwrap_or_default(),
            county: county.map(|c| c.name_zh).unwrap_or_default(),
            year: standing.validity.year,
            grade: record.grade.to_string(),
            risk: record.risk.as_str(),
            bid_flag: bid_flag(record.grade, record.risk).as_str(),
            valid_from: standing.validity.valid_from,
            valid_until: standing.validity.valid_until,
            as_of,
            provisional,
            revision,
        })
    });
    csv_ok(
        &format!("envcredit-flags-{as_of}.csv"),
        &[
            "code",
            "name",
            "county_code",
            "county",
            "year",
            "grade",
            "risk",
            "bid_flag",
            "valid_from",
            "valid_until",
            "as_of",
            "provisional",
            "revision",
        ],
        rows,
        query.bom,
        &registry,
    )
}
