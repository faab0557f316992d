//! The second step (F1, B1–B6): after a right password, the code (emailed, authenticator app
//! or backup code), the backup code to save when one is new, "Trust this device?" after an
//! emailed code, then the end of the sequence. The flow's id is also the challenge's id, so
//! a code belongs to exactly one sign-in (S32). Each step checks the flow's `Pending` record,
//! so a later step posted directly (or replayed) finds nothing to continue (S37).

use lanyard_core::model::account::Account;
use lanyard_core::model::{Authenticated, MfaMethod};
use lanyard_core::{AccountId, Secret, Timestamp};
use lanyard_mfa::{Answer, ChallengeView, Factor, MfaError, Purpose};

use crate::next::{BackupShown, CodeKind, CodeQuestion, Done, Next, Notice, Problem, Wait};
use crate::{Browser, Flow, FlowId, Pending, SealedBackupCode, SignInError, SignInService};

impl SignInService {
    /// Starts the second step for an account whose password was just verified: straight on
    /// when this browser is a trusted device (and the app asks no more than that), otherwise
    /// to the code. `step_up_of` is the start of the session being reconfirmed.
    pub(crate) async fn begin_second_step(
        &self,
        id: &FlowId,
        flow: Flow,
        account: &Account,
        step_up_of: Option<Timestamp>,
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let purpose = if step_up_of.is_some() {
            Purpose::StepUp
        } else if !flow.email_code_allowed() {
            // The app needs the authenticator app or the backup code: no point emailing.
            Purpose::RaiseAssurance
        } else {
            Purpose::SignIn
        };
        self.start_challenge(id, flow, account, purpose, step_up_of, browser)
            .await
    }

    /// A signed-in user whose app asked for more (`acr_values`): only the stronger second
    /// step, not the password again (B9).
    pub async fn raise_assurance(
        &self,
        id: &FlowId,
        account: AccountId,
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let flow = self.flows.get(id).await?;
        let account = self.accounts.get(account).await?;
        self.start_challenge(id, flow, &account, Purpose::RaiseAssurance, None, browser)
            .await
    }

    async fn start_challenge(
        &self,
        id: &FlowId,
        mut flow: Flow,
        account: &Account,
        purpose: Purpose,
        step_up_of: Option<Timestamp>,
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let mut pending = Pending {
            account_id: account.id,
            password_at: self.clock.now(),
            step_up: step_up_of.is_some(),
            passed: None,
            backup_code_unacknowledged: false,
            trust_offered: false,
            stay_offered: false,
            backup_code: None,
            principal_site: self.principal_site(account).await?,
        };
        // Only a plain sign-in accepts a trusted device; step-up never does (S36), nor a
        // sign-in that must set up an authenticator app: that needs a code proven now (S54).
        if purpose == Purpose::SignIn
            && !self.enrollment_due(account.id).await?
            && self
                .mfa
                .device_skips_code(account.id, browser.device)
                .await?
        {
            pending.passed = Some(Factor::TrustedDevice);
            flow.pending = Some(pending);
            return self.finish(id, flow, Keep::default(), browser).await;
        }
        match self
            .mfa
            .begin(id.as_str(), account, purpose, step_up_of, browser.origin)
            .await
        {
            Ok(_) => {}
            Err(MfaError::Locked { until }) => return Ok(Next::Wait(Wait::Locked { until })),
            Err(e) => return Err(e.into()),
        }
        flow.pending = Some(pending);
        self.flows.save(id, &flow).await?;
        self.code_question(id, None).await
    }

    /// The flow and its second step, when that is still open.
    async fn open(&self, id: &FlowId) -> Result<(Flow, Pending), SignInError> {
        let flow = self.flows.get(id).await?;
        let pending = flow.pending.clone().ok_or(SignInError::FlowGone)?;
        Ok((flow, pending))
    }

    /// The code page of an open second step, asking the kind asked for when it is allowed.
    pub async fn code_question(
        &self,
        id: &FlowId,
        asked: Option<CodeKind>,
    ) -> Result<Next, SignInError> {
        let (flow, pending) = self.open(id).await?;
        if !pending.awaiting_code() {
            return Err(SignInError::FlowGone);
        }
        let question = self.question(id, &flow, asked, None, None).await?;
        Ok(Next::AskCode(question))
    }

    async fn question(
        &self,
        id: &FlowId,
        flow: &Flow,
        asked: Option<CodeKind>,
        notice: Option<Notice>,
        problem: Option<Problem>,
    ) -> Result<CodeQuestion, SignInError> {
        let view = self.mfa.view(id.as_str()).await?;
        let account = self.accounts.get(view.account_id).await?;
        let email_allowed = flow.email_code_allowed();
        Ok(CodeQuestion {
            flow: id.clone(),
            kind: pick_kind(asked, &view, email_allowed),
            email: account.email,
            email_allowed,
            email_code_expires_at: view.email_code_expires_at,
            resend_at: view.resend_at.filter(|at| *at > self.clock.now()),
            sends_blocked_until: view.sends_blocked_until,
            has_backup_code: view.has_backup_code,
            has_app: view.method == MfaMethod::Totp,
            step_up: view.purpose == Purpose::StepUp,
            notice,
            problem,
        })
    }

