//! S16 — the revocation endpoint (RFC 7009 §2.1, §2.2) over HTTP, on every backend:
//! revoking a refresh token ends its grant and the grant's access tokens; unknown, garbage
//! and dead tokens get 200 and change nothing; another client's live token gets
//! `unauthorized_client` and changes nothing (the foreign attempt is audited); a storage
//! failure is a 5xx, never a 200 that revoked nothing.

use lanyard_core::ports::AuditRepo;
use lanyard_testkit::TestApp;
use sea_orm::ConnectionTrait;

use crate::helpers::{
    confidential, database_snapshot, each_backend, ephemeral_snapshot, http, json, jwt_claims,
    refresh, side_connection, sign_in_tokens,
};

async fn revoke(
    app: &TestApp,
    client: &str,
    secret: &str,
    token: &str,
    hint: Option<&str>,
) -> reqwest::Response {
    let mut form = vec![("token", token)];
    if let Some(hint) = hint {
        form.push(("token_type_hint", hint));
    }
    http()
        .post(app.url("/revoke"))
        .basic_auth(client, Some(secret))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn introspect(app: &TestApp, client: &str, secret: &str, token: &str) -> serde_json::Value {
    let response = http()
        .post(app.url("/introspect"))
        .basic_auth(client, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    let (status, body) = json(response).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn is_active(app: &TestApp, client: &str, secret: &str, token: &str) -> bool {
    let body = introspect(app, client, secret, token).await;
    match body["active"].as_bool() {
        Some(true) => true,
        // RFC 7662 §2.2: an inactive token is `active: false` and nothing else.
        Some(false) => {
            assert_eq!(body, serde_json::json!({"active": false}));
            false
        }
        None => panic!("no active member: {body}"),
    }
}

async fn userinfo_status(app: &TestApp, access_token: &str) -> u16 {
    let response = http()
        .get(app.url("/userinfo"))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    if status == 401 {
        let challenge = response.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    }
    status
}

fn text(tokens: &serde_json::Value, name: &str) -> String {
    tokens[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {tokens}"))
        .to_owned()
}

async fn audit_events(app: &TestApp, kind: &str) -> Vec<lanyard_core::model::AuditEvent> {
    app.app
        .stores
        .sql
        .list_audit(Some(kind), 100)
        .await
        .unwrap()
}

#[tokio::test]
async fn s16_revoking_a_refresh_token_kills_it_and_the_access_tokens_of_its_grant() {
    each_backend(|app| async move {
        app.create_user("a@example.com").await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let first = sign_in_tokens(&app, "rp", &secret, "a@example.com").await;
        let (at1, rt1) = (text(&first, "access_token"), text(&first, "refresh_token"));
        let (status, second) = refresh(&app, "rp", &secret, &rt1, None).await;
        assert_eq!(status, 200, "{second}");
        let (at2, rt2) = (
            text(&second, "access_token"),
            text(&second, "refresh_token"),
        );
        let grant = text(&jwt_claims(&at2), "gid");
        assert_eq!(text(&jwt_claims(&at1), "gid"), grant);
        // Another grant of the same user and client, which must survive.
        let other = sign_in_tokens(&app, "rp", &secret, "a@example.com").await;
        let (other_at, other_rt) = (text(&other, "access_token"), text(&other, "refresh_token"));

        assert!(is_active(&app, "rp", &secret, &rt2).await);
        assert!(is_active(&app, "rp", &secret, &at1).await);
        assert_eq!(userinfo_status(&app, &at2).await, 200);

        let response = revoke(&app, "rp", &secret, &rt2, Some("refresh_token")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["cache-control"], "no-store");

        let (status, body) = refresh(&app, "rp", &secret, &rt2, None).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_grant"))
        );
        assert!(!is_active(&app, "rp", &secret, &rt2).await);
        for at in [&at1, &at2] {
            assert!(!is_active(&app, "rp", &secret, at).await, "AT of the grant");
            assert_eq!(userinfo_status(&app, at).await, 401);
        }
        assert!(
            is_active(&app, "rp", &secret, &other_rt).await,
            "other grant"
        );
        assert_eq!(userinfo_status(&app, &other_at).await, 200);
        let revoked = audit_events(&app, "token.revoked").await;
        assert!(
            revoked.iter().any(|e| e.client_id.as_deref() == Some("rp")
                && e.subject.as_deref() == Some(&format!("grant:{grant}"))
                && e.outcome == "success"),
            "{revoked:?}"
        );
        // Again: still 200 (RFC 7009 §2.2, an invalid token is no error).
        let again = revoke(&app, "rp", &secret, &rt2, Some("refresh_token")).await;
        assert_eq!(again.status(), 200);

        // The hint is only a hint (§2.1): an access token under `refresh_token` is found,
        // and revoking it ends its grant too.
        let response = revoke(&app, "rp", &secret, &other_at, Some("refresh_token")).await;
        assert_eq!(response.status(), 200);
        assert!(!is_active(&app, "rp", &secret, &other_at).await);
        assert!(!is_active(&app, "rp", &secret, &other_rt).await);
        let (status, _) = refresh(&app, "rp", &secret, &other_rt, None).await;
        assert_eq!(status, 400);
        app
    })
    .await;
}

#[tokio::test]
async fn s16_unknown_and_garbage_tokens_get_200_and_change_nothing() {
    each_backend(|app| async move {
        app.create_user("a@example.com").await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let tokens = sign_in_tokens(&app, "rp", &secret, "a@example.com").await;
        let (at, rt) = (
            text(&tokens, "access_token"),
            text(&tokens, "refresh_token"),
        );

        // Tokens that look like ours but are not: unknown refresh tokens, our access token
        // with a flipped signature or a forged payload, `alg: none`, an HS256 token.
        let mut flipped = at.clone();
        let last = flipped.pop().unwrap();
        flipped.push(if last == 'A' { 'B' } else { 'A' });
        let segments: Vec<&str> = at.split('.').collect();
        let mut claims = jwt_claims(&at);
        claims["client_id"] = serde_json::json!("someone-else");
        let forged_payload = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string())
        };
        let forged = format!("{}.{forged_payload}.{}", segments[0], segments[2]);
        let unsigned = format!("eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.{}.", segments[1]);
        let hs256 = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
            &jwt_claims(&at),
            &jsonwebtoken::EncodingKey::from_secret(b"guess"),
        )
        .unwrap();
        let garbage = [
            format!("lyd_rt_{}", "A".repeat(43)),
            "lyd_rt_".to_owned(),
            format!("lyd_ac_{}", "B".repeat(43)),
            format!("{rt}x"),
            rt[..rt.len() - 1].to_owned(),
            flipped,
            forged,
            unsigned,
            hs256,
            "not a token at all".to_owned(),
            "ünïcödé ✓".to_owned(),
            "a".repeat(8 * 1024 + 1),
            " ".to_owned(),
        ];

        let db = side_connection(&app).await;
        let rows_before = database_snapshot(&db).await;
        let ephemeral_before = ephemeral_snapshot(&app).await;
        for token in &garbage {
            for hint in [
                None,
                Some("refresh_token"),
                Some("access_token"),
                Some("bogus"),
            ] {
                let response = revoke(&app, "rp", &secret, token, hint).await;
                assert_eq!(response.status(), 200, "{token:.40} with hint {hint:?}");
            }
        }
        assert_eq!(database_snapshot(&db).await, rows_before, "no row changed");
        assert_eq!(ephemeral_snapshot(&app).await, ephemeral_before);
        assert!(is_active(&app, "rp", &secret, &rt).await);
        assert!(is_active(&app, "rp", &secret, &at).await);
        assert_eq!(userinfo_status(&app, &at).await, 200);

        // Not garbage but a malformed request: no token at all is `invalid_request`.
        let response = http()
            .post(app.url("/revoke"))
            .basic_auth("rp", Some(&secret))
            .form(&[("token_type_hint", "refresh_token")])
            .send()
            .await
            .unwrap();
        let (status, body) = json(response).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_request"))
        );
        let _ = db.close().await;
        app
    })
    .await;
}

