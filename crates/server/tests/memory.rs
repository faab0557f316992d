//! Issue 17's memory bound, read from /proc: with the production password parameters
//! (argon2id m = 19 MiB, two hashing threads), 200 password sign-ins, 8 at a time, raise the
//! process's resident memory by at most the hashing threads' two blocks plus a margin for
//! everything else, and once the hashing threads have been idle the memory is given back.
//!
//! Before the hashing threads owned their memory, each argon2 block came from the allocator:
//! after the first block was freed glibc served the next ones from per-thread arenas that it
//! never returned, so a node held hundreds of MiB after a burst of sign-ins.
//!
//! Alone in its test binary, so no other test's memory is counted. The embedded backend only:
//! the bound is the process's, whatever the store.
#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use lanyard_crypto::PasswordPolicy;
use lanyard_testkit::fixtures::{authorize_url, confidential};
use lanyard_testkit::{Backend, Browser, PASSWORD, TestApp};

const SIGN_INS: usize = 200;
const AT_ONCE: usize = 8;
const MIB: u64 = 1024 * 1024;
/// Room for what is not argon2: connections, the browsers' clients, SQLite's page cache.
const MARGIN: u64 = 24 * MIB;

fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap();
    kib * 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_sign_ins_stay_under_the_hashing_bound_and_give_the_memory_back() {
    let policy = PasswordPolicy::default();
    let app = TestApp::spawn_with(Backend::Embedded, |config| {
        config.passwords = policy;
        // Every sign-in here emails a code, 25 to each account, all from one address.
        config.mfa.sends_per_hour = 1_000_000;
        config.mfa.sends_per_hour_per_ip = 1_000_000;
    })
    .await;
    let before = status_bytes("VmRSS:");
    // One account per worker: parallel attempts on one account would lock it (S53).
    let emails: Vec<String> = (0..AT_ONCE)
        .map(|w| format!("memory-{w}@example.com"))
        .collect();
    for email in &emails {
        app.create_user(email).await;
    }
    app.create_client(confidential("memory-app")).await;
    let authorize = authorize_url(&app, "memory-app", "");
    let base = Arc::new(app.base_url.clone());
    let authorize = Arc::new(authorize);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut workers = Vec::new();
    for email in emails {
        let (base, authorize, next) = (base.clone(), authorize.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut signed_in = 0;
            while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < SIGN_INS {
                let browser = Browser::new();
                let (_, _, page) = browser.get(&authorize, &base).await;
                let (_, _, page) = browser.submit(&page, &base, &[("email", &email)]).await;
                let (status, at, page) = browser
                    .submit(&page, &base, &[("password", PASSWORD)])
                    .await;
                assert_eq!(status, 200, "{at}: {page}");
                assert!(at.contains("/login/code"), "the password step failed: {at}");
                signed_in += 1;
            }
            signed_in
        }));
    }
    let mut total = 0;
    for worker in workers {
        total += worker.await.unwrap();
    }
    assert_eq!(total, SIGN_INS);

    let blocks =
        u64::try_from(policy.max_concurrent_hashes).unwrap() * u64::from(policy.m_cost_kib) * 1024;
    let peak = status_bytes("VmHWM:");
    eprintln!(
        "resident before {} MiB, peak {} MiB, now {} MiB",
        before / MIB,
        peak / MIB,
        status_bytes("VmRSS:") / MIB
    );
    assert!(
        peak <= before + blocks + MARGIN,
        "peak {} MiB, from {} MiB: more than the {} MiB of hashing blocks + {} MiB",
        peak / MIB,
        before / MIB,
        blocks / MIB,
        MARGIN / MIB
    );
    // The hashing threads give their blocks back after two idle seconds.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = status_bytes("VmRSS:");
        if now <= before + MARGIN {
            eprintln!("idle: {} MiB", now / MIB);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {} MiB resident after the sign-ins ended, from {} MiB",
            now / MIB,
            before / MIB
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.cleanup().await;
}
