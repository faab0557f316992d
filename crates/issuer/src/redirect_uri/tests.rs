use super::*;

fn reg(uris: &[&str]) -> Vec<String> {
    uris.iter().map(|s| s.to_string()).collect()
}

#[test]
fn s01_redirect_uri_bypass_corpus_is_refused() {
    let registered = reg(&["https://app.example.com/cb"]);
    for variant in [
        "HTTPS://APP.EXAMPLE.COM/cb",
        "https://app.example.com/CB",
        "https://app.example.com/cb/",
        "https://app.example.com/cb?x=1",
        "https://app.example.com/cb#x",
        "https://app.example.com:443/cb",
        "https://app.example.com/cb/../evil",
        "https://app.example.com/cb/..;/evil",
        "https://app.example.com/cb%2f..%2fevil",
        "https://app.example.com/cb/%252e%252e",
        "https://app.example.com@evil.com/cb",
        "https://a@b@evil.com/cb",
        "https://app.example.com.evil.com/cb",
        "https:\\\\evil.com",
        "http://app.example.com/cb",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "",
    ] {
        assert!(
            matches_registered(&registered, variant, true).is_none(),
            "{variant}"
        );
    }
    assert!(matches_registered(&registered, "https://app.example.com/cb", false).is_some());
}

#[test]
fn s01_dangerous_uris_can_not_be_registered() {
    for bad in [
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "http://app.example.com/cb",
        "https://user@app.example.com/cb",
        "https://app.example.com/cb#frag",
        "https:\\\\evil.com",
        "/relative/cb",
        "https://app.example.com/ cb",
        "myapp:/cb",
    ] {
        assert!(validate_for_registration(bad).is_err(), "{bad}");
    }
    for good in [
        "https://app.example.com/cb",
        "https://app.example.com/cb?tenant=1",
        "http://127.0.0.1/cb",
        "http://[::1]:8080/cb",
        "http://localhost",
        "com.example.app:/oauth2redirect",
    ] {
        assert!(validate_for_registration(good).is_ok(), "{good}");
    }
}

#[test]
fn s02_loopback_any_port_but_nothing_else() {
    let registered = reg(&["http://127.0.0.1/cb"]);
    assert!(matches_registered(&registered, "http://127.0.0.1:53124/cb", true).is_some());
    assert!(matches_registered(&registered, "http://127.0.0.1/cb", true).is_some());
    for bad in [
        "http://127.0.0.1:53124/cb?bar=foo",
        "http://127.0.0.1:53124/cb2",
        "http://localhost:53124/cb",
        "http://127.0.0.2/cb",
        "http://[::1]/cb",
        "http://127.0.0.1:0/cb",
        "http://127.0.0.1:99999/cb",
        "http://127.0.0.1:/cb",
        "http://127.0.0.1:80x/cb",
        "http://127.0.0.1.evil.com/cb",
        "http://127.0.0.1@evil.com/cb",
        "https://127.0.0.1:53124/cb",
    ] {
        assert!(
            matches_registered(&registered, bad, true).is_none(),
            "{bad}"
        );
    }
    // The port exception is for native (public) clients only.
    assert!(matches_registered(&registered, "http://127.0.0.1:53124/cb", false).is_none());
}

#[test]
fn s02_bare_localhost_registration_allows_no_paths_or_hosts() {
    let registered = reg(&["http://localhost"]);
    assert!(matches_registered(&registered, "http://localhost:8000", true).is_some());
    for bad in [
        "http://localhost:8000/evil",
        "http://localhost.evil.com",
        "http://localhost:8000@evil.com",
        "http://evil.com",
        "http://localhost:8000?x=1",
    ] {
        assert!(
            matches_registered(&registered, bad, true).is_none(),
            "{bad}"
        );
    }
}

#[test]
fn s05_registered_query_must_match_exactly() {
    let registered = reg(&["https://app.example.com/cb?tenant=1"]);
    assert!(
        matches_registered(&registered, "https://app.example.com/cb?tenant=1", false).is_some()
    );
    for bad in [
        "https://app.example.com/cb?tenant=1&code=evil&state=evil",
        "https://app.example.com/cb?tenant=1#code=evil&iss=evil",
        "https://app.example.com/cb?tenant=2",
    ] {
        assert!(
            matches_registered(&registered, bad, false).is_none(),
            "{bad}"
        );
    }
}
