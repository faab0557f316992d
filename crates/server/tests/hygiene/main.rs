//! Secret hygiene, on the real `lanyard` binary run as a subprocess at TRACE
//! (`LANYARD_LOG=trace`), on every backend (security tests S24, S55 and S56,
//! shared/design/security-tests.md):
//!
//! * S24 — personal access tokens (one from the account API, one from `lanyard pat create`,
//!   a mistyped one and an unknown one) and the JWTs exchanged for them appear nowhere: not
//!   in the logs, the error responses, the database (which holds the keyed hash and the
//!   shortened display form) or Redis.
//! * S55 — no secret the run minted appears, in any usual spelling, in the processes' output,
//!   the error responses, the audit table, or (PostgreSQL + Redis) the Redis key names and
//!   every argument of every command `MONITOR` saw; keys of codes, sessions and flows are
//!   keyed hashes of the secret.
//! * S56 — a dump of every column of every table: argon2id PHC password hashes at the
//!   configured (production default) parameters, keyed hashes for client secrets and refresh
//!   tokens, signing keys as ciphertext only the KEK opens, no JWT and no minted secret
//!   anywhere.
//!
//! A subprocess rather than an in-process subscriber: it is the binary operators run, with
//! its own tracing set-up, every crate's events at TRACE, `eprintln!`s and panics included,
//! and no noise from the test's own HTTP client in the captured output. It also runs with the
//! production password parameters, where the in-process `TestApp` uses cheap ones.
//!
//! Both tests share one scenario run per backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod dump;
mod monitor;
mod needles;
mod process;
mod scenario;

use std::collections::BTreeSet;
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lanyard_core::{OsRng, Secret};
use lanyard_crypto::password::{PasswordHasher, PasswordPolicy};
use lanyard_crypto::{Kek, TokenHasher};
use lanyard_server::config::Config;
use lanyard_testkit::Backend;

use crate::dump::Value;
use crate::needles::{Hit, Minted, Needle, find_jwt, search, search_bytes};
use crate::scenario::Run;

fn runs() -> &'static [Run] {
    static RUNS: OnceLock<Vec<Run>> = OnceLock::new();
    RUNS.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let mut runs = Vec::new();
            for backend in Backend::available() {
                runs.push(scenario::run(backend).await);
            }
            runs
        })
    })
}

/// The signing keys' private halves, opened with the run's KEK: secrets too.
fn private_keys(run: &Run) -> Vec<(String, Vec<u8>)> {
    let kek = Kek::from_base64(&run.kek).unwrap();
    let mut keys = Vec::new();
    let rows = signing_key_rows(run);
    assert!(!rows.is_empty(), "{:?}: no signing keys", run.backend);
    for (kid, sealed) in rows {
        let pkcs8 = kek.decrypt(&sealed, kid.as_bytes()).unwrap_or_else(|e| {
            panic!(
                "{:?}: key {kid} does not open with the KEK: {e}",
                run.backend
            )
        });
        keys.push((kid, pkcs8.to_vec()));
    }
    keys
}

/// (kid, private_key_encrypted) of every signing key row.
fn signing_key_rows(run: &Run) -> Vec<(String, Vec<u8>)> {
    let mut rows = Vec::new();
    let cells: Vec<_> = run
        .dump
        .iter()
        .filter(|c| c.table == "signing_keys")
        .collect();
    for cell in cells.iter().filter(|c| c.column == "kid") {
        let sealed = cells
            .iter()
            .find(|c| c.row == cell.row && c.column == "private_key_encrypted")
            .unwrap();
        let Value::Bytes(bytes) = &sealed.value else {
            panic!("private_key_encrypted is not binary: {:?}", sealed.value);
        };
        rows.push((cell.text().unwrap().to_owned(), bytes.clone()));
    }
    rows
}

/// Every secret of the run, with the signing keys' private halves.
fn all_secrets(run: &Run) -> Vec<Minted> {
    let mut all = run.secrets.clone();
    for (kid, pkcs8) in private_keys(run) {
        all.push(Minted::new(
            format!("private key {kid} (PKCS#8)"),
            STANDARD.encode(pkcs8),
        ));
    }
    all
}

