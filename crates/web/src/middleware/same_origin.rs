//! The Origin rule (F4, S44): a state-changing request a browser sends from a page of
//! another origin is refused with 403 before any handler runs, so nothing is read, counted or
//! written. It backs up the CSRF token (`kit::csrf`) and covers a form someone forgets to
//! check: it applies to every route but the few that other sites call by design.
//!
//! Browsers send `Origin` with every `POST`, `PUT`, `PATCH` and `DELETE` (Fetch standard), and
//! `Sec-Fetch-Site` with every request to an https or loopback origin. A request with neither
//! (a program, an old browser) is left to the token check. Programs calling our APIs send
//! neither header.

use axum::response::{IntoResponse, Response};
use http::{HeaderMap, Method, header};
use lanyard_issuer::endpoints;

use crate::error::WebError;
use crate::kit::Caller;

/// Whether `path` is called cross-origin by design, by a relying party's page or server or
/// by an organization's identity provider, with its own proof instead of our cookies:
/// - `POST /authorize`: an authorization request posted from the client's page (OIDC Core
///   §3.1.2.1); it changes nothing a `GET` would not (docs/http.md);
/// - the token, introspection, revocation and device authorization endpoints (client
///   authentication), userinfo (a bearer token): back-channel or bearer calls, which a
///   browser-based client may make from its own origin;
/// - `/federation/{slug}/backchannel-logout`: the identity provider's signed logout token.
fn cross_origin_by_design(path: &str) -> bool {
    matches!(
        path,
        endpoints::AUTHORIZE
            | endpoints::TOKEN
            | endpoints::INTROSPECT
            | endpoints::REVOKE
            | endpoints::DEVICE_AUTHORIZATION
            | endpoints::USERINFO
    ) || path
        .strip_prefix("/federation/")
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(slug, tail)| !slug.is_empty() && tail == "backchannel-logout")
}

/// Whether the request comes from a page of another origin than `public_origin`:
/// `Sec-Fetch-Site: cross-site` or `same-site` (a sibling host is another origin too), or an
/// `Origin` header that is not ours (more than one is not ours either).
///
/// `Origin: null` alone decides nothing: browsers send it for every form post from a page
/// whose `Referrer-Policy` is `no-referrer` (Fetch §3.1, "serializing a request origin") —
/// which is ours, on every page (S45). Such a post carries `Sec-Fetch-Site: same-origin`
/// from our own pages and `cross-site` from an attacker's (a sandboxed frame also says
/// `null`), and the first check decides; a browser too old for `Sec-Fetch-Site` is left to
/// the CSRF token.
pub fn is_cross_site(headers: &HeaderMap, public_origin: &str) -> bool {
    let fetch_site = headers.get("sec-fetch-site");
    if fetch_site.is_some_and(|site| site == "cross-site" || site == "same-site") {
        return true;
    }
    let mut origins = headers.get_all(header::ORIGIN).iter();
    let Some(origin) = origins.next() else {
        return false;
    };
    if origins.next().is_some() {
        return true;
    }
    let Ok(origin) = origin.to_str() else {
        return true;
    };
    if origin == "null" {
        return false;
    }
    public_origin.is_empty() || !origin.eq_ignore_ascii_case(public_origin)
}

/// The 403 for a cross-site state-changing request, or `None` to go on.
pub fn refuse_cross_site(
    method: &Method,
    path: &str,
    headers: &HeaderMap,
    public_origin: &str,
) -> Option<Response> {
    if method.is_safe() || cross_origin_by_design(path) || !is_cross_site(headers, public_origin) {
        return None;
    }
    Some(WebError::cross_site(Caller::of(method, headers)).into_response())
}

#[cfg(test)]
mod tests {
    use http::{HeaderMap, HeaderValue, Method};

    use super::{cross_origin_by_design, is_cross_site, refuse_cross_site};

    const OURS: &str = "https://id.example.com";

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn s44_only_our_origin_may_post() {
        assert!(!is_cross_site(&headers(&[("origin", OURS)]), OURS));
        assert!(!is_cross_site(
            &headers(&[("origin", "HTTPS://ID.example.com")]),
            OURS
        ));
        assert!(!is_cross_site(&headers(&[]), OURS), "a program sends none");
        assert!(!is_cross_site(
            &headers(&[("sec-fetch-site", "same-origin")]),
            OURS
        ));
        assert!(!is_cross_site(
            &headers(&[("sec-fetch-site", "none")]),
            OURS
        ));
        // Our own pages send `null` (their Referrer-Policy is no-referrer) with same-origin.
        assert!(!is_cross_site(
            &headers(&[("origin", "null"), ("sec-fetch-site", "same-origin")]),
            OURS
        ));
        assert!(
            !is_cross_site(&headers(&[("origin", "null")]), OURS),
            "an old browser: left to the token"
        );
        for refused in [
            headers(&[("origin", "https://evil.example")]),
            headers(&[("origin", "null"), ("sec-fetch-site", "cross-site")]),
            headers(&[("origin", OURS), ("sec-fetch-site", "cross-site")]),
            headers(&[("origin", "https://id.example.com:8443")]),
            headers(&[("origin", "http://id.example.com")]),
            headers(&[("origin", "https://sub.id.example.com")]),
            headers(&[("origin", OURS), ("origin", "https://evil.example")]),
            headers(&[("sec-fetch-site", "cross-site")]),
            headers(&[("sec-fetch-site", "same-site")]),
            // `Origin` decides when both are there.
            headers(&[
                ("origin", "https://evil.example"),
                ("sec-fetch-site", "same-origin"),
            ]),
        ] {
            assert!(is_cross_site(&refused, OURS), "{refused:?}");
        }
        assert!(
            is_cross_site(&headers(&[("origin", OURS)]), ""),
            "no configured origin: nothing is ours"
        );
    }

    #[test]
    fn s44_back_channel_and_safe_requests_are_not_judged() {
        let evil = headers(&[("origin", "https://evil.example")]);
        for path in [
            "/authorize",
            "/token",
            "/introspect",
            "/revoke",
            "/device_authorization",
            "/userinfo",
            "/federation/acme/backchannel-logout",
        ] {
            assert!(cross_origin_by_design(path), "{path}");
            assert!(refuse_cross_site(&Method::POST, path, &evil, OURS).is_none());
        }
        for path in [
            "/login",
            "/consent",
            "/logout",
            "/account/password",
            "/authorize/continue",
            "/federation//backchannel-logout",
            "/federation/acme/callback",
            "/tokens",
        ] {
            assert!(!cross_origin_by_design(path), "{path}");
        }
        assert!(refuse_cross_site(&Method::GET, "/login", &evil, OURS).is_none());
        assert!(refuse_cross_site(&Method::HEAD, "/login", &evil, OURS).is_none());
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let refused = refuse_cross_site(&method, "/login", &evil, OURS).unwrap();
            assert_eq!(refused.status(), 403, "{method}");
        }
    }
}
