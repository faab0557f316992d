//! What every admin API route uses (`api::admin`): who is calling ([`AdminCaller`]), strict
//! query parameters, JSON bodies within their limit with unknown fields refused, pages with
//! a sealed cursor, and `ETag` / `If-Match`. Every refusal is a [`Problem`].

mod auth;
mod request;

pub use auth::AdminCaller;
pub use request::{
    AdminJson, AdminQuery, DEFAULT_LIMIT, MAX_LIMIT, Page, Tagged, etag_of, require_if_match,
};

pub use crate::error::Problem;