fn needles(secrets: &[Minted]) -> Vec<Needle> {
    secrets.iter().flat_map(Minted::needles).collect()
}

fn report(backend: Backend, hits: &[Hit]) -> String {
    let lines: Vec<String> = hits.iter().map(ToString::to_string).collect();
    format!("{backend:?}: {} hits:\n{}", hits.len(), lines.join("\n"))
}

#[test]
fn s55_no_minted_secret_in_logs_errors_audit_or_redis() {
    for run in runs() {
        let secrets = all_secrets(run);
        assert!(secrets.len() >= 25, "the scenario minted {}", secrets.len());
        let needles = needles(&secrets);
        let mut hits = Vec::new();
        for (place, text, what) in &run.controls {
            assert!(
                search(&needles, place, text)
                    .iter()
                    .any(|h| &h.what == what),
                "{:?}: the search misses {what} in {place}",
                run.backend
            );
        }

        // The processes' output at TRACE: the level took effect, the injected storage fault
        // was logged with its cause, and no secret was.
        let serve = run
            .logs
            .iter()
            .find(|(name, _)| name == "lanyard serve (stderr)")
            .unwrap();
        assert!(
            serve.1.contains(" TRACE ") && serve.1.contains("lanyard is serving"),
            "{:?}: the server did not log at TRACE:\n{}",
            run.backend,
            serve.1
        );
        assert!(
            serve.1.contains("request failed") && serve.1.contains("insert refresh"),
            "{:?}: the storage fault was not logged:\n{}",
            run.backend,
            serve.1
        );
        for (name, text) in &run.logs {
            hits.extend(search(&needles, name, text));
            assert!(!text.contains("panicked"), "{name} panicked:\n{text}");
        }

        // Error responses: no secret, no internals.
        assert!(
            run.errors.len() >= 15,
            "{} error responses",
            run.errors.len()
        );
        for error in &run.errors {
            let place = format!("error response to {} ({})", error.request, error.status);
            let checked: Vec<Needle> = needles
                .iter()
                .filter(|n| !error.carries.contains(&n.what.as_str()))
                .cloned()
                .collect();
            hits.extend(search(&checked, &place, &error.text));
            for internal in [
                "panicked",
                "backtrace",
                "SELECT ",
                "INSERT ",
                "UPDATE ",
                "sqlx",
                "sea_orm",
                "DbErr",
                "redis",
                ".rs:",
            ] {
                assert!(
                    !error.text.contains(internal),
                    "{place} tells {internal:?}: {}",
                    error.text
                );
            }
        }

        // The audit table.
        let audit: Vec<_> = run
            .dump
            .iter()
            .filter(|c| c.table == "audit_events")
            .collect();
        let kinds: BTreeSet<&str> = audit
            .iter()
            .filter(|c| c.column == "kind")
            .filter_map(|c| c.text())
            .collect();
        for expected in [
            "account.created",
            "client.created",
            "login.failed",
            "consent.granted",
            "authz.code_issued",
            "token.issued",
            "token.code_rejected",
            "token.refresh_reuse_detected",
            "token.revoked",
            "token.revoke_foreign",
            "client.auth_failed",
        ] {
            assert!(kinds.contains(expected), "no {expected} event in {kinds:?}");
        }
        for cell in &audit {
            if let Some(text) = cell.text() {
                let place = format!("audit_events.{}", cell.column);
                hits.extend(search(&needles, &place, text));
            }
        }

        if run.backend == Backend::Production {
            let monitor = run.monitor.as_deref().unwrap();
            let ours: Vec<&str> = monitor
                .lines()
                .filter(|l| l.contains(&run.redis_prefix))
                .collect();
            assert!(
                ours.len() > 10,
                "MONITOR saw {} of our commands",
                ours.len()
            );
            hits.extend(search(&needles, "Redis MONITOR", monitor));
            let keys = monitored_keys(&ours, &run.redis_prefix);
            for key in keys.iter().chain(&run.redis_keys) {
                hits.extend(search(&needles, "Redis key name", key));
            }
            check_key_shapes(run, &keys);
        }
        assert!(hits.is_empty(), "{}", report(run.backend, &hits));
    }
}

