//! HTTP for Lanyard: axum routers per area, extractors, the one error→response mapping
//! ([`error`]), pages, and middleware. Handlers are thin: extract, call one service method,
//! map the result.

pub mod authenticated;
pub mod client_credentials;
pub mod device_cookie;
pub mod error;
pub mod middleware;
pub mod origin;
pub mod params;
pub mod routes;
pub mod session;
pub mod state;
pub mod stepup;
pub mod ui;

use axum::Router;
use axum::extract::DefaultBodyLimit;

pub use state::{AppState, WebSettings};

/// The whole HTTP surface with its middleware.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(routes::metadata::routes())
        .merge(routes::authorize::routes())
        .merge(routes::login::routes())
        .merge(routes::second_step::routes())
        .merge(routes::forced_enrollment::routes())
        .merge(routes::orgs::routes())
        .merge(routes::account::routes())
        .merge(routes::account_pats::routes())
        .merge(routes::token::routes())
        .merge(routes::device::routes())
        .merge(routes::backchannel::routes())
        .merge(routes::userinfo::routes())
        .merge(routes::logout::routes())
        .merge(routes::health::routes())
        .merge(ui::assets::asset_routes())
        .layer(DefaultBodyLimit::max(middleware::MAX_FORM_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.settings.clone(),
            middleware::edge,
        ))
        .with_state(state)
}