#[tokio::test]
async fn rfc7009_2_1_s16_another_client_revoking_a_live_token_is_unauthorized_changes_nothing_and_is_audited()
 {
    each_backend(|app| async move {
        app.create_user("a@example.com").await;
        let secret_a = app.create_client(confidential("rp")).await.unwrap();
        let secret_b = app.create_client(confidential("other")).await.unwrap();
        let tokens = sign_in_tokens(&app, "rp", &secret_a, "a@example.com").await;
        let (at, rt) = (
            text(&tokens, "access_token"),
            text(&tokens, "refresh_token"),
        );
        let grant = text(&jwt_claims(&at), "gid");

        let db = side_connection(&app).await;
        let rows_before = database_snapshot(&db).await;
        let attempts = [
            (rt.as_str(), Some("refresh_token")),
            (at.as_str(), Some("access_token")),
            (rt.as_str(), None),
            (at.as_str(), None),
        ];
        for (token, hint) in attempts {
            let response = revoke(&app, "other", &secret_b, token, hint).await;
            let (status, body) = json(response).await;
            assert_eq!(
                (status, body["error"].as_str()),
                (400, Some("unauthorized_client")),
                "{hint:?}: {body}"
            );
        }
        // Only the audit log grew.
        let mut rows_after = database_snapshot(&db).await;
        let audit_before = rows_before.get("audit_events").map_or(0, Vec::len);
        let audit_after = rows_after.remove("audit_events").unwrap();
        assert_eq!(audit_after.len(), audit_before + attempts.len());
        let mut rows_before = rows_before;
        rows_before.remove("audit_events");
        assert_eq!(rows_after, rows_before, "nothing but the audit log changed");

        let foreign = audit_events(&app, "token.revoke_foreign").await;
        assert_eq!(foreign.len(), attempts.len(), "{foreign:?}");
        for event in &foreign {
            assert_eq!(event.client_id.as_deref(), Some("other"), "{event:?}");
            assert_eq!(event.outcome, "failure");
            assert_eq!(
                event.subject.as_deref(),
                Some(format!("grant:{grant}").as_str())
            );
            assert!(event.reason.is_some());
            assert!(event.ip.is_some(), "{event:?}");
        }
        assert!(audit_events(&app, "token.revoked").await.is_empty());

        // A's tokens still work.
        assert!(is_active(&app, "rp", &secret_a, &at).await);
        assert!(is_active(&app, "rp", &secret_a, &rt).await);
        assert_eq!(userinfo_status(&app, &at).await, 200);
        let (status, body) = refresh(&app, "rp", &secret_a, &rt, None).await;
        assert_eq!(status, 200, "{body}");
        let _ = db.close().await;
        app
    })
    .await;
}

