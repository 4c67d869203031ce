//! Verifiable by anyone: the proof of a record (its bytes, leaf index, audit path and the signed
//! manifest of its bundle), and the accepted bundles themselves, exactly as signed, with the
//! chain of signed manifests. `docs/verify.md` says how to check them without this server.
//!
//! Within the display limits (docs/rules.md): the signed manifests stay public for good, but a
//! bundle's file is served only while every record in it may still be displayed, and a listing
//! or violation is proved only while it is displayed (so a bundle file gone with a listing that
//! has left display does not take the proofs of the others with it).

use actix_web::{get, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::search::percent_encode;
use super::{json_ok, DataInfo};
use crate::bundle::proof::{signed_manifest, RecordProof};
use crate::bundle::records::Records;
use crate::bundle::{Dataset, VerifiedBundle};
use crate::domain::code::CreditCode;
use crate::domain::text;
use crate::read::{Institution, Registry};
use crate::web::{AppState, Problem};
use crate::{Error, Result};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(record_proof)
        .service(listing_proof)
        .service(violation_proof)
        .service(list_bundles)
        .service(bundle_file);
}

/// Where the proof of a listing shown in an answer is: a relative URL, at the answer's
/// revision, so that it proves the record exactly as that answer showed it.
pub fn listing_proof_url(registry: &Registry, code: &str, decision_number: &str) -> String {
    proof_url(registry, code, "listings", decision_number)
}

/// Where the proof of a violation shown in an answer is (see [`listing_proof_url`]).
pub fn violation_proof_url(registry: &Registry, code: &str, decision_number: &str) -> String {
    proof_url(registry, code, "violations", decision_number)
}

fn proof_url(registry: &Registry, code: &str, kind: &str, decision_number: &str) -> String {
    let revision = registry
        .revision
        .as_ref()
        .map_or(String::new(), |r| format!("?revision={}", r.sequence));
    format!(
        "/api/v1/institutions/{code}/{kind}/{}/proof{revision}",
        percent_encode(decision_number)
    )
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RevisionQuery {
    /// Answer from this earlier data revision; default the current one.
    pub revision: Option<u64>,
}

/// A record's proof, with the data revision it was made from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProofResponse {
    pub data: DataInfo,
    #[serde(flatten)]
    pub proof: RecordProof,
}

/// The latest accepted bundle of `dataset` in the chain.
fn latest_of(chain: &[VerifiedBundle], dataset: Dataset) -> u64 {
    chain
        .iter()
        .filter(|b| b.manifest.dataset == dataset)
        .map(|b| b.manifest.sequence)
        .max()
        .unwrap_or(0)
}

/// The bundles of the view's chain (up to its revision).
fn served_chain(registry: &Registry) -> &[VerifiedBundle] {
    let head = registry.revision.as_ref().map_or(0, |r| r.sequence);
    let end = registry
        .chain
        .iter()
        .take_while(|b| b.manifest.sequence <= head)
        .count();
    &registry.chain[..end]
}

/// The proof of an institution's current result for a year: the record as the registry shows
/// it, from the latest bundle of that year that holds it.
#[utoipa::path(get, path = "/api/v1/institutions/{code}/years/{year}/proof", tag = "verification",
    params(
        ("code" = inline(crate::domain::code::CreditCode), Path, description = "Unified social credit code (18 characters)"),
        ("year" = i32, Path, description = "Evaluation year"),
        RevisionQuery,
    ),
    responses(
        (status = 200, description = "The proof; check it offline with `envcredit verify-proof` or docs/verify.md", body = ProofResponse),
        (status = 400, description = "Invalid code or parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such institution, year result or revision", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Record withheld: it failed the integrity check", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/institutions/{code}/years/{year}/proof")]
