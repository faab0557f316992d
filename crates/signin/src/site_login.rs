//! The legacy site login (C2): a site user's login and password, for a site still in
//! `legacy` or `dual`. It is one more first step into the one sequence: the password goes
//! through the same gate and limits as the identity login (S53; S42: the per-address counter
//! is the same, and the per-account counter counts on the principal *and*, when the site user
//! is linked, on the identity account, so five failures here and five there are ten), the
//! imported hash is checked once and then moved to the principal as argon2id (deleted from
//! the site user), and the second step, the forced authenticator set-up and the session are
//! the usual ones, for the principal account.

use lanyard_core::model::{Account, Site, SiteUser};
use lanyard_core::{ClientId, Origin, Secret};
use lanyard_identity::IdentityError;
use lanyard_mfa::PasswordGate;

use crate::next::{Next, Problem, SiteLoginQuestion, Wait};
use crate::password::PasswordCheck;
use crate::{Browser, Flow, FlowId, SignInError, SignInService};

/// Longest site login accepted, in characters; longer input is refused before any lookup.
pub const MAX_LOGIN_LEN: usize = 256;

/// The lookup key of a typed login (lower-cased, as imported), or `None` when it can not be
/// one: empty, too long, or with control characters.
pub fn normalize_login(login: &str) -> Option<String> {
    let login = login.trim();
    let ok = !login.is_empty()
        && login.chars().count() <= MAX_LOGIN_LEN
        && !login.chars().any(char::is_control);
    ok.then(|| login.to_lowercase())
}

impl SignInService {
    /// Opens a legacy sign-in that is not for an app: it returns to `return_to`, a page of
    /// this site or the device page. `None` when the path is neither.
    pub async fn begin_site_flow(
        &self,
        site: &Site,
        return_to: &str,
    ) -> Result<Option<FlowId>, SignInError> {
        if !site_may_return_to(site, return_to) {
            return Ok(None);
        }
        let flow = Flow::for_account(return_to.to_owned(), None);
        Ok(Some(self.flows.create(&flow).await?))
    }

    /// The site's login page for an open flow of this site.
    pub async fn site_login_question(&self, id: &FlowId, site: &Site) -> Result<Next, SignInError> {
        self.site_flow(id, site).await?;
        // In `identity` the page itself says the legacy login is closed.
        Ok(self.ask_site_login(id, site, String::new(), None))
    }

    /// Takes the site login and password: through the gate, then the second step for the
    /// principal. Refused without a check once the site is in `identity` (S42).
    pub async fn submit_site_login(
        &self,
        id: &FlowId,
        site: &Site,
        (login, password): (&str, &str),
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let flow = self.site_flow(id, site).await?;
        // What is echoed back: bounded, whatever was sent.
        let echo: String = login.trim().chars().take(MAX_LOGIN_LEN).collect();
        let retry = |problem| Ok(self.ask_site_login(id, site, echo.clone(), Some(problem)));
        if !site.state.allows_legacy_login() {
            return retry(Problem::LegacyLoginClosed);
        }
        if normalize_login(login).is_none() {
            return retry(Problem::NoLogin);
        }
        match self
            .check_site_password(site, login, password, browser)
            .await?
        {
            PasswordCheck::Right(principal) => {
                self.begin_second_step(id, flow, &principal, None, browser)
                    .await
            }
            PasswordCheck::Wrong => retry(Problem::WrongPassword),
            PasswordCheck::Missing => retry(Problem::NoPassword),
            PasswordCheck::Throttled { retry_after_secs } => {
                Ok(Next::Wait(Wait::AddressThrottled { retry_after_secs }))
            }
        }
    }

    fn ask_site_login(
        &self,
        id: &FlowId,
        site: &Site,
        login: String,
        problem: Option<Problem>,
    ) -> Next {
        Next::AskSiteLogin(SiteLoginQuestion {
            flow: id.clone(),
            site: site.clone(),
            login,
            problem,
        })
    }

