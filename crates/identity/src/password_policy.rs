//! What a new password must be (NIST SP 800-63B §5.1.1.2, ASVS 6.2): long enough, not absurdly
//! long, no invisible control characters, and not guessable — judged by zxcvbn, which knows
//! common passwords, dictionary words, names, keyboard patterns, dates and the account's own
//! email and name. There are deliberately no composition rules ("a digit and a symbol"): they
//! make passwords harder to remember and no harder to guess.
//!
//! Every place that sets a password goes through [`PasswordRules::check`] (the account
//! service's create and change), so the page and the CLI refuse the same passwords with the
//! same reasons.

use lanyard_core::Secret;
use zxcvbn::Score;

/// The default shortest password. 800-63B-4 asks for 8 when the password is used with a
/// second factor, as it always is here (emailed code, authenticator app or backup code);
/// the strength score refuses short guessable ones on top of it.
pub const DEFAULT_MIN_CHARS: usize = 8;
/// Longest new password in characters: well above 800-63B's "at least 64", low enough to
/// bound the work per request (the hasher also caps the bytes at 1 KiB).
pub const MAX_CHARS: usize = 256;
/// zxcvbn's score from 0 to 4; 3 is "safely unguessable: moderate protection from an offline
/// slow-hash scenario" (about 10^8 guesses or more), which suits argon2id-stored passwords.
pub const MIN_SCORE: Score = Score::Three;

/// Why a password was refused. The text says what to do; it never contains the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordRefusal {
    #[error("Use at least {min} characters.")]
    TooShort { min: usize },
    #[error("Use at most {max} characters.")]
    TooLong { max: usize },
    #[error(
        "The password has an invisible control character (such as a tab or a line break). \
         Use letters, numbers, spaces and symbols."
    )]
    ControlCharacter,
    /// `reason` is the estimator's warning ("This is a top-10 common password.") when it has
    /// one; `advice` its suggestion.
    #[error("This password is too easy to guess. {}{}", reason_text(.reason), .advice)]
    TooGuessable {
        reason: Option<String>,
        advice: String,
    },
    #[error("This is your current password. Choose a new one.")]
    SameAsCurrent,
}

fn reason_text(reason: &Option<String>) -> String {
    reason
        .as_deref()
        .map(|r| format!("{r} "))
        .unwrap_or_default()
}

/// The rules for a new password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordRules {
    pub min_chars: usize,
    pub max_chars: usize,
    pub min_score: Score,
}

impl Default for PasswordRules {
    fn default() -> Self {
        Self {
            min_chars: DEFAULT_MIN_CHARS,
            max_chars: MAX_CHARS,
            min_score: MIN_SCORE,
        }
    }
}

impl PasswordRules {
    /// The default rules with another minimum (the `[passwords] min_length` setting).
    pub fn with_min_chars(min_chars: usize) -> Self {
        Self {
            min_chars,
            ..Self::default()
        }
    }

    /// Checks a new password for the account with this email and name (zxcvbn counts a
    /// password made of them as guessable). The cheap checks run first, so zxcvbn only ever
    /// sees a bounded, printable input.
    pub fn check(&self, password: &Secret, email: &str, name: &str) -> Result<(), PasswordRefusal> {
        let text = password.expose();
        let chars = text.chars().count();
        if chars < self.min_chars {
            return Err(PasswordRefusal::TooShort {
                min: self.min_chars,
            });
        }
        if chars > self.max_chars {
            return Err(PasswordRefusal::TooLong {
                max: self.max_chars,
            });
        }
        if text.chars().any(char::is_control) {
            return Err(PasswordRefusal::ControlCharacter);
        }
        let inputs = user_inputs(email, name);
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let estimate = zxcvbn::zxcvbn(text, &inputs);
        if estimate.score() >= self.min_score {
            return Ok(());
        }
        let feedback = estimate.feedback();
        let reason = feedback.and_then(|f| f.warning()).map(|w| w.to_string());
        // zxcvbn's own suggestions are about its score; this one is about what works.
        let advice = if looks_personal(text, &inputs) {
            "Don't use your name or email address. A few unrelated words together are easy \
             to remember and hard to guess."
        } else {
            "A few unrelated words together are easy to remember and hard to guess."
        };
        Err(PasswordRefusal::TooGuessable {
            reason,
            advice: advice.to_owned(),
        })
    }
}

