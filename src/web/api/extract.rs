//! What a client reads when the query string, a path segment or a JSON body cannot be read: plain
//! words that name the parameter and say what it takes, never the framework's text
//! (`Query deserialize error: …`, `struct RawBatch with 5 elements`).
//!
//! What a parameter takes comes from the API description itself (its schema: type, range,
//! allowed values), so that the message and the documentation cannot disagree. The serde
//! messages are only read for what they reliably carry: the name of an unknown, missing or
//! repeated field, and what kind of JSON value was found. A message written by this crate's own
//! deserializers (`as_of must be a date …`) is already plain, and is passed on.

use std::sync::LazyLock;

use actix_web::error::{InternalError, JsonPayloadError, PathError, QueryPayloadError};
use actix_web::http::{ConnectionType, StatusCode};
use actix_web::{web, HttpRequest};
use serde_json::Value;

use super::super::error::{problem_response, Problem};
use crate::Error;

/// The longest part of a client's value quoted back, in characters.
const MAX_QUOTED_CHARS: usize = 40;

/// The API description as JSON, to read parameter schemas from.
static SPEC: LazyLock<Value> =
    LazyLock::new(|| serde_json::to_value(super::document()).unwrap_or(Value::Null));

fn bad_request(detail: String) -> actix_web::Error {
    let problem = Problem::from(&Error::BadRequest(detail.clone()));
    InternalError::from_response(detail, problem_response(&problem)).into()
}

/// JSON bodies (the batch POSTs): at most `limit` bytes (`http.max_body_bytes`, 256 KiB by
/// default: 1,000 codes with dates fit in a fifth of that). Too large is `413`, not declared as
/// JSON (`Content-Type`) is `415`, anything else wrong with the body (not valid JSON, not the
/// documented shape) is `400` with the reason.
pub fn json_config(limit: usize) -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(limit)
        .error_handler(move |e, req| {
            let problem = match &e {
                JsonPayloadError::OverflowKnownLength { .. }
                | JsonPayloadError::Overflow { .. } => Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload-too-large",
                    "Request body too large",
                    format!("request body: larger than this registry's limit of {limit} bytes"),
                ),
                JsonPayloadError::Payload(actix_web::error::PayloadError::Io(io))
                    if io.kind() == std::io::ErrorKind::TimedOut =>
                {
                    let problem = Problem::new(
                        StatusCode::REQUEST_TIMEOUT,
                        "request-timeout",
                        "Request timeout",
                        "request body: it did not arrive in time; the connection is closed",
                    );
                    let mut response = problem_response(&problem);
                    response
                        .head_mut()
                        .set_connection_type(ConnectionType::Close);
                    return InternalError::from_response(e, response).into();
                }
                JsonPayloadError::ContentType => Problem::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported-media-type",
                    "Unsupported media type",
                    "request body: send JSON, with `Content-Type: application/json`",
                ),
                JsonPayloadError::Deserialize(json) => {
                    return bad_request(body_detail(&SPEC, req, json));
                }
                _ => return bad_request("request body: it could not be read".to_string()),
            };
            InternalError::from_response(e, problem_response(&problem)).into()
        })
}

pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|e, req| {
        let message = match &e {
            QueryPayloadError::Deserialize(inner) => inner.to_string(),
            other => other.to_string(),
        };
        let pairs = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
            .map(|q| q.into_inner())
            .unwrap_or_default();
        let params = parameters(&SPEC, req.method().as_str(), req.path(), "query");
        bad_request(query_detail(&params, &pairs, &message))
    })
}

pub fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|e, req| {
        let message = match &e {
            PathError::Deserialize(inner) => inner.to_string(),
            other => other.to_string(),
        };
        let params = parameters(&SPEC, req.method().as_str(), req.path(), "path");
        let segments: Vec<(String, String)> = req
            .match_info()
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let detail = first_misfit(&params, &segments, "path parameter")
            .unwrap_or_else(|| format!("path: {}", plain_words(&message)));
        bad_request(detail)
    })
}

