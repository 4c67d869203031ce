//! Signed lookup receipts (`docs/receipts.md`): `receipt=true` on the procurement flag and
//! joint-punishment endpoints adds a `receipt` member to the answer, signed with the registry's
//! own key ([`crate::receipt`]); `GET /.well-known/envcredit-receipt-key.json` publishes that key.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{get, web, HttpResponse};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use crate::read::Registry;
use crate::receipt::{self, DataRevision, Envelope, Question, ReceiptKey};
use crate::web::{AppState, Problem};
use crate::{Error, Result};

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(receipt_key);
}

/// The receipt key's path.
pub const KEY_PATH: &str = "/.well-known/envcredit-receipt-key.json";

/// The query parameter of the batch POSTs.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReceiptQuery {
    /// `true` to add a signed `receipt` of the answer (also accepted in the body).
    #[serde(default)]
    pub receipt: bool,
}

/// The registry's receipt key, when it has one; else the `receipts-unavailable` problem.
pub fn key(state: &AppState) -> Result<&ReceiptKey> {
    state.receipts.as_ref().ok_or(Error::ReceiptsUnavailable)
}

/// Signs `answers` (exactly the items of the answer) for `question`, answered from `registry`
/// as of `as_of`, issued now by the app's clock, naming beside the revision answered the
/// registry's newest one at this moment (`head`).
pub fn issue<T: Serialize>(
    state: &AppState,
    key: &ReceiptKey,
    registry: &Registry,
    question: Question,
    as_of: NaiveDate,
    answers: &[T],
) -> Result<Envelope> {
    let internal = |e: serde_json::Error| Error::Internal(format!("receipt: {e}"));
    let demo = key.is_demo() || registry.demo;
    let revision = |r: &Registry| {
        r.revision.as_ref().map(|r| DataRevision {
            hash: r.hash.clone(),
            sequence: r.sequence,
        })
    };
    let receipt = receipt::Receipt {
        answers: answers
            .iter()
            .map(serde_json::to_value)
            .collect::<std::result::Result<_, _>>()
            .map_err(internal)?,
        as_of,
        data: revision(registry),
        demo,
        head: revision(&state.live.current()),
        issued_at: receipt::issued_at(state.clock.now()),
        notice: demo.then(|| receipt::DEMO_NOTICE.to_string()),
        question,
        receipt_version: receipt::RECEIPT_VERSION,
    };
    key.sign(&receipt).map_err(internal)
}

/// An answer with a receipt is a statement issued at one instant: never stored by a cache
/// (without a receipt the answer is cached as usual).
pub fn not_cached(mut response: HttpResponse) -> HttpResponse {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The public key that signs receipts.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReceiptKeyResponse {
    /// Always `ed25519`.
    #[schema(example = "ed25519")]
    pub algorithm: String,
    /// Standard base64 of the raw 32-byte Ed25519 public key.
    pub public_key: String,
    /// Lowercase hex SHA-256 of the raw public key: the `keyid` of the receipts it signs.
    pub keyid: String,
    /// True for the public demo receipt key (demo mode): its receipts prove nothing.
    pub demo: bool,
}

/// The registry's receipt key: the Ed25519 public key that signs lookup receipts (not the
/// pipeline's keys, which sign the data). Verify a receipt with it as `docs/receipts.md` shows.
#[utoipa::path(get, path = "/.well-known/envcredit-receipt-key.json", tag = "receipts",
    responses(
        (status = 200, description = "The receipt key", body = ReceiptKeyResponse),
        (status = 404, description = "This registry issues no receipts (`receipts-unavailable`)", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/.well-known/envcredit-receipt-key.json")]
pub async fn receipt_key(state: web::Data<AppState>) -> Result<HttpResponse> {
    let key = key(&state)?;
    let public = key.public_key();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(ReceiptKeyResponse {
            algorithm: "ed25519".to_string(),
            public_key: public.to_base64(),
            keyid: public.key_id(),
            demo: key.is_demo(),
        }))
}
