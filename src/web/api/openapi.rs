//! The OpenAPI document, generated from the handlers and their types.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use actix_web::{get, HttpResponse};
use utoipa::openapi::header::Header;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    Components, ContentBuilder, Object, Ref, RefOr, Response, ResponseBuilder, Type,
};
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

use crate::web::Problem;

/// What the handlers do not say themselves: the description, the tags (each declared once, here)
/// and the shared schemas. The paths come from the registration ([`super::routes`]).
#[derive(OpenApi)]
#[openapi(
    info(
        title = "envcredit",
        description = "Public, read-only registry of the environmental credit of Jiaxing's social environmental monitoring institutions (嘉环发〔2023〕8号). Every answer names the data revision it came from; errors are RFC 9457 problem+json.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0")
    ),
    // Relative: the API is served from whatever host and scheme the registry answers on.
    servers((url = "/", description = "This registry")),
    components(schemas(Problem)),
    tags(
        (name = "institutions", description = "Institutions, their grades and history"),
        (name = "results", description = "Evaluation years, their results and statistics"),
        (name = "lists", description = "The serious-dishonesty list and publicized violations"),
        (name = "changes", description = "What changed between data revisions, as JSON or Atom"),
        (name = "flags", description = "Bid flags for procurement platforms (Art. 18, 19)"),
        (name = "joint-punishment", description = "Batch checks for partner agencies (Art. 20)"),
        (name = "verification", description = "What anyone needs to check the registry's data without trusting it"),
        (name = "receipts", description = "The key that signs lookup receipts (docs/receipts.md)"),
        (name = "operations", description = "Health and the API description")
    )
)]
pub struct ApiDoc;

/// The whole document: [`ApiDoc`], the paths of every registered handler, and what is shared
/// by many operations (added once, below). Built once: it depends only on the binary.
pub fn document() -> utoipa::openapi::OpenApi {
    static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| {
        // The same registration the server uses; this App only collects the descriptions.
        let (_, mut doc) = actix_web::App::new()
            .into_utoipa_app()
            .openapi(ApiDoc::openapi())
            .configure(super::routes)
            .split_for_parts();
        add_shared(&mut doc);
        doc
    });
    DOCUMENT.clone()
}

/// What the `Last-Modified` header says (`crate::web::http`).
const LAST_MODIFIED: &str = "HTTP date: the later of the revision's time and the start of \
     today in Asia/Shanghai (an answer about today changes at midnight), for `If-Modified-Since`";

/// The name of the partner-key security scheme.
const PARTNER_KEY: &str = "partner_key";
/// Paths outside the rate limits (`crate::web::ratelimit`).
const UNLIMITED_PATHS: &[&str] = &["/healthz", "/readyz"];