/// A parameter as the description declares it: its name and what it takes.
#[derive(Debug, Clone, PartialEq)]
struct Param {
    name: String,
    takes: Takes,
}

#[derive(Debug, Clone, PartialEq)]
enum Takes {
    /// An integer, with the schema's bounds.
    Integer {
        min: Option<i128>,
        max: Option<i128>,
    },
    Boolean,
    OneOf(Vec<String>),
    /// Anything else is checked by the handler, whose own message names it.
    Text,
}

impl Takes {
    /// `None` if `value` fits, else what was expected, in words.
    fn misfit(&self, value: &str) -> Option<String> {
        match self {
            Takes::Integer { min, max } => {
                let fits = value.parse::<i128>().is_ok_and(|n| {
                    min.is_none_or(|min| n >= min) && max.is_none_or(|max| n <= max)
                });
                (!fits).then(|| match (min, max) {
                    (Some(min), Some(max)) => format!("a whole number from {min} to {max}"),
                    (Some(min), None) => format!("a whole number of at least {min}"),
                    (None, Some(max)) => format!("a whole number of at most {max}"),
                    (None, None) => "a whole number".to_string(),
                })
            }
            Takes::Boolean => {
                (!matches!(value, "true" | "false")).then(|| "true or false".to_string())
            }
            Takes::OneOf(values) => (!values.iter().any(|v| v == value))
                .then(|| format!("one of {}", values.join(", "))),
            Takes::Text => None,
        }
    }
}

/// The message for a query string that did not deserialize.
fn query_detail(params: &[Param], pairs: &[(String, String)], message: &str) -> String {
    let known = || {
        if params.is_empty() {
            "this path takes no query parameters".to_string()
        } else {
            let names: Vec<&str> = params.iter().map(|p| p.name.as_str()).collect();
            format!("known: {}", names.join(", "))
        }
    };
    if let Some(name) = field_after(message, "unknown field `") {
        return format!("query parameter `{name}` is not known; {}", known());
    }
    if let Some(name) = field_after(message, "missing field `") {
        return format!("query parameter `{name}` is required");
    }
    if let Some(name) = field_after(message, "duplicate field `") {
        return format!("query parameter `{name}` is given more than once");
    }
    first_misfit(params, pairs, "query parameter")
        .unwrap_or_else(|| format!("query string: {}", plain_words(message)))
}

/// The first value that does not fit its parameter's schema, described.
fn first_misfit(params: &[Param], values: &[(String, String)], what: &str) -> Option<String> {
    values.iter().find_map(|(name, value)| {
        let param = params.iter().find(|p| &p.name == name)?;
        param.takes.misfit(value).map(|expected| {
            format!(
                "{what} `{name}`: expected {expected}, found {}",
                quoted(value)
            )
        })
    })
}

/// The name between backticks after `prefix`, if the message starts so.
fn field_after<'m>(message: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = message.strip_prefix(prefix)?;
    rest.split('`').next()
}

/// A client's value in double quotes, cut to [`MAX_QUOTED_CHARS`] characters.
fn quoted(value: &str) -> String {
    let mut cut: String = value.chars().take(MAX_QUOTED_CHARS).collect();
    if cut.len() < value.len() {
        cut.push('…');
    }
    format!("{cut:?}")
}

/// A serde message without its Rust words: type names become plain ones.
fn plain_words(message: &str) -> String {
    let mut text = message.to_string();
    for (rust, plain) in [
        ("u64", "a whole number"),
        ("u32", "a whole number"),
        ("u16", "a whole number"),
        ("i64", "a whole number"),
        ("i32", "a whole number"),
        ("a sequence", "a list"),
        ("sequence", "a list"),
        ("a map", "an object"),
        ("invalid digit found in string", "expected a whole number"),
        (
            "cannot parse integer from empty string",
            "expected a whole number, found nothing",
        ),
        (
            "number too large to fit in target type",
            "the number is too large",
        ),
    ] {
        text = text.replace(rust, plain);
    }
    text
}