pub async fn record_proof(
    state: web::Data<AppState>,
    path: web::Path<(String, i32)>,
    query: web::Query<RevisionQuery>,
) -> Result<HttpResponse> {
    let (code, year) = path.into_inner();
    let registry = state.live.at(query.revision)?;
    registry.require_known_dataset(crate::bundle::Dataset::Evaluation(year))?;
    let code = CreditCode::normalize_query(&code)?;
    if let Some(withheld) = registry.withheld.get(code.as_str()) {
        return Err(Error::Integrity(format!("{}: {}", code, withheld.reason)));
    }
    let inst = registry
        .institutions
        .get(code.as_str())
        .ok_or_else(|| Error::NotFound(format!("institution {code}")))?;
    let version = inst
        .results
        .get(&year)
        .and_then(|r| r.current())
        .ok_or_else(|| Error::NotFound(format!("a {year} result of {code}")))?;
    let chain = served_chain(&registry);
    let dataset = Dataset::Evaluation(year);
    // The latest snapshot of the year that holds the record as shown: an unchanged record is
    // proved against the newest bundle, so that a fresh proof never warns of a newer one.
    let (bundle, index) = chain
        .iter()
        .rev()
        .filter(|b| b.manifest.dataset == dataset && b.manifest.sequence >= version.sequence)
        .find_map(|b| {
            let Records::Evaluation(records) = &b.records else {
                return None;
            };
            let index = records.iter().position(|r| r.code == code.as_str())?;
            (records[index] == version.record).then_some((b, index))
        })
        .ok_or_else(|| Error::Internal(format!("no bundle holds the {year} record of {code}")))?;
    let proof = RecordProof::of(bundle, index, latest_of(chain, dataset))
        .ok_or_else(|| Error::Internal(format!("no proof for leaf {index}")))?;
    Ok(json_ok(
        &ProofResponse {
            data: DataInfo::of(&registry),
            proof,
        },
        &registry,
    ))
}

/// The institution a listing or violation proof is asked about, once the dataset is known and
/// the institution not withheld.
fn institution_for<'a>(
    registry: &'a Registry,
    dataset: Dataset,
    code: &str,
) -> Result<(CreditCode, Option<&'a Institution>)> {
    registry.require_known_dataset(dataset)?;
    let code = CreditCode::normalize_query(code)?;
    if let Some(withheld) = registry.withheld.get(code.as_str()) {
        return Err(Error::Integrity(format!("{}: {}", code, withheld.reason)));
    }
    let inst = registry.institutions.get(code.as_str());
    Ok((code, inst))
}

/// The proof of record `index` of bundle `sequence` of the view's chain, once that record is
/// the one the view shows (`shown`).
fn proof_of(
    registry: &Registry,
    dataset: Dataset,
    sequence: u64,
    index: u64,
    shown: impl Fn(&Records, usize) -> bool,
) -> Result<RecordProof> {
    let chain = served_chain(registry);
    let at = usize::try_from(index).map_err(|e| Error::Internal(e.to_string()))?;
    let bundle = chain
        .iter()
        .find(|b| b.manifest.sequence == sequence && b.manifest.dataset == dataset)
        .filter(|b| shown(&b.records, at))
        .ok_or_else(|| {
            Error::Internal(format!(
                "bundle {sequence} does not hold the {dataset} record at {index} as shown"
            ))
        })?;
    RecordProof::of(bundle, at, latest_of(chain, dataset))
        .ok_or_else(|| Error::Internal(format!("no proof for leaf {index}")))
}

/// The proof of a listing on the serious-dishonesty list, as the registry displays it: its
/// record in the latest bundle of the list. A listing that has left public display (a repaired
/// one at once, a removed one after 5 years: docs/rules.md) is not proved: it answers exactly
/// as a listing that never existed.
#[utoipa::path(get, path = "/api/v1/institutions/{code}/listings/{decision}/proof", tag = "verification",
    params(
        ("code" = inline(crate::domain::code::CreditCode), Path, description = "Unified social credit code (18 characters)"),
        ("decision" = String, Path, description = "The listing's decision number, percent-encoded as UTF-8 (the `proof` link of each listing gives it ready)"),
        RevisionQuery,
    ),
    responses(
        (status = 200, description = "The proof; check it offline with `envcredit verify-proof --listing` or docs/verify.md", body = ProofResponse),
        (status = 400, description = "Invalid code or parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No displayed listing with this decision number for this code (also when it has left public display), or unknown revision", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Withheld: the list or the institution failed the integrity check", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/institutions/{code}/listings/{decision}/proof")]