#[test]
fn s24_pats_and_their_exchanged_jwts_never_in_logs_errors_db_or_redis() {
    for run in runs() {
        let backend = run.backend;
        let pat_secrets: Vec<Minted> = run
            .secrets
            .iter()
            .filter(|s| s.what.contains("PAT"))
            .cloned()
            .collect();
        let kinds: Vec<&str> = pat_secrets.iter().map(|s| s.what.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "PAT (operator)",
                "PAT (account API)",
                "access token (PAT exchange 1)",
                "access token (PAT exchange 2)",
                "mistyped PAT",
                "unknown PAT",
            ],
            "{backend:?}: the scenario no longer covers PATs as it did"
        );
        assert_eq!((run.pats.len(), run.pat_jwts.len()), (2, 2));
        let needles = needles(&pat_secrets);
        // The search finds them where they are by design.
        for what in [
            "PAT (operator)",
            "PAT (account API)",
            "access token (PAT exchange 1)",
        ] {
            assert!(
                run.controls.iter().any(|(place, text, w)| w == what
                    && search(&needles, place, text).iter().any(|h| h.what == what)),
                "{backend:?}: the search misses {what}"
            );
        }

        let mut hits = Vec::new();
        for (name, text) in &run.logs {
            hits.extend(search(&needles, name, text));
        }
        let refusals = [
            "exchange, revoked PAT",
            "exchange, mistyped PAT",
            "exchange, unknown PAT",
            "token, PAT in query",
            "userinfo, PAT as bearer",
        ];
        for label in refusals {
            let error = run
                .errors
                .iter()
                .find(|e| e.request == label)
                .unwrap_or_else(|| panic!("{backend:?}: no error response to {label}"));
            let place = format!("error response to {label} ({})", error.status);
            hits.extend(search(&needles, &place, &error.text));
        }
        for cell in &run.dump {
            let place = format!("{}.{} row {}", cell.table, cell.column, cell.row);
            match &cell.value {
                Value::Text(t) => hits.extend(search(&needles, &place, t)),
                Value::Bytes(b) => hits.extend(search_bytes(&pat_secrets, &needles, &place, b)),
                Value::Null => {}
            }
        }
        if backend == Backend::Production {
            let monitor = run.monitor.as_deref().unwrap();
            hits.extend(search(&needles, "Redis MONITOR", monitor));
            for key in &run.redis_keys {
                hits.extend(search(&needles, "Redis key name", key));
            }
        }
        assert!(hits.is_empty(), "{}", report(backend, &hits));

        // At rest: the keyed hash and the display form, nothing else; the audit trail knows
        // the PATs by id.
        let hasher = TokenHasher::from_base64(&run.token_hash_key).unwrap();
        let column = |name: &str| -> Vec<&str> {
            run.dump
                .iter()
                .filter(|c| c.table == "pats" && c.column == name)
                .filter_map(|c| c.text())
                .collect()
        };
        let hashes = column("token_hash");
        let displays = column("display");
        assert_eq!(hashes.len(), 2, "{backend:?}: {hashes:?}");
        for pat in &run.pats {
            assert!(hashes.contains(&hasher.hash(pat).as_str()), "{backend:?}");
            let shown = lanyard_core::pat_token::display_of(pat);
            assert!(
                displays.contains(&shown.as_str()),
                "{backend:?}: {displays:?}"
            );
        }
        let audit_kinds: BTreeSet<&str> = run
            .dump
            .iter()
            .filter(|c| c.table == "audit_events" && c.column == "kind")
            .filter_map(|c| c.text())
            .collect();
        for kind in ["pat.created", "pat.revoked"] {
            assert!(audit_kinds.contains(kind), "{backend:?}: no {kind}");
        }
    }
}