/// A real fault in the database, injected through a second connection: a trigger that
/// aborts every update of `refresh_families` (the write revocation makes), then the table of
/// refresh tokens renamed away (the read it starts with).
#[tokio::test]
async fn s16_a_storage_failure_during_revocation_is_a_5xx_never_a_false_200() {
    each_backend(|app| async move {
        app.create_user("a@example.com").await;
        let secret = app.create_client(confidential("rp")).await.unwrap();
        let tokens = sign_in_tokens(&app, "rp", &secret, "a@example.com").await;
        let (at, rt) = (
            text(&tokens, "access_token"),
            text(&tokens, "refresh_token"),
        );
        let db = side_connection(&app).await;
        let sqlite = crate::helpers::is_sqlite(&db);

        let (install, remove) = if sqlite {
            (
                vec![
                    "CREATE TRIGGER s16_fault BEFORE UPDATE ON refresh_families \
                     BEGIN SELECT RAISE(ABORT, 's16 injected fault'); END",
                ],
                vec!["DROP TRIGGER s16_fault"],
            )
        } else {
            (
                vec![
                    "CREATE FUNCTION s16_fault() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN RAISE EXCEPTION 's16 injected fault'; END $$",
                    "CREATE TRIGGER s16_fault BEFORE UPDATE ON refresh_families \
                     FOR EACH ROW EXECUTE FUNCTION s16_fault()",
                ],
                vec![
                    "DROP TRIGGER s16_fault ON refresh_families",
                    "DROP FUNCTION s16_fault()",
                ],
            )
        };
        for sql in &install {
            db.execute_unprepared(sql).await.unwrap();
        }
        for (token, hint) in [(&rt, "refresh_token"), (&at, "access_token")] {
            let response = revoke(&app, "rp", &secret, token, Some(hint)).await;
            assert_server_error(response, hint).await;
        }
        for sql in &remove {
            db.execute_unprepared(sql).await.unwrap();
        }
        // The failed revocation of the refresh token revoked nothing, as the 5xx said.
        assert!(is_active(&app, "rp", &secret, &rt).await);

        db.execute_unprepared("ALTER TABLE refresh_tokens RENAME TO s16_moved_away")
            .await
            .unwrap();
        let response = revoke(&app, "rp", &secret, &rt, Some("refresh_token")).await;
        assert_server_error(response, "refresh token, table missing").await;
        db.execute_unprepared("ALTER TABLE s16_moved_away RENAME TO refresh_tokens")
            .await
            .unwrap();

        // Healed: the retry the 5xx asked for works.
        let response = revoke(&app, "rp", &secret, &rt, Some("refresh_token")).await;
        assert_eq!(response.status(), 200);
        assert!(!is_active(&app, "rp", &secret, &rt).await);
        assert!(!is_active(&app, "rp", &secret, &at).await);
        let _ = db.close().await;
        app
    })
    .await;
}

