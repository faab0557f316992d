//! Time zone names people may choose for the times pages show: the IANA names of the tz
//! database compiled into the binary (jiff's bundled copy), so every node and every machine
//! knows the same list and a stored name always converts.

use std::fmt;

use jiff::tz::TimeZone;

/// The longest name we look up; the longest real one is about 30 bytes.
const MAX_NAME_LEN: usize = 64;

/// A time zone name the tz database knows, in its canonical spelling ("America/New_York").
/// Only [`TimeZoneName::parse`] makes one, so an unknown name can not be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeZoneName {
    name: String,
    zone: TimeZone,
}

impl TimeZoneName {
    /// The zone named `name` (any letter case, as the database matches it), or `None` when
    /// the database has no such zone.
    pub fn parse(name: &str) -> Option<Self> {
        let name = name.trim();
        if name.is_empty() || name.len() > MAX_NAME_LEN {
            return None;
        }
        let zone = jiff::tz::db().get(name).ok()?;
        // The database's own spelling, so "europe/paris" is stored as "Europe/Paris".
        let name = zone.iana_name()?.to_owned();
        Some(Self { name, zone })
    }

    pub fn utc() -> Self {
        Self {
            name: "UTC".to_owned(),
            zone: TimeZone::UTC,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.name
    }

    pub fn zone(&self) -> &TimeZone {
        &self.zone
    }

    /// The names offered in a list: "UTC" first, then the places ("Europe/Paris"), sorted.
    /// Links kept for old spellings (`US/Eastern`), `Etc/…` offsets and the bare legacy
    /// names (`EST5EDT`) stay valid when typed or stored, but are not offered.
    pub fn offered() -> Vec<String> {
        const AREAS: [&str; 10] = [
            "Africa/",
            "America/",
            "Antarctica/",
            "Arctic/",
            "Asia/",
            "Atlantic/",
            "Australia/",
            "Europe/",
            "Indian/",
            "Pacific/",
        ];
        let mut names: Vec<String> = jiff::tz::db()
            .available()
            .map(|name| name.as_str().to_owned())
            .filter(|name| AREAS.iter().any(|area| name.starts_with(area)))
            .collect();
        names.sort();
        names.dedup();
        names.insert(0, "UTC".to_owned());
        names
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::TimeZoneName;

    #[test]
    fn known_names_parse_in_their_canonical_spelling() {
        assert_eq!(
            TimeZoneName::parse("Europe/Paris").unwrap().as_str(),
            "Europe/Paris"
        );
        assert_eq!(
            TimeZoneName::parse("america/new_york").unwrap().as_str(),
            "America/New_York"
        );
        assert_eq!(TimeZoneName::parse("UTC").unwrap().as_str(), "UTC");
    }

    #[test]
    fn unknown_empty_and_oversized_names_are_refused() {
        for bad in [
            "",
            "   ",
            "Mars/Olympus_Mons",
            "Europe/Paris\0",
            "../../etc/passwd",
            "/usr/share/zoneinfo/UTC",
            &"A".repeat(65),
            &"Europe/".repeat(1000),
        ] {
            assert!(TimeZoneName::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn the_offered_list_starts_with_utc_and_holds_only_known_places() {
        let offered = TimeZoneName::offered();
        assert_eq!(offered[0], "UTC");
        assert!(offered.len() > 300, "{}", offered.len());
        assert!(offered.contains(&"Europe/Paris".to_owned()));
        assert!(
            !offered
                .iter()
                .any(|n| n.starts_with("Etc/") || n == "EST5EDT")
        );
        for name in &offered {
            assert_eq!(TimeZoneName::parse(name).unwrap().as_str(), name);
        }
    }
}
