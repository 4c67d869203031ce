//! Liveness (`/healthz`) and readiness (`/readyz`).

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use crate::highwater::Status;
use crate::web::AppState;

/// The registry is up; which revision it serves.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// "ok", or "integrity_failure" when stored bundles or rows failed re-verification (see
    /// `integrity_failures`, `withheld` and `unverified`; docs/operations.md says what to do).
    #[schema(example = "ok")]
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
    /// The high-water mark check at start-up (docs/operations.md).
    pub high_water: HighWaterHealth,
    /// What the registry cannot vouch for, when a stored bundle fails re-verification, a bundle
    /// is missing, or the verified chain stops before the high-water mark; null when all is well.
    pub unverified: Option<UnverifiedHealth>,
}

/// The part of the chain that does not verify, and the datasets it may have changed: answers
/// that depend on them are withheld.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnverifiedHealth {
    /// The first sequence number that does not verify.
    pub from_sequence: u64,
    /// The datasets withheld (from their signed manifests); null: every dataset.
    pub datasets: Option<Vec<String>>,
    /// Why, in words.
    pub reason: String,
}

/// Whether the database held its high-water mark (kept outside it) when this instance started.
#[derive(Debug, Serialize, ToSchema)]
pub struct HighWaterHealth {
    /// "ok": the database held the state file's mark and the pinned checkpoint, and its signed
    /// chain verifies that far; "integrity_failure": it holds the mark's row, but the signed
    /// chain does not verify up to it (see `unverified`); "unchecked":
    /// neither is configured; "rollback_accepted": started with `--accept-rollback` although
    /// the database did not hold its mark (restored from an older backup, bundles lost, or
    /// another history) — see `alarm`.
    #[schema(example = "ok")]
    pub status: &'static str,
    /// What was found, when the rollback was accepted; else null.
    pub alarm: Option<String>,
}

impl From<&Status> for HighWaterHealth {
    fn from(status: &Status) -> HighWaterHealth {
        let (status, alarm) = match status {
            Status::Ok => ("ok", None),
            Status::Unchecked => ("unchecked", None),
            Status::RollbackAccepted(found) => ("rollback_accepted", Some(found.clone())),
        };
        HighWaterHealth { status, alarm }
    }
}

/// Liveness: answers while the process serves.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "Alive", body = Health)))]
#[get("/healthz")]
pub async fn healthz(state: web::Data<AppState>, high_water: web::Data<Status>) -> HttpResponse {
    let registry = state.live.current();
    let failed = registry.integrity_failures > 0 || registry.unknown.is_some();
    let mut high_water = HighWaterHealth::from(high_water.get_ref());
    if registry.unknown.is_some() && high_water.status == "ok" {
        // The database holds the mark's row, but its signed chain does not verify that far.
        high_water.status = "integrity_failure";
    }
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(Health {
            status: if failed { "integrity_failure" } else { "ok" },
            revision: registry.revision.as_ref().map(|r| r.tag()),
            demo: registry.demo,
            integrity_failures: registry.integrity_failures,
            withheld: registry.withheld.len(),
            high_water,
            unverified: registry.unknown.as_ref().map(|u| UnverifiedHealth {
                from_sequence: u.from_sequence,
                datasets: u
                    .datasets
                    .as_ref()
                    .map(|d| d.iter().map(|d| d.to_string()).collect()),
                reason: u.reason.clone(),
            }),
        })
}

/// Whether this instance serves verified data, and whether it can reach its database.
#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// "ready": serving verified data, the database answers; "degraded": serving the last
    /// verified data while the database is unreachable (new imports are not seen until it is
    /// back), or with part of the data withheld after an integrity failure (`/healthz` says
    /// which); "unavailable" (with status 503): no data to serve.
    #[schema(example = "ready")]
    pub status: &'static str,
    /// `<sequence>-<hash prefix>` of the data served, or null when there is none.
    pub revision: Option<String>,
    pub database: DatabaseReadiness,
}

/// What the revision poller last found.
#[derive(Debug, Serialize, ToSchema)]
pub struct DatabaseReadiness {
    /// Whether the last look at the database, every poll interval, succeeded (and recently).
    pub reachable: bool,
    /// When a look last succeeded.
    pub last_contact: chrono::DateTime<chrono::Utc>,
    /// Since when looks fail; null while the database answers.
    pub unreachable_since: Option<chrono::DateTime<chrono::Utc>>,
}

/// Readiness, for load balancers and monitoring. An instance whose database is unreachable
/// keeps serving the last data it verified, so it stays in rotation: `200` with "degraded".
/// Only an instance with no data at all answers `503`.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Serving verified data: ready, or degraded (database unreachable)", body = Readiness),
        (status = 503, description = "No data to serve", body = Readiness),
    ))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let registry = state.live.current();
    let database = state.database.snapshot();
    let revision = registry.revision.as_ref().map(|r| r.tag());
    let (mut response, status) = match (&revision, database.reachable) {
        (None, _) => (HttpResponse::ServiceUnavailable(), "unavailable"),
        (Some(_), true) if registry.unknown.is_none() && registry.integrity_failures == 0 => {
            (HttpResponse::Ok(), "ready")
        }
        (Some(_), true) => (HttpResponse::Ok(), "degraded"),
        (Some(_), false) => (HttpResponse::Ok(), "degraded"),
    };
    response
        .insert_header(("Cache-Control", "no-store"))
        .json(Readiness {
            status,
            revision,
            database: DatabaseReadiness {
                reachable: database.reachable,
                last_contact: database.last_contact,
                unreachable_since: database.unreachable_since,
            },
        })
}