/// A 5xx in the token endpoints' JSON form, telling nothing about the cause.
async fn assert_server_error(response: reqwest::Response, what: &str) {
    let status = response.status();
    assert!(status.is_server_error(), "{what}: {status}, want a 5xx");
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body = response.text().await.unwrap();
    let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        matches!(
            parsed["error"].as_str(),
            Some("server_error" | "temporarily_unavailable")
        ),
        "{what}: {body}"
    );
    for internal in [
        "s16", "fault", "refresh_", "SQL", "sql", "relation", "table",
    ] {
        assert!(
            !body.contains(internal),
            "{what}: {body} tells {internal:?}"
        );
    }
}

/// RFC 7009 §2.1/§2.2: `unauthorized_client` only for another client's *live* token. Once
/// the token is dead (its grant revoked) it is an invalid token like an unknown one: 200,
/// so a client learns nothing about tokens that no longer work.
#[tokio::test]
async fn rfc7009_2_2_another_clients_dead_or_unknown_token_gets_200() {
    each_backend(|app| async move {
        app.create_user("a@example.com").await;
        let secret_a = app.create_client(confidential("rp")).await.unwrap();
        let secret_b = app.create_client(confidential("other")).await.unwrap();
        let tokens = sign_in_tokens(&app, "rp", &secret_a, "a@example.com").await;
        let (at, rt) = (
            text(&tokens, "access_token"),
            text(&tokens, "refresh_token"),
        );
        assert_eq!(
            revoke(&app, "other", &secret_b, &rt, None).await.status(),
            400
        );
        assert_eq!(revoke(&app, "rp", &secret_a, &rt, None).await.status(), 200);
        for token in [rt.as_str(), at.as_str(), "lyd_rt_unknown", "not-a-token"] {
            let response = revoke(&app, "other", &secret_b, token, None).await;
            assert_eq!(response.status(), 200, "{token}");
        }
        app
    })
    .await;
}
