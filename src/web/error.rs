//! The public shape of every error: RFC 9457 problem+json for the API (a page for HTML, see
//! `pages`). Each kind has a stable `type` and `code`; internal detail is logged, never sent.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::Error;

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable URI reference naming the kind of problem, e.g. `/problems/invalid-code`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Short human-readable summary of the kind.
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What exactly is wrong with this request.
    pub detail: String,
    /// Stable machine-readable id of the kind (the last segment of `type`).
    pub code: String,
    /// For `invalid-code`: which check failed (`length`, `invalid_character`,
    /// `division_not_digits`, `check_character`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, title: &str, detail: impl Into<String>) -> Problem {
        Problem {
            type_: format!("/problems/{code}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_string(),
            reason: None,
        }
    }

    /// No route for this path (with any method).
    pub fn no_route(path: &str) -> Problem {
        Problem::new(
            StatusCode::NOT_FOUND,
            "not-found",
            "Not found",
            format!("{path} not found; the API is described at /api/v1/openapi.json"),
        )
    }

    /// The path exists, but not with this method.
    pub fn method_not_allowed(method: &str, path: &str, allowed: &str) -> Problem {
        Problem::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            format!("{path} does not answer {method}; allowed: {allowed}"),
        )
    }

    pub fn status(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl From<&Error> for Problem {
    fn from(error: &Error) -> Problem {
        match error {
            Error::InvalidCode(e) => {
                let mut p = Problem::new(
                    StatusCode::BAD_REQUEST,
                    "invalid-code",
                    "Invalid unified social credit code",
                    e.to_string(),
                );
                p.reason = Some(e.code().to_string());
                p
            }
            Error::BadRequest(detail) => {
                Problem::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request", detail.clone())
            }
            Error::NotFound(what) => Problem::new(
                StatusCode::NOT_FOUND,
                "not-found",
                "Not found",
                format!("{what} not found"),
            ),
            Error::Gone(detail) => Problem::new(
                StatusCode::GONE,
                "no-longer-displayed",
                "No longer displayed",
                detail.clone(),
            ),
            Error::InvalidCursor(detail) => Problem::new(
                StatusCode::BAD_REQUEST,
                "invalid-cursor",
                "Invalid cursor",
                detail.clone(),
            ),
            Error::CursorExpired(detail) => Problem::new(
                StatusCode::GONE,
                "cursor-expired",
                "Cursor expired",
                detail.clone(),
            ),
            Error::ReceiptsUnavailable => Problem::new(
                StatusCode::NOT_FOUND,
                "receipts-unavailable",
                "Receipts unavailable",
                "This registry does not issue signed receipts (no receipt key is configured); ask without `receipt`.",
            ),
            Error::Integrity(_) => Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "integrity",
                "Record withheld",
                "This record is withheld: the stored data does not match its signed, verified form. The operators have been alerted.",
            ),
            Error::Database(_) | Error::Connection(_) | Error::Migration(_) => Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                "The registry cannot answer right now; try again shortly.",
            ),
            Error::Rejected(_) | Error::Config(_) | Error::Io { .. } | Error::Internal(_) => {
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "Something went wrong on our side; it has been logged.",
                )
            }
        }
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        Problem::from(self).status()
    }

    fn error_response(&self) -> HttpResponse {
        let problem = Problem::from(self);
        if problem.status().is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        problem_response(&problem)
    }
}

pub fn problem_response(problem: &Problem) -> HttpResponse {
    HttpResponse::build(problem.status())
        .content_type("application/problem+json")
        .insert_header(("Cache-Control", "no-store"))
        .json(problem)
}
