//! What a creator asks for, and the checks that turn it into a PAT's fields.

use lanyard_core::Timestamp;
use lanyard_core::model::Resources;

use super::PatSettings;
use crate::IdentityError;

const MAX_NAME_CHARS: usize = 100;
const MAX_SCOPES: usize = 32;
const MAX_SCOPE_LEN: usize = 128;
const DAY_SECS: i64 = 86_400;
/// Longer than any slug a site can have.
const MAX_SITE_LEN: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiry {
    /// The operator's default lifetime.
    Default,
    Days(i64),
    /// Only where the operator allows it.
    Never,
}

#[derive(Debug, Clone)]
pub struct PatRequest {
    pub name: String,
    pub scopes: Vec<String>,
    /// Resource servers the PAT may be exchanged for; empty: any registered one.
    pub audiences: Vec<String>,
    pub expiry: Expiry,
    /// The slug of the site whose user the PAT is for (E2): the site user of that site
    /// linked to the creating account (`PatService::create` checks it).
    pub site: Option<String>,
}

/// Which part of a request the policy refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatField {
    Name,
    Scopes,
    Audiences,
    Expiry,
    Site,
}

pub(super) struct Checked {
    pub name: String,
    pub scopes: Vec<String>,
    pub audiences: Vec<String>,
    pub expires_at: Option<Timestamp>,
}

/// One refusal: the field and why, in the API's words.
pub type PatProblem = (PatField, &'static str);

impl PatRequest {
    pub(super) fn validate(
        self,
        settings: &PatSettings,
        resources: &Resources,
        now: Timestamp,
    ) -> Result<Checked, IdentityError> {
        self.check(settings, resources, now).map_err(|problems| {
            let (field, why) = problems
                .first()
                .copied()
                .unwrap_or((PatField::Name, "the request is not valid"));
            IdentityError::InvalidPat(field, why)
        })
    }

    /// Every field's refusal at once (a form shows them all), or the checked fields.
    pub(super) fn check(
        self,
        settings: &PatSettings,
        resources: &Resources,
        now: Timestamp,
    ) -> Result<Checked, Vec<PatProblem>> {
        use PatField::{Audiences, Expiry as ExpiryField, Name, Scopes, Site};
        let mut problems: Vec<PatProblem> = Vec::new();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            problems.push((Name, "the name must be 1 to 100 characters"));
        } else if name.chars().any(char::is_control) {
            problems.push((Name, "the name can not contain control characters"));
        }
        if self
            .site
            .as_deref()
            .is_some_and(|s| s.is_empty() || s.len() > MAX_SITE_LEN)
        {
            problems.push((Site, "no such site"));
        }
        let lifetime = match self.expiry {
            Expiry::Default => Some(Some(settings.default_lifetime_days)),
            Expiry::Days(days) if (1..=settings.max_lifetime_days).contains(&days) => {
                Some(Some(days))
            }
            Expiry::Days(_) => {
                problems.push((ExpiryField, "the expiry is outside the allowed range"));
                None
            }
            Expiry::Never if settings.allow_no_expiry => Some(None),
            Expiry::Never => {
                problems.push((ExpiryField, "tokens without expiry are not allowed"));
                None
            }
        };
        let expires_at = lifetime.map(|days| days.map(|d| Timestamp(now.seconds() + d * DAY_SECS)));

        let mut audiences = self.audiences;
        audiences.sort();
        audiences.dedup();
        let audiences_ok = audiences.iter().all(|a| resources.find(a).is_some());
        if !audiences_ok {
            problems.push((Audiences, "an audience is not a registered API"));
        }
        let mut scopes = self.scopes;
        scopes.sort();
        scopes.dedup();
        let offered = |scope: &str| {
            if audiences.is_empty() {
                resources.offers(scope)
            } else {
                audiences.iter().any(|a| {
                    resources
                        .find(a)
                        .is_some_and(|r| r.scopes.iter().any(|s| s == scope))
                })
            }
        };
        if scopes.is_empty() || scopes.len() > MAX_SCOPES {
            problems.push((Scopes, "choose between 1 and 32 scopes"));
        } else if scopes
            .iter()
            .any(|s| s.is_empty() || s.len() > MAX_SCOPE_LEN)
            || (audiences_ok && !scopes.iter().all(|s| offered(s)))
        {
            problems.push((Scopes, "a scope is not available"));
        }
        match expires_at {
            Some(expires_at) if problems.is_empty() => Ok(Checked {
                name: name.to_owned(),
                scopes,
                audiences,
                expires_at,
            }),
            _ => Err(problems),
        }
    }
}

#[cfg(test)]
mod tests {
    use lanyard_core::model::ResourceServer;

    use super::*;

