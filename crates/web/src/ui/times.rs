//! Times as people read them (ui.md rule 7), in one place for every page: concrete, in the
//! reader's time zone, with how far away they are — "21 December 14:32 CET (in 10 minutes)".
//!
//! A page that shows a time builds one [`Times`] for its reader and asks it for every text:
//! - signed in: [`Times::for_account`] (the account's chosen zone; UTC until one is chosen),
//!   or `kit::times_for` when the handler has only the session;
//! - not signed in yet (the sign-in pages): [`Times::utc`]. Before sign-in is complete the
//!   page must not reveal the account's settings, so it shows UTC and says so.
//!
//! [`utc`] keeps the free functions of `lanyard_mfa::when` (same names and signatures) for
//! code that formats in UTC, so moving a page over is one `use` line.

use jiff::tz::TimeZone;
use lanyard_core::Timestamp;
use lanyard_core::model::Account;
use lanyard_identity::TimeZoneName;

/// The reader's zone and the moment the page is made (relative times count from it).
#[derive(Debug, Clone)]
pub struct Times {
    zone: TimeZoneName,
    now: Timestamp,
}

impl Times {
    /// For a page seen before sign-in is complete, or by nobody in particular.
    pub fn utc(now: Timestamp) -> Self {
        Self {
            zone: TimeZoneName::utc(),
            now,
        }
    }

    /// In the account's chosen zone; UTC until it chooses one, or if the stored name is no
    /// longer in the tz database (a name can only be stored after [`TimeZoneName::parse`]).
    pub fn for_account(account: &Account, now: Timestamp) -> Self {
        let zone = account
            .time_zone
            .as_deref()
            .and_then(TimeZoneName::parse)
            .unwrap_or_else(TimeZoneName::utc);
        Self { zone, now }
    }

    /// The zone's IANA name, e.g. for "Times are shown in Europe/Paris time".
    pub fn zone_name(&self) -> &str {
        self.zone.as_str()
    }

    pub fn now(&self) -> Timestamp {
        self.now
    }

    fn zoned(&self, at: Timestamp) -> Option<jiff::Zoned> {
        in_zone(at, self.zone.zone())
    }

    /// "14:32 CET" (the zone's abbreviation; "UTC" in UTC).
    pub fn clock(&self, at: Timestamp) -> String {
        self.zoned(at)
            .map_or_else(String::new, |z| z.strftime("%H:%M %Z").to_string())
    }

    /// "21 December 2026".
    pub fn date(&self, at: Timestamp) -> String {
        self.zoned(at)
            .map_or_else(String::new, |z| z.strftime("%-d %B %Y").to_string())
    }

    /// "21 December 2026 at 14:32 CET".
    pub fn date_time(&self, at: Timestamp) -> String {
        format!("{} at {}", self.date(at), self.clock(at))
    }

    /// "in 10 minutes", "3 hours ago", "just now" (see [`relative`]).
    pub fn relative(&self, at: Timestamp) -> String {
        relative(self.now, at)
    }

    /// The headline form: "21 December 14:32 CET (in 10 minutes)"; the year only when it is
    /// not this year, and just "14:32 CET (in 10 minutes)" for a time later today.
    pub fn moment(&self, at: Timestamp) -> String {
        let (Some(then), Some(now)) = (self.zoned(at), self.zoned(self.now)) else {
            return String::new();
        };
        let day = if then.date() == now.date() {
            String::new()
        } else if then.year() == now.year() {
            then.strftime("%-d %B ").to_string()
        } else {
            then.strftime("%-d %B %Y ").to_string()
        };
        format!("{day}{} ({})", self.clock(at), self.relative(at))
    }
}

fn in_zone(at: Timestamp, zone: &TimeZone) -> Option<jiff::Zoned> {
    jiff::Timestamp::from_second(at.seconds())
        .ok()
        .map(|t| t.to_zoned(zone.clone()))
}

/// How far `at` is from `now`, in words. The future rounds up (a code that expires in 30
/// seconds is "in 1 minute", never "in 0 minutes"); the past rounds down ("just now" under a
/// minute). Minutes up to two hours, hours up to two days, then days.
pub fn relative(now: Timestamp, at: Timestamp) -> String {
    let diff = at.seconds() - now.seconds();
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if diff >= 0 {
        let minutes = ((diff + 59) / 60).max(1);
        if minutes < 120 {
            format!("in {}", plural(minutes, "minute"))
        } else if minutes < 48 * 60 {
            format!("in {}", plural((minutes + 59) / 60, "hour"))
        } else {
            format!("in {}", plural((minutes + 24 * 60 - 1) / (24 * 60), "day"))
        }
    } else {
        let minutes = -diff / 60;
        if minutes < 1 {
            "just now".to_owned()
        } else if minutes < 120 {
            format!("{} ago", plural(minutes, "minute"))
        } else if minutes < 48 * 60 {
            format!("{} ago", plural(minutes / 60, "hour"))
        } else {
            format!("{} ago", plural(minutes / (24 * 60), "day"))
        }
    }
}

