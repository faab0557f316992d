//! Redirect URI registration and matching (S01, S02, S05), differential against the `url`
//! crate: whatever our string matcher accepts, a URL parser must see as the registered
//! scheme, host, path and query — only a loopback port may differ, and only for native apps.
#![no_main]

use lanyard_issuer::redirect_uri::{matches_registered, validate_for_registration};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (String, String, bool)| {
    let (registered, presented, native) = input;
    if validate_for_registration(&registered).is_err() {
        return;
    }
    let reg = url::Url::parse(&registered).expect("registered URIs parse");
    assert!(reg.username().is_empty() && reg.password().is_none());
    assert!(reg.fragment().is_none());
    assert!(reg.scheme() != "javascript" && reg.scheme() != "data");

    let list = [registered.clone()];
    let Some(matched) = matches_registered(&list, &presented, native) else {
        return;
    };
    assert_eq!(matched, registered);
    if presented == registered {
        return;
    }
    assert!(native, "only native clients get the loopback port rule");
    let pre = url::Url::parse(&presented).expect("a matched URI parses");
    assert_eq!(pre.scheme(), "http");
    assert_eq!(pre.scheme(), reg.scheme());
    assert_eq!(pre.host_str(), reg.host_str(), "{registered} vs {presented}");
    assert!(matches!(
        pre.host_str(),
        Some("127.0.0.1" | "[::1]" | "localhost")
    ));
    assert!(pre.username().is_empty() && pre.password().is_none());
    assert_eq!(pre.path(), reg.path());
    assert_eq!(pre.query(), reg.query());
    assert_eq!(pre.fragment(), reg.fragment());
});