    fn settings() -> PatSettings {
        PatSettings::default()
    }

    fn apis() -> Resources {
        Resources(vec![
            ResourceServer {
                identifier: "api.example.com".to_owned(),
                scopes: vec!["repo:read".to_owned(), "repo:write".to_owned()],
                ..Default::default()
            },
            ResourceServer {
                identifier: "files.example.com".to_owned(),
                scopes: vec!["files:read".to_owned()],
                ..Default::default()
            },
        ])
    }

    fn request(scopes: &[&str]) -> PatRequest {
        PatRequest {
            name: " ci ".to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            audiences: vec![],
            expiry: Expiry::Default,
            site: None,
        }
    }

    const NOW: Timestamp = Timestamp(1_000_000);

    #[test]
    fn defaults_give_ninety_days_and_a_trimmed_name() {
        let checked = request(&["repo:read"])
            .validate(&settings(), &apis(), NOW)
            .ok();
        let checked = checked.as_ref();
        assert_eq!(checked.map(|c| c.name.as_str()), Some("ci"));
        assert_eq!(
            checked.and_then(|c| c.expires_at),
            Some(Timestamp(1_000_000 + 90 * 86_400))
        );
    }

    #[test]
    fn expiry_is_bounded_by_the_policy() {
        let s = settings();
        let with = |expiry| PatRequest {
            expiry,
            ..request(&["repo:read"])
        };
        assert!(with(Expiry::Days(366)).validate(&s, &apis(), NOW).is_ok());
        assert!(with(Expiry::Days(367)).validate(&s, &apis(), NOW).is_err());
        assert!(with(Expiry::Days(0)).validate(&s, &apis(), NOW).is_err());
        assert!(with(Expiry::Days(-1)).validate(&s, &apis(), NOW).is_err());
        assert!(with(Expiry::Never).validate(&s, &apis(), NOW).is_err());
        let open = PatSettings {
            allow_no_expiry: true,
            ..settings()
        };
        let never = with(Expiry::Never).validate(&open, &apis(), NOW).ok();
        assert!(never.is_some_and(|c| c.expires_at.is_none()));
    }

    #[test]
    fn scopes_must_be_offered_by_a_registered_api_of_the_audiences() {
        let s = settings();
        assert!(
            request(&["repo:read", "files:read"])
                .validate(&s, &apis(), NOW)
                .is_ok()
        );
        assert!(request(&["admin"]).validate(&s, &apis(), NOW).is_err());
        assert!(request(&[]).validate(&s, &apis(), NOW).is_err());
        let narrowed = PatRequest {
            audiences: vec!["files.example.com".to_owned()],
            ..request(&["repo:read"])
        };
        assert!(narrowed.validate(&s, &apis(), NOW).is_err());
        let unknown = PatRequest {
            audiences: vec!["evil.example.com".to_owned()],
            ..request(&["repo:read"])
        };
        assert!(unknown.validate(&s, &apis(), NOW).is_err());
    }

    #[test]
    fn names_and_sites_are_checked() {
        let s = settings();
        let named = |name: &str| PatRequest {
            name: name.to_owned(),
            ..request(&["repo:read"])
        };
        assert!(named("   ").validate(&s, &apis(), NOW).is_err());
        assert!(named(&"x".repeat(101)).validate(&s, &apis(), NOW).is_err());
        assert!(named("a\u{7}b").validate(&s, &apis(), NOW).is_err());
        assert!(named(&"é".repeat(100)).validate(&s, &apis(), NOW).is_ok());
        // A site's slug is checked against the account's site users by the service; here
        // only its shape.
        let sited = |site: &str| PatRequest {
            site: Some(site.to_owned()),
            ..request(&["repo:read"])
        };
        assert!(sited("acme").validate(&s, &apis(), NOW).is_ok());
        assert!(sited("").validate(&s, &apis(), NOW).is_err());
        assert!(sited(&"a".repeat(101)).validate(&s, &apis(), NOW).is_err());
    }

    #[test]
    fn every_refused_field_is_reported_at_once() {
        let all_wrong = PatRequest {
            name: String::new(),
            expiry: Expiry::Days(0),
            ..request(&[])
        };
        let fields: Vec<PatField> = all_wrong
            .check(&settings(), &apis(), NOW)
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|(field, _)| field)
            .collect();
        assert_eq!(
            fields,
            vec![PatField::Name, PatField::Expiry, PatField::Scopes]
        );
        let first = PatRequest {
            name: String::new(),
            expiry: Expiry::Days(0),
            ..request(&[])
        }
        .validate(&settings(), &apis(), NOW);
        assert!(matches!(
            first,
            Err(IdentityError::InvalidPat(PatField::Name, _))
        ));
    }
}
