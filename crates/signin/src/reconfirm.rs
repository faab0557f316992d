//! Reconfirming identity before a sensitive action (B8): the password again, through the
//! same gate and limits as the sign-in page (S53d), then the second step; the end marks the
//! *current* session fresh. The flow is bound to the session that opened it (S37). A site
//! user's principal reconfirms with its site password, through the site's gate
//! ([`SignInService::check_site_password`]).

use lanyard_core::model::AccountKind;

use crate::next::{Next, Problem, Wait};
use crate::password::PasswordCheck;
use crate::session::Session;
use crate::{Browser, Flow, FlowId, SignInError, SignInService};

impl SignInService {
    /// Opens a reconfirmation for the signed-in `session`, returning to `return_to` after.
    pub async fn begin_reconfirm(
        &self,
        session: &Session,
        return_to: String,
        browser: &Browser<'_>,
    ) -> Result<(FlowId, String), SignInError> {
        let account = self.accounts.get(session.auth.account_id).await?;
        let mut flow = Flow::for_account(return_to, Some(account.email.clone()));
        flow.bound_session = self.sessions.binding(browser.session);
        let id = self.flows.create(&flow).await?;
        Ok((id, account.email))
    }

    /// The reconfirm page's password. Answers [`Next::AskPassword`] with a problem to show
    /// again, a wait, or the second step.
    pub async fn submit_reconfirm_password(
        &self,
        id: &FlowId,
        session: &Session,
        password: &str,
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let flow = self
            .flows
            .find(id)
            .await?
            .filter(|f| {
                f.request.is_none()
                    && f.pending.is_none()
                    && f.bound_session.is_some()
                    && f.bound_session == self.sessions.binding(browser.session)
            })
            .ok_or(SignInError::FlowGone)?;
        let account = self.accounts.get(session.auth.account_id).await?;
        let retry = |problem| Next::AskPassword {
            flow: id.clone(),
            email: account.email.clone(),
            problem: Some(problem),
        };
        let check = match account.kind {
            AccountKind::Person => {
                self.check_password(&account.email, password, browser)
                    .await?
            }
            AccountKind::SiteUser => {
                let user = self
                    .sites
                    .site_user_by_principal(account.id)
                    .await?
                    .ok_or(SignInError::FlowGone)?;
                let site = self
                    .sites
                    .get_site(user.site_id)
                    .await?
                    .ok_or(SignInError::FlowGone)?;
                self.check_site_password(&site, &user.login, password, browser)
                    .await?
            }
        };
        match check {
            PasswordCheck::Right(verified) if verified.id == account.id => {
                self.begin_second_step(id, flow, &account, Some(session.started_at), browser)
                    .await
            }
            PasswordCheck::Right(_) | PasswordCheck::Wrong => Ok(retry(Problem::WrongPassword)),
            PasswordCheck::Missing => Ok(retry(Problem::NoPassword)),
            PasswordCheck::Throttled { retry_after_secs } => {
                Ok(Next::Wait(Wait::AddressThrottled { retry_after_secs }))
            }
        }
    }
}
