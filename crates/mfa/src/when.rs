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

/// "1 minute", "15 minutes", "2 hours", "1 hour 30 minutes" — a length of time, rounded up to
/// the minute.
pub fn span(secs: i64) -> String {
    let minutes = (secs.max(0) + 59) / 60;
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    let (h, m) = (minutes / 60, minutes % 60);
    match (h, m) {
        (0, m) => plural(m.max(1), "minute"),
        (h, 0) => plural(h, "hour"),
        (h, m) => format!("{} {}", plural(h, "hour"), plural(m, "minute")),
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
        assert_eq!(span(1), "1 minute");
        assert_eq!(span(60), "1 minute");
        assert_eq!(span(240), "4 minutes");
        assert_eq!(span(3600), "1 hour");
        assert_eq!(span(5400), "1 hour 30 minutes");
    }
}
