//! Command-line interface. Secrets never travel on argv: passwords come from stdin and
//! generated client secrets are printed once.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "lanyard",
    version,
    about = "Lanyard OAuth 2.0 / OpenID Connect server"
)]
pub struct Cli {
    /// Configuration file (default: config/lanyard.toml when present).
    #[arg(long, global = true, env = "LANYARD_CONFIG")]
    pub config: Option<PathBuf>,
    /// More log lines on standard error: `-v` info, `-vv` debug. Admin commands log only
    /// warnings and errors by default, `serve` logs info; LANYARD_LOG or RUST_LOG (a
    /// tracing filter such as `info,lanyard_store=debug`) override both.
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    /// The log filter when LANYARD_LOG and RUST_LOG are not set: the server reports what it
    /// does, an admin command prints only its answer (on stdout) and problems (on stderr).
    pub fn default_log_level(&self) -> &'static str {
        let base = u8::from(matches!(self.command, Command::Serve));
        match base + self.verbose {
            0 => "warn",
            1 => "info",
            2 => "debug",
            _ => "trace",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve,
    /// Apply pending database migrations.
    Migrate,
    /// Manage OAuth clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Manage personal access tokens (for automation; users create theirs on their account page).
    #[command(subcommand)]
    Pat(PatCommand),
    /// Manage organizations, their members and their sign-in policy.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage sites: applications with their own legacy users, and their migration to
    /// identity accounts.
    #[command(subcommand)]
    Site(SiteCommand),
    /// The audit log: its retention (`[audit] retention_days`).
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Delete the events older than `[audit] retention_days` now (`serve` does it hourly).
    Purge {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Create a site (in `legacy` mode) for one or more registered clients.
    Create {
        /// 2–63 lower-case letters, digits and hyphens; used in URLs.
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// A registered client that becomes the site's (repeat for several); a client
        /// belongs to at most one site.
        #[arg(long = "client")]
        clients: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Every site, its mode and its clients.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Import a site's users from FILE: CSV (`.csv`, a header naming the columns
    /// login,email,role,password_hash[,totp_secret]) or JSON (`.json`, an array of objects
    /// with those keys).
    ///
    /// All or nothing: any problem refuses the whole file, each reported on standard error
    /// with its row, and the exit status is 65. Importing the same file again changes
    /// nothing. Password hashes (bcrypt, PBKDF2-SHA256 as passlib writes it, argon2) are
    /// only parsed here: they are checked when their user first signs in.
    Import {
        #[arg(long)]
        site: String,
        file: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// The site's users.
    Users {
        site: String,
        #[arg(long)]
        json: bool,
    },
    /// Move the site to the next mode: legacy → dual → identity, or dual back to legacy.
    /// Entering identity is final: it erases the legacy passwords and authenticator apps
    /// and signs every legacy session out.
    Migrate {
        site: String,
        #[arg(value_parser = ["legacy", "dual", "identity"])]
        state: String,
        #[arg(long)]
        json: bool,
    },
    /// Turn the site's "require two-factor authentication" preference on or off. When on,
    /// every licensed user and admin without an authenticator app sets one up at their next
    /// sign-in and gets a set of 10 backup codes; client users are exempt.
    TwoFactor {
        site: String,
        #[arg(value_parser = ["on", "off"])]
        state: String,
        #[arg(long)]
        json: bool,
    },
    /// How far the migration is: linked, invited, not invited, expired or bounced — the
    /// counts, then every user with where they are (an invitation's expiry, a bounce).
    Progress {
        site: String,
        #[arg(long)]
        json: bool,
    },
    /// Email invitations to the site's users who are not linked yet: "you now sign in with
    /// your account" when an identity account has their email, else "complete your account
    /// creation". Without options: those without a live invitation (never invited, expired,
    /// bounced). Sending again replaces a user's earlier link.
    Invite {
        site: String,
        /// Every user not linked yet, replacing live invitations.
        #[arg(long, conflicts_with = "logins")]
        all: bool,
        /// Only these users (repeat for several); an unknown login sends nothing at all.
        #[arg(long = "login")]
        logins: Vec<String>,
        #[arg(long)]
        json: bool,
    },
    /// Change a site user's email (C6). Until the user claims the confirmation invitation
    /// sent to the new address, nothing links them by email; a linked user is joined by the
    /// link and the change is confirmed at once.
    SetEmail {
        site: String,
        login: String,
        email: String,
        #[arg(long)]
        json: bool,
    },
    /// End a site user's link to their identity account: the account no longer gets the
    /// site's tokens, its tokens tied to the user stop working.
    Unlink {
        site: String,
        login: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization.
    Create {
        /// 2–63 lower-case letters, digits and hyphens; used in URLs.
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// Add an account to the organization, or change its role.
    AddMember {
        #[arg(long)]
        org: String,
        /// The account's email.
        #[arg(long)]
        user: String,
        /// `member` or `admin`.
        #[arg(long, default_value = "member")]
        role: String,
        #[arg(long)]
        json: bool,
    },
    RemoveMember {
        #[arg(long)]
        org: String,
        #[arg(long)]
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// The organization, its policy and its members.
    Show {
        slug: String,
        #[arg(long)]
        json: bool,
    },
    /// Require an authenticator app of every member (`on`), or stop requiring it (`off`).
    ///
    /// Turning it on revokes the personal access tokens of every member who has no
    /// authenticator app yet (a token is used without signing in, so it would bypass the
    /// rule), and those members must set up an app at their next sign-in. Without `--yes`,
    /// `on` only says how many members and tokens that affects and changes nothing.
    RequireAuthenticator {
        slug: String,
        /// `on` or `off`.
        state: String,
        /// Confirm `on`: revoke the tokens of members without an app.
        #[arg(long)]
        yes: bool,
        #[arg(long)]
        json: bool,
    },
    /// Claim an email domain for the organization; prints the DNS TXT record that proves it.
    AddDomain {
        #[arg(long)]
        org: String,
        #[arg(long)]
        domain: String,
        #[arg(long)]
        json: bool,
    },
    /// Look for the domain's TXT record (`_lanyard-verify.<domain>`); verified once found.
    VerifyDomain {
        #[arg(long)]
        org: String,
        #[arg(long)]
        domain: String,
        /// Verify without DNS, on the operator's word (audited as such).
        #[arg(long = "override")]
        override_dns: bool,
        #[arg(long)]
        json: bool,
    },
    /// Set the organization's identity provider (an OpenID Provider), replacing one it had.
    SetSso(SetSso),
    /// Turn the organization's identity provider on or off.
    SsoState {
        #[arg(long)]
        org: String,
        /// `on` or `off`.
        state: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, clap::Args)]
pub struct SetSso {
    #[arg(long)]
    pub org: String,
    /// The provider's issuer identifier (https; discovery is read from under it).
    #[arg(long)]
    pub issuer: String,
    #[arg(long)]
    pub client_id: String,
    /// A file holding the client secret (never a command-line argument: it would show in
    /// `ps` and shell history).
    #[arg(long)]
    pub client_secret_file: std::path::PathBuf,
    /// A scope to ask for besides `openid` (repeatable; default: email profile).
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    #[arg(long, default_value = "email")]
    pub email_claim: String,
    #[arg(long, default_value = "name")]
    pub name_claim: String,
    /// The claim that lists the user's groups.
    #[arg(long)]
    pub groups_claim: Option<String>,
    /// A group whose members are admins of the organization (repeatable).
    #[arg(long = "admin-group")]
    pub admin_groups: Vec<String>,
    /// `UPSTREAM=OURS`: an upstream `acr` carried as one of our levels, e.g.
    /// `phr=urn:lanyard:loa:3` (repeatable). Only map what the provider really asserts.
    #[arg(long = "acr")]
    pub acr: Vec<String>,
    /// Refuse password sign-in, PATs and non-SSO grants for the organization's domains.
    #[arg(long)]
    pub require: bool,
    /// Signing out here also signs out at the provider.
    #[arg(long)]
    pub end_upstream_session: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum PatCommand {
    /// Mint a token for a user; prints it once.
    Create(PatCreate),
    /// Tokens that are not revoked (one user's with --user).
    List {
        #[arg(long)]
        user: Option<String>,
        #[arg(long)]
        json: bool,
    },
    Revoke {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct PatCreate {
    /// The owner's email.
    #[arg(long)]
    pub user: String,
    #[arg(long)]
    pub name: String,
    /// The slug of a `dual` or `identity` site: the token is for the site user there linked to
    /// this account (E2).
    #[arg(long)]
    pub site: Option<String>,
    /// Repeatable; at least one.
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// Repeatable: limit the token to these APIs.
    #[arg(long = "audience")]
    pub audiences: Vec<String>,
    /// `30d`, `90d`, ... or `never` (when allowed); default: the configured default.
    #[arg(long)]
    pub expires_in: Option<String>,
    #[arg(long)]
    pub json: bool,
}

/// `Create` is boxed: its many options would make every other variant as large.
#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; prints the generated secret once.
    Create(Box<ClientCreate>),
    List(JsonFlag),
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
    Delete {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct ClientCreate {
    #[arg(long)]
    pub id: String,
    /// Display name (defaults to the id).
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Grant types the client may use, comma-separated or repeated:
    /// authorization_code (sign-in in a browser), refresh_token,
    /// client_credentials (a service acting as itself),
    /// device_code (a TV or command-line app: urn:ietf:params:oauth:grant-type:device_code; use
    /// with --auth none for a public app),
    /// token_exchange (RFC 8693: urn:ietf:params:oauth:grant-type:token-exchange).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "authorization_code,refresh_token"
    )]
    pub grant: Vec<String>,
    /// How the client authenticates at the token endpoint: client_secret_basic,
    /// client_secret_post (a generated secret, printed once), private_key_jwt (with
    /// --jwks-file) or none (a public client: a browser, mobile, TV or command-line app).
    #[arg(long, default_value = "client_secret_basic")]
    pub auth: String,
    /// Skip the consent page (the server's own apps).
    #[arg(long)]
    pub first_party: bool,
    /// Scopes the client may ask for (repeatable); default: the OpenID scopes.
    #[arg(long = "scope")]
    pub scopes: Vec<String>,
    /// The client's public JWK Set (for private_key_jwt).
    #[arg(long)]
    pub jwks_file: Option<PathBuf>,
    /// Token exchange (RFC 8693): an audience whose access tokens this client may exchange,
    /// besides tokens whose `aud` names the client itself (repeatable; needs the
    /// token-exchange grant).
    #[arg(long = "exchange-audience")]
    pub exchange_audiences: Vec<String>,
    /// Where logout tokens are POSTed when a session the client got tokens in ends (OIDC
    /// Back-Channel Logout 1.0): https, or http on a loopback host.
    #[arg(long)]
    pub backchannel_logout_uri: Option<String>,
    /// Put the session's `sid` in the logout tokens (the client matches sessions by it).
    #[arg(long)]
    pub backchannel_logout_session_required: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an active account; the password is read from stdin.
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Read the password from standard input (required: never on the command line).
        #[arg(long)]
        password_stdin: bool,
        #[arg(long)]
        json: bool,
    },
    List(JsonFlag),
    Disable {
        #[arg(long)]
        email: String,
        #[arg(long)]
        json: bool,
    },
    /// Clears the account's failed sign-in count (the way out of the hard limit).
    Unlock {
        #[arg(long)]
        email: String,
        #[arg(long)]
        json: bool,
    },
    /// Grant or revoke the server-wide admin role: an admin's PAT can be exchanged for an
    /// admin API token (docs/admin-api.md). Audited.
    Admin {
        #[arg(long)]
        email: String,
        /// Make the account an admin.
        #[arg(long, conflicts_with = "revoke", required_unless_present = "revoke")]
        grant: bool,
        /// Take the role away; its admin API tokens stop working at once.
        #[arg(long)]
        revoke: bool,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Publish a new key per algorithm; it signs after the propagation delay.
    Rotate {
        #[arg(long)]
        json: bool,
    },
    List(JsonFlag),
    /// Remove a key at once (a compromised key): it leaves the JWKS and its tokens stop
    /// verifying; an algorithm left without a key gets one that signs at once.
    Retire {
        kid: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct JsonFlag {
    #[arg(long)]
    pub json: bool,
}
