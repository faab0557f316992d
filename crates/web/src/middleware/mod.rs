//! Middleware, applied as one layer (`edge`): cheap guards on request size and shape, the
//! Origin rule for state-changing requests (`same_origin`), themed
//! error pages, and security headers on every response.
//!
//! The guards run before any handler, including the token endpoint, so they use static header values
//! and never allocate on the happy path.

pub mod edge;
pub mod error_pages;
pub mod limits;
pub mod same_origin;
pub mod security_headers;

pub use edge::edge;
pub use error_pages::retheme;
pub use limits::{
    HeaderLimitExceeded, MAX_COOKIES, MAX_FORM_BODY, MAX_HEADER_BYTES, MAX_HEADERS, check_headers,
    check_query, refuse_bad_query, refuse_oversized_body, refuse_oversized_headers,
};
pub use same_origin::refuse_cross_site;
pub use security_headers::add_security_headers;

#[cfg(test)]
mod tests;
