//! Error pages in the configured theme. A `WebError` page can be raised anywhere (extractors,
//! domain error mapping) without the app state at hand; [`super::edge`] renders it again with
//! the product name once the response passes back through the router, and with its way on
//! resolved against the request (the app request to start again from, kept in a cookie).

use axum::response::Response;

use crate::error::ErrorPageContent;
use crate::ui::{ErrorPage, Theme};

pub fn retheme(product_name: &str, restart: Option<&str>, mut response: Response) -> Response {
    let Some(content) = response.extensions_mut().remove::<ErrorPageContent>() else {
        return response;
    };
    let page = ErrorPage {
        theme: Theme::new(product_name),
        title: content.title.to_string(),
        message: content.message.to_string(),
        next: content.way_on.link(restart),
    };
    let themed = page.respond(response.status());
    let (mut parts, _) = response.into_parts();
    let (themed_parts, body) = themed.into_parts();
    // Keep the original headers (Retry-After, cookies) but describe the new body.
    for name in [
        axum::http::header::CONTENT_TYPE,
        axum::http::header::CONTENT_LENGTH,
    ] {
        parts.headers.remove(&name);
        if let Some(value) = themed_parts.headers.get(&name) {
            parts.headers.insert(name, value.clone());
        }
    }
    Response::from_parts(parts, body)
}