    /// The flow, when it serves this site: an authorization request of one of its clients,
    /// or a return to one of its pages (or the device page). Anything else is gone (a flow
    /// of another app posted to this site's page).
    async fn site_flow(&self, id: &FlowId, site: &Site) -> Result<Flow, SignInError> {
        let flow = self.flows.get(id).await?;
        let serves = match (&flow.request, &flow.return_to) {
            (Some(request), _) => match ClientId::parse(&request.client_id) {
                Some(client) => site.clients.contains(&client),
                None => false,
            },
            (None, Some(path)) => site_may_return_to(site, path),
            (None, None) => false,
        };
        // A reconfirmation's flow (bound to a session) is not a sign-in.
        if !serves || flow.bound_session.is_some() {
            return Err(SignInError::FlowGone);
        }
        Ok(flow)
    }

    /// The one gate for a site user's password (the legacy page, and the site's own pages
    /// that ask it again): the per-address limit, the per-account limit on the principal and
    /// on the linked identity account (S42), the imported hash or the principal's argon2id,
    /// and on the first success the move to argon2id (C2). A locked account answers like a
    /// wrong password (S53f); an unknown login costs an argon2 check like any other.
    pub async fn check_site_password(
        &self,
        site: &Site,
        login: &str,
        password: &str,
        browser: &Browser<'_>,
    ) -> Result<PasswordCheck, SignInError> {
        if let Some(refused) = self.refused_unchecked(password, browser).await? {
            return Ok(refused);
        }
        let user = match normalize_login(login) {
            Some(key) => self.sites.site_user_by_login(site.id, &key).await?,
            None => None,
        };
        let principal = match &user {
            Some(user) => self.account_if_any(user.principal).await?,
            None => None,
        };
        let linked = match user.as_ref().and_then(|u| u.account_id) {
            Some(account) => self.account_if_any(account).await?,
            None => None,
        };
        // Counted before the check on both accounts, so parallel guesses can not slip past a
        // lock on either, and neither path has a budget of its own (S42).
        let gate = self
            .mfa
            .password_attempt(principal.as_ref(), browser.device)
            .await?;
        let linked_gate = match &linked {
            Some(account) => Some(
                self.mfa
                    .password_attempt(Some(account), browser.device)
                    .await?,
            ),
            None => None,
        };
        let secret = Secret::new(password);
        let checked = match (&user, &principal) {
            (Some(user), Some(principal)) => {
                self.site_password_matches(user, principal, secret, browser.origin)
                    .await
            }
            _ => {
                // Nobody by that login: the same argon2 work, the same answer.
                match self
                    .accounts
                    .authenticate_principal(None, secret, browser.origin)
                    .await
                {
                    Ok(_) | Err(IdentityError::InvalidCredentials) => Ok(false),
                    Err(e) => Err(e.into()),
                }
            }
        };
        if let Err(SignInError::Busy { .. }) = checked {
            // Nothing was checked: neither account's attempt counts.
            self.mfa
                .password_not_checked(principal.as_ref(), gate)
                .await?;
            if let Some(linked_gate) = linked_gate {
                self.mfa
                    .password_not_checked(linked.as_ref(), linked_gate)
                    .await?;
            }
        }
        let right = checked?;
        self.mfa
            .password_checked(principal.as_ref(), gate, right, browser.origin)
            .await?;
        if let Some(linked_gate) = linked_gate {
            // The address was counted once just above; this counts the identity account only.
            let no_address = Origin {
                ip: None,
                ..browser.origin.clone()
            };
            self.mfa
                .password_checked(linked.as_ref(), linked_gate, right, &no_address)
                .await?;
        }
        let locked = gate == PasswordGate::Locked || linked_gate == Some(PasswordGate::Locked);
        match principal {
            Some(principal) if right && !locked => Ok(PasswordCheck::Right(principal)),
            _ => Ok(PasswordCheck::Wrong),
        }
    }