    /// "Get a code by email": a new code for this challenge (only the newest one works).
    pub async fn send_email_code(
        &self,
        id: &FlowId,
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let (flow, pending) = self.open(id).await?;
        if !pending.awaiting_code() || !flow.email_code_allowed() {
            return Err(SignInError::FlowGone);
        }
        let notice = match self.mfa.send_email_code(id.as_str(), browser.origin).await {
            Ok(_) => Notice::CodeSent,
            Err(MfaError::ResendTooSoon { at }) => Notice::ResendAt(at),
            // Not a dead end: the code page says until when, and offers the other ways.
            Err(MfaError::TooManySends { .. }) => {
                let question = self
                    .question(id, &flow, Some(CodeKind::Email), None, None)
                    .await?;
                return Ok(Next::AskCode(question));
            }
            Err(MfaError::Locked { until }) => return Ok(Next::Wait(Wait::Locked { until })),
            Err(e) => return Err(e.into()),
        };
        let question = self
            .question(id, &flow, Some(CodeKind::Email), Some(notice), None)
            .await?;
        Ok(Next::AskCode(question))
    }

    /// Checks a typed code of the kind the page asked for.
    pub async fn submit_code(
        &self,
        id: &FlowId,
        kind: Option<CodeKind>,
        typed: &str,
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let (mut flow, mut pending) = self.open(id).await?;
        if !pending.awaiting_code() {
            return Err(SignInError::FlowGone);
        }
        let answer = match kind {
            Some(CodeKind::App) => Answer::Totp(typed),
            Some(CodeKind::Backup) => Answer::BackupCode(typed),
            Some(CodeKind::Email) if flow.email_code_allowed() => Answer::EmailCode(typed),
            _ => {
                let question = self
                    .question(id, &flow, None, None, Some(Problem::NoChoice))
                    .await?;
                return Ok(Next::AskCode(question));
            }
        };
        let kind = kind.unwrap_or(CodeKind::Email);
        let problem = match self.mfa.verify(id.as_str(), answer, browser.origin).await {
            Ok(verified) => {
                pending.passed = Some(verified.factor);
                let shown = match verified.new_backup_code {
                    Some(code) => Some((code, BackupShown::ReplacesUsed)),
                    // The first sign-in after the account was created (B4). A site user's
                    // principal gets no single code: its codes come as a set of ten at the
                    // end of the site's two-factor set-up (C4).
                    None if pending.principal_site.is_none()
                        && self
                            .mfa
                            .backup_code_info(pending.account_id)
                            .await?
                            .is_none() =>
                    {
                        let code = self
                            .mfa
                            .issue_backup_code(pending.account_id, browser.origin)
                            .await?;
                        Some((code, BackupShown::First))
                    }
                    None => None,
                };
                if let Some((code, why)) = shown {
                    let generated_at = self.clock.now();
                    pending.backup_code_unacknowledged = true;
                    pending.backup_code = Some(SealedBackupCode {
                        sealed: self.seal_backup_code(pending.account_id, &code)?,
                        why,
                        generated_at,
                    });
                    flow.pending = Some(pending);
                    self.flows.save(id, &flow).await?;
                    return Ok(self.backup_code_shown(id, code, (why, generated_at), None));
                }
                flow.pending = Some(pending);
                return self.after_code(id, flow, browser).await;
            }
            Err(MfaError::Malformed) => Problem::MalformedCode(kind),
            Err(MfaError::WrongCode { .. }) => Problem::WrongCode(kind),
            Err(MfaError::NotAvailable) => Problem::KindNotAvailable,
            Err(MfaError::FactorTooNew) if kind == CodeKind::Backup => Problem::BackupCodesTooNew,
            Err(MfaError::FactorTooNew) => Problem::AppTooNew,
            Err(MfaError::Locked { until }) => return Ok(Next::Wait(Wait::Locked { until })),
            Err(MfaError::TooManyTries | MfaError::ChallengeGone) => {
                flow.pending = None;
                self.flows.save(id, &flow).await?;
                return Ok(Next::Wait(Wait::StartAgain));
            }
            Err(e) => return Err(e.into()),
        };
        let question = self
            .question(id, &flow, Some(kind), None, Some(problem))
            .await?;
        Ok(Next::AskCode(question))
    }

