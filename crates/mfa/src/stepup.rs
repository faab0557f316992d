//! The step-up rule (B8, S37): a sensitive action needs a password *and* a second step within
//! the window. A session only counts the second steps it saw itself; a trusted device never
//! counts, and neither does a factor enrolled during the session (enforced when the
//! challenge is answered, see `Purpose::StepUp`).

use lanyard_core::Timestamp;

/// The session's proof of a recent password + second factor, or `None`.
pub fn is_fresh(verified_at: Option<Timestamp>, now: Timestamp, window_secs: i64) -> bool {
    verified_at.is_some_and(|at| at <= now && now.seconds() - at.seconds() <= window_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_only_inside_the_window() {
        let at = Timestamp(1000);
        assert!(is_fresh(Some(at), Timestamp(1000), 600));
        assert!(is_fresh(Some(at), Timestamp(1600), 600));
        assert!(!is_fresh(Some(at), Timestamp(1601), 600));
        assert!(!is_fresh(None, Timestamp(1000), 600));
        // A proof from the future (clock moved back, tampering) is not trusted.
        assert!(!is_fresh(Some(Timestamp(2000)), Timestamp(1000), 600));
    }
}
