//! The one error type of the crate. The web layer maps each variant to a stable public shape
//! (problem+json for the API, a page for HTML); internal detail goes to the log only.

use crate::bundle::Rejection;
use crate::domain::code::CodeError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A bundle failed verification; nothing was stored.
    #[error("{0}")]
    Rejected(#[from] Rejection),
    /// A unified social credit code that is not one.
    #[error("invalid code: {0}")]
    InvalidCode(#[from] CodeError),
    /// Input that is well-formed but not acceptable (a query parameter, a CLI argument).
    #[error("{0}")]
    BadRequest(String),
    /// Nothing by that name.
    #[error("{0} not found")]
    NotFound(String),
    /// It existed, but has left public display (docs/rules.md, "Public display limits").
    #[error("{0}")]
    Gone(String),
    /// A page cursor that this registry did not make, or that contradicts the query.
    #[error("{0}")]
    InvalidCursor(String),
    /// A page cursor made at a revision this instance cannot answer from.
    #[error("{0}")]
    CursorExpired(String),
    /// A signed receipt was asked for, but this registry has no receipt key.
    #[error("receipts are unavailable: no receipt key is configured")]
    ReceiptsUnavailable,
    /// Stored data that does not match its signed, verified form; withheld.
    #[error("integrity: {0}")]
    Integrity(String),
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
    #[error("database connection: {0}")]
    Connection(#[from] diesel::ConnectionError),
    #[error("database migrations: {0}")]
    Migration(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    /// An I/O error with what was being done (usually a path).
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
