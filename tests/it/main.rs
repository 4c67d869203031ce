//! Integration tests: the real application, built by the same builder `main` uses, on port 0,
//! with a fresh database per test, on SQLite and on PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod helpers;

mod api;
mod api_docs;
mod as_of;
mod atom;
mod attacks;
mod browser;
mod cache;
mod cli;
mod conformance;
mod crash;
mod demo;
mod flags;
mod highwater;
mod history;
mod http;
mod keys;
mod list_proofs;
mod openapi;
mod operations;
mod pages;
mod paging;
mod progress;
mod proofs;
mod public;
mod ratelimit;
mod receipts;
mod rules_page;
mod statistics_page;
mod tamper;
mod verify_python;
mod withheld;
