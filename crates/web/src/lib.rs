//! HTTP for Lanyard. Find your way:
//! - [`pages`]: what people see (authorize and consent, the sign-in pages, the account
//!   pages, the device page, sign-out); the sign-in sequence itself is `lanyard_signin`;
//! - [`api`]: JSON for programs (token, introspection, revocation, userinfo, discovery,
//!   health, organizations);
//! - [`kit`]: what every route uses (responses, CSRF, cookies, parameters, extractors,
//!   paths) — routes import from here, never from each other;
//! - [`error`]: the one error→response mapping; [`ui`]: view models and templates;
//!   [`middleware`]: the `edge` layer.

pub mod api;
pub mod error;
pub mod kit;
pub mod middleware;
pub mod pages;
pub mod state;
pub mod ui;

use axum::Router;
use axum::extract::DefaultBodyLimit;

pub use kit::origin::ForwardedFor;
pub use state::{AdminServices, AppState, WebSettings};

/// The whole HTTP surface with its middleware.
pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(api::metadata::routes())
        .merge(pages::authorize::routes())
        .merge(pages::signin::routes())
        .merge(pages::federation::routes())
        .merge(pages::sites::routes())
        .merge(api::orgs::routes())
        .merge(api::org_sso::routes())
        .merge(pages::account::routes())
        .merge(api::account::routes())
        .merge(pages::account::pats::routes())
        .merge(api::token::routes())
        .merge(api::device_authorization::routes())
        .merge(pages::device::routes())
        .merge(api::backchannel::routes())
        .merge(api::userinfo::routes())
        .merge(pages::logout::routes())
        .merge(pages::migrate::routes())
        .merge(pages::register::routes())
        .merge(pages::password_reset::routes())
        .merge(pages::sites::admin::routes())
        .merge(api::admin::routes())
        .merge(api::health::routes())
        .merge(ui::assets::asset_routes())
        .merge(pages::home::routes())
        .fallback(pages::home::not_found)
        .layer(DefaultBodyLimit::max(middleware::MAX_FORM_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.settings.clone(),
            middleware::edge,
        ))
        .with_state(state)
}
