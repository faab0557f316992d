//! Strict parsing of `application/x-www-form-urlencoded` query strings and bodies:
//! parameters must not repeat (RFC 6749 §3.1, §3.2), must be valid UTF-8 after decoding,
//! and are bounded in number and size. Lossy decoding would let two different byte strings
//! look alike, so invalid input is refused, never repaired.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use lanyard_issuer::OAuthError;

use crate::error::WebError;
use crate::kit::body::{BodyError, read_limited};
use crate::middleware::MAX_FORM_BODY;

const MAX_PARAMS: usize = 64;
const MAX_VALUE_LEN: usize = 16 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("a parameter appears more than once")]
    Repeated,
    #[error("malformed percent-encoding or invalid UTF-8")]
    Malformed,
    #[error("too many parameters or a value too long")]
    TooLarge,
    #[error("the body must be application/x-www-form-urlencoded")]
    WrongContentType,
    #[error("the request body could not be read")]
    Body,
    #[error("the request body is too large")]
    BodyTooLarge,
}

impl ParamError {
    fn description(&self) -> &'static str {
        match self {
            Self::Repeated => "a parameter appears more than once",
            Self::Malformed => "malformed percent-encoding or invalid UTF-8",
            Self::TooLarge => "too many parameters or a value too long",
            Self::WrongContentType => "the body must be application/x-www-form-urlencoded",
            Self::Body => "the request body could not be read",
            Self::BodyTooLarge => "the request body is too large",
        }
    }
}

impl ParamError {
    /// The refusal on a page: a themed 400 (413 for an oversized body).
    pub fn on_page(self) -> WebError {
        let status = if self == Self::BodyTooLarge {
            StatusCode::PAYLOAD_TOO_LARGE
        } else {
            StatusCode::BAD_REQUEST
        };
        WebError::page(
            status,
            "The request can not be read",
            "Something in the address or the form was not valid. Go back and try again.",
        )
    }

    /// The refusal on a protocol endpoint: RFC 6749 §5.2 `invalid_request` (413 for an
    /// oversized body).
    pub fn on_endpoint(self) -> WebError {
        let error = WebError::token(OAuthError::invalid_request(self.description()));
        if self == Self::BodyTooLarge {
            error.with_status(StatusCode::PAYLOAD_TOO_LARGE)
        } else {
            error
        }
    }
}

/// Decoded parameters in their original order, each name at most once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(input: &[u8]) -> Result<Self, ParamError> {
        let mut out: Vec<(String, String)> = Vec::new();
        for pair in input.split(|b| *b == b'&').filter(|p| !p.is_empty()) {
            if out.len() == MAX_PARAMS {
                return Err(ParamError::TooLarge);
            }
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            let name = decode(name)?;
            let value = decode(value)?;
            if value.len() > MAX_VALUE_LEN {
                return Err(ParamError::TooLarge);
            }
            if out.iter().any(|(n, _)| *n == name) {
                return Err(ParamError::Repeated);
            }
            out.push((name, value));
        }
        Ok(Self(out))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A parameter that must be present and non-empty (RFC 6749 treats empty as absent).
    pub fn get_nonempty(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.is_empty())
    }

    pub fn into_vec(self) -> Vec<(String, String)> {
        self.0
    }
}

fn decode(raw: &[u8]) -> Result<String, ParamError> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = raw.get(i + 1..i + 3).ok_or(ParamError::Malformed)?;
                // Two hex digits exactly: `from_str_radix` alone would also take "+f".
                let (Some(high), Some(low)) = (hex_value(hex[0]), hex_value(hex[1])) else {
                    return Err(ParamError::Malformed);
                };
                bytes.push(high << 4 | low);
                i += 2;
            }
            b => bytes.push(b),
        }
        i += 1;
    }
    let text = String::from_utf8(bytes).map_err(|_| ParamError::Malformed)?;
    if text.contains('\0') {
        return Err(ParamError::Malformed);
    }
    Ok(text)
}

fn hex_value(digit: u8) -> Option<u8> {
    char::from(digit)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

/// Query parameters, strictly parsed.
#[derive(Debug, Clone)]
pub struct Query(pub Params);

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        Params::parse(query.as_bytes())
            .map(Query)
            .map_err(ParamError::on_page)
    }
}

/// A form body, strictly parsed; any other content type is refused.
#[derive(Debug, Clone)]
pub struct Form(pub Params);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_form(req, state)
            .await
            .map(Form)
            .map_err(ParamError::on_page)
    }
}

/// A form body for a protocol endpoint: refusals are RFC 6749 JSON.
#[derive(Debug, Clone)]
pub struct ProtocolForm(pub Params);

impl<S: Send + Sync> FromRequest<S> for ProtocolForm {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_form(req, state)
            .await
            .map(ProtocolForm)
            .map_err(ParamError::on_endpoint)
    }
}

/// Reads a form body: `application/x-www-form-urlencoded` only, at most
/// [`MAX_FORM_BODY`] bytes (refused on its declared length before it is read), strictly
/// parsed.
pub async fn read_form<S: Send + Sync>(req: Request, _state: &S) -> Result<Params, ParamError> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !is_form {
        return Err(ParamError::WrongContentType);
    }
    let (parts, body) = req.into_parts();
    let body = read_limited(body, &parts.headers, MAX_FORM_BODY)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => ParamError::BodyTooLarge,
            BodyError::Unreadable => ParamError::Body,
        })?;
    Params::parse(&body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plus_and_percent() {
        let p = Params::parse(b"a=b+c&d=%2Fe%3D&empty=&flag").unwrap();
        assert_eq!(p.get("a"), Some("b c"));
        assert_eq!(p.get("d"), Some("/e="));
        assert_eq!(p.get("empty"), Some(""));
        assert_eq!(p.get_nonempty("empty"), None);
        assert_eq!(p.get("flag"), Some(""));
    }

    #[test]
    fn s52_repeated_parameters_refused() {
        assert_eq!(
            Params::parse(b"client_id=a&client_id=b"),
            Err(ParamError::Repeated)
        );
        assert_eq!(Params::parse(b"state=x&state=x"), Err(ParamError::Repeated));
        assert_eq!(Params::parse(b"a%5F=1&a_=2"), Err(ParamError::Repeated));
    }

    #[test]
    fn s51_malformed_encoding_and_invalid_utf8_refused() {
        for bad in [
            &b"a=%C0%AE"[..],
            b"a=%ZZ",
            b"a=%",
            b"a=%4",
            b"a=%ED%A0%80",
            b"a=\xff",
            b"a=%00",
            b"a=%+f",
            b"a=%-1",
            b"a=% f",
        ] {
            assert_eq!(Params::parse(bad), Err(ParamError::Malformed), "{bad:?}");
        }
    }

    #[test]
    fn s51_too_many_fields_refused() {
        let many: Vec<String> = (0..10_000).map(|i| format!("f{i}=1")).collect();
        assert_eq!(
            Params::parse(many.join("&").as_bytes()),
            Err(ParamError::TooLarge)
        );
    }
}
