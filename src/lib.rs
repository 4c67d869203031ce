//! envcredit: the public, read-only registry of the environmental credit of Jiaxing's social
//! environmental monitoring institutions.
//!
//! Data flows one way: a signed bundle is verified ([`bundle`]) and imported atomically
//! ([`import`]) into the [`store`]; the [`read`] model is rebuilt from re-verified bundles and
//! served by [`web`]. [`domain`] holds the pure rules of the measures and imports nothing else of
//! this crate. [`cli`] is the command line; `main` only calls it.

pub mod bundle;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod domain;
pub mod error;
pub mod highwater;
pub mod import;
pub mod read;
pub mod receipt;
pub mod store;
pub mod web;

pub use error::{Error, Result};
