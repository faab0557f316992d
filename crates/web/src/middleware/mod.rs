//! Middleware: security headers on every response and cheap guards on request size and shape.
//!
//! Both run before any handler, including the token endpoint, so they use static header values
//! and never allocate on the happy path.

pub mod limits;
pub mod security_headers;

pub use limits::{
    HeaderLimitExceeded, MAX_COOKIES, MAX_FORM_BODY, MAX_HEADER_BYTES, MAX_HEADERS, check_headers,
    check_query, header_limits, query_guard,
};
pub use security_headers::security_headers;

#[cfg(test)]
mod tests;
