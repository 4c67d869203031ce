//! The JSON API under `/api/v1`, described by OpenAPI (`openapi/openapi.json`).

pub mod as_of;
pub mod changes;
mod extract;
pub mod flags;
pub mod health;
pub mod institutions;
pub mod joint;
pub mod keys;
pub mod lists;
mod openapi;
pub mod proofs;
pub mod receipts;
pub mod search;
pub mod statistics;
pub mod years;

use actix_web::http::header;
use actix_web::{HttpResponse, HttpResponseBuilder};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

pub use extract::{json_config, path_config, query_config};
pub use openapi::{document, ApiDoc};

use crate::read::Registry;
use crate::Error;

/// Every API handler, registered once: the same list builds the server's routes and the
/// OpenAPI document ([`document`]); `utoipa_actix_web`'s `service` only takes handlers that
/// carry their `#[utoipa::path]` description.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(health::healthz)
        .service(health::readyz)
        .service(institutions::get_institution)
        .service(openapi::openapi_json)
        .configure(search::routes)
        .configure(years::routes)
        .configure(lists::routes)
        .configure(statistics::routes)
        .configure(changes::routes)
        .configure(flags::routes)
        .configure(joint::routes)
        .configure(keys::routes)
        .configure(receipts::routes)
        .configure(proofs::routes);
}

/// The notice carried by everything served in demo mode.
pub const DEMO_NOTICE: &str = "DEMO DATA — fictional institutions and results, not the Bureau's";

/// The common query parameters of reads: the date to answer for and the data revision.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AsOfQuery {
    /// The date (Asia/Shanghai, exactly `YYYY-MM-DD`, 2000-01-01 to 2099-12-31) to answer for,
    /// e.g. a bid deadline; default today. A date after today is answered as `provisional`.
    #[param(value_type = Option<crate::web::api::as_of::AsOfDate>, inline)]
    #[serde(default, deserialize_with = "crate::web::api::as_of::optional")]
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

/// The start of every successful read (JSON and CSV): `Cache-Control` for reads, and the data
/// revision it came from in `X-Data-Revision` and `X-Data-As-Of`.
fn read_ok(registry: &Registry) -> HttpResponseBuilder {
    let mut response = HttpResponse::Ok();
    response.insert_header((header::CACHE_CONTROL, crate::web::http::READ_CACHE_CONTROL));
    if let Some(revision) = &registry.revision {
        response.insert_header(("X-Data-Revision", revision.tag()));
        response.insert_header(("X-Data-As-Of", revision.created_at.to_rfc3339()));
    }
    response
}

/// A JSON response that carries the data revision it came from, also in headers
/// (`X-Data-Revision`, `X-Data-As-Of`).
pub fn json_ok<T: serde::Serialize>(body: &T, registry: &Registry) -> HttpResponse {
    read_ok(registry).json(body)
}

/// The characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
const FORMULA_STARTS: &[u8] = b"=+-@\t\r";

/// A cell as a spreadsheet may safely open it: one that begins with a formula character gets a
/// single quote in front (OWASP's advice), so that Excel, LibreOffice and Sheets show it as text
/// instead of running it. A number (`-3`, `-0.5`) is left alone: it is no formula, and a quote
/// would make it text. A cell that already begins with a quote gets one more, so that taking
/// one leading quote off every cell that has one gives the stored text back, whatever it was.
fn neutralised(cell: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    match cell.first() {
        Some(first) if *first == b'\'' || (FORMULA_STARTS.contains(first) && !is_number(cell)) => {
            let mut quoted = Vec::with_capacity(cell.len() + 1);
            quoted.push(b'\'');
            quoted.extend_from_slice(cell);
            std::borrow::Cow::Owned(quoted)
        }
        _ => std::borrow::Cow::Borrowed(cell),
    }
}