    /// Whether the password is the site user's: against the imported hash while there is
    /// one (and then moved to the principal as argon2id), else the principal's own hash.
    async fn site_password_matches(
        &self,
        user: &SiteUser,
        principal: &Account,
        password: Secret,
        origin: &Origin,
    ) -> Result<bool, SignInError> {
        let Some(legacy) = user.legacy_password_hash.clone() else {
            return match self
                .accounts
                .authenticate_principal(Some(principal), password, origin)
                .await
            {
                Ok(_) => Ok(true),
                Err(IdentityError::InvalidCredentials) => Ok(false),
                Err(e) => Err(e.into()),
            };
        };
        let typed = password.clone();
        let stored = legacy.clone();
        let matches = self
            .accounts
            .on_password_pool(move |memory| crate::legacy::verify(&stored, typed.expose(), memory))
            .await?;
        let active = principal.status == lanyard_core::model::AccountStatus::Active;
        let right = matches && active;
        self.accounts
            .record_legacy_check(principal, right, origin)
            .await;
        if right {
            let argon2 = self.accounts.hash_proven_password(password).await?;
            // False when another sign-in moved it first: that one stored the same password.
            self.sites
                .promote_legacy_password(user.id, &legacy, &argon2, self.clock.now())
                .await?;
        }
        Ok(right)
    }

    async fn account_if_any(
        &self,
        id: lanyard_core::AccountId,
    ) -> Result<Option<Account>, SignInError> {
        match self.accounts.get(id).await {
            Ok(account) => Ok(Some(account)),
            Err(IdentityError::NotFound) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

/// The pages a sign-in that is not for an app may return to from a site's login: the site's
/// own pages (`/sites/<slug>/…`) and the device page (a site's device client).
pub fn site_may_return_to(site: &Site, path: &str) -> bool {
    let device = lanyard_issuer::endpoints::DEVICE;
    let own = path
        .strip_prefix("/sites/")
        .and_then(|rest| rest.strip_prefix(site.slug.as_str()))
        .is_some_and(|rest| rest.starts_with('/'));
    let to_device = path == device
        || path
            .strip_prefix(device)
            .is_some_and(|rest| rest.starts_with('?'));
    (own || to_device)
        && !path.contains("//")
        && !path.contains('\\')
        && path.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use lanyard_core::model::{MigrationState, Site, SiteId};
    use lanyard_core::{Timestamp, ids::random_uuid};

    use super::{MAX_LOGIN_LEN, normalize_login, site_may_return_to};

    fn site(slug: &str) -> Site {
        Site {
            id: SiteId(random_uuid(&lanyard_core::OsRng)),
            slug: slug.to_owned(),
            name: "Acme".to_owned(),
            clients: vec![],
            state: MigrationState::Legacy,
            two_factor_required_since: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn logins_are_trimmed_and_lower_cased_and_odd_ones_name_nobody() {
        assert_eq!(
            normalize_login("  Ada.Lovelace ").as_deref(),
            Some("ada.lovelace")
        );
        assert_eq!(normalize_login("ÉLODIE").as_deref(), Some("élodie"));
        for bad in ["", "   ", "ada\u{0}", "a\nb", "a\u{7f}"] {
            assert_eq!(normalize_login(bad), None, "{bad:?}");
        }
        assert!(normalize_login(&"a".repeat(MAX_LOGIN_LEN)).is_some());
        assert_eq!(normalize_login(&"a".repeat(MAX_LOGIN_LEN + 1)), None);
    }

    #[test]
    fn a_site_login_returns_only_to_its_own_pages_and_the_device_page() {
        let acme = site("acme");
        for ok in [
            "/sites/acme/admin",
            "/sites/acme/account/two-factor",
            "/device",
            "/device?user_code=BCDF-GHJK",
        ] {
            assert!(site_may_return_to(&acme, ok), "{ok}");
        }
        for bad in [
            "/sites/acme",
            "/sites/acmex/admin",
            "/sites/other/admin",
            "/account/security",
            "/sites/acme//evil.example",
            "//evil.example/sites/acme/",
            "https://evil.example/sites/acme/admin",
            "/sites/acme/a b",
            "/sites/acme/a\\b",
            "/devices",
            "",
        ] {
            assert!(!site_may_return_to(&acme, bad), "{bad}");
        }
    }
}
