//! Where each sign-in comes from. A real sign-in burst comes from many addresses; from one,
//! the per-address limits (failed passwords, emailed codes per hour) would end the run and
//! change what is measured. Linux routes all of 127.0.0.0/8 to loopback, so flow `i` can
//! bind its own source address.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use reqwest::Client;

/// The source address of flow `i`: 127.1.0.0 onwards (127.0.0.1, the default, is left to
/// everything else on the machine).
pub fn loopback(i: usize) -> IpAddr {
    let n = u32::try_from(i % (1 << 23)).unwrap_or(0) + (1 << 16);
    IpAddr::V4(Ipv4Addr::from(0x7f00_0000 | n))
}

/// A client that neither follows redirects nor shares connections with another source.
pub fn client(source: Option<IpAddr>) -> Result<Client, String> {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(120))
        .local_address(source)
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::loopback;

    #[test]
    fn each_flow_gets_its_own_loopback_address() {
        assert_eq!(loopback(0).to_string(), "127.1.0.0");
        assert_eq!(loopback(1).to_string(), "127.1.0.1");
        assert_eq!(loopback(70_000).to_string(), "127.2.17.112");
        assert!((0..5000).all(|i| loopback(i).is_loopback()));
        let distinct: std::collections::BTreeSet<_> = (0..5000).map(loopback).collect();
        assert_eq!(distinct.len(), 5000);
    }
}