    fn backup_code_shown(
        &self,
        id: &FlowId,
        code: String,
        (why, generated_at): (BackupShown, Timestamp),
        problem: Option<Problem>,
    ) -> Next {
        Next::ShowBackupCode {
            flow: id.clone(),
            code: Secret::new(code),
            why,
            generated_at,
            problem,
        }
    }

    fn backup_code_aad(account: AccountId) -> Vec<u8> {
        format!("signin-backup-code:{account}").into_bytes()
    }

    fn seal_backup_code(&self, account: AccountId, code: &str) -> Result<Vec<u8>, SignInError> {
        self.kek
            .encrypt(code.as_bytes(), &Self::backup_code_aad(account))
            .map_err(|e| SignInError::Internal(e.to_string()))
    }

    /// "I saved my backup code". Without the tick the same code is shown again with the
    /// error: it was kept sealed in the flow for this page, and a new code would make a
    /// file the person already downloaded worthless.
    pub async fn acknowledge_backup_code(
        &self,
        id: &FlowId,
        saved: bool,
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let (mut flow, mut pending) = self.open(id).await?;
        if pending.passed.is_none() || !pending.backup_code_unacknowledged {
            return Err(SignInError::FlowGone);
        }
        if !saved {
            let kept = pending.backup_code.as_ref().ok_or(SignInError::FlowGone)?;
            let code = self
                .kek
                .decrypt(&kept.sealed, &Self::backup_code_aad(pending.account_id))
                .map_err(|_| SignInError::FlowGone)?;
            let code = String::from_utf8(code.to_vec()).map_err(|_| SignInError::FlowGone)?;
            let problem = Some(Problem::BackupCodeNotSaved);
            return Ok(self.backup_code_shown(id, code, (kept.why, kept.generated_at), problem));
        }
        pending.backup_code_unacknowledged = false;
        pending.backup_code = None;
        flow.pending = Some(pending);
        self.after_code(id, flow, browser).await
    }

    /// After the code (and the backup code page), on a sign-in: an authenticator-app account
    /// is offered to stay signed in on this browser (a trusted device would not spare it the
    /// app's code, so that offer would be a broken promise); an emailed-code account that
    /// just answered an emailed code is offered to trust the browser. Otherwise finish.
    async fn after_code(
        &self,
        id: &FlowId,
        mut flow: Flow,
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let pending = flow.pending.as_mut().ok_or(SignInError::FlowGone)?;
        // Neither is offered while the account must still set up an authenticator app:
        // turning one on distrusts every device anyway, and the set-up comes first.
        if pending.step_up || self.enrollment_due(pending.account_id).await? {
            return self.finish(id, flow, Keep::default(), browser).await;
        }
        let method = self.mfa.state(pending.account_id).await?.method;
        let now = self.clock.now();
        let next = if method == MfaMethod::Totp {
            pending.stay_offered = true;
            Next::OfferStaySignedIn {
                flow: id.clone(),
                until: now.plus_secs(self.sessions.settings().max_secs),
            }
        } else if pending.passed == Some(Factor::EmailCode) {
            pending.trust_offered = true;
            Next::OfferTrust {
                flow: id.clone(),
                until: now.plus_secs(self.mfa.settings().device_trust_secs()),
            }
        } else {
            return self.finish(id, flow, Keep::default(), browser).await;
        };
        self.flows.save(id, &flow).await?;
        Ok(next)
    }

    /// "Stay signed in for 30 days?": `true` makes the new session last until its absolute
    /// end (`sessions.max_secs`) however long it is unused; sign-out, "sign out everywhere
    /// else", a password change or disabling the account still end it, and step-up still
    /// asks for a fresh second step.
    pub async fn answer_stay_signed_in(
        &self,
        id: &FlowId,
        stay: bool,
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let (flow, pending) = self.open(id).await?;
        // Only an answer to the question this flow asked (an emailed-code account's flow
        // was asked about trusting the device instead).
        if !pending.stay_offered
            || pending.step_up
            || pending.passed.is_none()
            || pending.backup_code_unacknowledged
        {
            return Err(SignInError::FlowGone);
        }
        let keep = Keep {
            stay_signed_in: stay,
            ..Keep::default()
        };
        self.finish(id, flow, keep, browser).await
    }

    /// "Trust this device?": `true` trusts it for `device_trust_secs` (B6).
    pub async fn answer_trust(
        &self,
        id: &FlowId,
        trust: bool,
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let (flow, pending) = self.open(id).await?;
        // Only an answer to a question asked: never on a step-up (S36), nor while an
        // organization waits for an authenticator app (S54), nor before the code.
        if !pending.trust_offered
            || pending.step_up
            || pending.passed != Some(Factor::EmailCode)
            || pending.backup_code_unacknowledged
        {
            return Err(SignInError::FlowGone);
        }
        let trusted = if trust {
            let label = device_label(browser.origin.user_agent.as_deref());
            Some(
                self.mfa
                    .trust_device(
                        pending.account_id,
                        Factor::EmailCode,
                        &label,
                        browser.origin,
                    )
                    .await?,
            )
        } else {
            None
        };
        let keep = Keep {
            device: trusted,
            ..Keep::default()
        };
        self.finish(id, flow, keep, browser).await
    }