/// `-?digits(.digits)?`: a plain decimal number, and nothing else.
fn is_number(cell: &[u8]) -> bool {
    let unsigned = cell.strip_prefix(b"-").unwrap_or(cell);
    let (whole, fraction) = match unsigned.iter().position(|b| *b == b'.') {
        Some(dot) => (&unsigned[..dot], Some(&unsigned[dot + 1..])),
        None => (unsigned, None),
    };
    let digits = |part: &[u8]| !part.is_empty() && part.iter().all(u8::is_ascii_digit);
    digits(whole) && fraction.is_none_or(digits)
}

/// A CSV download: UTF-8, a header row of the documented `columns` (also when there are no
/// rows), one row per record, cells that a spreadsheet would run as a formula neutralised; with `bom`, a UTF-8 byte-order mark first so that Excel shows
/// Chinese correctly. The columns must be the row type's field names, in order (checked on the
/// first row).
pub fn csv_ok<T: Serialize>(
    filename: &str,
    columns: &[&str],
    rows: impl IntoIterator<Item = T>,
    bom: bool,
    registry: &Registry,
) -> crate::Result<HttpResponse> {
    let csv_error = |e: csv::Error| Error::Internal(format!("csv: {e}"));
    let mut out: Vec<u8> = Vec::new();
    if bom {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    {
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(&mut out);
        writer.write_record(columns).map_err(csv_error)?;
        let mut rows = rows.into_iter().peekable();
        if let Some(first) = rows.peek() {
            let mut probe = csv::Writer::from_writer(Vec::new());
            probe.serialize(first).map_err(csv_error)?;
            let probe = probe
                .into_inner()
                .map_err(|e| Error::Internal(format!("csv: {e}")))?;
            let header = probe.split(|b| *b == b'\n').next().unwrap_or_default();
            if header != columns.join(",").as_bytes() {
                return Err(Error::Internal(format!(
                    "csv {filename}: documented columns differ from the row type"
                )));
            }
        }
        // Each row is serialised on its own, read back as cells and written neutralised (see
        // [`neutralised`]): the csv crate offers no hook between a value and its cell.
        let mut cells = csv::ByteRecord::new();
        for row in rows {
            let mut one = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            one.serialize(row).map_err(csv_error)?;
            let one = one
                .into_inner()
                .map_err(|e| Error::Internal(format!("csv: {e}")))?;
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(one.as_slice());
            if !reader.read_byte_record(&mut cells).map_err(csv_error)? {
                continue;
            }
            writer
                .write_record(cells.iter().map(neutralised))
                .map_err(csv_error)?;
        }
        writer
            .flush()
            .map_err(|e| Error::Internal(format!("csv: {e}")))?;
    }
    let mut response = read_ok(registry);
    response
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{filename}\""),
        ));
    Ok(response.body(out))
}

/// Query parameters of CSV exports.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CsvQuery {
    /// The date (Asia/Shanghai, exactly `YYYY-MM-DD`, 2000-01-01 to 2099-12-31) to answer for;
    /// default today. A date after today is answered as `provisional`.
    #[param(value_type = Option<crate::web::api::as_of::AsOfDate>, inline)]
    #[serde(default, deserialize_with = "crate::web::api::as_of::optional")]
    pub as_of: Option<NaiveDate>,
    /// Answer from this earlier data revision; default the current one.
    pub revision: Option<u64>,
    /// `true` to start the file with a UTF-8 byte-order mark (for Excel).
    #[serde(default)]
    pub bom: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_numbers_are_not() {
        let cell =
            |s: &str| String::from_utf8(neutralised(s.as_bytes()).into_owned()).unwrap_or_default();
        for formula in [
            "=1+1",
            "+1",
            "-1+2",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "-",
            "-.5",
            "=HYPERLINK(\"x\")",
            "'=x",
            "'",
        ] {
            assert_eq!(cell(formula), format!("'{formula}"), "{formula:?}");
            // One leading quote off gives the text back.
            assert_eq!(&cell(formula)[1..], formula);
        }
        for plain in ["", "A", "913304", "-3", "-0.5", "12.25", "嘉兴", " =x"] {
            assert_eq!(cell(plain), plain, "{plain:?}");
        }
    }
}
