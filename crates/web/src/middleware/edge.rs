//! The one middleware layer: every request passes the cheap guards (header size, declared
//! body length, query, and for a state-changing one the Origin rule), every response gets the
//! theme on error pages and the security headers. One layer rather than four because axum
//! clones the service stack below each `from_fn` layer per request; four layers cost about
//! 5,000 instructions a request on the token endpoint (docs/performance.md).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use super::{
    add_security_headers, refuse_bad_query, refuse_cross_site, refuse_oversized_body,
    refuse_oversized_headers, retheme,
};
use crate::WebSettings;

pub async fn edge(
    State(settings): State<Arc<WebSettings>>,
    request: Request,
    next: Next,
) -> Response {
    let refusal = refuse_oversized_headers(request.headers())
        .or_else(|| refuse_oversized_body(request.headers()))
        .or_else(|| refuse_bad_query(request.uri().query()))
        .or_else(|| {
            refuse_cross_site(
                request.method(),
                request.uri().path(),
                request.headers(),
                &settings.public_origin,
            )
        });
    let response = match refusal {
        // A refused form is a page too: in the theme (the guards' JSON passes unchanged).
        Some(refusal) => retheme(&settings.product_name, None, refusal),
        None => {
            // Read before the request is handed on; only an expired sign-in's page uses it.
            let restart = crate::kit::cookies::restart(request.headers());
            let response = next.run(request).await;
            retheme(&settings.product_name, restart.as_deref(), response)
        }
    };
    add_security_headers(response, settings.hsts)
}
