//! `[privacy]`: the categories an account's privacy page offers (A4). Operators may replace
//! the list; each category is optional (off until the person says yes) or required (always
//! on, shown but not changeable).

use lanyard_core::InvalidSetting;
use serde::{Deserialize, Serialize};

/// Bounds that keep the page and the claim small; a category is a sentence, not a document.
const MAX_CATEGORIES: usize = 20;
const MAX_ID_LEN: usize = 40;
const MAX_NAME_CHARS: usize = 80;
const MAX_DESCRIPTION_CHARS: usize = 400;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrivacyCategory {
    /// The key in forms, the API and the claim: lower-case letters, digits and `_`.
    pub id: String,
    /// What the page calls it ("Help improve products").
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Always on; an attempt to turn it off is refused.
    #[serde(default)]
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PrivacySettings {
    pub categories: Vec<PrivacyCategory>,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        let category = |id: &str, name: &str, description: &str, required| PrivacyCategory {
            id: id.to_owned(),
            name: name.to_owned(),
            description: description.to_owned(),
            required,
        };
        Self {
            categories: vec![
                category(
                    "required",
                    "Required data collection",
                    "Data needed to run the service, keep it secure and detect misuse. \
                     It cannot be turned off.",
                    true,
                ),
                category(
                    "improve_products",
                    "Help improve products",
                    "Use how you use our products to help develop new products and services.",
                    false,
                ),
                category(
                    "personalised_offers",
                    "Personalised offers",
                    "Receive offers based on how you use our products.",
                    false,
                ),
            ],
        }
    }
}

impl PrivacySettings {
    pub fn find(&self, id: &str) -> Option<&PrivacyCategory> {
        self.categories.iter().find(|c| c.id == id)
    }

    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let invalid = |why: &'static str| InvalidSetting::new("privacy.categories", why);
        if self.categories.len() > MAX_CATEGORIES {
            return Err(invalid("at most 20 categories"));
        }
        for (i, c) in self.categories.iter().enumerate() {
            let id_ok = !c.id.is_empty()
                && c.id.len() <= MAX_ID_LEN
                && c.id
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !id_ok {
                return Err(invalid(
                    "an id is 1 to 40 lower-case letters, digits or underscores",
                ));
            }
            if self.categories[..i].iter().any(|o| o.id == c.id) {
                return Err(invalid("ids must be unique"));
            }
            if c.name.trim().is_empty() || c.name.chars().count() > MAX_NAME_CHARS {
                return Err(invalid("a name is 1 to 80 characters"));
            }
            if c.description.chars().count() > MAX_DESCRIPTION_CHARS {
                return Err(invalid("a description is at most 400 characters"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_list_is_valid_and_has_one_required_category() {
        let settings = PrivacySettings::default();
        settings.validate().unwrap();
        let required: Vec<_> = settings.categories.iter().filter(|c| c.required).collect();
        assert_eq!(required.len(), 1);
        assert_eq!(required[0].name, "Required data collection");
    }

    #[test]
    fn bad_ids_duplicates_and_long_names_are_refused() {
        let mut settings = PrivacySettings::default();
        settings.categories[1].id = "Has Spaces".to_owned();
        assert!(settings.validate().is_err());
        let mut settings = PrivacySettings::default();
        settings.categories[2].id = settings.categories[1].id.clone();
        assert!(settings.validate().is_err());
        let mut settings = PrivacySettings::default();
        settings.categories[1].name = "x".repeat(81);
        assert!(settings.validate().is_err());
        let mut settings = PrivacySettings::default();
        settings.categories[1].name = " ".to_owned();
        assert!(settings.validate().is_err());
    }
}
