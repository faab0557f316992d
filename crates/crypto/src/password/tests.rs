use argon2::Argon2;
use argon2::password_hash::PasswordHasher as _;
use lanyard_core::OsRng;

use super::*;

/// Cheap parameters: the tests check behaviour, not cost.
fn cheap() -> PasswordPolicy {
    PasswordPolicy {
        m_cost_kib: 256,
        t_cost: 1,
        p_cost: 1,
        ..PasswordPolicy::default()
    }
}

fn hasher(policy: PasswordPolicy, max_concurrent_hashes: usize) -> PasswordHasher {
    let policy = PasswordPolicy {
        max_concurrent_hashes,
        ..policy
    };
    PasswordHasher::new(policy, Arc::new(OsRng)).unwrap()
}

#[test]
fn default_policy_is_owasp_argon2id() {
    let p = PasswordPolicy::default();
    assert_eq!((p.m_cost_kib, p.t_cost, p.p_cost), (19_456, 2, 1));
    assert_eq!(p.max_len_bytes, 1024);
}

#[test]
fn the_policy_reads_as_the_passwords_section() {
    let p: PasswordPolicy =
        serde_json::from_str(r#"{"argon2_t_cost": 3, "max_concurrent_hashes": 4}"#).unwrap();
    assert_eq!(
        (p.m_cost_kib, p.t_cost, p.max_concurrent_hashes),
        (19_456, 3, 4)
    );
    // The length bounds are not keys: they keep their defaults and can not be set.
    assert_eq!((p.max_len_bytes, p.min_len), (1024, 8));
    assert!(serde_json::from_str::<PasswordPolicy>(r#"{"min_len": 1}"#).is_err());
    assert!(serde_json::from_str::<PasswordPolicy>(r#"{"m_cost_kib": 1}"#).is_err());
}

#[tokio::test]
async fn hash_then_verify() {
    let h = hasher(cheap(), 2);
    let phc = h.hash(Secret::new("correct horse battery")).await.unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=256,t=1,p=1$"), "{phc}");
    let good = h
        .verify(Secret::new("correct horse battery"), Some(&phc))
        .await
        .unwrap();
    assert_eq!(
        good,
        PasswordCheck {
            ok: true,
            needs_rehash: false
        }
    );
    let bad = h
        .verify(Secret::new("correct horse battery!"), Some(&phc))
        .await
        .unwrap();
    assert!(!bad.ok);
}

#[tokio::test]
async fn salts_differ() {
    let h = hasher(cheap(), 2);
    let a = h.hash(Secret::new("same password")).await.unwrap();
    let b = h.hash(Secret::new("same password")).await.unwrap();
    assert_ne!(a, b);
}

#[tokio::test]
async fn unknown_user_verifies_against_the_dummy_and_fails() {
    let h = hasher(cheap(), 2);
    let check = h
        .verify(Secret::new("anything at all"), None)
        .await
        .unwrap();
    assert_eq!(
        check,
        PasswordCheck {
            ok: false,
            needs_rehash: false
        }
    );
    // The dummy really ran argon2 on the pool (a keeper may have computed it too).
    assert!(h.peak_in_flight() >= 1);
}

#[tokio::test]
async fn too_long_is_refused_before_hashing() {
    let h = hasher(cheap(), 2);
    let huge = Secret::new("a".repeat(1024 * 1024));
    assert!(matches!(
        h.hash(huge.clone()).await,
        Err(CryptoError::PasswordTooLong)
    ));
    assert!(matches!(
        h.verify(huge.clone(), None).await,
        Err(CryptoError::PasswordTooLong)
    ));
    let phc = "$argon2id$v=19$m=256,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXphYmNkZWY";
    assert!(matches!(
        h.verify(huge, Some(phc)).await,
        Err(CryptoError::PasswordTooLong)
    ));
    // Nothing reached argon2.
    assert_eq!(h.peak_in_flight(), 0);
    // The limit is in bytes: 1024 bytes pass, 1025 do not.
    assert!(h.hash(Secret::new("é".repeat(512))).await.is_ok());
    assert!(matches!(
        h.hash(Secret::new(format!("{}x", "é".repeat(512)))).await,
        Err(CryptoError::PasswordTooLong)
    ));
}

#[tokio::test]
async fn too_short_is_refused_for_new_passwords_only() {
    let h = hasher(cheap(), 2);
    assert!(matches!(
        h.hash(Secret::new("short")).await,
        Err(CryptoError::PasswordTooShort { min: 8 })
    ));
    // min_len counts characters, not bytes: seven 2-byte characters are still too short.
    assert!(h.hash(Secret::new("ééééééé")).await.is_err());
    assert!(h.hash(Secret::new("éééééééé")).await.is_ok());
    let old = hasher(
        PasswordPolicy {
            min_len: 1,
            ..cheap()
        },
        2,
    )
    .hash(Secret::new("short"))
    .await
    .unwrap();
    assert!(h.verify(Secret::new("short"), Some(&old)).await.unwrap().ok);
}

#[tokio::test]
async fn rehash_needed_when_parameters_differ() {
    let weak = hasher(cheap(), 2);
    let strong = hasher(
        PasswordPolicy {
            m_cost_kib: 512,
            t_cost: 2,
            ..cheap()
        },
        2,
    );
    let phc = weak.hash(Secret::new("password one")).await.unwrap();
    let check = strong
        .verify(Secret::new("password one"), Some(&phc))
        .await
        .unwrap();
    assert_eq!(
        check,
        PasswordCheck {
            ok: true,
            needs_rehash: true
        }
    );
    let fresh = strong.hash(Secret::new("password one")).await.unwrap();
    let check = strong
        .verify(Secret::new("password one"), Some(&fresh))
        .await
        .unwrap();
    assert_eq!(
        check,
        PasswordCheck {
            ok: true,
            needs_rehash: false
        }
    );
}

#[tokio::test]
async fn rehash_needed_for_other_argon2_variants() {
    let params = Params::new(256, 1, 1, None).unwrap();
    let salt = SaltString::encode_b64(&[5u8; 16]).unwrap();
    let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, params)
        .hash_password(b"legacy password", &salt)
        .unwrap()
        .to_string();
    let h = hasher(cheap(), 2);
    let check = h
        .verify(Secret::new("legacy password"), Some(&argon2i))
        .await
        .unwrap();
    assert_eq!(
        check,
        PasswordCheck {
            ok: true,
            needs_rehash: true
        }
    );
}

#[tokio::test]
async fn garbage_and_oversized_stored_hashes_are_errors_not_matches() {
    let h = hasher(cheap(), 2);
    for bad in [
        "",
        "plaintext",
        "$2b$12$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234",
        "$argon2id$v=19$m=999999999,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXphYmNkZWY",
    ] {
        assert!(
            matches!(
                h.verify(Secret::new("password"), Some(bad)).await,
                Err(CryptoError::InvalidPasswordHash)
            ),
            "{bad}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrency_is_bounded_by_the_hashing_threads() {
    let h = Arc::new(hasher(
        PasswordPolicy {
            m_cost_kib: 2048,
            t_cost: 2,
            ..cheap()
        },
        2,
    ));
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let h = h.clone();
            tokio::spawn(async move { h.hash(Secret::new(format!("password number {i}"))).await })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    // Two hashing threads: a background thread and a keeper.
    let peak = h.peak_in_flight();
    assert!((1..=2).contains(&peak), "peak {peak}, two threads");
    assert_eq!(h.queued(), 0);
    // A background copy of a hash a keeper answered may still be finishing.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while h.in_flight() != 0 {
        assert!(std::time::Instant::now() < deadline, "hashes never ended");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[test]
fn invalid_configuration_is_refused() {
    let rng: Arc<dyn Rng> = Arc::new(OsRng);
    for threads in [0, 1] {
        let too_few = PasswordPolicy {
            max_concurrent_hashes: threads,
            ..cheap()
        };
        assert!(too_few.validate().is_err());
        assert!(PasswordHasher::new(too_few, rng.clone()).is_err());
    }
    for (share, queued, wait) in [
        (0, 256, 5_000),
        (51, 256, 5_000),
        (30, 0, 5_000),
        (30, 256, 0),
    ] {
        let policy = PasswordPolicy {
            cpu_share_percent: share,
            max_queued_hashes: queued,
            max_hash_wait_ms: wait,
            ..cheap()
        };
        assert!(policy.validate().is_err(), "{policy:?}");
        assert!(
            PasswordHasher::new(policy, rng.clone()).is_err(),
            "{policy:?}"
        );
    }
    assert!(
        PasswordHasher::new(
            PasswordPolicy {
                m_cost_kib: 1,
                ..cheap()
            },
            rng.clone()
        )
        .is_err()
    );
    assert!(
        PasswordHasher::new(
            PasswordPolicy {
                min_len: 2000,
                ..cheap()
            },
            rng
        )
        .is_err()
    );
}

#[test]
fn debug_shows_no_secrets() {
    let h = hasher(cheap(), 2);
    let text = format!("{h:?}");
    assert!(text.contains("PasswordHasher") && !text.contains("argon2id$"));
}
