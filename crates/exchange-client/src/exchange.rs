//! Discovery and the RFC 8693 request.

use std::time::Duration;

use serde::Deserialize;
use url::Url;
use zeroize::Zeroizing;

use crate::Error;
use crate::pat::Pat;

pub const GRANT_TYPE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
/// Lanyard's token type for a PAT (listed in discovery's
/// `token_exchange_subject_token_types_supported`).
pub const PAT_TOKEN_TYPE: &str = "urn:lanyard:token-type:pat";
pub const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";
/// Discovery documents and token responses are a few kilobytes; anything far larger is not
/// one, and is not read into memory.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// How a confidential client presents its secret (the server accepts only the method the
/// client was registered with).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientAuth {
    /// HTTP Basic (`client_secret_basic`).
    Basic,
    /// In the form (`client_secret_post`).
    Post,
}

/// One exchange: who asks, for what.
pub struct Exchange {
    /// As configured, without a trailing `/`.
    pub issuer: Url,
    pub client_id: String,
    /// `None` for a public client (a desktop tool cannot keep a secret).
    pub client_secret: Option<Zeroizing<String>>,
    pub client_auth: ClientAuth,
    pub audience: Option<String>,
    pub resource: Option<String>,
    pub scope: Option<String>,
}

/// What the server issued.
pub struct Issued {
    pub access_token: Zeroizing<String>,
    /// Seconds; `None` if the server did not say (then the token is not cached).
    pub expires_in: Option<u64>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Plain HTTP only to this machine: the PAT is a password.
pub fn check_transport(url: &Url, what: &str) -> Result<(), Error> {
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(Error::Usage(format!(
            "the {what} {url} is not https (plain http is allowed to loopback addresses only)"
        ))),
    }
}

/// An HTTP client that never follows redirects (a redirected POST would carry the PAT to
/// wherever the `Location` points) and never waits forever.
pub fn http_client() -> Result<reqwest::Client, Error> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(30))
        .user_agent(concat!("lanyard-token/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Http(format!("cannot set up HTTP: {e}")))
}

impl Exchange {
    /// The token endpoint from `{issuer}/.well-known/openid-configuration`. The document's
    /// `issuer` must be ours (RFC 8414 §3.3: otherwise a hostile document could send the PAT
    /// to another server's token endpoint).
    pub async fn token_endpoint(&self, http: &reqwest::Client) -> Result<Url, Error> {
        #[derive(Deserialize)]
        struct Metadata {
            issuer: String,
            token_endpoint: String,
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.issuer.as_str().trim_end_matches('/')
        );
        let response = http
            .get(&url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| Error::Discovery(format!("{url}: {}", without_url(&e))))?;
        let status = response.status();
        let body = read_limited(response)
            .await
            .map_err(|e| Error::Discovery(format!("{url}: {e}")))?;
        if !status.is_success() {
            return Err(Error::Discovery(format!("{url} answered HTTP {status}")));
        }
        let meta: Metadata = serde_json::from_slice(&body)
            .map_err(|_| Error::Discovery(format!("{url} is not an OpenID provider document")))?;
        if meta.issuer.trim_end_matches('/') != self.issuer.as_str().trim_end_matches('/') {
            return Err(Error::Discovery(format!(
                "{url} names another issuer ({})",
                printable(&meta.issuer)
            )));
        }
        let endpoint = Url::parse(&meta.token_endpoint)
            .map_err(|_| Error::Discovery(format!("{url} has no usable token_endpoint")))?;
        check_transport(&endpoint, "token endpoint")?;
        Ok(endpoint)
    }

    /// POSTs the exchange (RFC 8693 §2.1) to `endpoint`.
    pub async fn run(
        &self,
        http: &reqwest::Client,
        endpoint: &Url,
        pat: &Pat,
    ) -> Result<Issued, Error> {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", GRANT_TYPE),
            ("subject_token", pat.expose()),
            ("subject_token_type", PAT_TOKEN_TYPE),
            ("requested_token_type", ACCESS_TOKEN_TYPE),
        ];
        for (name, value) in [
            ("audience", &self.audience),
            ("resource", &self.resource),
            ("scope", &self.scope),
        ] {
            if let Some(value) = value {
                form.push((name, value.as_str()));
            }
        }
        let mut request = http
            .post(endpoint.clone())
            .header("accept", "application/json");
        match (&self.client_secret, self.client_auth) {
            (None, _) => form.push(("client_id", self.client_id.as_str())),
            (Some(secret), ClientAuth::Post) => {
                form.push(("client_id", self.client_id.as_str()));
                form.push(("client_secret", secret.as_str()));
            }
            (Some(secret), ClientAuth::Basic) => {
                // RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                let password = Zeroizing::new(enc(secret));
                request = request.basic_auth(enc(&self.client_id), Some(password.as_str()));
            }
        }
        let response = request
            .form(&form)
            .send()
            .await
            .map_err(|e| Error::Http(format!("{endpoint}: {}", without_url(&e))))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok());
        let body = Zeroizing::new(
            read_limited(response)
                .await
                .map_err(|e| Error::Http(format!("{endpoint}: {e}")))?,
        );
        if status != 200 {
            return Err(refusal(status, &body, retry_after, pat));
        }
        parse_success(&body)
    }
}

#[derive(Deserialize)]
struct Success {
    access_token: String,
    token_type: String,
    expires_in: Option<u64>,
    issued_token_type: Option<String>,
}

