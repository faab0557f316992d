//! Concrete times for people (ui.md rule 7): "14:32 UTC", "21 December 2026". Pages and mail
//! show UTC until accounts carry a time zone.

use jiff::Timestamp as Instant;
use lanyard_core::Timestamp;

fn instant(at: Timestamp) -> Option<jiff::Zoned> {
    Instant::from_second(at.seconds())
        .ok()
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC))
}

/// "14:32 UTC".
pub fn clock_time(at: Timestamp) -> String {
    instant(at).map_or_else(String::new, |z| z.strftime("%H:%M UTC").to_string())
}

/// "21 December 2026".
pub fn date(at: Timestamp) -> String {
    instant(at).map_or_else(String::new, |z| z.strftime("%-d %B %Y").to_string())
}

/// "21 December 2026 at 14:32 UTC".
pub fn date_time(at: Timestamp) -> String {
    format!("{} at {}", date(at), clock_time(at))
}

/// "in 10 minutes", "in 1 minute", "in 2 hours" — rounded up, never "in 0 minutes".
pub fn from_now(now: Timestamp, at: Timestamp) -> String {
    let secs = (at.seconds() - now.seconds()).max(0);
    let minutes = (secs + 59) / 60;
    if minutes < 120 {
        let m = minutes.max(1);
        format!("in {m} minute{}", if m == 1 { "" } else { "s" })
    } else {
        let h = (minutes + 59) / 60;
        format!("in {h} hours")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_concretely() {
        // 2026-12-21T14:32:00Z
        let at = Timestamp(1_797_863_520);
        assert_eq!(clock_time(at), "14:32 UTC");
        assert_eq!(date(at), "21 December 2026");
        assert_eq!(from_now(Timestamp(at.0 - 600), at), "in 10 minutes");
        assert_eq!(from_now(Timestamp(at.0 - 1), at), "in 1 minute");
        assert_eq!(from_now(at, at), "in 1 minute");
        assert_eq!(from_now(Timestamp(at.0 - 3 * 3600), at), "in 3 hours");
    }
}
