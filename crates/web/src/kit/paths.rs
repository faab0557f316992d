//! Paths of the pages and the account and organization APIs. The issuer keeps the protocol
//! endpoints (`lanyard_issuer::endpoints`), which discovery publishes; these are ours.

/// The landing page.
pub const HOME: &str = "/";
/// Where the sign-in and consent pages send the browser back to finish an authorization.
pub const AUTHORIZE_CONTINUE: &str = "/authorize/continue";
pub const LOGIN: &str = "/login";
pub const LOGIN_PASSWORD: &str = "/login/password";
/// Home-realm discovery's page: "Sign in with your organization" (F1).
pub const LOGIN_ORGANIZATION: &str = "/login/organization";
/// Where an organization's identity provider sends the browser back (its redirect URI).
pub const FEDERATION_CALLBACK: &str = "/federation/{slug}/callback";
/// Where an organization's identity provider posts its back-channel logout tokens.
pub const FEDERATION_BACKCHANNEL_LOGOUT: &str = "/federation/{slug}/backchannel-logout";
/// Where an organization's identity provider sends the browser after its own sign-out.
pub const FEDERATION_LOGGED_OUT: &str = "/federation/{slug}/logged-out";
pub const CONSENT: &str = "/consent";
/// The second step: the code page, "Get code by email", the backup code and trust pages.
pub const LOGIN_CODE: &str = "/login/code";
pub const LOGIN_CODE_EMAIL: &str = "/login/code/email";
pub const LOGIN_BACKUP_CODE: &str = "/login/backup-code";
pub const LOGIN_TRUST: &str = "/login/trust";
/// "Stay signed in for 30 days?" (authenticator-app accounts, instead of trusting a device).
pub const LOGIN_STAY_SIGNED_IN: &str = "/login/stay-signed-in";
/// Setting up an authenticator app during sign-in, when an organization requires one (S54).
pub const LOGIN_ENROLL: &str = "/login/authenticator";
/// Account pages (security settings) and the step-up reconfirmation.
pub const ACCOUNT: &str = "/account";
/// The account page's time zone form.
pub const ACCOUNT_TIME_ZONE: &str = "/account/time-zone";
/// The profile page's email change (behind step-up) and the new address's link (A2).
pub const ACCOUNT_EMAIL: &str = "/account/email";
pub const ACCOUNT_EMAIL_CONFIRM: &str = lanyard_signin::links::EMAIL_CONFIRM_PATH;
pub const ACCOUNT_EMAIL_CONFIRMED: &str = "/account/email/confirmed";
/// Self sign-up and its emailed verification link (A2).
pub const REGISTER: &str = "/register";
pub const REGISTER_SENT: &str = "/register/sent";
pub const REGISTER_VERIFY: &str = lanyard_signin::links::VERIFY_PATH;
pub const REGISTER_VERIFIED: &str = "/register/verified";
/// Password reset by an emailed link (A2).
pub const PASSWORD_FORGOT: &str = lanyard_signin::links::FORGOT_PATH;
pub const PASSWORD_FORGOT_SENT: &str = "/password/forgot/sent";
pub const PASSWORD_RESET: &str = lanyard_signin::links::RESET_PATH;
pub const PASSWORD_RESET_DONE: &str = "/password/reset/done";
pub const ACCOUNT_SECURITY: &str = "/account/security";
pub const ACCOUNT_RECONFIRM: &str = "/account/reconfirm";
pub const ACCOUNT_TOTP_SETUP: &str = "/account/mfa/totp/setup";
pub const ACCOUNT_TOTP: &str = "/account/mfa/totp";
pub const ACCOUNT_TOTP_TURN_OFF: &str = "/account/mfa/totp/turn-off";
pub const ACCOUNT_BACKUP_REGENERATE: &str = "/account/backup-codes/regenerate";
pub const ACCOUNT_BACKUP_SAVED: &str = "/account/backup-codes/saved";
/// A new backup code's one-time page (`{id}`: the handoff's one-time id).
pub const ACCOUNT_BACKUP_SHOWN: &str = "/account/backup-codes/shown/{id}";
pub const ACCOUNT_DEVICE_REVOKE: &str = "/account/devices/{id}/revoke";
pub const ACCOUNT_DEVICE: &str = "/account/devices/{id}";
pub const ACCOUNT_DEVICES_REVOKE_ALL: &str = "/account/devices/revoke-all";
pub const ACCOUNT_PASSWORD: &str = "/account/password";
pub const ACCOUNT_END_OTHER_SESSIONS: &str = "/account/sessions/end-others";
/// Ends one listed session: the form (`POST`, the session's handle in the body) and the API
/// (`DELETE …/{handle}`).
pub const ACCOUNT_SESSION_END: &str = "/account/sessions/end";
pub const ACCOUNT_SESSION: &str = "/account/sessions/{handle}";
/// Privacy preferences (A4): the page and form, and the API (`PUT`, JSON).
pub const ACCOUNT_PRIVACY: &str = "/account/privacy";
/// Connected applications: the page, the form that disconnects one (`POST`, the client id
/// in the body) and the API (`DELETE …/{client_id}`).
pub const ACCOUNT_APPS: &str = "/account/apps";
pub const ACCOUNT_APPS_DISCONNECT: &str = "/account/apps/disconnect";
pub const ACCOUNT_APP: &str = "/account/apps/{client_id}";
/// The account's recent security events.
pub const ACCOUNT_ACTIVITY: &str = "/account/activity";
/// Personal access tokens: the account page and API (E1, E2).
pub const ACCOUNT_PATS: &str = "/account/pats";
/// One token (API: `GET`, `DELETE`), its revoke confirmation (`GET`) and action (`POST`).
pub const ACCOUNT_PAT: &str = "/account/pats/{id}";
pub const ACCOUNT_PAT_REVOKE: &str = "/account/pats/{id}/revoke";
/// A new token's one-time page.
pub const ACCOUNT_PAT_SHOWN: &str = "/account/pats/shown/{id}";
/// An organization's sign-in policy, for its admins (S54).
pub const ORG_POLICY: &str = "/orgs/{slug}/policy";
/// An organization's email domains, for its admins (G1): list (`GET`) and claim (`POST`).
pub const ORG_DOMAINS: &str = "/orgs/{slug}/domains";
/// Looks for a claimed domain's TXT record (`POST`).
pub const ORG_DOMAIN_VERIFY: &str = "/orgs/{slug}/domains/{domain}/verify";
/// An organization's single sign-on connection, for its admins (G1, G4): `GET`, `PUT`.
pub const ORG_SSO: &str = "/orgs/{slug}/sso";
/// Turns the connection on or off (`PUT`).
pub const ORG_SSO_ENABLED: &str = "/orgs/{slug}/sso/enabled";
/// An invitation's link (S41): `?token=` opens it; the form posts the token back here.
pub const MIGRATE_CLAIM: &str = lanyard_sites::invitations::CLAIM_PATH;
/// Where a claimed invitation ends.
pub const MIGRATE_CLAIM_DONE: &str = "/migrate/claim/done";
/// A site's legacy sign-in page (C2, F2); `{slug}`: the site's slug.
pub const SITE_LOGIN: &str = "/sites/{slug}/login";
/// Where a site user's sign-in goes right after setting up the authenticator app its site
/// requires (C3): the first set of backup codes (C4). `?flow=` carries the sign-in on to the
/// app afterwards.
pub const SITE_FIRST_CODES: &str = "/sites/{slug}/two-factor/first-codes";

