//! Setting up an authenticator app inside a sign-in, when an organization of the account
//! requires one and it has none (S54), or a site whose two-factor preference is on requires
//! one of its licensed users and admins (C3). The password and the second step have passed;
//! there is no session until the app is confirmed, and then the sequence ends as usual (for
//! a site user's principal, by way of its first backup codes).

use lanyard_core::model::Account;
use lanyard_mfa::MfaError;

use crate::next::{Next, Problem};
use crate::{Browser, Flow, FlowId, SignInError, SignInService};

impl SignInService {
    /// The flow and its account, when the flow is at this step: second step passed, backup
    /// code acknowledged, a sign-in (not a step-up), and the policy still waiting for an app.
    async fn enrolling(&self, id: &FlowId) -> Result<(Flow, Account), SignInError> {
        let flow = self.flows.get(id).await?;
        let pending = flow.pending.as_ref().ok_or(SignInError::FlowGone)?;
        if !pending.code_settled()
            || pending.step_up
            || !self.enrollment_due(pending.account_id).await?
        {
            return Err(SignInError::FlowGone);
        }
        let account = self.accounts.get(pending.account_id).await?;
        Ok((flow, account))
    }

    /// The set-up page: the secret already shown is kept across reloads (it may be scanned).
    pub async fn setup_question(
        &self,
        id: &FlowId,
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let (_, account) = self.enrolling(id).await?;
        let setup = match self.mfa.pending_setup(&account).await? {
            Some(setup) => setup,
            None => self.mfa.start_totp_setup(&account, browser.origin).await?,
        };
        Ok(Next::SetUpApp {
            flow: id.clone(),
            setup,
            problem: None,
            site_name: self.site_name_of(&account).await?,
        })
    }

    /// The name of the site whose user this principal is (the set-up page names it).
    async fn site_name_of(&self, account: &Account) -> Result<Option<String>, SignInError> {
        let Some(site) = self.principal_site(account).await? else {
            return Ok(None);
        };
        Ok(self.sites.get_site(site).await?.map(|s| s.name))
    }

    /// Confirms the new app with a code from it; then the sign-in ends.
    pub async fn confirm_setup(
        &self,
        id: &FlowId,
        typed: &str,
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let (flow, account) = self.enrolling(id).await?;
        let problem = match self
            .mfa
            .confirm_totp_setup(&account, typed, browser.origin)
            .await
        {
            Ok(()) => {
                let keep = crate::second_step::Keep {
                    enrolled_app: true,
                    ..Default::default()
                };
                return self.finish(id, flow, keep, browser).await;
            }
            Err(MfaError::Malformed) => Problem::MalformedSetupCode,
            Err(MfaError::WrongCode { .. }) => Problem::WrongSetupCode,
            // The set-up expired: start a new one.
            Err(MfaError::NotAvailable) => return self.setup_question(id, browser).await,
            Err(e) => return Err(e.into()),
        };
        let setup = self
            .mfa
            .pending_setup(&account)
            .await?
            .ok_or(SignInError::FlowGone)?;
        Ok(Next::SetUpApp {
            flow: id.clone(),
            setup,
            problem: Some(problem),
            site_name: self.site_name_of(&account).await?,
        })
    }
}
