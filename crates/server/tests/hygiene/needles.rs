//! The secrets a scenario minted, each in every spelling it could leak in, and the search
//! for them in text and bytes.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// One secret the scenario saw.
#[derive(Debug, Clone)]
pub struct Minted {
    pub what: String,
    pub value: String,
}

/// A spelling of a secret to look for.
#[derive(Debug, Clone)]
pub struct Needle {
    pub what: String,
    pub form: &'static str,
    pub text: String,
}

/// Percent-encoding of everything but RFC 3986 unreserved characters.
fn percent_encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The random part of an opaque token: after its `lyd_xx_` or `lyd_pat_` prefix, if any.
fn opaque_payload(value: &str) -> &str {
    let Some(rest) = value.strip_prefix("lyd_") else {
        return value;
    };
    match rest.find('_') {
        Some(kind) if (2..=3).contains(&kind) && rest.len() > kind + 1 => &rest[kind + 1..],
        _ => value,
    }
}

/// The random bytes behind a token's payload: a PAT's body is a base62 number (32 bytes,
/// docs/pats.md), the other tokens' payloads are base64.
fn decoded_payload(value: &str) -> Option<Vec<u8>> {
    if lanyard_core::pat_token::is_well_formed(value) {
        const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut number = [0u8; 33];
        for c in value["lyd_pat_".len()..][..43].bytes() {
            let mut carry = BASE62.iter().position(|&b| b == c)? as u32;
            for byte in number.iter_mut().rev() {
                let acc = u32::from(*byte) * 62 + carry;
                *byte = acc as u8;
                carry = acc >> 8;
            }
        }
        return Some(number[1..].to_vec());
    }
    let payload = opaque_payload(value);
    URL_SAFE_NO_PAD
        .decode(payload)
        .or_else(|_| STANDARD.decode(payload))
        .ok()
        .filter(|b| b.len() >= 16)
}

fn is_jwt(value: &str) -> bool {
    value.starts_with("eyJ") && value.split('.').count() == 3
}

impl Minted {
    pub fn new(what: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            what: what.into(),
            value: value.into(),
        }
    }

    /// The secret raw, percent- and form-encoded, in base64 of four flavours; for opaque
    /// tokens also the payload without its prefix and three 16-character windows of it (a
    /// truncated token in a log is still a leak: 16 base64url characters are 96 bits, which
    /// no other text matches by chance); for JWTs also the signature alone.
    pub fn needles(&self) -> Vec<Needle> {
        let v = self.value.as_str();
        let mut forms: Vec<(&'static str, String)> = vec![
            ("raw", v.to_owned()),
            ("percent-encoded", percent_encode(v)),
            (
                "form-encoded",
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect(),
            ),
            ("base64", STANDARD.encode(v)),
            ("base64 unpadded", STANDARD_NO_PAD.encode(v)),
            ("base64url", URL_SAFE.encode(v)),
            ("base64url unpadded", URL_SAFE_NO_PAD.encode(v)),
        ];
        if is_jwt(v) {
            if let Some(signature) = v.rsplit('.').next().filter(|s| s.len() >= 32) {
                forms.push(("JWT signature", signature.to_owned()));
            }
        } else {
            let payload = opaque_payload(v);
            if payload.len() >= 32 && payload != v {
                forms.push(("without prefix", payload.to_owned()));
            }
            if payload.len() >= 32 && !payload.contains(' ') {
                let mid = payload.len() / 2 - 8;
                forms.push(("first 16 characters", payload[..16].to_owned()));
                forms.push(("middle 16 characters", payload[mid..mid + 16].to_owned()));
                forms.push((
                    "last 16 characters",
                    payload[payload.len() - 16..].to_owned(),
                ));
            }
            if let Some(bytes) = decoded_payload(v) {
                forms.push(("payload as hex", hex::encode(&bytes)));
                forms.push(("payload as HEX", hex::encode_upper(&bytes)));
            }
        }
        let mut seen = std::collections::HashSet::new();
        forms
            .into_iter()
            .filter(|(_, text)| seen.insert(text.clone()))
            .map(|(form, text)| Needle {
                what: self.what.clone(),
                form,
                text,
            })
            .collect()
    }

    /// The decoded random bytes of an opaque token, to look for inside binary columns.
    pub fn payload_bytes(&self) -> Option<Vec<u8>> {
        if is_jwt(&self.value) {
            return None;
        }
        decoded_payload(&self.value)
    }
}

