//! The JSON API under `/api/v1`, described by OpenAPI (`openapi/openapi.json`).

pub mod health;
pub mod institutions;
mod openapi;

use actix_web::{error::InternalError, web, HttpResponse};

pub use openapi::ApiDoc;

use super::error::{problem_response, Problem};
use crate::Error;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz)
        .service(institutions::get_institution)
        .service(openapi::openapi_json);
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

/// A JSON response that carries the data revision it came from.
pub fn json_ok<T: serde::Serialize>(
    body: &T,
    revision: Option<&crate::read::Revision>,
) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response.insert_header(("Cache-Control", "public, max-age=60"));
    if let Some(revision) = revision {
        response.insert_header(("X-Data-Revision", revision.tag()));
    }
    response.json(body)
}
