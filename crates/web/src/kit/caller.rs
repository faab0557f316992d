//! Who is calling: a browser gets pages and redirects, an API client gets JSON.
//!
//! The rule (docs/http.md): `Accept` is negotiated with its q-values and media ranges
//! (RFC 9110 §12.5.1, parsed by `headers-accept`) between the two things we can answer,
//! HTML first. A browser's `text/html,…,application/json;q=0.9` gets pages; a client that
//! asks for `application/json` (and not `text/html` as much) gets JSON. `*/*`, no `Accept`,
//! an `Accept` we can not parse, and one that names neither get pages: a redirect to sign in
//! costs a script nothing, a JSON 401 strands a person. A `DELETE` is always an API call
//! (no form can send one).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use headers_accept::Accept;
use mediatype::MediaType;
use mediatype::names::{APPLICATION, HTML, JSON, TEXT};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Browser,
    Api,
}

const TEXT_HTML: MediaType<'static> = MediaType::new(TEXT, HTML);
const APPLICATION_JSON: MediaType<'static> = MediaType::new(APPLICATION, JSON);
/// What we can answer, in our order of preference when the client ranks them equally.
const AVAILABLE: &[MediaType<'static>] = &[TEXT_HTML, APPLICATION_JSON];

impl Caller {
    /// A `DELETE`, or a request whose `Accept` prefers JSON to HTML, is an API call.
    pub fn of(method: &Method, headers: &HeaderMap) -> Caller {
        if method == Method::DELETE || prefers_json(headers) {
            Caller::Api
        } else {
            Caller::Browser
        }
    }
}

fn prefers_json(headers: &HeaderMap) -> bool {
    let mut values = headers.get_all(header::ACCEPT).iter().peekable();
    if values.peek().is_none() {
        return false;
    }
    // Several `Accept` lines are one list (RFC 9110 §5.3); `decode` joins them.
    let Ok(accept) = <Accept as axum_extra::headers::Header>::decode(&mut values) else {
        return false;
    };
    accept
        .negotiate(AVAILABLE)
        .is_some_and(|chosen| *chosen == APPLICATION_JSON)
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller::of(&parts.method, &parts.headers))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn caller(method: Method, accept: &[&str]) -> Caller {
        let mut headers = HeaderMap::new();
        for value in accept {
            headers.append(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        }
        Caller::of(&method, &headers)
    }

    #[test]
    fn d7_browsers_get_pages_even_when_they_also_accept_json() {
        for accept in [
            "text/html,application/json;q=0.9",
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            "application/json;q=0.5, text/html",
            "text/*, application/json;q=0.9",
        ] {
            assert_eq!(caller(Method::GET, &[accept]), Caller::Browser, "{accept}");
        }
    }

    #[test]
    fn api_clients_that_ask_for_json_get_json() {
        for accept in [
            "application/json",
            "application/json, text/html;q=0.5",
            "text/html;q=0, */*",
            "application/*",
            "APPLICATION/JSON",
        ] {
            assert_eq!(caller(Method::GET, &[accept]), Caller::Api, "{accept}");
        }
        // Two lines are one list.
        assert_eq!(
            caller(Method::GET, &["text/html;q=0.1", "application/json"]),
            Caller::Api
        );
        assert_eq!(caller(Method::DELETE, &[]), Caller::Api);
        assert_eq!(caller(Method::DELETE, &["text/html"]), Caller::Api);
    }

    #[test]
    fn indifferent_missing_or_malformed_accept_gets_pages() {
        assert_eq!(caller(Method::GET, &[]), Caller::Browser);
        for accept in [
            "*/*",
            "",
            "image/png",
            "not a media type",
            "text/html;q=0, application/json;q=0",
        ] {
            assert_eq!(caller(Method::GET, &[accept]), Caller::Browser, "{accept}");
        }
    }
}
