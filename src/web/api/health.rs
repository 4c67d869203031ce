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
    /// Stored bundles and rows that failed re-verification when the current view was built;
    /// anything they touch is withheld. Zero when all is well.
    pub integrity_failures: u64,
    /// Institutions withheld because of those failures.
    pub withheld: usize,
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
            integrity_failures: registry.integrity_failures,
            withheld: registry.withheld.len(),
        })
}
