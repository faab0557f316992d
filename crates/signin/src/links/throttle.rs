//! Mail bombing: each request for an account mail counts against the address it would go to
//! and the source it came from, per hour, whether or not the address has an account (so the
//! count tells nothing either). Past a limit the request is answered as usual and nothing is
//! sent; the first refusal in a window is audited.

use std::time::Duration;

use lanyard_core::model::AuditEvent;
use lanyard_core::{EphemeralKey, Origin};

use super::{Inner, LinkError};

const WINDOW: Duration = Duration::from_secs(3600);

impl Inner {
    /// Counts the request; true when a mail may go to `email_normalized`.
    pub(super) async fn may_send(
        &self,
        email_normalized: &str,
        origin: &Origin,
    ) -> Result<bool, LinkError> {
        let address = self
            .deps
            .hasher
            .hash(&format!("account_mail_to:{email_normalized}"));
        let key = EphemeralKey::AccountMailTo(&address).to_string();
        let to_address = self.deps.ephemeral.increment(&key, WINDOW).await?;
        let from_source = match &origin.ip {
            Some(ip) => {
                let key = EphemeralKey::AccountMailIp(ip).to_string();
                self.deps.ephemeral.increment(&key, WINDOW).await?
            }
            None => 0,
        };
        let address_limit = self.settings.mails_per_address_per_hour;
        let source_limit = self.settings.mails_per_ip_per_hour;
        if to_address <= address_limit && from_source <= source_limit {
            return Ok(true);
        }
        if to_address == address_limit + 1 || from_source == source_limit + 1 {
            let event = AuditEvent::new(self.deps.clock.now(), "account.mail_throttled", "failure")
                .reason(if to_address > address_limit {
                    "too many account mails to one address"
                } else {
                    "too many account mails from one source"
                });
            self.audit(event, origin).await;
        }
        Ok(false)
    }
}
