//! The first questions of a sign-in: the email address, then the password (F1: one question
//! per page). A right password hands over to the second step.

use lanyard_identity::normalize_email;

use crate::next::{Next, Problem, Wait};
use crate::password::PasswordCheck;
use crate::{Browser, FlowId, SignInError, SignInService};

impl SignInService {
    /// The email question of an open flow (prefilled from `login_hint` or an earlier answer).
    pub async fn email_question(&self, id: &FlowId) -> Result<Next, SignInError> {
        let flow = self.flows.get(id).await?;
        Ok(Next::AskEmail {
            flow: id.clone(),
            email: flow.email.unwrap_or_default(),
            problem: None,
        })
    }

    /// Takes the email address; the password is asked next.
    pub async fn submit_email(&self, id: &FlowId, email: &str) -> Result<Next, SignInError> {
        let mut flow = self.flows.get(id).await?;
        let email = email.trim().to_owned();
        if normalize_email(&email).is_err() {
            return Ok(Next::AskEmail {
                flow: id.clone(),
                email,
                problem: Some(Problem::NotAnEmail),
            });
        }
        flow.email = Some(email.clone());
        // Another address is another sign-in: an upstream identity waiting to be linked to
        // the account of the first address does not carry over.
        flow.link = None;
        self.flows.save(id, &flow).await?;
        if let Some(organization) = self.realm_question(id, &email).await? {
            return Ok(organization);
        }
        Ok(Next::AskPassword {
            flow: id.clone(),
            email,
            problem: None,
        })
    }

    /// The password question, or the email question when no address was given yet.
    pub async fn password_question(&self, id: &FlowId) -> Result<Next, SignInError> {
        let flow = self.flows.get(id).await?;
        Ok(match flow.email {
            Some(email) => Next::AskPassword {
                flow: id.clone(),
                email,
                problem: None,
            },
            None => Next::AskEmail {
                flow: id.clone(),
                email: String::new(),
                problem: None,
            },
        })
    }

    /// Takes the password (through the one gate) and starts the second step.
    pub async fn submit_password(
        &self,
        id: &FlowId,
        password: &str,
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let flow = self.flows.get(id).await?;
        let Some(email) = flow.email.clone() else {
            return self.email_question(id).await;
        };
        if let Some(refused) = self.password_refused(id, &email).await? {
            return Ok(refused);
        }
        let retry = |problem| Next::AskPassword {
            flow: id.clone(),
            email: email.clone(),
            problem: Some(problem),
        };
        match self.check_password(&email, password, browser).await? {
            PasswordCheck::Right(account) => {
                self.begin_second_step(id, flow, &account, None, browser)
                    .await
            }
            PasswordCheck::Wrong => Ok(retry(Problem::WrongPassword)),
            PasswordCheck::Missing => Ok(retry(Problem::NoPassword)),
            PasswordCheck::Throttled { retry_after_secs } => {
                Ok(Next::Wait(Wait::AddressThrottled { retry_after_secs }))
            }
        }
    }
}