/// A site user's own page (two-factor settings and backup codes, C4): where a site's pages
/// go back to.
pub const SITE_ACCOUNT: &str = "/sites/{slug}/account/two-factor";
/// A site user's step-up: the site password again, then the second step (`?return_to=`: a
/// page of the site).
pub const SITE_RECONFIRM: &str = "/sites/{slug}/reconfirm";

/// A site admin's page (design13.md point 5): the 2FA preference, the migration's mode,
/// invitations and progress.
pub const SITE_ADMIN: &str = "/sites/{slug}/admin";
pub const SITE_ADMIN_TWO_FACTOR: &str = "/sites/{slug}/admin/two-factor";
pub const SITE_ADMIN_MODE: &str = "/sites/{slug}/admin/mode";
pub const SITE_ADMIN_INVITE: &str = "/sites/{slug}/admin/invite";

/// A site path with its slug filled in (slugs are `[a-z0-9-]`: nothing to escape).
pub fn for_site(path: &str, slug: &str) -> String {
    path.replace("{slug}", slug)
}
/// A site user's backup codes shown once (`{id}`: the one-time handle), and "I saved my
/// backup codes" (C4).
pub const SITE_CODES_SHOWN: &str = "/sites/{slug}/two-factor/codes/{id}";
/// "Save to Text File" for the codes on that page: `<site>_backup_codes_<login>.txt`.
pub const SITE_CODES_DOWNLOAD: &str = "/sites/{slug}/two-factor/codes/{id}/download";
/// "Generate new codes": a confirmation (GET) and the step-up action (POST).
pub const SITE_CODES_REGENERATE: &str = "/sites/{slug}/account/two-factor/regenerate";
