//! The JSON API under `/api/v1`, described by OpenAPI (`openapi/openapi.json`).

pub mod changes;
pub mod flags;
pub mod health;
pub mod institutions;
pub mod joint;
pub mod lists;
mod openapi;
pub mod search;
pub mod statistics;
pub mod years;

use actix_web::{error::InternalError, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub use openapi::{document, ApiDoc};

use super::error::{problem_response, Problem};
use crate::read::Registry;
use crate::Error;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz)
        .service(institutions::get_institution)
        .service(openapi::openapi_json)
        .configure(search::routes)
        .configure(years::routes)
        .configure(lists::routes)
        .configure(statistics::routes)
        .configure(changes::routes)
        .configure(flags::routes)
        .configure(joint::routes);
}

fn bad_request(detail: String) -> actix_web::Error {
    let problem = Problem::from(&Error::BadRequest(detail.clone()));
    InternalError::from_response(detail, problem_response(&problem)).into()
}

pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(256 * 1024)
        .error_handler(|e, _| bad_request(format!("request body: {e}")))
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|e, _| bad_request(format!("query string: {e}")))
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|e, _| bad_request(format!("path: {e}")))
}

/// The notice carried by everything served in demo mode.
pub const DEMO_NOTICE: &str = "DEMO DATA — fictional institutions and results, not the Bureau's";

/// The common query parameters of reads: the date to answer for and the data revision.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AsOfQuery {
    /// The date (Asia/Shanghai, `YYYY-MM-DD`) to answer for, e.g. a bid deadline; default today.
    pub as_of: Option<NaiveDate>,
    /// Answer from this earlier data revision (a bundle sequence number), reproducing what the
    /// registry said then; default the current one.
    pub revision: Option<u64>,
}

/// Which data an answer came from ("data as of").
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct DataInfo {
    /// The data revision; null only while the registry holds no data.
    pub revision: Option<RevisionInfo>,
    /// Set (to "DEMO DATA — …") when the registry serves demo data.
    pub demo_notice: Option<String>,
}

/// A data revision: the last accepted bundle of the answer's data.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RevisionInfo {
    /// Sequence number of that bundle.
    pub sequence: u64,
    /// Hex SHA-256 of its payload.
    pub hash: String,
    /// When the pipeline made it: the data is as of this time.
    pub created_at: chrono::DateTime<chrono::FixedOffset>,
}

impl DataInfo {
    pub fn of(registry: &Registry) -> DataInfo {
        DataInfo {
            revision: registry.revision.as_ref().map(|r| RevisionInfo {
                sequence: r.sequence,
                hash: r.hash.clone(),
                created_at: r.created_at,
            }),
            demo_notice: registry.demo.then(|| DEMO_NOTICE.to_string()),
        }
    }
}

/// A JSON response that carries the data revision it came from, also in headers
/// (`X-Data-Revision`, `X-Data-As-Of`).
pub fn json_ok<T: serde::Serialize>(body: &T, registry: &Registry) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response.insert_header(("Cache-Control", "public, max-age=60"));
    if let Some(revision) = &registry.revision {
        response.insert_header(("X-Data-Revision", revision.tag()));
        response.insert_header(("X-Data-As-Of", revision.created_at.to_rfc3339()));
    }
    response.json(body)
}

/// A CSV download: UTF-8, a header row of the documented column names, one row per record;
/// with `bom`, a UTF-8 byte-order mark first so that Excel shows Chinese correctly.
pub fn csv_ok<T: Serialize>(
    filename: &str,
    rows: impl IntoIterator<Item = T>,
    bom: bool,
    registry: &Registry,
) -> crate::Result<HttpResponse> {
    let mut out: Vec<u8> = Vec::new();
    if bom {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    {
        let mut writer = csv::Writer::from_writer(&mut out);
        for row in rows {
            writer
                .serialize(row)
                .map_err(|e| Error::Internal(format!("csv: {e}")))?;
        }
        writer
            .flush()
            .map_err(|e| Error::Internal(format!("csv: {e}")))?;
    }
    let mut response = HttpResponse::Ok();
    response
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=60"))
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{filename}\""),
        ));
    if let Some(revision) = &registry.revision {
        response.insert_header(("X-Data-Revision", revision.tag()));
        response.insert_header(("X-Data-As-Of", revision.created_at.to_rfc3339()));
    }
    Ok(response.body(out))
}

/// Query parameters of CSV exports.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CsvQuery {
    /// The date (Asia/Shanghai) to answer for; default today.
    pub as_of: Option<NaiveDate>,
    /// Answer from this earlier data revision; default the current one.
    pub revision: Option<u64>,
    /// `true` to start the file with a UTF-8 byte-order mark (for Excel).
    #[serde(default)]
    pub bom: bool,
}