/// What many operations share, added here once rather than in each handler's annotation:
///
/// - the optional partner key, as the document's default security (`{}` or the key), so that a
///   generated client treats every public operation as public; `/healthz` and `/readyz` take no
///   key (`security: []`);
/// - `401` (an unknown partner key) and `429` (over the quota) on every rate-limited operation;
/// - `400` on every operation that takes parameters or a body, `404` (an unknown revision) on
///   every one that takes `revision`, and `500` on every one: unless the handler describes its
///   own;
/// - on the data-keyed reads (`GET` under `/api/v1/`): the `200` answer's `ETag`,
///   `X-Data-Revision`, `X-Data-As-Of`, `Last-Modified` and `RateLimit-*` headers, and
///   `304 Not Modified`.
fn add_shared(doc: &mut utoipa::openapi::OpenApi) {
    let problem = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build()
    };
    let header = |kind: Type, description: &str| {
        let mut header = Header::new(Object::with_type(kind));
        header.description = Some(description.to_string());
        header
    };
    let with_rate_limits = |response: ResponseBuilder| {
        response
            .header(
                "RateLimit-Limit",
                header(Type::Integer, "Requests allowed at once (the burst)"),
            )
            .header(
                "RateLimit-Remaining",
                header(Type::Integer, "Requests allowed now"),
            )
            .header(
                "RateLimit-Reset",
                header(
                    Type::Integer,
                    "Seconds until the whole burst is available again",
                ),
            )
    };
    let rate_limited = with_rate_limits(
        ResponseBuilder::new()
            .description(
                "Too many requests from this client or partner key (`rate-limited`); \
                 retry after `Retry-After` seconds",
            )
            .content("application/problem+json", problem())
            .header(
                "Retry-After",
                header(
                    Type::Integer,
                    "Seconds to wait before the next request is allowed",
                ),
            ),
    )
    .build();
    let problem_response = |description: &str| -> Response {
        ResponseBuilder::new()
            .description(description)
            .content("application/problem+json", problem())
            .build()
    };
    let not_modified = ResponseBuilder::new()
        .description(
            "`If-None-Match` names the current representation, or (without `If-None-Match`) \
             `If-Modified-Since` is at or after its `Last-Modified`: nothing changed, no body",
        )
        .header(
            "ETag",
            header(Type::String, "The representation's strong tag"),
        )
        .header("Last-Modified", header(Type::String, LAST_MODIFIED))
        .build();
    let mut shared_responses: BTreeMap<&str, Response> = [
        ("RateLimited", rate_limited),
        (
            "InvalidApiKey",
            problem_response(
                "The `X-Api-Key` header holds no partner key of this registry (`invalid-api-key`)",
            ),
        ),
        (
            "BadRequest",
            problem_response("A parameter or the body is not valid; `detail` names it"),
        ),
        (
            "NotFound",
            problem_response("Unknown revision (`revision` names none this registry holds)"),
        ),
        (
            "InternalError",
            problem_response("The registry could not answer (`internal`)"),
        ),
        ("NotModified", not_modified),
        (
            "PayloadTooLarge",
            problem_response(
                "The request declared a body larger than the registry accepts \
                 (`payload-too-large`)",
            ),
        ),
    ]
    .into_iter()
    .collect();
    let mut used = BTreeSet::new();
    let components = doc.components.get_or_insert_with(Components::new);
    components.security_schemes.insert(
        PARTNER_KEY.to_string(),
        SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
            "X-Api-Key",
            "Optional. A partner key from the registry's operators gives a larger quota of its own; without one, requests count against the client address's quota.",
        ))),
    );
    doc.security = Some(vec![
        SecurityRequirement::default(),
        SecurityRequirement::new(PARTNER_KEY, Vec::<String>::new()),
    ]);
    let mut shared = |name: &'static str| {
        used.insert(name);
        RefOr::Ref(Ref::new(format!("#/components/responses/{name}")))
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        let unlimited = UNLIMITED_PATHS.contains(&path.as_str());
        let data_keyed = path.starts_with("/api/v1/");
        let operations = [
            (true, &mut item.get),
            (false, &mut item.head),
            (false, &mut item.post),
            (false, &mut item.put),
            (false, &mut item.patch),
            (false, &mut item.delete),
            (false, &mut item.options),
            (false, &mut item.trace),
        ];
        for (get, operation) in operations {
            let Some(operation) = operation else {
                continue;
            };
            let parameters = operation.parameters.as_deref().unwrap_or_default();
            let takes_input = !parameters.is_empty() || operation.request_body.is_some();
            let takes_revision = parameters.iter().any(|p| p.name == "revision");
            let responses = &mut operation.responses.responses;
            // Any request whose `Content-Length` is over the limit (`crate::web::observe`).
            responses
                .entry("413".to_string())
                .or_insert_with(|| shared("PayloadTooLarge"));
            for response in responses.values_mut() {
                if let RefOr::T(response) = response {
                    describe_content(response);
                }
            }
            if unlimited {
                operation.security = Some(Vec::new());
                continue;
            }
            responses.insert("401".to_string(), shared("InvalidApiKey"));
            responses.insert("429".to_string(), shared("RateLimited"));
            if takes_input {
                responses
                    .entry("400".to_string())
                    .or_insert_with(|| shared("BadRequest"));
            }
            if takes_revision {
                responses
                    .entry("404".to_string())
                    .or_insert_with(|| shared("NotFound"));
            }
            responses
                .entry("500".to_string())
                .or_insert_with(|| shared("InternalError"));
            if get && data_keyed {
                responses.insert("304".to_string(), shared("NotModified"));
                if let Some(RefOr::T(ok)) = responses.get_mut("200") {
                    for (name, description) in [
                        (
                            "ETag",
                            "Strong tag of this representation, for `If-None-Match`",
                        ),
                        (
                            "X-Data-Revision",
                            "The data revision answered from (`<sequence>-<hash prefix>`)",
                        ),
                        (
                            "X-Data-As-Of",
                            "When that revision was made (RFC 3339): the data is as of then",
                        ),
                        ("Last-Modified", LAST_MODIFIED),
                    ] {
                        ok.headers
                            .insert(name.to_string(), header(Type::String, description));
                    }
                    let limits = with_rate_limits(ResponseBuilder::new()).build();
                    ok.headers.extend(limits.headers);
                }
            }
        }
    }
    // Only what some operation refers to: an unused component is noise to a linter.
    let components = doc.components.get_or_insert_with(Components::new);
    for name in used {
        if let Some(response) = shared_responses.remove(name) {
            components
                .responses
                .insert(name.to_string(), RefOr::T(response));
        }
    }
}

/// A body described only by its media type gets the schema of that type: CSV and Atom are
/// text (`type: string`, their annotation says what is in them), JSON whose shape is given
/// elsewhere (a bundle file, docs/bundle-format.md; this document) an object.
fn describe_content(response: &mut Response) {
    for (media_type, content) in response.content.iter_mut() {
        if content.schema.is_none() {
            let kind = if media_type.ends_with("json") {
                Type::Object
            } else {
                Type::String
            };
            content.schema = Some(RefOr::T(Object::with_type(kind).into()));
        }
    }
}

/// This API's OpenAPI 3.1 description.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
#[get("/api/v1/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", crate::web::http::STATIC_CACHE_CONTROL))
        .json(document())
}
