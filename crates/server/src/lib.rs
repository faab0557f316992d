//! The `lanyard` binary's library: configuration, wiring, the CLI commands and serving.

pub mod app;
pub mod audit_retention;
pub mod backchannel;
pub mod cli;
pub mod commands;
pub mod config;
pub mod secrets;
pub mod serve;

pub use lanyard_issuer::clients::NewClient;