    /// The end of the sequence: a new session for a sign-in, or a fresh mark on the current
    /// session for a step-up. A sign-in whose account must set up an authenticator app first
    /// goes to that step instead, with no session yet (S54).
    pub(crate) async fn finish(
        &self,
        id: &FlowId,
        mut flow: Flow,
        keep: Keep,
        browser: &Browser<'_>,
    ) -> Result<Next, SignInError> {
        let pending = flow.pending.take().ok_or(SignInError::FlowGone)?;
        let Some(factor) = pending.passed else {
            return Err(SignInError::FlowGone);
        };
        if pending.backup_code_unacknowledged {
            return Err(SignInError::FlowGone);
        }
        if !pending.step_up && self.enrollment_due(pending.account_id).await? {
            flow.pending = Some(pending);
            self.flows.save(id, &flow).await?;
            return self.setup_question(id, browser).await;
        }
        let now = self.clock.now();
        let auth = Authenticated {
            account_id: pending.account_id,
            auth_time: now,
            acr: factor.acr().to_owned(),
            amr: factor.amr(),
        };
        if pending.step_up {
            let same_session = flow.bound_session.is_some()
                && flow.bound_session == self.sessions.binding(browser.session);
            if !same_session || !self.sessions.mark_verified(browser.session, auth).await? {
                return Err(SignInError::FlowGone);
            }
            self.flows.finish(id).await?;
            return Ok(Next::Done(Done::SteppedUp {
                return_to: flow.return_to,
            }));
        }
        let verified_at = (factor != Factor::TrustedDevice).then_some(now);
        let session = self
            .sessions
            .start(
                browser.session,
                &auth,
                verified_at,
                keep.stay_signed_in,
                pending.principal_site,
                browser.origin,
            )
            .await?;
        // The person proved the account an upstream identity waits to link to (G3).
        if let Some(link) = flow.link.take() {
            self.complete_link(&link, pending.account_id, browser.origin)
                .await?;
        }
        flow.signed_in = true;
        self.flows.save(id, &flow).await?;
        // A principal that just set up its app for its site's preference gets its first
        // backup codes next (C4).
        let site_codes = match pending.principal_site {
            Some(site) if keep.enrolled_app => self.sites.get_site(site).await?.map(|s| s.slug),
            _ => None,
        };
        Ok(Next::Done(Done::SignedIn {
            flow: id.clone(),
            session: Box::new(session),
            trusted_device: keep.device,
            site_codes,
        }))
    }
}

/// What the end of a sign-in keeps for this browser, as answered on the last page.
#[derive(Debug, Default)]
pub(crate) struct Keep {
    /// A newly trusted device (emailed-code accounts).
    pub device: Option<lanyard_mfa::TrustedDeviceCookie>,
    /// "Stay signed in for 30 days" (authenticator-app accounts).
    pub stay_signed_in: bool,
    /// The sign-in ends by setting up an authenticator app (S54, C3).
    pub enrolled_app: bool,
}

/// Which question the page asks: the one asked for if it is allowed, else the account's
/// method (or, when the app needs more than an emailed code, the app or the backup code).
fn pick_kind(asked: Option<CodeKind>, view: &ChallengeView, email_allowed: bool) -> CodeKind {
    let has_app = view.method == MfaMethod::Totp;
    match asked {
        Some(CodeKind::Email) if email_allowed => CodeKind::Email,
        Some(CodeKind::App) if has_app => CodeKind::App,
        Some(CodeKind::Backup) if view.has_backup_code => CodeKind::Backup,
        _ if has_app => CodeKind::App,
        _ if email_allowed => CodeKind::Email,
        _ => CodeKind::Backup,
    }
}

/// "Firefox on Linux": enough to recognise a device in the list, without keeping the whole
/// User-Agent string.
pub fn device_label(user_agent: Option<&str>) -> String {
    let ua = user_agent.unwrap_or("");
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map_or("A browser", |(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(marker, _)| ua.contains(marker))
    .map(|(_, name)| *name);
    match system {
        Some(system) => format!("{browser} on {system}"),
        None => browser.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::device_label;

    #[test]
    fn labels_common_browsers() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(device_label(Some(firefox)), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Safari/537.36";
        assert_eq!(device_label(Some(chrome)), "Chrome on Windows");
        assert_eq!(device_label(None), "A browser");
    }
}