/// The keys under `prefix` in MONITOR lines (`... "SET" "<prefix>code:…" ...`).
fn monitored_keys(lines: &[&str], prefix: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    for line in lines {
        for (i, arg) in line.split('"').enumerate() {
            // Odd pieces are inside quotes.
            if i % 2 == 1
                && let Some(key) = arg.strip_prefix(prefix)
            {
                keys.insert(key.to_owned());
            }
        }
    }
    keys
}

/// `<node> [<n> <pat|account>:<uuid>]`: a channel, or a message naming only ids.
fn invalidation_is_ids_only(rest: &str) -> bool {
    let mut parts = rest.split(' ');
    let node_ok = parts
        .next()
        .is_some_and(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()));
    let message: Vec<&str> = parts.collect();
    node_ok
        && match message.as_slice() {
            [] => true,
            [n, what] => {
                n.parse::<u64>().is_ok()
                    && what.split_once(':').is_some_and(|(k, id)| match k {
                        "pat" | "account" => uuid::Uuid::parse_str(id).is_ok(),
                        "client" => lanyard_core::ClientId::parse(id).is_some(),
                        _ => false,
                    })
            }
            _ => false,
        }
}

fn is_hash(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Every key the server used ends in a keyed hash (`code:<hmac>`, `jti:<client>:<hmac>`,
/// and whatever kinds come later), except the kinds keyed by an identifier that is no
/// secret: `revoked_jti:<jti>` (an access token's id, which the token carries in the clear),
/// the per-account counters `mfa_sends:<account id>` and `sessions_ended:<account id>`, and
/// the per-address counters `mfa_sends_ip:<ip>`, `signin_fail_ip:<ip>`, `pat_fail_ip:<ip>`,
/// `device_tries_ip:<ip>` and `claim_fail_ip:<ip>`, the per-client-and-address `pat_fail_client:<client id>:<ip>`,
/// and the per-minute `device_requests_client:<window>:<client id>` and
/// `device_requests_ip:<window>:<ip>`. The hashes
/// of this run's codes, device codes, sessions and flows are among them.
fn check_key_shapes(run: &Run, keys: &BTreeSet<String>) {
    for key in keys {
        let (kind, rest) = key.split_once(':').unwrap_or((key, ""));
        let last = rest.rsplit(':').next().unwrap_or("");
        let identifier = match kind {
            "revoked_jti" => rest.len() == 22,
            "mfa_sends" | "mfa_sends_since" | "sessions_ended" => {
                uuid::Uuid::parse_str(rest).is_ok()
            }
            "mfa_sends_ip" | "signin_fail_ip" | "pat_fail_ip" | "device_tries_ip"
            | "claim_fail_ip" | "account_mail_ip" => rest.parse::<std::net::IpAddr>().is_ok(),
            // Client ids never contain ':', so the address is everything after the first.
            "pat_fail_client" => rest.split_once(':').is_some_and(|(client, ip)| {
                lanyard_core::ClientId::parse(client).is_some()
                    && ip.parse::<std::net::IpAddr>().is_ok()
            }),
            "device_requests_client" => rest.split_once(':').is_some_and(|(window, client)| {
                window.parse::<i64>().is_ok() && lanyard_core::ClientId::parse(client).is_some()
            }),
            "device_requests_ip" => rest.split_once(':').is_some_and(|(window, ip)| {
                window.parse::<i64>().is_ok() && ip.parse::<std::net::IpAddr>().is_ok()
            }),
            // Pub/sub channels and payloads, not keys: cache invalidations name ids only.
            "invalidate" => rest.is_empty(),
            "invalidate_ack" => invalidation_is_ids_only(rest),
            _ => false,
        };
        let ok = is_hash(last) || identifier;
        assert!(
            ok,
            "{:?}: a Redis key that is not a hash: {key:?}",
            run.backend
        );
    }
    let hasher = TokenHasher::from_base64(&run.token_hash_key).unwrap();
    let expect = |kind: &str, secrets: &[String]| {
        for secret in secrets {
            let key = format!("{kind}:{}", hasher.hash(secret));
            assert!(keys.contains(&key), "{kind} key {key} not seen: {keys:?}");
        }
    };
    expect("code", &run.codes);
    expect("device", &run.device_codes);
    expect("device_poll", &run.device_codes);
    expect("session", &run.sessions);
    expect("flow", &run.flows);
}

#[test]
fn s56_the_database_holds_hashes_and_ciphertext_never_a_secret_or_a_jwt() {
    for run in runs() {
        let backend = run.backend;
        let cells = &run.dump;
        let tables: BTreeSet<&str> = cells.iter().map(|c| c.table.as_str()).collect();
        for table in [
            "accounts",
            "clients",
            "signing_keys",
            "refresh_families",
            "refresh_tokens",
            "audit_events",
        ] {
            assert!(
                tables.contains(table),
                "{backend:?}: no {table} in {tables:?}"
            );
        }
        let column = |table: &str, column: &str| -> Vec<&Value> {
            cells
                .iter()
                .filter(|c| c.table == table && c.column == column)
                .map(|c| &c.value)
                .collect()
        };

        // Passwords: argon2id PHC strings at the configured parameters — the production
        // defaults, since the scenario sets none — which are the documented minimum.
        let configured = Config::default().passwords;
        let policy = PasswordPolicy::default();
        assert_eq!(
            (configured.m_cost_kib, configured.t_cost, configured.p_cost),
            (policy.m_cost_kib, policy.t_cost, policy.p_cost),
            "the server's default is the crypto crate's documented policy"
        );
        // OWASP Password Storage Cheat Sheet, argon2id: m = 19 MiB, t = 2, p = 1.
        assert!(policy.m_cost_kib >= 19_456 && policy.t_cost >= 2 && policy.p_cost >= 1);
        let hashes = column("accounts", "password_hash");
        assert_eq!(
            hashes.len(),
            2,
            "{backend:?}: the scenario's user and the newcomer who signed up"
        );
        for value in hashes {
            let Value::Text(phc) = value else {
                panic!("{backend:?}: password hash {value:?}");
            };
            let parts: Vec<&str> = phc.split('$').collect();
            assert_eq!(parts.len(), 6, "{phc}");
            assert_eq!(
                (parts[0], parts[1], parts[2]),
                ("", "argon2id", "v=19"),
                "{phc}"
            );
            assert_eq!(
                parts[3],
                format!(
                    "m={},t={},p={}",
                    configured.m_cost_kib, configured.t_cost, configured.p_cost
                ),
                "{phc}"
            );
            let b64 = base64::engine::general_purpose::STANDARD_NO_PAD;
            assert!(b64.decode(parts[4]).unwrap().len() >= 16, "salt of {phc}");
            assert_eq!(b64.decode(parts[5]).unwrap().len(), 32, "hash of {phc}");
            // And it is the hash of a password the scenario chose: its user's, or the one
            // the newcomer's reset set (A2).
            let hasher = PasswordHasher::new(policy, std::sync::Arc::new(OsRng)).unwrap();
            let runtime = tokio::runtime::Runtime::new().unwrap();
            let matches = run
                .secrets
                .iter()
                .filter(|s| s.what == "password" || s.what == "password (reset)")
                .any(|password| {
                    let check = runtime
                        .block_on(hasher.verify(Secret::new(password.value.clone()), Some(phc)))
                        .unwrap();
                    check.ok && !check.needs_rehash
                });
            assert!(matches, "{backend:?}: {phc} is no chosen password's hash");
        }

        // Client secrets and refresh tokens: keyed hashes (HMAC-SHA-256 under the token hash
        // key) — a dump alone can not test guesses.
        let hasher = TokenHasher::from_base64(&run.token_hash_key).unwrap();
        let secret_hashes = column("clients", "secret_hash");
        for (client, secret) in &run.client_secrets {
            let want = Value::Text(hasher.hash(secret));
            assert!(
                secret_hashes.contains(&&want),
                "{backend:?}: {client}'s secret hash"
            );
        }
        let token_hashes = column("refresh_tokens", "token_hash");
        for (i, rt) in run.refresh_tokens.iter().enumerate() {
            let want = Value::Text(hasher.hash(rt));
            assert!(
                token_hashes.contains(&&want),
                "{backend:?}: refresh token {i}"
            );
        }
        // The reset link (A2): its keyed hash, never the token.
        let link_hashes = column("account_links", "token_hash");
        let reset = run
            .secrets
            .iter()
            .find(|s| s.what == "password reset token")
            .unwrap();
        let want = Value::Text(hasher.hash(&format!("account_link:{}", reset.value)));
        assert!(
            link_hashes.contains(&&want),
            "{backend:?}: the reset link's hash"
        );
        for value in token_hashes.iter().chain(&secret_hashes) {
            match value {
                Value::Text(h) => assert!(is_hash(h), "{backend:?}: {h}"),
                Value::Null => {}
                Value::Bytes(b) => panic!("{backend:?}: binary hash {b:?}"),
            }
        }

        // The scenario runs with the refresh grace window on and leaves a rotated grant live,
        // so a successor refresh token is at rest — sealed (binary), and by the search below
        // in no readable form.
        assert!(
            cells
                .iter()
                .any(|c| c.table == "refresh_families" && matches!(c.value, Value::Bytes(_))),
            "{backend:?}: no sealed refresh successor at rest; the scenario no longer covers it"
        );

        // Signing keys: AES-256-GCM ciphertext that opens with the KEK and nothing else.
        let private = private_keys(run);
        let other_kek = Kek::generate(&OsRng);
        for (kid, sealed) in signing_key_rows(run) {
            assert!(
                other_kek.decrypt(&sealed, kid.as_bytes()).is_err(),
                "{backend:?}: key {kid} opens without the KEK"
            );
            let pkcs8 = &private.iter().find(|(k, _)| *k == kid).unwrap().1;
            assert_eq!(pkcs8[0], 0x30, "{backend:?}: the plaintext is PKCS#8 DER");
            assert!(!sealed.windows(pkcs8.len()).any(|w| w == pkcs8.as_slice()));
        }
        // No private key material in any other form either.
        for cell in cells {
            let text = match &cell.value {
                Value::Text(t) => t.clone(),
                Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
                Value::Null => continue,
            };
            let place = format!("{}.{}", cell.table, cell.column);
            assert!(
                !text.contains("PRIVATE KEY") && !text.contains("-----BEGIN"),
                "{backend:?}: PEM in {place}"
            );
            if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) {
                let jwks: Vec<&serde_json::Value> = match json["keys"].as_array() {
                    Some(keys) => keys.iter().collect(),
                    None => vec![&json],
                };
                for jwk in jwks {
                    if jwk.get("kty").is_some() {
                        for member in ["d", "p", "q", "dp", "dq", "qi", "k"] {
                            assert!(
                                jwk.get(member).is_none(),
                                "{backend:?}: private JWK member {member} in {place}"
                            );
                        }
                    }
                }
            }
            // No JWT: no access, ID or assertion token is ever stored.
            assert!(
                find_jwt(&text).is_none(),
                "{backend:?}: a JWT in {place}: {:?}",
                find_jwt(&text)
            );
        }

        // No minted secret in any cell, in any spelling, as text or as raw bytes.
        let secrets = all_secrets(run);
        let needles = needles(&secrets);
        let mut hits = Vec::new();
        for cell in cells {
            let place = format!("{}.{} row {}", cell.table, cell.column, cell.row);
            match &cell.value {
                Value::Text(t) => hits.extend(search(&needles, &place, t)),
                Value::Bytes(b) => hits.extend(search_bytes(&secrets, &needles, &place, b)),
                Value::Null => {}
            }
        }
        assert!(hits.is_empty(), "{}", report(backend, &hits));
    }
}
