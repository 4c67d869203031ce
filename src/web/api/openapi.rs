//! The OpenAPI document, generated from the handlers and their types.

use actix_web::{get, HttpResponse};
use utoipa::openapi::header::Header;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Components, ContentBuilder, Object, Ref, RefOr, ResponseBuilder, Type};
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
    paths(health::healthz, health::readyz, institutions::get_institution, openapi_json),
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
    add_rate_limits(&mut doc);
    doc
}

/// The name of the partner-key security scheme.
const PARTNER_KEY: &str = "partner_key";
/// Paths outside the rate limits (`crate::web::ratelimit`).
const UNLIMITED_PATHS: &[&str] = &["/healthz", "/readyz"];

/// Every rate-limited operation may answer `429` (over the quota) and `401` (an unknown partner
/// key), and accepts a partner key in `X-Api-Key`; added here once for all of them.
fn add_rate_limits(doc: &mut utoipa::openapi::OpenApi) {
    let problem = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build()
    };
    let seconds = |description: &str| {
        let mut header = Header::new(Object::with_type(Type::Integer));
        header.description = Some(description.to_string());
        header
    };
    let rate_limited = ResponseBuilder::new()
        .description(
            "Too many requests from this client or partner key (`rate-limited`); \
             retry after `Retry-After` seconds",
        )
        .content("application/problem+json", problem())
        .header(
            "Retry-After",
            seconds("Seconds to wait before the next request is allowed"),
        )
        .header(
            "RateLimit-Limit",
            seconds("Requests allowed at once (the burst)"),
        )
        .header("RateLimit-Remaining", seconds("Requests allowed now"))
        .header(
            "RateLimit-Reset",
            seconds("Seconds until the whole burst is available again"),
        )
        .build();
    let invalid_key = ResponseBuilder::new()
        .description(
            "The `X-Api-Key` header holds no partner key of this registry (`invalid-api-key`)",
        )
        .content("application/problem+json", problem())
        .build();
    let components = doc.components.get_or_insert_with(Components::new);
    components
        .responses
        .insert("RateLimited".to_string(), RefOr::T(rate_limited));
    components
        .responses
        .insert("InvalidApiKey".to_string(), RefOr::T(invalid_key));
    components.security_schemes.insert(
        PARTNER_KEY.to_string(),
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Api-Key",
            "Optional. A partner key from the registry's operators gives a larger quota of its own; without one, requests count against the client address's quota.",
        ))),
    );
    for (path, item) in doc.paths.paths.iter_mut() {
        if UNLIMITED_PATHS.contains(&path.as_str()) {
            continue;
        }
        let operations = [
            &mut item.get,
            &mut item.head,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
            &mut item.options,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            let responses = &mut operation.responses.responses;
            responses.insert(
                "401".to_string(),
                RefOr::Ref(Ref::new("#/components/responses/InvalidApiKey")),
            );
            responses.insert(
                "429".to_string(),
                RefOr::Ref(Ref::new("#/components/responses/RateLimited")),
            );
            operation.security = Some(vec![
                SecurityRequirement::default(),
                SecurityRequirement::new(PARTNER_KEY, Vec::<String>::new()),
            ]);
        }
    }
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
