//! Sites (C1–C6): applications with their own legacy user accounts, moving onto identity
//! accounts. A site user signs in to the site's clients either with the legacy site login
//! (while the site is `legacy` or `dual`) or with a linked identity account (`dual`,
//! `identity`); either way the tokens name the site user, so a relying party sees one `sub`
//! before and after the migration.
//!
//! A legacy sign-in needs a principal for sessions, second steps and grants. Rather than a
//! second copy of that machinery, each site user has a *principal account*: an `accounts` row
//! of kind [`AccountKind::SiteUser`](crate::model::AccountKind) that no email lookup, account
//! page or account list reaches. Its sessions count only for the site's own clients.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{AccountId, ClientId, Clock, Rng, Timestamp};

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new(clock: &dyn Clock, rng: &dyn Rng) -> Self {
                Self(crate::ids::uuid_v7(clock, rng))
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// A site.
    SiteId
);
uuid_id!(
    /// A site user. Also the `sub` of every token issued to the site's clients for them.
    SiteUserId
);
uuid_id!(
    /// One invitation sent to one site user; re-sending makes a new one.
    InvitationId
);

/// Where a site is in its migration (C5). `legacy` → `dual` → `identity`, and back from `dual`
/// to `legacy`; `identity` is final (the legacy credentials are erased on the way in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationState {
    Legacy,
    Dual,
    Identity,
}

impl MigrationState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Legacy => "legacy",
            Self::Dual => "dual",
            Self::Identity => "identity",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "legacy" => Some(Self::Legacy),
            "dual" => Some(Self::Dual),
            "identity" => Some(Self::Identity),
            _ => None,
        }
    }

    /// Whether the legacy site login is offered.
    pub fn allows_legacy_login(self) -> bool {
        matches!(self, Self::Legacy | Self::Dual)
    }

    /// Whether site users may sign in with (and be linked to) identity accounts.
    pub fn allows_identity_login(self) -> bool {
        matches!(self, Self::Dual | Self::Identity)
    }

    /// The moves C5 allows: forward one step, or `dual` back to `legacy`.
    pub fn may_move_to(self, to: Self) -> bool {
        matches!(
            (self, to),
            (Self::Legacy, Self::Dual) | (Self::Dual, Self::Identity) | (Self::Dual, Self::Legacy)
        )
    }
}

/// A site user's role (C1). Client users (external reviewers) are exempt from site 2FA (C3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteRole {
    LicensedUser,
    Admin,
    ClientUser,
}

impl SiteRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LicensedUser => "licensed_user",
            Self::Admin => "admin",
            Self::ClientUser => "client_user",
        }
    }

    /// The spellings the import and the CLI accept.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "licensed_user" => Some(Self::LicensedUser),
            "admin" => Some(Self::Admin),
            "client_user" => Some(Self::ClientUser),
            _ => None,
        }
    }

    /// Whether the site's "require two-factor authentication" preference applies (C3).
    pub fn needs_two_factor(self) -> bool {
        !matches!(self, Self::ClientUser)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub id: SiteId,
    /// Lower-case letters, digits and single hyphens: used in URLs, commands and file names.
    pub slug: String,
    pub name: String,
    /// The site's OIDC clients; a client belongs to at most one site.
    pub clients: Vec<ClientId>,
    pub state: MigrationState,
    /// Set while licensed users and admins must use an authenticator app: when the
    /// preference was turned on. Grants authenticated before then need a new sign-in.
    pub two_factor_required_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteUser {
    pub id: SiteUserId,
    pub site_id: SiteId,
    /// As imported, for display and for the backup-code file name.
    pub login: String,
    /// Lower-cased: unique within the site, the lookup key of the legacy login.
    pub login_normalized: String,
    pub email: String,
    /// Lower-cased: unique within the site; the join key with identity accounts (C6).
    pub email_normalized: String,
    pub role: SiteRole,
    /// The imported hash (bcrypt, PBKDF2-SHA256 or argon2 PHC) until the first successful
    /// legacy login moves the password to the principal account as argon2id, or the site
    /// reaches `identity`. Never shown.
    pub legacy_password_hash: Option<String>,
    /// The account row this site user signs in as with the legacy login (see the module
    /// comment); disabled once the site reaches `identity`.
    pub principal: AccountId,
    /// The identity account this site user is linked to.
    pub account_id: Option<AccountId>,
    pub linked_at: Option<Timestamp>,
    /// Set while a changed email waits to be confirmed (C6): invitations go nowhere and
    /// automatic linking by email is off until it is.
    pub email_unverified_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// What an invitation asks of its site user (C5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvitationKind {
    /// An active identity account has this email: "you now sign in to <site> with it".
    Access,
    /// No identity account has it: "complete your account creation".
    CreateAccount,
}

impl InvitationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::CreateAccount => "create_account",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "access" => Some(Self::Access),
            "create_account" => Some(Self::CreateAccount),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: InvitationId,
    pub site_user: SiteUserId,
    pub kind: InvitationKind,
    /// Keyed hash of the token the link carries (≥128 bits); the token itself is only mailed.
    pub token_hash: String,
    /// Normalized email the invitation was sent to: it is accepted for this email only.
    pub email_normalized: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    /// Set when a newer invitation for the same site user replaced this one.
    pub superseded_at: Option<Timestamp>,
    /// Set when the mail could not be delivered.
    pub bounced_at: Option<Timestamp>,
}

/// Counts for `lanyard site progress` (C5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MigrationProgress {
    pub total: u64,
    pub linked: u64,
    /// With a live invitation (neither accepted, superseded nor expired).
    pub invited: u64,
    /// Never invited, and not linked.
    pub not_invited: u64,
    /// Whose latest invitation expired or bounced, and not linked.
    pub expired_or_bounced: u64,
}

/// Who a site's client sees in its tokens: the site user, whichever way they signed in
/// (their principal with the legacy login, or the identity account linked to them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteSubject {
    /// `sub` of every token for the site's clients.
    pub site_user: SiteUserId,
    /// The claim `site`.
    pub slug: String,
    /// The claim `site_login`, as imported.
    pub login: String,
    /// The claim `site_role`.
    pub role: SiteRole,
}

/// The token issuer's question for a client and the account of a grant: whom do the tokens
/// name? ([`SiteSubjects`](crate::ports::SiteSubjects))
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientSubject {
    /// The client belongs to no site: tokens name the account, as ever.
    Account,
    /// A site's client: tokens name this site user.
    SiteUser(SiteSubject),
    /// A site's client, and the account is neither the principal of one of its users nor
    /// linked to one — or the site's migration state no longer admits that way in: no tokens.
    NoAccess,
}
