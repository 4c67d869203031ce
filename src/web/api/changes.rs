//! (being written)

use actix_web::web;
use utoipa::OpenApi;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi()]
pub struct Doc;

pub fn routes(_cfg: &mut web::ServiceConfig) {}
