//! Liveness.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::web::AppState;

/// The registry is up; which revision it serves.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always "ok".
    pub status: &'static str,
    /// `<sequence>-<hash prefix>` of the data served, or null when the store is empty.
    pub revision: Option<String>,
    /// Whether this instance serves demo data.
    pub demo: bool,
}

/// Liveness: answers while the process serves.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Health)))]
#[get("/healthz")]
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let registry = state.live.current();
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(Health {
            status: "ok",
            revision: registry.revision.as_ref().map(|r| r.tag()),
            demo: registry.demo,
        })
}
