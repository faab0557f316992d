//! `lanyard site invite|set-email|unlink|progress` (C5, C6) as an operator runs them: the
//! mails reach the SMTP sink with links to the configured issuer; every user is listed with
//! where they are; bad input (an unknown login or site, a taken or malformed email) exits 65
//! and changes nothing.

use lanyard_core::Clock;
use lanyard_core::model::MigrationState;
use lanyard_core::ports::SiteRepo;
use lanyard_testkit::TestApp;
use serde_json::Value;

use super::helpers::{each_backend, lanyard_cli};
use super::sites_support::{SITE_USERS, email_of, studio, token_of, user};

/// The CLI process sends its mail through the test's SMTP sink.
fn smtp(app: &TestApp) -> String {
    format!(
        "[mail]\ntransport = \"smtp\"\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {}\nsmtp_tls = \"none\"\n",
        app.mail.port()
    )
}

async fn cli(app: &TestApp, args: &[&str]) -> (i32, String, String) {
    let out = lanyard_cli(app, args, &smtp(app)).await;
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn json(app: &TestApp, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.push("--json");
    let (code, stdout, stderr) = cli(app, &args).await;
    assert_eq!(code, 0, "{args:?}: {stdout}\n{stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{args:?}: {e}: {stdout}"))
}

#[tokio::test]
async fn site_invite_sends_by_mail_and_progress_lists_every_user() {
    each_backend(|app| async move {
        let (site, _) = studio(&app, &SITE_USERS, MigrationState::Dual).await;
        app.create_user(&email_of("alice")).await;
        let dave = app.create_user("dave.identity@example.com").await;
        let sites: &dyn SiteRepo = &*app.app.stores.sql;
        sites
            .link_site_user(user(&app, &site, "dave").await.id, dave.id, app.clock.now())
            .await
            .unwrap();

        let report = json(&app, &["site", "invite", "studio"]).await;
        let sent: Vec<(String, String)> = report["sent"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["login"].as_str().unwrap().to_owned(),
                    s["kind"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            sent,
            [
                ("alice".to_owned(), "access".to_owned()),
                ("bob".to_owned(), "create_account".to_owned()),
                ("carol".to_owned(), "create_account".to_owned()),
            ]
        );
        assert_eq!(report["skipped"][0]["login"], "dave");
        assert_eq!(report["skipped"][0]["reason"], "linked");
        for login in ["alice", "bob", "carol"] {
            let mails = app.mail.wait_for(&email_of(login), 1).await;
            let link = mails[0]
                .text
                .split_whitespace()
                .find(|w| w.contains("/migrate/claim?token="))
                .unwrap()
                .to_owned();
            // S41: the configured issuer, whatever sent it.
            assert!(
                link.starts_with(&format!("{}/migrate/claim?token=", app.base_url)),
                "{link}"
            );
            assert_eq!(token_of(&link).len(), 43);
        }
        // Nothing new without options: everyone has a live invitation or is linked.
        let again = json(&app, &["site", "invite", "studio"]).await;
        assert_eq!(again["sent"], serde_json::json!([]));

        let progress = json(&app, &["site", "progress", "studio"]).await;
        assert_eq!(progress["linked"], 1);
        assert_eq!(progress["invited"], 3);
        let states: Vec<(String, String)> = progress["users"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                (
                    u["login"].as_str().unwrap().to_owned(),
                    u["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        assert_eq!(
            states,
            [
                ("alice".to_owned(), "invited".to_owned()),
                ("bob".to_owned(), "invited".to_owned()),
                ("carol".to_owned(), "invited".to_owned()),
                ("dave".to_owned(), "linked".to_owned()),
            ]
        );
        assert!(progress["users"][0]["expires_at"].as_i64().is_some());
        let (code, text, _) = cli(&app, &["site", "progress", "studio"]).await;
        assert_eq!(code, 0);
        assert!(
            text.contains("LOGIN") && text.contains("invited, until"),
            "{text}"
        );

        // Re-sending to one login replaces its link.
        let old = token_of(
            app.mail.messages_to(&email_of("bob"))[0]
                .text
                .split_whitespace()
                .find(|w| w.contains("token="))
                .unwrap(),
        );
        let resent = json(&app, &["site", "invite", "studio", "--login", "Bob"]).await;
        assert_eq!(resent["sent"][0]["login"], "bob");
        let invitation = sites
            .latest_invitation(user(&app, &site, "bob").await.id)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(
            invitation.token_hash,
            app.app.hasher.hash(&format!("invitation:{old}"))
        );
        app
    })
    .await;
}

#[tokio::test]
async fn site_set_email_and_unlink_and_their_refusals() {
    each_backend(|app| async move {
        let (site, _) = studio(&app, &SITE_USERS, MigrationState::Dual).await;
        let changed = json(
            &app,
            &["site", "set-email", "studio", "bob", "bob.new@example.com"],
        )
        .await;
        assert_eq!(changed["outcome"], "invitation_sent");
        let bob = user(&app, &site, "bob").await;
        assert_eq!(bob.email, "bob.new@example.com");
        assert!(bob.email_unverified_since.is_some());
        app.mail.wait_for("bob.new@example.com", 1).await;

        let mails_before = app.mail.messages().len();
        for (args, says) in [
            (
                vec!["site", "set-email", "studio", "bob", &*email_of("alice")],
                "another user",
            ),
            (
                vec!["site", "set-email", "studio", "bob", "not an email"],
                "not valid",
            ),
            (
                vec!["site", "set-email", "studio", "nobody", "x@example.com"],
                "no such site user",
            ),
            (
                vec!["site", "set-email", "nowhere", "bob", "x@example.com"],
                "no such site",
            ),
            (
                vec![
                    "site", "invite", "studio", "--login", "bob", "--login", "nobody",
                ],
                "nobody",
            ),
            (vec!["site", "invite", "nowhere"], "no such site"),
            (
                vec!["site", "unlink", "studio", "nobody"],
                "no such site user",
            ),
        ] {
            let (code, stdout, stderr) = cli(&app, &args).await;
            assert_eq!(code, 65, "{args:?}: {stdout}{stderr}");
            assert!(stderr.contains(says), "{args:?}: {stderr}");
        }
        let (code, _, _) = cli(
            &app,
            &["site", "invite", "studio", "--all", "--login", "bob"],
        )
        .await;
        assert_eq!(code, 2, "--all and --login exclude each other");
        assert_eq!(app.mail.messages().len(), mails_before, "nothing was sent");
        assert_eq!(user(&app, &site, "bob").await.email, "bob.new@example.com");

        let carol = app.create_user(&email_of("carol")).await;
        let sites: &dyn SiteRepo = &*app.app.stores.sql;
        sites
            .link_site_user(
                user(&app, &site, "carol").await.id,
                carol.id,
                app.clock.now(),
            )
            .await
            .unwrap();
        let unlinked = json(&app, &["site", "unlink", "studio", "carol"]).await;
        assert_eq!(unlinked["unlinked"], true);
        assert_eq!(user(&app, &site, "carol").await.account_id, None);
        let again = json(&app, &["site", "unlink", "studio", "carol"]).await;
        assert_eq!(again["unlinked"], false);
        app
    })
    .await;
}
