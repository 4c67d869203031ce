//! The OpenAPI document, generated from the handlers and their types.

use actix_web::{get, HttpResponse};
use utoipa::OpenApi;

use super::{
    changes, flags, health, institutions, joint, keys, lists, proofs, receipts, search, statistics,
    years,
};
use crate::web::Problem;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "envcredit",
        description = "Public, read-only registry of the environmental credit of Jiaxing's social environmental monitoring institutions (嘉环发〔2023〕8号). Every answer names the data revision it came from; errors are RFC 9457 problem+json.",
        license(name = "MIT OR Apache-2.0")
    ),
    paths(health::healthz, institutions::get_institution, openapi_json),
    components(schemas(Problem)),
    tags(
        (name = "institutions", description = "Institutions, their grades and history"),
        (name = "operations", description = "Health and the API description")
    )
)]
pub struct ApiDoc;

/// The whole document: the core above and each endpoint module's part.
pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    for part in [
        search::Doc::openapi(),
        years::Doc::openapi(),
        lists::Doc::openapi(),
        statistics::Doc::openapi(),
        changes::Doc::openapi(),
        flags::Doc::openapi(),
        joint::Doc::openapi(),
        keys::Doc::openapi(),
        receipts::Doc::openapi(),
        proofs::Doc::openapi(),
    ] {
        doc.merge(part);
    }
    doc
}

/// This API's OpenAPI 3.1 description.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
#[get("/api/v1/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(document())
}
