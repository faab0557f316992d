//! S49: which `X-Forwarded-For` entry is believed, both ways of configuring it.

use std::net::IpAddr;

use axum::http::{HeaderMap, HeaderValue};

use super::{ForwardedFor, MAX_TRUSTED_HOPS};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn xff(lines: &[&str]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for line in lines {
        headers.append("x-forwarded-for", HeaderValue::from_str(line).unwrap());
    }
    headers
}

fn proxies(networks: &[&str]) -> ForwardedFor {
    let networks: Vec<String> = networks.iter().map(|n| (*n).to_owned()).collect();
    ForwardedFor::from_config(true, 1, &networks).unwrap()
}

const PEER: &str = "10.0.0.5";

#[test]
fn s49_ignored_unless_configured() {
    let off = ForwardedFor::from_config(false, 1, &[]).unwrap();
    assert_eq!(off, ForwardedFor::Ignore);
    assert_eq!(
        off.client(Some(ip(PEER)), &xff(&["203.0.113.9"])),
        Some(ip(PEER))
    );
}

#[test]
fn s49_hops_take_the_entry_our_proxies_wrote_not_the_clients_first_entry() {
    // One proxy appends the address it saw; the client wrote "1.2.3.4" itself.
    let one = ForwardedFor::from_config(true, 1, &[]).unwrap();
    let spoofed = xff(&["1.2.3.4, 198.51.100.7"]);
    assert_eq!(
        one.client(Some(ip(PEER)), &spoofed),
        Some(ip("198.51.100.7"))
    );
    // Two proxies: the second appended the first's address.
    let two = ForwardedFor::from_config(true, 2, &[]).unwrap();
    let chain = xff(&["1.2.3.4, 198.51.100.7", "10.0.0.9"]);
    assert_eq!(two.client(Some(ip(PEER)), &chain), Some(ip("198.51.100.7")));
    // A single honest entry, as the existing deployments send it.
    assert_eq!(
        one.client(Some(ip(PEER)), &xff(&["203.0.113.9"])),
        Some(ip("203.0.113.9"))
    );
}

#[test]
fn s49_hops_fall_back_to_the_peer_on_short_or_garbage_headers() {
    let two = ForwardedFor::from_config(true, 2, &[]).unwrap();
    // Fewer entries than proxies: the request did not come through all of them.
    assert_eq!(
        two.client(Some(ip(PEER)), &xff(&["198.51.100.7"])),
        Some(ip(PEER))
    );
    assert_eq!(
        two.client(Some(ip(PEER)), &HeaderMap::new()),
        Some(ip(PEER))
    );
    let one = ForwardedFor::from_config(true, 1, &[]).unwrap();
    for garbage in [
        "unknown",
        "1.2.3.4, not-an-ip",
        "1.2.3.4,  ,",
        "203.0.113.9:443",
    ] {
        assert_eq!(
            one.client(Some(ip(PEER)), &xff(&[garbage])),
            Some(ip(PEER)),
            "{garbage}"
        );
    }
}

#[test]
fn s49_trusted_networks_skip_our_proxies_from_the_right() {
    let lb = proxies(&["10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.10"]);
    // Peer is our proxy; the rightmost entry not in our networks is the client.
    let chain = xff(&["1.2.3.4, 198.51.100.7, 192.0.2.10, 10.1.2.3"]);
    assert_eq!(lb.client(Some(ip(PEER)), &chain), Some(ip("198.51.100.7")));
    // A peer outside our networks is the client: whatever it claims is ignored.
    assert_eq!(
        lb.client(Some(ip("203.0.113.50")), &chain),
        Some(ip("203.0.113.50"))
    );
    // Every entry is ours: the leftmost is as far as anyone saw.
    assert_eq!(
        lb.client(Some(ip(PEER)), &xff(&["10.9.9.9, 10.1.1.1"])),
        Some(ip("10.9.9.9"))
    );
    // Garbage stops the walk at the last address a proxy of ours wrote.
    assert_eq!(
        lb.client(Some(ip(PEER)), &xff(&["198.51.100.7, bogus, 10.1.1.1"])),
        Some(ip("10.1.1.1"))
    );
    assert_eq!(lb.client(Some(ip(PEER)), &HeaderMap::new()), Some(ip(PEER)));
    assert_eq!(
        lb.client(
            Some(ip("2001:db8:ffff::1")),
            &xff(&["2001:db8:1::2, 2001:db8:ffff::9"])
        ),
        Some(ip("2001:db8:1::2"))
    );
}

#[test]
fn s49_bad_settings_name_their_key() {
    let key = |r: Result<ForwardedFor, super::InvalidForwarding>| r.unwrap_err().key;
    assert_eq!(
        key(ForwardedFor::from_config(true, 0, &[])),
        "server.forwarded_for_hops"
    );
    assert_eq!(
        key(ForwardedFor::from_config(true, MAX_TRUSTED_HOPS + 1, &[])),
        "server.forwarded_for_hops"
    );
    assert_eq!(
        key(ForwardedFor::from_config(
            true,
            1,
            &["10.0.0.0/33".to_owned()]
        )),
        "server.trusted_proxies"
    );
    assert_eq!(
        key(ForwardedFor::from_config(
            true,
            1,
            &["proxy.internal".to_owned()]
        )),
        "server.trusted_proxies"
    );
    assert_eq!(
        key(ForwardedFor::from_config(
            true,
            2,
            &["10.0.0.0/8".to_owned()]
        )),
        "server.trusted_proxies"
    );
    assert_eq!(
        key(ForwardedFor::from_config(
            false,
            1,
            &["10.0.0.0/8".to_owned()]
        )),
        "server.trusted_proxies"
    );
    assert_eq!(
        key(ForwardedFor::from_config(false, 3, &[])),
        "server.forwarded_for_hops"
    );
    assert_eq!(
        ForwardedFor::from_config(true, 1, &[" 192.0.2.1 ".to_owned()]).unwrap(),
        ForwardedFor::Proxies(vec!["192.0.2.1/32".parse().unwrap()])
    );
}
