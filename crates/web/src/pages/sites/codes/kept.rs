//! What a set's one-time entry (`signin::handoff`) holds: why it is shown, when the set was
//! made, its codes with the used ones marked — as text, so the hand-off seals it like any
//! other shown-once secret.

use lanyard_core::Timestamp;

use crate::ui::site_code_pages::{SetCodeView, SetShown};

/// A set on its way to a page: why it is shown, when it was made, its codes.
pub(super) struct Kept {
    pub why: SetShown,
    pub created_at: Timestamp,
    pub codes: Vec<SetCodeView>,
}

impl Kept {
    /// `set:<why>:<seconds>` and one line per code, ` used` after a used one.
    pub fn encode(&self) -> String {
        let why = match self.why {
            SetShown::First => "first",
            SetShown::Regenerated => "new",
            SetShown::Again => "again",
        };
        let mut text = format!("set:{why}:{}", self.created_at.seconds());
        for code in &self.codes {
            text.push('\n');
            text.push_str(&code.code);
            if code.used {
                text.push_str(" used");
            }
        }
        text
    }

    pub fn decode(text: &str) -> Option<Self> {
        let mut lines = text.lines();
        let mut head = lines.next()?.strip_prefix("set:")?.splitn(2, ':');
        let why = match head.next()? {
            "first" => SetShown::First,
            "new" => SetShown::Regenerated,
            "again" => SetShown::Again,
            _ => return None,
        };
        let created_at = Timestamp(head.next()?.parse().ok()?);
        let codes = lines
            .map(|line| match line.strip_suffix(" used") {
                Some(code) => SetCodeView {
                    code: code.to_owned(),
                    used: true,
                },
                None => SetCodeView {
                    code: line.to_owned(),
                    used: false,
                },
            })
            .collect();
        Some(Self {
            why,
            created_at,
            codes,
        })
    }

    pub fn new_set(why: SetShown, created_at: Timestamp, codes: Vec<String>) -> Self {
        Self {
            why,
            created_at,
            codes: codes
                .into_iter()
                .map(|code| SetCodeView { code, used: false })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_set_reads_back_as_it_was_and_junk_reads_as_nothing() {
        let kept = Kept {
            why: SetShown::Again,
            created_at: Timestamp(1_700_000_000),
            codes: vec![
                SetCodeView {
                    code: "ABCDE-FGHJK".into(),
                    used: false,
                },
                SetCodeView {
                    code: "MNPQR-STVWX".into(),
                    used: true,
                },
            ],
        };
        let back = Kept::decode(&kept.encode()).unwrap();
        assert_eq!(back.why, SetShown::Again);
        assert_eq!(back.created_at, kept.created_at);
        assert_eq!(back.codes, kept.codes);
        for junk in ["", "ABCDE-FGHJK", "set:later:1", "set:first:x", "set:first"] {
            assert!(Kept::decode(junk).is_none(), "{junk:?}");
        }
    }
}
