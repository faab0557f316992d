//! An organization's email domains (G1): the name's canonical form, the TXT record that
//! proves control of it, and the lookup behind a port so tests answer for DNS.

use async_trait::async_trait;
use lanyard_core::Rng;
use lanyard_core::rng::random_token;

use crate::FederationError;

/// The label under which an organization publishes its token.
pub const RECORD_LABEL: &str = "_lanyard-verify";

/// The longest domain name DNS carries (RFC 1035 §2.3.4, without the final dot).
const MAX_DOMAIN_LEN: usize = 253;

/// The domain in its canonical form: lower-case ASCII, an internationalized name in its
/// `xn--` form, no trailing dot. Refuses what is not a registrable host name: an address,
/// a single label, a wildcard, anything with a port or a path.
pub fn normalize_domain(input: &str) -> Result<String, FederationError> {
    let invalid = || FederationError::InvalidDomain(shorten(input));
    let trimmed = input.trim().trim_end_matches('.');
    if trimmed.is_empty() || trimmed.len() > MAX_DOMAIN_LEN * 2 {
        return Err(invalid());
    }
    let ascii = idna::domain_to_ascii_strict(trimmed).map_err(|_| invalid())?;
    let labels: Vec<&str> = ascii.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    let top_is_name = labels
        .last()
        .is_some_and(|t| t.bytes().any(|b| b.is_ascii_alphabetic()));
    if ascii.len() > MAX_DOMAIN_LEN
        || labels.len() < 2
        || !labels.iter().all(label_ok)
        || !top_is_name
    {
        return Err(invalid());
    }
    Ok(ascii)
}

/// The domain part of an email address, in canonical form; `None` when there is none.
pub fn email_domain(email: &str) -> Option<String> {
    let (_, domain) = email.trim().rsplit_once('@')?;
    normalize_domain(domain).ok()
}

/// A new verification token: 32 random bytes, base64url, with a prefix that says whose it
/// is when someone reads the zone.
pub fn new_verification_token(rng: &dyn Rng) -> String {
    format!("lanyard-domain-verification={}", random_token(rng, 32))
}

/// Where the token goes: `_lanyard-verify.<domain>`.
pub fn record_name(domain: &str) -> String {
    format!("{RECORD_LABEL}.{domain}")
}

/// The TXT records at a name. The real one asks DNS ([`crate::dns::HickoryTxtLookup`]).
#[async_trait]
pub trait TxtLookup: Send + Sync {
    /// Every TXT string at `name` (an empty list when there is none).
    async fn txt(&self, name: &str) -> Result<Vec<String>, FederationError>;
}

/// Whether one of the records is exactly the token (surrounding spaces aside).
pub fn records_prove(records: &[String], token: &str) -> bool {
    records.iter().any(|r| r.trim() == token)
}

fn shorten(input: &str) -> String {
    let mut s: String = input.chars().take(80).collect();
    if input.chars().count() > 80 {
        s.push('…');
    }
    format!("{s:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_forms() {
        assert_eq!(normalize_domain("Corp.Example.").unwrap(), "corp.example");
        assert_eq!(
            normalize_domain(" bücher.example ").unwrap(),
            "xn--bcher-kva.example"
        );
        assert_eq!(
            email_domain("Ann@Corp.Example").as_deref(),
            Some("corp.example")
        );
        assert_eq!(email_domain("no-at-sign"), None);
    }

    #[test]
    fn refuses_what_is_not_a_domain() {
        for bad in [
            "",
            "localhost",
            "127.0.0.1",
            "*.corp.example",
            "corp.example:443",
            "corp.example/path",
            "-corp.example",
            "corp..example",
            "a b.example",
            "corp.123",
            &format!("{}.example", "a".repeat(64)),
            &"a.".repeat(200),
        ] {
            assert!(normalize_domain(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn only_the_exact_token_proves() {
        let token = "lanyard-domain-verification=abc";
        let records = |r: &[&str]| r.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(records_prove(
            &records(&["v=spf1 -all", " lanyard-domain-verification=abc "]),
            token
        ));
        assert!(!records_prove(
            &records(&["lanyard-domain-verification=abcd"]),
            token
        ));
        assert!(!records_prove(&records(&[]), token));
    }
}