/// UTC text with the signatures of `lanyard_mfa::when`, for the pages seen before sign-in.
pub mod utc {
    use lanyard_core::Timestamp;

    use super::Times;

    /// "14:32 UTC".
    pub fn clock_time(at: Timestamp) -> String {
        Times::utc(at).clock(at)
    }

    /// "21 December 2026".
    pub fn date(at: Timestamp) -> String {
        Times::utc(at).date(at)
    }

    /// "21 December 2026 at 14:32 UTC".
    pub fn date_time(at: Timestamp) -> String {
        Times::utc(at).date_time(at)
    }

    /// "in 10 minutes".
    pub fn from_now(now: Timestamp, at: Timestamp) -> String {
        super::relative(now, at)
    }
}

#[cfg(test)]
mod tests {
    use lanyard_core::model::{Account, AccountKind, AccountStatus};
    use lanyard_core::{AccountId, Timestamp};

    use super::{Times, relative, utc};

    /// 2026-12-21T14:32:00Z, a Monday.
    const AT: Timestamp = Timestamp(1_797_863_520);

    fn account(zone: Option<&str>) -> Account {
        Account {
            id: AccountId(uuid::Uuid::nil()),
            email: "a@example.com".to_owned(),
            email_normalized: "a@example.com".to_owned(),
            email_verified: true,
            name: String::new(),
            password_hash: None,
            status: AccountStatus::Active,
            kind: AccountKind::Person,
            time_zone: zone.map(str::to_owned),
            created_at: AT,
            updated_at: AT,
        }
    }

    #[test]
    fn utc_until_a_zone_is_chosen() {
        let times = Times::for_account(&account(None), Timestamp(AT.0 - 600));
        assert_eq!(times.zone_name(), "UTC");
        assert_eq!(times.clock(AT), "14:32 UTC");
        assert_eq!(times.date_time(AT), "21 December 2026 at 14:32 UTC");
        assert_eq!(times.moment(AT), "14:32 UTC (in 10 minutes)");
    }

    #[test]
    fn the_chosen_zone_moves_the_clock_and_the_day() {
        let paris = Times::for_account(&account(Some("Europe/Paris")), Timestamp(AT.0 - 600));
        assert_eq!(paris.clock(AT), "15:32 CET");
        let tokyo = Times::for_account(&account(Some("Asia/Tokyo")), AT);
        // 23:32 in Tokyo: still the 21st; an hour later it is the 22nd there, not in UTC.
        assert_eq!(tokyo.date(AT), "21 December 2026");
        assert_eq!(tokyo.date(AT.plus_secs(3600)), "22 December 2026");
        assert_eq!(
            tokyo.moment(AT.plus_secs(3600)),
            "22 December 00:32 JST (in 60 minutes)"
        );
    }

    #[test]
    fn a_stored_name_the_database_no_longer_knows_reads_as_utc() {
        let times = Times::for_account(&account(Some("Mars/Olympus_Mons")), AT);
        assert_eq!(times.zone_name(), "UTC");
    }

    #[test]
    fn moments_carry_the_year_only_when_it_differs() {
        let times = Times::utc(AT);
        assert_eq!(
            times.moment(AT.plus_secs(2 * 86_400)),
            "23 December 14:32 UTC (in 2 days)"
        );
        assert_eq!(
            times.moment(AT.plus_secs(30 * 86_400)),
            "20 January 2027 14:32 UTC (in 30 days)"
        );
    }

    #[test]
    fn relative_times_round_towards_what_a_person_expects() {
        assert_eq!(relative(AT, AT), "in 1 minute");
        assert_eq!(relative(Timestamp(AT.0 - 1), AT), "in 1 minute");
        assert_eq!(relative(Timestamp(AT.0 - 600), AT), "in 10 minutes");
        assert_eq!(relative(Timestamp(AT.0 - 3 * 3600), AT), "in 3 hours");
        assert_eq!(relative(Timestamp(AT.0 - 3 * 86_400), AT), "in 3 days");
        assert_eq!(relative(AT.plus_secs(30), AT), "just now");
        assert_eq!(relative(AT.plus_secs(60), AT), "1 minute ago");
        assert_eq!(relative(AT.plus_secs(5 * 3600), AT), "5 hours ago");
        assert_eq!(relative(AT.plus_secs(3 * 86_400), AT), "3 days ago");
    }

    #[test]
    fn the_utc_functions_match_the_mail_formatter() {
        assert_eq!(utc::clock_time(AT), lanyard_mfa::when::clock_time(AT));
        assert_eq!(utc::date(AT), lanyard_mfa::when::date(AT));
        assert_eq!(utc::date_time(AT), lanyard_mfa::when::date_time(AT));
        let before = Timestamp(AT.0 - 600);
        assert_eq!(
            utc::from_now(before, AT),
            lanyard_mfa::when::from_now(before, AT)
        );
    }
}
