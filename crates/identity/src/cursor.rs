//! Opaque, tamper-proof pagination cursors for the admin API (S50: a cursor is
//! MAC-verified before it is decoded, so a forged one never reaches a query). A cursor is
//! `<kind>.<position>.<HMAC-SHA-256 hex>`: URL-safe, and the kind keeps one list's cursor
//! out of another.

use std::sync::Arc;

use lanyard_core::AccountId;
use lanyard_core::model::AuditPosition;
use lanyard_crypto::TokenHasher;

/// Longer text is refused before any work.
const MAX_CURSOR_LEN: usize = 256;
/// Separates cursor MACs from every other use of the token hash key.
const LABEL: &str = "lanyard-admin-cursor:";

#[derive(Clone)]
pub struct Cursors {
    hasher: Arc<TokenHasher>,
}

impl Cursors {
    pub fn new(hasher: Arc<TokenHasher>) -> Self {
        Self { hasher }
    }

    fn seal(&self, kind: &str, position: &str) -> String {
        let body = format!("{kind}.{position}");
        let mac = self.hasher.hash(&format!("{LABEL}{body}"));
        format!("{body}.{mac}")
    }

    /// The position of a cursor this server sealed for `kind`; `None` for anything else.
    fn open(&self, kind: &str, text: &str) -> Option<String> {
        if text.len() > MAX_CURSOR_LEN {
            return None;
        }
        let (body, mac) = text.rsplit_once('.')?;
        if !self.hasher.verify(&format!("{LABEL}{body}"), mac) {
            return None;
        }
        let (found, position) = body.split_once('.')?;
        (found == kind).then(|| position.to_owned())
    }

    pub fn account_after(&self, id: AccountId) -> String {
        self.seal("account", &id.0.to_string())
    }

    pub fn open_account(&self, text: &str) -> Option<AccountId> {
        let position = self.open("account", text)?;
        uuid::Uuid::parse_str(&position).ok().map(AccountId)
    }

    pub fn audit_after(&self, position: AuditPosition) -> String {
        self.seal("audit", &format!("{}_{}", position.at, position.id))
    }

    pub fn open_audit(&self, text: &str) -> Option<AuditPosition> {
        let position = self.open("audit", text)?;
        let (at, id) = position.split_once('_')?;
        Some(AuditPosition {
            at: at.parse().ok()?,
            id: uuid::Uuid::parse_str(id).ok()?,
        })
    }

    /// Clients are few and listed by id: the cursor carries the last id.
    pub fn client_after(&self, id: &str) -> String {
        self.seal("client", &hex_of(id))
    }

    pub fn open_client(&self, text: &str) -> Option<String> {
        let position = self.open("client", text)?;
        from_hex(&position)
    }
}

/// Client ids may hold `.`; the cursor carries them as hex.
fn hex_of(text: &str) -> String {
    text.bytes().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(text: &str) -> Option<String> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cursors() -> Cursors {
        Cursors::new(Arc::new(TokenHasher::new(&[3u8; 32])))
    }

    #[test]
    fn s50_cursors_round_trip_and_refuse_tampering() {
        let c = cursors();
        let id = AccountId(uuid::Uuid::from_u128(42));
        let text = c.account_after(id);
        assert_eq!(c.open_account(&text), Some(id));
        // Another list's cursor, a changed position, a forged MAC, junk: all refused.
        assert_eq!(c.open_audit(&text), None);
        let forged = text.replacen("account.", "account.1", 1);
        assert_eq!(c.open_account(&forged), None);
        for junk in ["", ".", "account..", "' OR 1=1--", &"a".repeat(300)] {
            assert_eq!(c.open_account(junk), None, "{junk}");
        }
        let other = Cursors::new(Arc::new(TokenHasher::new(&[4u8; 32])));
        assert_eq!(other.open_account(&text), None);
        let client = c.client_after("app.example");
        assert_eq!(c.open_client(&client).as_deref(), Some("app.example"));
        let pos = AuditPosition {
            at: 1_700_000_000,
            id: uuid::Uuid::from_u128(7),
        };
        assert_eq!(c.open_audit(&c.audit_after(pos)), Some(pos));
    }
}