/// The parameters of the operation `method path` in `location` (`query` or `path`), from the
/// description; none if the path is not described.
fn parameters(spec: &Value, method: &str, path: &str, location: &str) -> Vec<Param> {
    let Some(operation) = operation(spec, method, path) else {
        return Vec::new();
    };
    operation
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| resolve(spec, p))
        .filter(|p| p.get("in").and_then(Value::as_str) == Some(location))
        .filter_map(|p| {
            Some(Param {
                name: p.get("name")?.as_str()?.to_string(),
                takes: p.get("schema").map_or(Takes::Text, |s| takes(spec, s)),
            })
        })
        .collect()
}

/// The operation whose path template matches `path` (the most specific, as the router picks:
/// `/flags/batch` before `/flags/{code}`).
fn operation<'a>(spec: &'a Value, method: &str, path: &str) -> Option<&'a Value> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    spec.get("paths")?
        .as_object()?
        .iter()
        .filter_map(|(template, item)| {
            let segments: Vec<&str> = template.trim_start_matches('/').split('/').collect();
            let fits = segments.len() == parts.len()
                && segments.iter().zip(&parts).all(|(segment, part)| {
                    (segment.starts_with('{') && segment.ends_with('}') && !part.is_empty())
                        || segment == part
                });
            let literals = segments.iter().filter(|s| !s.starts_with('{')).count();
            fits.then_some((literals, item))
        })
        .max_by_key(|(literals, _)| *literals)
        .and_then(|(_, item)| item.get(method.to_ascii_lowercase()))
}

/// What a parameter's schema takes.
fn takes(spec: &Value, schema: &Value) -> Takes {
    let schema = resolve(spec, schema);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let values: Vec<String> = values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        if !values.is_empty() {
            return Takes::OneOf(values);
        }
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        if let Some(alternatives) = schema.get(combinator).and_then(Value::as_array) {
            // `Option<T>` is described as T or null: T is what a value must fit.
            let described: Vec<Takes> = alternatives
                .iter()
                .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                .map(|a| takes(spec, a))
                .collect();
            if let [one] = described.as_slice() {
                return one.clone();
            }
            return Takes::Text;
        }
    }
    let kind = match schema.get("type") {
        Some(Value::String(kind)) => Some(kind.as_str()),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .find(|k| *k != "null"),
        _ => None,
    };
    let bound = |name: &str| {
        schema.get(name).and_then(|b| {
            b.as_i64()
                .map(i128::from)
                .or_else(|| b.as_u64().map(i128::from))
        })
    };
    match kind {
        Some("integer") => Takes::Integer {
            min: bound("minimum"),
            max: bound("maximum"),
        },
        Some("boolean") => Takes::Boolean,
        _ => Takes::Text,
    }
}

/// `{"$ref": "#/components/…/Name"}` → what it points at (one level; the description's refs
/// point at definitions, not at other refs).
fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| spec.pointer(pointer))
        .unwrap_or(value)
}

/// The message for a JSON body that did not deserialize.
fn body_detail(spec: &Value, req: &HttpRequest, error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let at = format!("line {}, column {}", error.line(), error.column());
    let shape = body_shape(spec, req.method().as_str(), req.path());
    let expected = || match &shape {
        Some(shape) => format!("; expected {shape}"),
        None => String::new(),
    };
    match error.classify() {
        Category::Eof if error.line() <= 1 && error.column() == 0 => {
            format!("request body: it is empty{}", expected())
        }
        Category::Eof => format!("request body: the JSON ends too early, at {at}"),
        Category::Syntax => format!(
            "request body: not valid JSON at {at} ({})",
            without_position(&error.to_string())
        ),
        Category::Io => "request body: it could not be read".to_string(),
        Category::Data => {
            let message = without_position(&error.to_string());
            if let Some(name) = field_after(&message, "unknown field `") {
                let known = known_names(&message);
                return format!("request body: field `{name}` is not known; known: {known}");
            }
            if let Some(name) = field_after(&message, "missing field `") {
                return format!("request body: field `{name}` is required{}", expected());
            }
            if let Some(name) = field_after(&message, "duplicate field `") {
                return format!("request body: field `{name}` is given more than once");
            }
            if let Some(rest) = message.strip_prefix("invalid type: ") {
                if let Some((found, wanted)) = rest.split_once(", expected ") {
                    // The body as a whole is not the object the operation takes: say which
                    // object, as the description does (not the Rust type behind it).
                    let whole_body = wanted.starts_with("struct ") || wanted.contains(" map");
                    let wanted = match (&shape, whole_body) {
                        (Some(shape), true) => shape.clone(),
                        _ => plain_words(wanted),
                    };
                    let place = if whole_body {
                        String::new()
                    } else {
                        format!(" at {at}")
                    };
                    return format!(
                        "request body: expected {wanted}, found {}{place}",
                        found_words(found)
                    );
                }
            }
            format!("request body: {}", plain_words(&message))
        }
    }
}