/// A hit: which secret, in which spelling, where, with some context.
#[derive(Debug)]
pub struct Hit {
    pub what: String,
    pub form: &'static str,
    pub place: String,
    pub context: String,
}

impl std::fmt::Display for Hit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}) in {}: …{}…",
            self.what, self.form, self.place, self.context
        )
    }
}

fn context(haystack: &str, at: usize, len: usize) -> String {
    let mut start = at.saturating_sub(120);
    while !haystack.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + len + 120).min(haystack.len());
    while !haystack.is_char_boundary(end) {
        end += 1;
    }
    haystack[start..end].replace('\n', "⏎")
}

/// Every needle found in `haystack`.
pub fn search(needles: &[Needle], place: &str, haystack: &str) -> Vec<Hit> {
    needles
        .iter()
        .filter_map(|n| {
            haystack.find(&n.text).map(|at| Hit {
                what: n.what.clone(),
                form: n.form,
                place: place.to_owned(),
                context: context(haystack, at, n.text.len()),
            })
        })
        .collect()
}

/// Every needle (and every raw payload) found in a binary value.
pub fn search_bytes(minted: &[Minted], needles: &[Needle], place: &str, bytes: &[u8]) -> Vec<Hit> {
    let contains =
        |needle: &[u8]| !needle.is_empty() && bytes.windows(needle.len()).any(|w| w == needle);
    let mut hits: Vec<Hit> = needles
        .iter()
        .filter(|n| contains(n.text.as_bytes()))
        .map(|n| Hit {
            what: n.what.clone(),
            form: n.form,
            place: place.to_owned(),
            context: format!("{} bytes", bytes.len()),
        })
        .collect();
    for m in minted {
        if let Some(payload) = m.payload_bytes()
            && contains(&payload)
        {
            hits.push(Hit {
                what: m.what.clone(),
                form: "payload bytes",
                place: place.to_owned(),
                context: format!("{} bytes", bytes.len()),
            });
        }
    }
    hits
}

/// Three base64url segments, the first a JSON object (`eyJ`): a JWS in compact form.
pub fn find_jwt(haystack: &str) -> Option<&str> {
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    let mut from = 0;
    while let Some(offset) = haystack[from..].find("eyJ") {
        let start = from + offset;
        let rest = &haystack[start..];
        let end = rest
            .find(|c: char| !(is_b64(c) || c == '.'))
            .unwrap_or(rest.len());
        let candidate = &rest[..end];
        let parts: Vec<&str> = candidate.split('.').collect();
        if parts.len() >= 3 && parts[0].len() > 8 && parts[1].len() > 8 {
            return Some(candidate);
        }
        from = start + 3;
    }
    None
}

#[test]
fn the_jwt_finder_and_the_needles_work() {
    let jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl";
    assert_eq!(find_jwt(&format!("token={jwt}&x")), Some(jwt));
    assert_eq!(find_jwt("eyJhbGciOiJFUzI1NiJ9 alone"), None);
    let token = Minted::new("rt", "lyd_rt_AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCC");
    let needles = token.needles();
    let payload = &token.value["lyd_rt_".len()..];
    let hits = search(&needles, "log", &format!("refresh={}…", &payload[10..35]));
    assert!(
        hits.iter().any(|h| h.form == "middle 16 characters"),
        "{hits:?}"
    );
    assert!(hits.iter().all(|h| h.form != "raw"), "{hits:?}");
    assert!(search(&needles, "log", "nothing here").is_empty());
    // A PAT: the body without the prefix, windows of it, and its 32 random bytes.
    let pat = lanyard_core::pat_token::mint(&lanyard_core::OsRng);
    let pat = Minted::new("pat", pat.token.expose());
    let body = &pat.value[8..51];
    let hits = search(&pat.needles(), "log", &format!("t={}", &body[5..40]));
    assert!(
        hits.iter().any(|h| h.form == "middle 16 characters"),
        "{hits:?}"
    );
    assert_eq!(pat.payload_bytes().map(|b| b.len()), Some(32));
    let password = Minted::new("pw", "a b&c");
    let forms: Vec<String> = password.needles().into_iter().map(|n| n.text).collect();
    assert!(forms.contains(&"a+b%26c".to_owned()), "{forms:?}");
    assert!(forms.contains(&"a%20b%26c".to_owned()), "{forms:?}");
}
