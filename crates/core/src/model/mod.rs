//! Records the durable store keeps. Plain data: rules live in the services.

pub mod account;
pub mod account_link;
pub mod audit;
pub mod authenticated;
pub mod client;
pub mod consent;
pub mod federation;
pub mod logout;
pub mod mfa;
pub mod org;
pub mod pat;
pub mod privacy;
pub mod refresh;
pub mod resource;
pub mod session_listing;
pub mod signing_key;
pub mod site;

pub use account::{Account, AccountKind, AccountStatus, NewAccount};
pub use account_link::{AccountLink, AccountLinkId, LinkPurpose};
pub use audit::{AuditEvent, AuditPosition, AuditQuery, AuditRecord};
pub use authenticated::Authenticated;
pub use client::{Client, ClientAuthMethod, GrantType};
pub use consent::Consent;
pub use federation::{
    AcrMapping, ClaimMapping, Connection, DomainProof, DomainVerification, FederatedIdentity,
    GroupRole, OidcUpstream, OrgDomain, Upstream,
};
pub use logout::{LogoutNotice, QueuedNotices, SessionsEnded};
pub use mfa::{
    BackupCodeInfo, BackupCodeSet, DeviceId, MfaMethod, MfaState, TotpCredential, TrustedDevice,
};
pub use org::{Membership, OrgId, OrgRole, Organization};
pub use pat::{Pat, PatExchangeSettings, PatId, VerifiedPat};
pub use privacy::{PrivacyChange, PrivacyChoice};
pub use refresh::{GraceSeal, NewRefreshFamily, RefreshFamily, RotateOutcome};
pub use resource::{
    ADMIN_API_AUDIENCE_PATH, ADMIN_SCOPE, ResourceServer, Resources, admin_api_audience,
};
pub use session_listing::SessionListing;
pub use signing_key::{SigningAlg, SigningKeyRecord};
pub use site::{
    ClientSubject, Invitation, InvitationId, InvitationKind, MigrationProgress, MigrationState,
    Site, SiteId, SiteRole, SiteSubject, SiteUser, SiteUserId,
};
