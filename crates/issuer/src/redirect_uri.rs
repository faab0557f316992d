//! Redirect URI registration rules and matching.
//!
//! Matching is simple string comparison (RFC 9700 §4.1.3, RFC 3986 §6.2.1): no case folding,
//! no normalisation, no decoding. The only exception is the port of a loopback redirect URI
//! of a native client (RFC 8252 §7.3). Both sides are handled as strings, never re-parsed and
//! re-serialised, so no URL parser differential can make two different strings compare equal.

const LOOPBACK_HOSTS: [&str; 3] = ["127.0.0.1", "[::1]", "localhost"];
const MAX_URI_LEN: usize = 2048;

/// Why a URI can not be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("not an absolute URI")]
    NotAbsolute,
    #[error("scheme not allowed (https, http on loopback only, or a private-use scheme)")]
    SchemeNotAllowed,
    #[error("must not contain a fragment")]
    Fragment,
    #[error("must not contain user information")]
    UserInfo,
    #[error("too long")]
    TooLong,
    #[error("contains whitespace, control characters or backslashes")]
    BadCharacters,
}

/// Validates a redirect URI at registration time (RFC 6749 §3.1.2, RFC 8252 §7).
pub fn validate_for_registration(uri: &str) -> Result<(), RedirectUriError> {
    if uri.len() > MAX_URI_LEN {
        return Err(RedirectUriError::TooLong);
    }
    if uri
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '\\' || !c.is_ascii())
    {
        return Err(RedirectUriError::BadCharacters);
    }
    if uri.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    let parsed = url::Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute)?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(RedirectUriError::UserInfo);
    }
    // The serialised form must be what was given, or the parser saw something other than
    // what a browser-side comparison would (e.g. `..;` or `%2f` tricks, case in the host).
    match parsed.scheme() {
        "https" => {
            if parsed.host_str().is_none() {
                return Err(RedirectUriError::NotAbsolute);
            }
        }
        "http" => {
            let host = authority_and_rest(uri, "http://").map(|(authority, _)| host_of(authority));
            if !host.is_some_and(|h| LOOPBACK_HOSTS.contains(&h)) {
                return Err(RedirectUriError::SchemeNotAllowed);
            }
        }
        // RFC 8252 §7.1: private-use schemes for native apps are reverse domain names.
        scheme if scheme.contains('.') => {}
        _ => return Err(RedirectUriError::SchemeNotAllowed),
    }
    Ok(())
}

/// Validates a back-channel logout URI (OIDC Back-Channel Logout 1.0 §2.2: absolute, no
/// fragment): the server POSTs to it, so https, or http on a loopback host only; no
/// private-use schemes.
pub fn validate_backchannel_uri(uri: &str) -> Result<(), RedirectUriError> {
    validate_for_registration(uri)?;
    if uri.starts_with("https://") || uri.starts_with("http://") {
        Ok(())
    } else {
        Err(RedirectUriError::SchemeNotAllowed)
    }
}

/// Whether `presented` matches one of `registered`: exactly, or as a loopback URI that
/// differs only in the port (RFC 8252 §7.3) when `native` is set.
pub fn matches_registered<'a>(
    registered: &'a [String],
    presented: &str,
    native: bool,
) -> Option<&'a str> {
    registered
        .iter()
        .find(|r| r.as_str() == presented || (native && loopback_port_match(r, presented)))
        .map(String::as_str)
}

fn loopback_port_match(registered: &str, presented: &str) -> bool {
    let (Some((reg_authority, reg_rest)), Some((pre_authority, pre_rest))) = (
        authority_and_rest(registered, "http://"),
        authority_and_rest(presented, "http://"),
    ) else {
        return false;
    };
    let reg_host = host_of(reg_authority);
    if !LOOPBACK_HOSTS.contains(&reg_host) || reg_rest != pre_rest {
        return false;
    }
    match pre_authority.strip_prefix(reg_host) {
        Some("") => true,
        Some(port) => port.strip_prefix(':').is_some_and(is_port),
        None => false,
    }
}

/// Splits `scheme://authority rest` at the first `/`, `?` or `#` after the authority.
fn authority_and_rest<'a>(uri: &'a str, scheme_prefix: &str) -> Option<(&'a str, &'a str)> {
    let after = uri.strip_prefix(scheme_prefix)?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    Some((&after[..end], &after[end..]))
}

fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map(|i| &authority[..=i])
            .unwrap_or(authority);
    }
    authority.split(':').next().unwrap_or(authority)
}

fn is_port(port: &str) -> bool {
    !port.is_empty()
        && port.len() <= 5
        && port.bytes().all(|b| b.is_ascii_digit())
        && port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p))
}

#[cfg(test)]
mod tests;
