//! Every key the ephemeral store holds, as one enum: the shapes are in one place, so two
//! crates can not pick the same prefix and a key can not be built from the wrong parts.
//!
//! The rendered strings are a storage format: Redis holds values under them across
//! upgrades, and the hygiene tests check that each one ends in a keyed hash or an identifier
//! that is no secret. `tests::every_key_renders_as_stored` pins them.
//!
//! Each family is also classified here, once, by what its *absence* means
//! ([`Durability`]): a store that can lose keys (Redis restarted empty) may hold only the
//! families whose loss is safe. `docs/state.md` gives the reasoning per family.

use std::fmt;

use crate::{AccountId, ClientId};

/// A key of the [`EphemeralStore`](crate::ports::EphemeralStore), which takes it rendered
/// (`Display`). "hash" parts are keyed hashes (HMAC-SHA-256, hex) of a secret, never the
/// secret; the store adds its own prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EphemeralKey<'a> {
    /// `code:<hash>`: an authorization code waiting to be redeemed.
    Code(&'a str),
    /// `code_replayed:<hash>`: a redeemed code, so that a replay revokes its grant.
    CodeReplayed(&'a str),
    /// `jti:<client>:<hash of jti>`: a client assertion's id, refused when seen again
    /// (RFC 7523 §3).
    AssertionJti { client: &'a ClientId, jti: &'a str },
    /// `revoked_jti:<jti>`: a revoked access token's id, which the token carries in the clear.
    RevokedJti(&'a str),
    /// `device:<hash of device code>`: a device authorization request (RFC 8628).
    Device(&'a str),
    /// `device_poll:<hash of device code>`: when the device last polled.
    DevicePoll(&'a str),
    /// `device_user:<hash of user code>`: the request a user code leads to.
    DeviceUser(&'a str),
    /// `device_confirm:<hash>`: a confirmation page's one-time token.
    DeviceConfirm(&'a str),
    /// `device_tries_session:<binding>`: user codes entered by one browser session.
    DeviceTriesSession(&'a str),
    /// `device_tries_ip:<address>`: user codes entered from one address.
    DeviceTriesIp(&'a str),
    /// `device_requests_client:<window>:<client id>`: device requests one client started in
    /// one minute (`window` = the clock's seconds / 60).
    DeviceRequestsClient { window: i64, client: &'a ClientId },
    /// `device_requests_ip:<window>:<address>`: device requests from one address in one
    /// minute.
    DeviceRequestsIp { window: i64, ip: &'a str },
    /// `pat_fail_ip:<address>`: failed PAT exchanges from one address.
    PatFailIp(&'a str),
    /// `pat_fail_client:<client id>:<address>`: failed PAT exchanges by one client from one
    /// address. Keyed by both so that one attacker can not lock out every user of a shared
    /// public tool (client ids never contain `:`, so the address after it is unambiguous).
    PatFailClient(&'a ClientId, &'a str),
    /// `mfa_challenge:<hash of challenge id>`: a second-step challenge.
    MfaChallenge(&'a str),
    /// `mfa_tries:<hash of challenge id>`: wrong answers to one challenge.
    MfaTries(&'a str),
    /// `mfa_sends:<account>`: codes emailed to one account this hour.
    MfaSends(AccountId),
    /// `mfa_sends_since:<account>`: when the account's current hour of emailed codes began,
    /// so a page can say when the next code may be sent.
    MfaSendsSince(AccountId),
    /// `mfa_sends_ip:<address>`: codes emailed for requests from one address this hour.
    MfaSendsIp(&'a str),
    /// `signin_fail_ip:<address>`: wrong passwords from one address.
    SigninFailIp(&'a str),
    /// `session:<hash of session id>`: a browser session.
    Session(&'a str),
    /// `flow:<hash of flow id>`: a sign-in flow.
    Flow(&'a str),
    /// `sessions_ended:<account>`: when the account's sessions were last ended.
    SessionsEnded(AccountId),
    /// `shown_once:<hash of id>`: a secret (a new PAT, a new backup code) waiting for its
    /// one-time page, sealed under the KEK and bound to one browser session.
    ShownOnce(&'a str),
    /// `notice:<session binding>`: what the last action did, for the page it redirects to.
    Notice(&'a str),
    /// `claim_fail_ip:<address>`: invalid invitation links opened from one address (S41).
    ClaimFailIp(&'a str),
    /// `fed_state:<hash of state>`: an upstream sign-in on its way (state, nonce, PKCE
    /// verifier, sealed), taken once by its callback.
    FederationState(&'a str),
    /// `fed_sessions:<hash of issuer and upstream sid>`: our sessions an upstream session
    /// started, for its back-channel logout.
    UpstreamSessions(&'a str),
    /// `fed_logout_jti:<hash of issuer and jti>`: an upstream logout token already used.
    UpstreamLogoutJti(&'a str),
    /// `account_mail_ip:<address>`: sign-up, reset and email-change mails asked for from one
    /// address this hour (mail bombing, A2).
    AccountMailIp(&'a str),
    /// `account_mail_to:<hash of address>`: such mails asked for to one address this hour.
    AccountMailTo(&'a str),
}

/// What losing a key of a family would do, which decides where the family may live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Absence means "invalid", "gone" or "a fresh rate window": losing the key signs
    /// someone out, ends a flow or resets a counter, never lets anything through. May live
    /// in a store that keeps nothing on disk (Redis).
    Volatile,
    /// Absence would mean "allowed" (not revoked, not used, not replayed, not ended): the
    /// key must outlive a restart of any cache, so it lives in the database.
    Durable,
}

impl Durability {
    /// The durability of a rendered key, by its family (the text before the first `:`).
    /// A family this build does not know is `Durable`: the safe side.
    pub fn of_rendered(key: &str) -> Durability {
        let family = key.split_once(':').map_or(key, |(family, _)| family);
        match family {
            "code"
            | "device"
            | "device_poll"
            | "device_user"
            | "device_confirm"
            | "device_tries_session"
            | "device_tries_ip"
            | "pat_fail_ip"
            | "pat_fail_client"
            | "device_requests_client"
            | "device_requests_ip"
            | "mfa_challenge"
            | "mfa_tries"
            | "mfa_sends"
            | "mfa_sends_since"
            | "mfa_sends_ip"
            | "signin_fail_ip"
            | "session"
            | "flow"
            | "shown_once"
            | "notice"
            | "claim_fail_ip"
            | "fed_state"
            | "fed_sessions"
            | "account_mail_ip"
            | "account_mail_to" => Durability::Volatile,
            _ => Durability::Durable,
        }
    }
}

impl EphemeralKey<'_> {
    /// Whether losing this key is safe. No wildcard: a new variant does not compile until
    /// someone decides, and `tests::every_family_is_classified_once` checks that the
    /// rendered form agrees ([`Durability::of_rendered`], which the stores route by).
    pub fn durability(&self) -> Durability {
        match self {
            // A revoked token, a used client assertion, a replayed code, a "sign out
            // everywhere": forgetting any of them would let something through again.
            Self::RevokedJti(_)
            | Self::AssertionJti { .. }
            | Self::CodeReplayed(_)
            | Self::SessionsEnded(_)
            | Self::UpstreamLogoutJti(_) => Durability::Durable,
            // Forgetting a code, device request, challenge, session or flow makes it
            // invalid; a code replayed after its record is gone still revokes the grant it
            // made (the grant id is derived from the code).
            Self::Code(_)
            | Self::Device(_)
            | Self::DeviceUser(_)
            | Self::DeviceConfirm(_)
            | Self::MfaChallenge(_)
            | Self::Session(_)
            | Self::Flow(_)
            | Self::ShownOnce(_)
            | Self::FederationState(_) => Durability::Volatile,
            // A lost index only means an upstream's back-channel logout finds no session by
            // its `sid`; its `sub` still ends them all.
            Self::UpstreamSessions(_) => Durability::Volatile,
            // A lost notice is a page without its "Token 'laptop' revoked" line.
            Self::Notice(_) => Durability::Volatile,
            // Counters and the poll interval: losing one restarts a window. The durable
            // per-account failure count (`MfaRepo`) and lockout still hold.
            Self::DevicePoll(_)
            | Self::DeviceTriesSession(_)
            | Self::DeviceTriesIp(_)
            | Self::PatFailIp(_)
            | Self::PatFailClient(..)
            | Self::DeviceRequestsClient { .. }
            | Self::DeviceRequestsIp { .. }
            | Self::MfaTries(_)
            | Self::MfaSends(_)
            | Self::MfaSendsSince(_)
            | Self::MfaSendsIp(_)
            | Self::SigninFailIp(_)
            | Self::ClaimFailIp(_)
            | Self::AccountMailIp(_)
            | Self::AccountMailTo(_) => Durability::Volatile,
        }
    }
}

impl fmt::Display for EphemeralKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Code(hash) => write!(f, "code:{hash}"),
            Self::CodeReplayed(hash) => write!(f, "code_replayed:{hash}"),
            Self::AssertionJti { client, jti } => write!(f, "jti:{client}:{jti}"),
            Self::RevokedJti(jti) => write!(f, "revoked_jti:{jti}"),
            Self::Device(hash) => write!(f, "device:{hash}"),
            Self::DevicePoll(hash) => write!(f, "device_poll:{hash}"),
            Self::DeviceUser(hash) => write!(f, "device_user:{hash}"),
            Self::DeviceConfirm(hash) => write!(f, "device_confirm:{hash}"),
            Self::DeviceTriesSession(binding) => write!(f, "device_tries_session:{binding}"),
            Self::DeviceTriesIp(ip) => write!(f, "device_tries_ip:{ip}"),
            Self::DeviceRequestsClient { window, client } => {
                write!(f, "device_requests_client:{window}:{client}")
            }
            Self::DeviceRequestsIp { window, ip } => write!(f, "device_requests_ip:{window}:{ip}"),
            Self::PatFailIp(ip) => write!(f, "pat_fail_ip:{ip}"),
            Self::PatFailClient(client, ip) => write!(f, "pat_fail_client:{client}:{ip}"),
            Self::MfaChallenge(hash) => write!(f, "mfa_challenge:{hash}"),
            Self::MfaTries(hash) => write!(f, "mfa_tries:{hash}"),
            Self::MfaSends(account) => write!(f, "mfa_sends:{account}"),
            Self::MfaSendsSince(account) => write!(f, "mfa_sends_since:{account}"),
            Self::MfaSendsIp(ip) => write!(f, "mfa_sends_ip:{ip}"),
            Self::SigninFailIp(ip) => write!(f, "signin_fail_ip:{ip}"),
            Self::Session(hash) => write!(f, "session:{hash}"),
            Self::Flow(hash) => write!(f, "flow:{hash}"),
            Self::SessionsEnded(account) => write!(f, "sessions_ended:{account}"),
            Self::ShownOnce(hash) => write!(f, "shown_once:{hash}"),
            Self::Notice(binding) => write!(f, "notice:{binding}"),
            Self::ClaimFailIp(ip) => write!(f, "claim_fail_ip:{ip}"),
            Self::FederationState(hash) => write!(f, "fed_state:{hash}"),
            Self::UpstreamSessions(hash) => write!(f, "fed_sessions:{hash}"),
            Self::UpstreamLogoutJti(hash) => write!(f, "fed_logout_jti:{hash}"),
            Self::AccountMailIp(ip) => write!(f, "account_mail_ip:{ip}"),
            Self::AccountMailTo(hash) => write!(f, "account_mail_to:{hash}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn every_key_renders_as_stored() {
        let h = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let client = ClientId::parse("my-app_1.x~").unwrap();
        let account = AccountId(Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001));
        let cases: [(EphemeralKey<'_>, String); 31] = [
            (
                EphemeralKey::AccountMailIp("192.0.2.7"),
                "account_mail_ip:192.0.2.7".to_owned(),
            ),
            (
                EphemeralKey::AccountMailTo(h),
                format!("account_mail_to:{h}"),
            ),
            (EphemeralKey::Code(h), format!("code:{h}")),
            (EphemeralKey::CodeReplayed(h), format!("code_replayed:{h}")),
            (
                EphemeralKey::AssertionJti {
                    client: &client,
                    jti: h,
                },
                format!("jti:my-app_1.x~:{h}"),
            ),
            (
                EphemeralKey::RevokedJti("AAAAAAAAAAAAAAAAAAAAAA"),
                "revoked_jti:AAAAAAAAAAAAAAAAAAAAAA".to_owned(),
            ),
            (EphemeralKey::Device(h), format!("device:{h}")),
            (EphemeralKey::DevicePoll(h), format!("device_poll:{h}")),
            (EphemeralKey::DeviceUser(h), format!("device_user:{h}")),
            (
                EphemeralKey::DeviceConfirm(h),
                format!("device_confirm:{h}"),
            ),
            (
                EphemeralKey::DeviceTriesSession(h),
                format!("device_tries_session:{h}"),
            ),
            (
                EphemeralKey::DeviceTriesIp("2001:db8::1"),
                "device_tries_ip:2001:db8::1".to_owned(),
            ),
            (
                EphemeralKey::DeviceRequestsClient {
                    window: 29_000_000,
                    client: &client,
                },
                "device_requests_client:29000000:my-app_1.x~".to_owned(),
            ),
            (
                EphemeralKey::DeviceRequestsIp {
                    window: 29_000_000,
                    ip: "2001:db8::1",
                },
                "device_requests_ip:29000000:2001:db8::1".to_owned(),
            ),
            (
                EphemeralKey::PatFailIp("192.0.2.7"),
                "pat_fail_ip:192.0.2.7".to_owned(),
            ),
            (
                EphemeralKey::PatFailClient(&client, "2001:db8::1"),
                "pat_fail_client:my-app_1.x~:2001:db8::1".to_owned(),
            ),
            (EphemeralKey::MfaChallenge(h), format!("mfa_challenge:{h}")),
            (EphemeralKey::MfaTries(h), format!("mfa_tries:{h}")),
            (
                EphemeralKey::MfaSends(account),
                "mfa_sends:01900000-0000-7000-8000-000000000001".to_owned(),
            ),
            (
                EphemeralKey::MfaSendsSince(account),
                "mfa_sends_since:01900000-0000-7000-8000-000000000001".to_owned(),
            ),
            (
                EphemeralKey::MfaSendsIp("192.0.2.7"),
                "mfa_sends_ip:192.0.2.7".to_owned(),
            ),
            (
                EphemeralKey::SigninFailIp("192.0.2.7"),
                "signin_fail_ip:192.0.2.7".to_owned(),
            ),
            (EphemeralKey::Session(h), format!("session:{h}")),
            (EphemeralKey::Flow(h), format!("flow:{h}")),
            (
                EphemeralKey::SessionsEnded(account),
                "sessions_ended:01900000-0000-7000-8000-000000000001".to_owned(),
            ),
            (EphemeralKey::ShownOnce(h), format!("shown_once:{h}")),
            (EphemeralKey::Notice(h), format!("notice:{h}")),
            (
                EphemeralKey::ClaimFailIp("192.0.2.7"),
                "claim_fail_ip:192.0.2.7".to_owned(),
            ),
            (EphemeralKey::FederationState(h), format!("fed_state:{h}")),
            (
                EphemeralKey::UpstreamSessions(h),
                format!("fed_sessions:{h}"),
            ),
            (
                EphemeralKey::UpstreamLogoutJti(h),
                format!("fed_logout_jti:{h}"),
            ),
        ];
        let kinds: std::collections::HashSet<_> = cases
            .iter()
            .map(|(key, _)| std::mem::discriminant(key))
            .collect();
        assert_eq!(kinds.len(), cases.len(), "one case per variant");
        for (key, stored) in cases {
            assert_eq!(key.to_string(), stored, "{key:?}");
        }
    }

    #[test]
    fn every_family_is_classified_once() {
        let h = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let client = ClientId::parse("my-app_1.x~").unwrap();
        let account = AccountId(Uuid::from_u128(1));
        let durable = [
            EphemeralKey::CodeReplayed(h),
            EphemeralKey::AssertionJti {
                client: &client,
                jti: h,
            },
            EphemeralKey::RevokedJti("AAAAAAAAAAAAAAAAAAAAAA"),
            EphemeralKey::SessionsEnded(account),
            EphemeralKey::UpstreamLogoutJti(h),
        ];
        let volatile = [
            EphemeralKey::FederationState(h),
            EphemeralKey::UpstreamSessions(h),
            EphemeralKey::Code(h),
            EphemeralKey::Device(h),
            EphemeralKey::DevicePoll(h),
            EphemeralKey::DeviceUser(h),
            EphemeralKey::DeviceConfirm(h),
            EphemeralKey::DeviceTriesSession(h),
            EphemeralKey::DeviceTriesIp("2001:db8::1"),
            EphemeralKey::PatFailIp("192.0.2.7"),
            EphemeralKey::PatFailClient(&client, "192.0.2.7"),
            EphemeralKey::DeviceRequestsClient {
                window: 29_000_000,
                client: &client,
            },
            EphemeralKey::DeviceRequestsIp {
                window: 29_000_000,
                ip: "2001:db8::1",
            },
            EphemeralKey::MfaChallenge(h),
            EphemeralKey::MfaTries(h),
            EphemeralKey::MfaSends(account),
            EphemeralKey::MfaSendsSince(account),
            EphemeralKey::MfaSendsIp("192.0.2.7"),
            EphemeralKey::SigninFailIp("192.0.2.7"),
            EphemeralKey::Session(h),
            EphemeralKey::Flow(h),
            EphemeralKey::ShownOnce(h),
            EphemeralKey::Notice(h),
            EphemeralKey::ClaimFailIp("192.0.2.7"),
            EphemeralKey::AccountMailIp("192.0.2.7"),
            EphemeralKey::AccountMailTo(h),
        ];
        let kinds: std::collections::HashSet<_> = durable
            .iter()
            .chain(&volatile)
            .map(std::mem::discriminant)
            .collect();
        assert_eq!(kinds.len(), 31, "every variant exactly once");
        for (keys, expected) in [
            (&durable[..], Durability::Durable),
            (&volatile[..], Durability::Volatile),
        ] {
            for key in keys {
                assert_eq!(key.durability(), expected, "{key:?}");
                let rendered = key.to_string();
                assert_eq!(Durability::of_rendered(&rendered), expected, "{rendered}");
            }
        }
        // A family nobody classified (an older or newer build's key) stays on the safe side.
        assert_eq!(Durability::of_rendered("unheard_of:x"), Durability::Durable);
        assert_eq!(Durability::of_rendered(""), Durability::Durable);
    }
}