pub async fn listing_proof(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<RevisionQuery>,
) -> Result<HttpResponse> {
    let (code, decision) = path.into_inner();
    let registry = state.live.at(query.revision)?;
    let (code, inst) = institution_for(&registry, Dataset::DishonestyList, &code)?;
    let today = state.clock.today();
    let view = inst
        .and_then(|inst| {
            registry
                .displayed_listings(inst, today)
                .find(|l| l.listing.decision_number == decision)
        })
        .ok_or_else(|| {
            Error::NotFound(format!(
                "a displayed listing {} of {code}",
                text::echo(&decision)
            ))
        })?;
    let proof = proof_of(
        &registry,
        Dataset::DishonestyList,
        view.sequence,
        view.leaf_index,
        |records, at| matches!(records, Records::DishonestyList(r) if r.get(at) == Some(&view.listing)),
    )?;
    Ok(json_ok(
        &ProofResponse {
            data: DataInfo::of(&registry),
            proof,
        },
        &registry,
    ))
}

/// The proof of a publicized violation, as the registry displays it: its record in the latest
/// bundle of violations. A violation that has left public display (5 years after its decision:
/// docs/rules.md) is not proved: it answers exactly as a violation that never existed.
#[utoipa::path(get, path = "/api/v1/institutions/{code}/violations/{decision}/proof", tag = "verification",
    params(
        ("code" = inline(crate::domain::code::CreditCode), Path, description = "Unified social credit code (18 characters)"),
        ("decision" = String, Path, description = "The violation's decision number, percent-encoded as UTF-8 (the `proof` link of each violation gives it ready)"),
        RevisionQuery,
    ),
    responses(
        (status = 200, description = "The proof; check it offline with `envcredit verify-proof --violation` or docs/verify.md", body = ProofResponse),
        (status = 400, description = "Invalid code or parameter", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No displayed violation with this decision number for this code (also when it has left public display), or unknown revision", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Withheld: the violations or the institution failed the integrity check", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/institutions/{code}/violations/{decision}/proof")]
pub async fn violation_proof(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<RevisionQuery>,
) -> Result<HttpResponse> {
    let (code, decision) = path.into_inner();
    let registry = state.live.at(query.revision)?;
    let (code, inst) = institution_for(&registry, Dataset::Violations, &code)?;
    let today = state.clock.today();
    let view = inst
        .and_then(|inst| {
            registry
                .displayed_violations(inst, today)
                .find(|v| v.violation.decision_number == decision)
        })
        .ok_or_else(|| {
            Error::NotFound(format!(
                "a displayed violation {} of {code}",
                text::echo(&decision)
            ))
        })?;
    let proof = proof_of(
        &registry,
        Dataset::Violations,
        view.sequence,
        view.leaf_index,
        |records, at| matches!(records, Records::Violations(r) if r.get(at) == Some(&view.violation)),
    )?;
    Ok(json_ok(
        &ProofResponse {
            data: DataInfo::of(&registry),
            proof,
        },
        &registry,
    ))
}

/// One accepted bundle in the chain.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BundleInfo {
    pub sequence: u64,
    /// `evaluation-YYYY`, `dishonesty-list` or `violations`.
    pub dataset: String,
    /// Hex SHA-256 of its signed manifest (the next bundle's `previous_hash`).
    pub hash: String,
    pub previous_hash: String,
    pub created_at: chrono::DateTime<chrono::FixedOffset>,
    pub record_count: u64,
    pub merkle_root: String,
    /// Key id of the pipeline key that signed it (see `/api/v1/keys`).
    pub key_id: String,
    /// The bundle's envelope without its records: public for good.
    #[schema(value_type = Object)]
    pub signed_manifest: serde_json::Value,
    /// Whether the whole bundle file is served (`file`): only while every record in it may
    /// still be displayed.
    pub file_available: bool,
    /// Where the bundle file is, exactly as signed (null when not served).
    pub file: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BundlesResponse {
    pub data: DataInfo,
    /// Oldest first: the whole chain up to the revision.
    pub bundles: Vec<BundleInfo>,
}

/// Whether every record of the bundle may be displayed on `today` (evaluation results always
/// may; a listing or violation only while the registry displays it as currently known).
fn displayable(registry: &Registry, bundle: &VerifiedBundle, today: NaiveDate) -> bool {
    match &bundle.records {
        Records::Evaluation(_) => true,
        Records::DishonestyList(listings) => listings.iter().all(|l| {
            registry.institutions.get(&l.code).is_some_and(|inst| {
                inst.listings
                    .iter()
                    .filter(|v| v.listing.decision_number == l.decision_number)
                    .any(|v| registry.listing_displayed(v, today))
            })
        }),
        Records::Violations(violations) => violations.iter().all(|r| {
            registry.institutions.get(&r.code).is_some_and(|inst| {
                inst.violations
                    .iter()
                    .filter(|v| v.violation.decision_number == r.decision_number)
                    .any(|v| registry.violation_displayed(v, today))
            })
        }),
    }
}

/// The chain of accepted bundles: each one's signed manifest, and its file while every record
/// in it may be displayed.
#[utoipa::path(get, path = "/api/v1/bundles", tag = "verification", params(RevisionQuery),
    responses(
        (status = 200, description = "The chain, oldest first", body = BundlesResponse),
        (status = 400, description = "A parameter is not valid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown revision", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/bundles")]
pub async fn list_bundles(
    state: web::Data<AppState>,
    query: web::Query<RevisionQuery>,
) -> Result<HttpResponse> {
    let registry = state.live.at(query.revision)?;
    registry.require_known()?;
    let today = state.clock.today();
    let bundles = served_chain(&registry)
        .iter()
        .map(|b| {
            let available = displayable(&registry, b, today);
            BundleInfo {
                sequence: b.manifest.sequence,
                dataset: b.manifest.dataset.to_string(),
                hash: b.hash_hex(),
                previous_hash: hex::encode(b.manifest.previous_hash),
                created_at: b.manifest.created_at,
                record_count: b.manifest.record_count,
                merkle_root: hex::encode(b.manifest.merkle_root),
                key_id: b.key_id.clone(),
                signed_manifest: signed_manifest(&b.envelope).unwrap_or_default(),
                file_available: available,
                file: available.then(|| format!("/api/v1/bundles/{}", b.manifest.sequence)),
            }
        })
        .collect();
    Ok(json_ok(
        &BundlesResponse {
            data: DataInfo::of(&registry),
            bundles,
        },
        &registry,
    ))
}

/// One accepted bundle, byte for byte as the pipeline signed it (check it with
/// `envcredit verify --standalone`).
#[utoipa::path(get, path = "/api/v1/bundles/{sequence}", tag = "verification",
    params(("sequence" = u64, Path, description = "The bundle's sequence number")),
    responses(
        (status = 200, description = "The bundle file", content_type = "application/json"),
        (status = 400, description = "Not a sequence number", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No accepted bundle with this sequence number", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "A record of it has left public display: only its signed manifest stays public (`/api/v1/bundles`); each listing or violation still displayed has its own proof (the `proof` link of its item)", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/bundles/{sequence}")]
pub async fn bundle_file(
    state: web::Data<AppState>,
    sequence: web::Path<u64>,
) -> Result<HttpResponse> {
    let registry = state.live.current();
    let sequence = sequence.into_inner();
    let bundle = served_chain(&registry)
        .iter()
        .find(|b| b.manifest.sequence == sequence)
        .ok_or_else(|| Error::NotFound(format!("bundle {sequence}")))?;
    if !displayable(&registry, bundle, state.clock.today()) {
        let proofs = match bundle.manifest.dataset {
            Dataset::DishonestyList => {
                "; each listing still displayed has its own proof: the `proof` link of each item of /api/v1/dishonesty-list?state=all"
            }
            Dataset::Violations => {
                "; each violation still displayed has its own proof: the `proof` link of each item of /api/v1/violations"
            }
            Dataset::Evaluation(_) => "",
        };
        return Err(Error::Gone(format!(
            "bundle {sequence} holds a record that has left public display; its signed manifest stays at /api/v1/bundles{proofs}"
        )));
    }
    let mut response = json_ok(&(), &registry);
    response.headers_mut().insert(
        actix_web::http::header::CONTENT_DISPOSITION,
        actix_web::http::header::HeaderValue::from_str(&format!(
            "attachment; filename=\"{sequence:04}-{}.bundle.json\"",
            bundle.manifest.dataset
        ))
        .map_err(|e| Error::Internal(e.to_string()))?,
    );
    Ok(response.set_body(actix_web::body::BoxBody::new(bundle.envelope.clone())))
}