/// The account's words a guesser would try first: the email, its local part and domain name,
/// the name and each word of it.
fn user_inputs(email: &str, name: &str) -> Vec<String> {
    let mut inputs = Vec::new();
    let email = email.trim().to_lowercase();
    if let Some((local, domain)) = email.split_once('@') {
        inputs.push(local.to_owned());
        inputs.extend(local.split(['.', '_', '-', '+']).map(str::to_owned));
        inputs.extend(domain.split('.').next().map(str::to_owned));
    }
    inputs.push(email);
    let name = name.trim().to_lowercase();
    inputs.extend(name.split_whitespace().map(str::to_owned));
    inputs.push(name);
    inputs.retain(|i| i.chars().count() >= 3);
    inputs.sort();
    inputs.dedup();
    inputs
}

fn looks_personal(password: &str, inputs: &[&str]) -> bool {
    let lower = password.to_lowercase();
    inputs.iter().any(|i| lower.contains(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str) -> Result<(), PasswordRefusal> {
        PasswordRules::default().check(&Secret::new(password), "ada@example.com", "Ada Lovelace")
    }

    #[test]
    fn a_long_unusual_phrase_passes_without_any_composition_rule() {
        assert_eq!(check("correct horse battery staple"), Ok(()));
        assert_eq!(check("violet tractor humming quietly"), Ok(()));
        // No digit, no capital, no symbol required; spaces and any printable Unicode allowed.
        assert_eq!(check("émile gâteau über fjord"), Ok(()));
        assert_eq!(check("火山 と 静かな 図書館 の 猫"), Ok(()));
    }

    #[test]
    fn length_is_counted_in_characters_and_bounded_both_ways() {
        assert_eq!(check("Xk9#q2"), Err(PasswordRefusal::TooShort { min: 8 }));
        // Eight characters but sixteen bytes: counted as eight.
        assert_ne!(check("éèêëàâäô"), Err(PasswordRefusal::TooShort { min: 8 }));
        let long = "word ".repeat(52);
        assert_eq!(
            check(&long),
            Err(PasswordRefusal::TooLong { max: MAX_CHARS })
        );
        let rules = PasswordRules::with_min_chars(12);
        assert_eq!(
            rules.check(&Secret::new("Zq8!mW3#vL"), "a@b.c", "A"),
            Err(PasswordRefusal::TooShort { min: 12 })
        );
        // 64 characters (800-63B's floor for the maximum) are accepted.
        let sixty_four = "tangerine submarine whistles over a quiet harbour at dawn, again";
        assert_eq!(sixty_four.chars().count(), 64);
        assert_eq!(check(sixty_four), Ok(()));
    }

    #[test]
    fn control_characters_are_refused() {
        assert_eq!(
            check("violet tractor\nhumming quietly"),
            Err(PasswordRefusal::ControlCharacter)
        );
        assert_eq!(
            check("violet\u{0}tractor humming"),
            Err(PasswordRefusal::ControlCharacter)
        );
    }

    #[test]
    fn common_and_patterned_passwords_are_refused_with_the_reason() {
        for common in ["password123", "12345678", "qwertyuiop", "iloveyou1"] {
            let refusal = check(common).unwrap_err();
            let PasswordRefusal::TooGuessable { reason, .. } = &refusal else {
                panic!("{common}: {refusal:?}");
            };
            assert!(reason.is_some(), "{common}: a reason is given");
            let text = refusal.to_string();
            assert!(
                text.starts_with("This password is too easy to guess."),
                "{text}"
            );
            assert!(!text.contains(common), "never the password itself: {text}");
        }
        let text = check("password").unwrap_err().to_string();
        assert!(text.contains("This is a top-10 common password."), "{text}");
        let text = check("password123").unwrap_err().to_string();
        assert!(text.contains("This is a very common password."), "{text}");
    }

    #[test]
    fn the_accounts_own_email_and_name_count_as_guessable() {
        let refusal = check("adalovelace").unwrap_err();
        assert!(
            matches!(refusal, PasswordRefusal::TooGuessable { .. }),
            "{refusal:?}"
        );
        assert!(
            refusal.to_string().contains("your name or email"),
            "{refusal}"
        );
        // The same word for another account is not personal (it may still be too weak).
        let other = PasswordRules::default()
            .check(&Secret::new("adalovelace"), "bob@example.org", "Bob")
            .unwrap_err();
        assert!(!other.to_string().contains("your name or email"), "{other}");
    }

    #[test]
    fn user_inputs_split_email_and_name() {
        let inputs = user_inputs(" Ada.King@Example.com ", "Ada King");
        for expected in [
            "ada",
            "king",
            "ada.king",
            "example",
            "ada king",
            "ada.king@example.com",
        ] {
            assert!(
                inputs.iter().any(|i| i == expected),
                "{expected}: {inputs:?}"
            );
        }
        assert!(inputs.iter().all(|i| i.chars().count() >= 3));
    }
}
