//! The token form's choices and refusals, in the page's words: scopes grouped under their
//! API, expiry choices with the day each ends, and every refused field at once (issue 12
//! item 9).

use lanyard_core::model::{ResourceServer, Site, SiteUser};
use lanyard_identity::pats::PatField;

use crate::kit::params::Params;
use crate::ui::FieldError;
use crate::ui::pat_pages::{LifetimeChoice, ScopeChoice, ScopeGroup, SiteChoice};
use crate::ui::times::Times;

/// The create form's scopes, under the API that offers them (a scope two APIs offer is
/// listed once, under the first). Field names number the scopes in that order.
pub(super) fn scope_groups(resources: &[ResourceServer], form: &Params) -> Vec<ScopeGroup> {
    let mut seen: Vec<&str> = Vec::new();
    let mut groups = Vec::new();
    for resource in resources {
        let mut scopes = Vec::new();
        for scope in &resource.scopes {
            if seen.contains(&scope.as_str()) {
                continue;
            }
            let field = format!("scope_{}", seen.len());
            seen.push(scope);
            scopes.push(ScopeChoice {
                checked: form.get(&field) == Some(scope.as_str()),
                field,
                value: scope.clone(),
                description: resource.scope_description(scope).map(str::to_owned),
            });
        }
        if !scopes.is_empty() {
            groups.push(ScopeGroup {
                name: resource.display_name().to_owned(),
                description: resource.description.clone(),
                scopes,
            });
        }
    }
    groups
}

/// The expiry choices, shortest first, each with the day it ends; the one posted (else the
/// default) selected; "Never" last where allowed.
pub(super) fn lifetimes(
    default: i64,
    max: i64,
    allow_never: bool,
    times: &Times,
    posted: Option<&str>,
) -> Vec<LifetimeChoice> {
    let mut days: Vec<i64> = [7, 30, 60, 90, 180, 366]
        .into_iter()
        .filter(|d| *d <= max)
        .collect();
    if !days.contains(&default) {
        days.push(default);
    }
    days.sort_unstable();
    let chosen = posted
        .filter(|p| *p == "never" || p.parse::<i64>().is_ok_and(|d| days.contains(&d)))
        .map_or_else(|| default.to_string(), str::to_owned);
    let mut choices: Vec<LifetimeChoice> = days
        .into_iter()
        .map(|d| LifetimeChoice {
            selected: chosen == d.to_string(),
            value: d.to_string(),
            text: format!(
                "{d} days (until {})",
                times.date(times.now().plus_secs(d * DAY_SECS))
            ),
        })
        .collect();
    if allow_never {
        choices.push(LifetimeChoice {
            selected: chosen == "never",
            value: "never".to_owned(),
            text: "Never".to_owned(),
        });
    }
    choices
}

const DAY_SECS: i64 = 86_400;

/// The "Site user" choices (E2): "None" first (the token is the account's own), then each
/// site user linked to the account, the one posted selected.
pub(super) fn site_choices(sites: &[(Site, SiteUser)], form: &Params) -> Vec<SiteChoice> {
    if sites.is_empty() {
        return Vec::new();
    }
    let posted = form.get("site").unwrap_or("");
    let mut choices = vec![SiteChoice {
        value: String::new(),
        text: "None: the token is for your account".to_owned(),
        selected: posted.is_empty(),
    }];
    choices.extend(sites.iter().map(|(site, user)| SiteChoice {
        selected: posted == site.slug,
        value: site.slug.clone(),
        text: format!("{} ({})", site.name, user.login),
    }));
    choices
}

pub(super) fn field_errors(fields: impl IntoIterator<Item = PatField>) -> Vec<FieldError> {
    let mut errors: Vec<FieldError> = Vec::new();
    for field in fields {
        let error = field_error(field);
        if errors.iter().all(|e| e.field_id != error.field_id) {
            errors.push(error);
        }
    }
    errors
}

/// Where the page shows a refusal, in the page's words. The form has no audience field, so
/// that can only come from a tampered form: shown at the name.
fn field_error(field: PatField) -> FieldError {
    match field {
        PatField::Scopes => FieldError::new("scope_0", "Choose at least one scope"),
        PatField::Expiry => FieldError::new("expires", "Choose when the token expires"),
        PatField::Name => FieldError::new("name", "Enter a name of up to 100 characters"),
        PatField::Site => FieldError::new("site", "Choose one of your site users, or none"),
        PatField::Audiences => FieldError::new(
            "name",
            "The form was changed; reload the page and try again",
        ),
    }
}
