//! The trusted pipeline keys and the sequence range each may sign, published so that anyone
//! verifying a bundle or a record offline knows which key was good for which sequence.

use actix_web::{get, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::json_ok;
use crate::web::{AppState, Problem};
use crate::Result;

pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(list_keys);
}

/// One trusted pipeline key.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeyInfo {
    /// The name the configuration gives it, e.g. "pipeline-2026".
    #[schema(example = "pipeline-2026")]
    pub name: String,
    /// Standard base64 of the 32-byte Ed25519 public key.
    pub public_key: String,
    /// Hex SHA-256 of the public key: the `keyid` in a bundle's signature.
    pub key_id: String,
    /// First sequence number the key may sign.
    pub from_seq: u64,
    /// Last sequence number the key may sign; null while it is not revoked or rotated out.
    pub until_seq: Option<u64>,
    /// Whether the key may sign the next bundle (`next_sequence`).
    pub accepting: bool,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct KeysResponse {
    /// The sequence number the next accepted bundle will have.
    pub next_sequence: u64,
    /// Set (to "DEMO DATA — …") when the registry serves demo data: the demo key's secret is
    /// public.
    pub demo_notice: Option<String>,
    /// Every trusted key, in configuration order. A bundle is valid only if signed by a key
    /// whose range holds its sequence number.
    pub keys: Vec<KeyInfo>,
}

/// The trusted pipeline keys and their sequence ranges.
#[utoipa::path(get, path = "/api/v1/keys", tag = "verification",
    responses(
        (status = 200, description = "The trusted keys", body = KeysResponse),
        (status = 500, description = "The configuration cannot be read", body = Problem, content_type = "application/problem+json"),
    ))]
#[get("/api/v1/keys")]
pub async fn list_keys(state: web::Data<AppState>) -> Result<HttpResponse> {
    let registry = state.live.current();
    let next_sequence = registry.store_head.as_ref().map_or(1, |(s, _)| s + 1);
    let keys = state
        .config
        .trusted_keys()?
        .into_iter()
        .map(|k| KeyInfo {
            accepting: k.covers(next_sequence),
            public_key: k.key.to_base64(),
            key_id: k.key.key_id(),
            name: k.name,
            from_seq: k.from_seq,
            until_seq: k.until_seq,
        })
        .collect();
    Ok(json_ok(
        &KeysResponse {
            next_sequence,
            demo_notice: registry.demo.then(|| super::DEMO_NOTICE.to_string()),
            keys,
        },
        &registry,
    ))
}