/// A serde_json message without its `at line L column C` tail.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// The names serde lists after `expected` in an unknown-field message, comma-separated.
fn known_names(message: &str) -> String {
    let names: Vec<&str> = message
        .split_once("expected")
        .map(|(_, rest)| rest.split('`').skip(1).step_by(2).collect())
        .unwrap_or_default();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

/// serde's `Unexpected` in JSON's words.
fn found_words(found: &str) -> String {
    let unquoted = |s: &str| s.trim_matches('`').to_string();
    if found.starts_with("sequence") {
        "a list".to_string()
    } else if found.starts_with("map") {
        "an object".to_string()
    } else if let Some(s) = found.strip_prefix("string ") {
        format!("the string {s}")
    } else if let Some(n) = found
        .strip_prefix("integer ")
        .or_else(|| found.strip_prefix("floating point "))
    {
        format!("the number {}", unquoted(n))
    } else if let Some(b) = found.strip_prefix("boolean ") {
        unquoted(b)
    } else if found == "null" || found == "unit value" {
        "null".to_string()
    } else {
        found.to_string()
    }
}

/// The body an operation takes, as JSON a client would write: `{"codes": [...]}`, one shape per
/// alternative of the description's request body, joined by "or".
fn body_shape(spec: &Value, method: &str, path: &str) -> Option<String> {
    let schema =
        operation(spec, method, path)?.pointer("/requestBody/content/application~1json/schema")?;
    let schema = resolve(spec, schema);
    let alternatives: Vec<&Value> = match schema.get("oneOf").and_then(Value::as_array) {
        Some(alternatives) => alternatives.iter().map(|a| resolve(spec, a)).collect(),
        None => vec![schema],
    };
    let shapes: Vec<String> = alternatives
        .iter()
        .filter_map(|a| {
            let required = a.get("required")?.as_array()?;
            let fields: Vec<String> = required
                .iter()
                .filter_map(Value::as_str)
                .map(|name| {
                    let property = a
                        .pointer(&format!("/properties/{name}"))
                        .map(|p| resolve(spec, p));
                    let kind = property.and_then(|p| p.get("type")).and_then(Value::as_str);
                    let placeholder = match kind {
                        Some("array") => "[...]",
                        Some("object") => "{...}",
                        Some("string") => "\"...\"",
                        Some("integer") | Some("number") => "0",
                        Some("boolean") => "true",
                        _ => "...",
                    };
                    format!("\"{name}\": {placeholder}")
                })
                .collect();
            (!fields.is_empty()).then(|| format!("{{{}}}", fields.join(", ")))
        })
        .collect();
    (!shapes.is_empty()).then(|| shapes.join(" or "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Value {
        serde_json::json!({
            "paths": {
                "/api/v1/things": {"get": {"parameters": [
                    {"name": "limit", "in": "query",
                     "schema": {"type": ["integer", "null"], "minimum": 1, "maximum": 100}},
                    {"name": "format", "in": "query", "schema": {"$ref": "#/components/schemas/Format"}},
                    {"name": "bom", "in": "query", "schema": {"type": "boolean"}},
                    {"name": "q", "in": "query", "schema": {"type": "string"}}
                ]}},
                "/api/v1/things/{year}": {"get": {"parameters": [
                    {"name": "year", "in": "path", "schema": {"type": "integer", "minimum": 2000, "maximum": 2099}}
                ]}},
                "/api/v1/things/batch": {"post": {"requestBody": {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Batch"}}}}}}
            },
            "components": {"schemas": {
                "Format": {"type": "string", "enum": ["json", "csv"]},
                "Batch": {"oneOf": [
                    {"type": "object", "required": ["codes"], "properties": {"codes": {"type": "array"}}},
                    {"type": "object", "required": ["items"], "properties": {"items": {"type": "array"}}}
                ]}
            }}
        })
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn query_errors_name_the_parameter_and_what_it_takes() {
        let spec = spec();
        let params = parameters(&spec, "GET", "/api/v1/things", "query");
        assert_eq!(params.len(), 4);
        let detail =
            |list: &[(&str, &str)], message: &str| query_detail(&params, &pairs(list), message);
        assert_eq!(
            detail(&[("limit", "abc")], "invalid digit found in string"),
            "query parameter `limit`: expected a whole number from 1 to 100, found \"abc\""
        );
        assert_eq!(
            detail(&[("limit", "0")], "invalid value"),
            "query parameter `limit`: expected a whole number from 1 to 100, found \"0\""
        );
        assert_eq!(
            detail(&[("format", "xml")], "unknown variant `xml`"),
            "query parameter `format`: expected one of json, csv, found \"xml\""
        );
        assert_eq!(
            detail(
                &[("bom", "yes")],
                "provided string was not `true` or `false`"
            ),
            "query parameter `bom`: expected true or false, found \"yes\""
        );
        assert_eq!(
            detail(
                &[("foo", "1")],
                "unknown field `foo`, expected one of `limit`, `format`"
            ),
            "query parameter `foo` is not known; known: limit, format, bom, q"
        );
        assert_eq!(
            detail(&[], "missing field `q`"),
            "query parameter `q` is required"
        );
        assert_eq!(
            query_detail(
                &[],
                &pairs(&[("x", "1")]),
                "unknown field `x`, expected nothing"
            ),
            "query parameter `x` is not known; this path takes no query parameters"
        );
        // A message of this crate's own passes through.
        assert_eq!(
            detail(&[("as_of", "x")], "as_of must be a date YYYY-MM-DD"),
            "query string: as_of must be a date YYYY-MM-DD"
        );
    }

    #[test]
    fn path_parameters_and_body_shapes_come_from_the_description() {
        let spec = spec();
        let params = parameters(&spec, "GET", "/api/v1/things/20x4", "path");
        assert_eq!(
            first_misfit(&params, &pairs(&[("year", "20x4")]), "path parameter").as_deref(),
            Some(
                "path parameter `year`: expected a whole number from 2000 to 2099, found \"20x4\""
            )
        );
        assert_eq!(
            body_shape(&spec, "POST", "/api/v1/things/batch").as_deref(),
            Some("{\"codes\": [...]} or {\"items\": [...]}")
        );
        assert_eq!(body_shape(&spec, "GET", "/api/v1/things/batch"), None);
    }

    #[test]
    fn found_values_in_json_words() {
        assert_eq!(found_words("sequence"), "a list");
        assert_eq!(found_words("map"), "an object");
        assert_eq!(found_words("integer `5`"), "the number 5");
        assert_eq!(found_words("string \"x\""), "the string \"x\"");
        assert_eq!(found_words("boolean `true`"), "true");
        assert_eq!(found_words("null"), "null");
        assert_eq!(
            known_names("unknown field `x`, expected one of `as_of`, `codes`"),
            "as_of, codes"
        );
        assert_eq!(quoted(&"a".repeat(50)), format!("\"{}…\"", "a".repeat(40)));
    }
}
