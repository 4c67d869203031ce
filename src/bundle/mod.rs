//! The signed import contract between the scoring pipeline and the registry.
//!
//! A bundle is an [`envelope`] around the exact bytes of its signed [`manifest`], with the
//! records of one dataset beside it, each in one canonical byte form ([`records`]), committed to
//! by the manifest's RFC 6962 [`merkle`] root; a [`proof`] proves one record with the signed
//! manifest alone. [`verify`] checks a bundle in the documented order and stops at the
//! first failure; [`sign`] is the pipeline's side, used by the demo, the tests and `envcredit sign`.
//! The format is specified in `docs/bundle-format.md`.

pub mod envelope;
pub mod history;
pub mod manifest;
pub mod merkle;
pub mod proof;
pub mod records;
pub mod rejection;
pub mod sign;
pub mod strict;
pub mod verify;

pub use manifest::{Dataset, EvaluationSchedule, Manifest};
pub use records::{RecordKey, Records};
pub use rejection::{RecordRef, Rejection, Rule};
pub use verify::{verify, ChainView, Limits, TrustedKey, Verified, VerifiedBundle};