fn parse_success(body: &[u8]) -> Result<Issued, Error> {
    let bad = |why: &str| Error::Http(format!("the token response {why}"));
    let success: Success =
        serde_json::from_slice(body).map_err(|_| bad("is not the expected JSON"))?;
    let access_token = Zeroizing::new(success.access_token);
    if access_token.is_empty() || access_token.bytes().any(|b| !b.is_ascii_graphic()) {
        return Err(bad("holds no usable access token"));
    }
    if !success.token_type.eq_ignore_ascii_case("bearer") {
        return Err(bad("is not for a bearer token"));
    }
    if success
        .issued_token_type
        .as_deref()
        .is_some_and(|t| t != ACCESS_TOKEN_TYPE)
    {
        return Err(bad("issued something other than an access token"));
    }
    Ok(Issued {
        access_token,
        expires_in: success.expires_in,
    })
}

/// An OAuth error response (RFC 6749 §5.2) turned into [`Error::Refused`]. The text shown is
/// restricted to the characters RFC 6749 allows there and cut short, so a misbehaving server
/// can not make us print terminal escapes; anything that looks like a token is not shown.
fn refusal(status: u16, body: &[u8], retry_after: Option<u64>, pat: &Pat) -> Error {
    #[derive(Deserialize)]
    struct OAuthError {
        error: String,
        error_description: Option<String>,
    }
    let parsed: Option<OAuthError> = serde_json::from_slice(body).ok();
    let (error, description) = match parsed {
        Some(e) => (
            printable(&e.error),
            e.error_description.map(|d| printable(&d)),
        ),
        None => (format!("http_{status}"), None),
    };
    let leaks = |text: &str| {
        text.contains(pat.expose()) || text.contains("lyd_pat_") || text.contains("eyJ")
    };
    let description = description.map(|d| {
        if leaks(&d) {
            "<withheld>".to_owned()
        } else {
            d
        }
    });
    let error = if leaks(&error) {
        "<withheld>".to_owned()
    } else {
        error
    };
    Error::Refused {
        status,
        error,
        description,
        retry_after,
    }
}

/// RFC 6749 §5.2's character set for `error` and `error_description`, at most 200 of them.
fn printable(text: &str) -> String {
    text.chars()
        .filter(|c| matches!(c, ' '..='~') && *c != '"' && *c != '\\')
        .take(200)
        .collect()
}

/// reqwest's message without the URL it appends (we print the URL ourselves, once).
fn without_url(e: &reqwest::Error) -> String {
    let mut e = e.to_string();
    if let Some(at) = e.find(" for url (") {
        e.truncate(at);
    }
    e
}

async fn read_limited(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_RESPONSE_BYTES as u64)
    {
        return Err("the response is too large".into());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| without_url(&e))? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err("the response is too large".into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn pat() -> Pat {
        let token = lanyard_core::pat_token::mint(&lanyard_core::OsRng);
        Pat::parse(Zeroizing::new(token.token.expose().to_owned()), "test").unwrap()
    }

    #[test]
    fn transport_is_https_or_loopback() {
        for ok in [
            "https://id.example.com",
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
        ] {
            assert!(
                check_transport(&Url::parse(ok).unwrap(), "issuer").is_ok(),
                "{ok}"
            );
        }
        for bad in [
            "http://id.example.com",
            "http://10.0.0.1",
            "ftp://localhost",
            "file:///x",
        ] {
            assert!(
                check_transport(&Url::parse(bad).unwrap(), "issuer").is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn refusals_show_the_code_and_never_a_token() {
        let pat = pat();
        let body =
            br#"{"error":"invalid_grant","error_description":"the subject token is not valid"}"#;
        let e = refusal(400, body, None, &pat);
        assert_eq!(
            e.to_string(),
            "the server refused the exchange (HTTP 400): invalid_grant (the subject token is not valid)"
        );
        let echoed = format!(
            r#"{{"error":"invalid_grant","error_description":"bad {}"}}"#,
            pat.expose()
        );
        let e = refusal(400, echoed.as_bytes(), None, &pat).to_string();
        assert!(!e.contains(pat.expose()) && e.contains("<withheld>"), "{e}");
        let escapes = br#"{"error":"x\u001b[31m","error_description":"a\nb"}"#;
        let e = refusal(400, escapes, None, &pat).to_string();
        assert!(!e.contains('\u{1b}') && !e.contains('\n'), "{e:?}");
        let e = refusal(429, b"{\"error\":\"slow_down\"}", Some(60), &pat).to_string();
        assert!(e.ends_with("slow_down; retry after 60 s"), "{e}");
        assert_eq!(
            refusal(502, b"<html>", None, &pat).to_string(),
            "the server refused the exchange (HTTP 502): http_502"
        );
    }

    #[test]
    fn only_a_bearer_access_token_is_accepted() {
        let ok = br#"{"access_token":"eyJ.a.b","token_type":"Bearer","expires_in":300,"issued_token_type":"urn:ietf:params:oauth:token-type:access_token"}"#;
        let issued = parse_success(ok).unwrap();
        assert_eq!(
            (issued.access_token.as_str(), issued.expires_in),
            ("eyJ.a.b", Some(300))
        );
        assert!(!format!("{issued:?}").contains("eyJ"));
        for bad in [
            &br#"{"access_token":"","token_type":"Bearer"}"#[..],
            br#"{"access_token":"a b","token_type":"Bearer"}"#,
            br#"{"access_token":"x","token_type":"DPoP"}"#,
            br#"{"access_token":"x","token_type":"Bearer","issued_token_type":"urn:ietf:params:oauth:token-type:refresh_token"}"#,
            b"[]",
        ] {
            assert!(parse_success(bad).is_err());
        }
    }
}
