use super::*;

#[test]
fn defaults_are_valid_and_embedded() {
    let config = Config::default();
    config.validate().unwrap();
    assert_eq!(config.database_url(), "sqlite://data/lanyard.db?mode=rwc");
    assert!(config.ephemeral.redis_url.is_empty());
}

#[test]
fn invalid_values_name_the_key() {
    let mut config = Config::default();
    config.server.issuer = "http://example.com".into();
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("server.issuer"), "{err}");

    let mut config = Config::default();
    config.server.listen = "not-an-address".into();
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("server.listen")
    );

    let mut config = Config::default();
    config.tokens.access_token_alg = "HS256".into();
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("tokens.access_token_alg")
    );

    let mut config = Config::default();
    config.server.multi_node = true;
    assert!(
        config
            .validate()
            .unwrap_err()
            .to_string()
            .contains("ephemeral.redis_url")
    );
}

#[test]
fn unknown_keys_and_missing_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lanyard.toml");
    std::fs::write(
        &path,
        "[server]\nlisten = \"127.0.0.1:9\"\nlistne = \"typo\"\n",
    )
    .unwrap();
    let err = Config::load(Some(&path)).unwrap_err().to_string();
    assert!(err.contains("listne"), "{err}");
    assert!(Config::load(Some(&dir.path().join("missing.toml"))).is_err());
}

#[test]
fn the_shipped_config_file_loads() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/lanyard.toml");
    let config = Config::load(Some(&path)).unwrap();
    assert_eq!(config.server.listen, "127.0.0.1:8080");
}

fn write_secret(dir: &std::path::Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path
}

fn load_with(dir: &std::path::Path, toml: &str) -> Result<Config, ConfigError> {
    let path = dir.join("lanyard.toml");
    std::fs::write(&path, toml).unwrap();
    Config::load(Some(&path))
}

#[test]
fn secrets_can_come_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let kek = write_secret(dir.path(), "kek", "a2VrLWZyb20tYS1maWxl\n");
    let hash = write_secret(dir.path(), "hash", "  aGFzaA==  \n");
    let db = write_secret(
        dir.path(),
        "db",
        "postgres://lanyard:pw@127.0.0.1/lanyard\n",
    );
    let redis = write_secret(dir.path(), "redis", "redis://:pw@127.0.0.1:6379\n");
    let config = load_with(
        dir.path(),
        &format!(
            "[keys]\nkek_file = {:?}\ntoken_hash_key_file = {:?}\n[database]\nurl_file = {:?}\n\
             [ephemeral]\nredis_url_file = {:?}\n",
            kek, hash, db, redis
        ),
    )
    .unwrap();
    assert_eq!(config.keys.kek, "a2VrLWZyb20tYS1maWxl");
    assert_eq!(config.keys.token_hash_key, "aGFzaA==");
    assert_eq!(
        config.database.url,
        "postgres://lanyard:pw@127.0.0.1/lanyard"
    );
    assert_eq!(config.ephemeral.redis_url, "redis://:pw@127.0.0.1:6379");
}

#[test]
fn a_secret_file_that_is_missing_empty_or_doubled_names_the_key_not_the_content() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let err = load_with(dir.path(), &format!("[keys]\nkek_file = {missing:?}\n"))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("keys.kek_file") && err.contains("nope"),
        "{err}"
    );

    let empty = write_secret(dir.path(), "empty", " \n");
    let err = load_with(
        dir.path(),
        &format!("[keys]\ntoken_hash_key_file = {empty:?}\n"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("keys.token_hash_key_file") && err.contains("empty"),
        "{err}"
    );

    let kek = write_secret(dir.path(), "kek", "c2VjcmV0LWtlay12YWx1ZQ==");
    let err = load_with(
        dir.path(),
        &format!("[keys]\nkek = \"b3RoZXI=\"\nkek_file = {kek:?}\n"),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("keys.kek_file") && err.contains("not both"),
        "{err}"
    );
    assert!(!err.contains("c2VjcmV0LWtlay12YWx1ZQ"), "{err}");
}

#[test]
fn debug_output_never_shows_secrets() {
    let mut config = Config::default();
    config.keys.kek = "S3CRET-KEK".into();
    config.keys.token_hash_key = "S3CRET-HASH".into();
    config.database.url = "postgres://u:S3CRET-PW@db/lanyard".into();
    config.ephemeral.redis_url = "redis://:S3CRET-REDIS@cache".into();
    let text = format!("{config:?}");
    assert!(!text.contains("S3CRET"), "{text}");
    assert!(text.contains("<redacted>"), "{text}");
}

#[test]
fn the_production_example_is_valid_once_its_secret_files_exist() {
    let dir = tempfile::tempdir().unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../config/production.example.toml");
    let mut config: Config = Figment::from(Serialized::defaults(Config::default()))
        .merge(Toml::file(&path))
        .extract()
        .unwrap();
    assert!(config.server.multi_node);
    assert!(config.keys.kek.is_empty() && config.database.url.is_empty());
    config.keys.kek_file = write_secret(dir.path(), "kek", "a2Vr");
    config.keys.token_hash_key_file = write_secret(dir.path(), "hash", "aGFzaA==");
    config.database.url_file = write_secret(dir.path(), "db", "postgres://u:p@db/lanyard");
    config.ephemeral.redis_url_file = write_secret(dir.path(), "redis", "redis://cache:6379");
    assert_eq!(config.mail.transport, super::MailTransport::Smtp);
    config.mail.smtp_password_file = write_secret(dir.path(), "smtp", "relay password");
    secret_files::read_into(&mut config).unwrap();
    assert_eq!(config.mail.smtp_password, "relay password");
    config.validate().unwrap();
    assert_eq!(config.database.url, "postgres://u:p@db/lanyard");
}

#[test]
fn second_step_limits_can_be_tightened_but_not_loosened() {
    let refused = |tweak: &dyn Fn(&mut Config), key: &str| {
        let mut config = Config::default();
        tweak(&mut config);
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    };
    refused(
        &|c| c.mfa.email_code_ttl_secs = 601,
        "mfa.email_code_ttl_secs",
    );
    refused(
        &|c| c.mfa.tries_per_challenge = 6,
        "mfa.tries_per_challenge",
    );
    refused(
        &|c| c.mfa.tries_per_challenge = 0,
        "mfa.tries_per_challenge",
    );
    refused(&|c| c.mfa.hard_limit = 101, "mfa.hard_limit");
    refused(&|c| c.mfa.device_trust_days = 31, "mfa.device_trust_days");
    refused(
        &|c| c.mfa.step_up_window_secs = 59,
        "mfa.step_up_window_secs",
    );
    refused(
        &|c| c.mfa.password_failures_per_ip = 0,
        "mfa.password_failures_per_ip",
    );
    refused(&|c| c.sessions.max_secs = 60, "sessions.max_secs");

    let mut tight = Config::default();
    tight.mfa.tries_per_challenge = 3;
    tight.mfa.device_trust_days = 7;
    tight.mfa.step_up_window_secs = 300;
    tight.validate().unwrap();
    let settings = &tight.mfa;
    assert_eq!(settings.tries_per_challenge, 3);
    assert_eq!(settings.device_trust_secs(), 7 * 86_400);
}

#[test]
fn device_grant_lifetimes_are_bounded() {
    let defaults = Config::default();
    assert_eq!(defaults.tokens.device_code_ttl_secs, 600);
    assert_eq!(defaults.tokens.device_poll_interval_secs, 5);
    let refused = |tweak: &dyn Fn(&mut Config), key: &str| {
        let mut config = Config::default();
        tweak(&mut config);
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    };
    refused(
        &|c| c.tokens.device_code_ttl_secs = 59,
        "tokens.device_code_ttl_secs",
    );
    refused(
        &|c| c.tokens.device_code_ttl_secs = 1801,
        "tokens.device_code_ttl_secs",
    );
    refused(
        &|c| c.tokens.device_poll_interval_secs = 0,
        "tokens.device_poll_interval_secs",
    );
    refused(
        &|c| c.tokens.device_poll_interval_secs = 61,
        "tokens.device_poll_interval_secs",
    );
    let mut ok = Config::default();
    ok.tokens.device_code_ttl_secs = 1800;
    ok.tokens.device_poll_interval_secs = 1;
    ok.validate().unwrap();
}

#[test]
fn domain_sections_read_the_keys_operators_write() {
    let dir = tempfile::tempdir().unwrap();
    let config = load_with(
        dir.path(),
        "[tokens]\nid_token_alg = \"ES256\"\n\
         [passwords]\nargon2_m_cost_kib = 20000\nmax_concurrent_hashes = 3\n\
         [mfa]\ndevice_trust_days = 7\n\
         [pats]\ncache = false\nexchange_ttl_secs = 600\n\
         [[resources]]\nidentifier = \"api.example.com\"\nscopes = [\"repo:read\"]\n",
    )
    .unwrap();
    assert_eq!(config.tokens.id_token_alg, "ES256");
    assert_eq!(config.passwords.m_cost_kib, 20_000);
    assert_eq!(config.passwords.max_concurrent_hashes, 3);
    assert_eq!(
        config.passwords.max_len_bytes, 1024,
        "not a key: the default"
    );
    assert_eq!(config.mfa.device_trust_secs(), 7 * 86_400);
    assert!(!config.pats.cache);
    assert_eq!(config.pats.exchange().ttl_secs, 600);
    assert!(config.resources.find("api.example.com").is_some());

    for (section, key) in [
        ("passwords", "m_cost_kib"),
        ("passwords", "min_len"),
        ("mfa", "challenge_ttl_secs"),
        ("pats", "cache_max_entries"),
        ("pats", "resources"),
    ] {
        let err = load_with(dir.path(), &format!("[{section}]\n{key} = 1\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{section}.{key}: {err}");
    }
}

#[test]
fn s49_forwarding_settings_are_validated_with_their_key() {
    let load = |toml: &str| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lanyard.toml");
        std::fs::write(&path, toml).unwrap();
        Config::load(Some(&path))
    };
    let config = load("[server]\ntrust_forwarded_for = true\nforwarded_for_hops = 2\n").unwrap();
    assert_eq!(
        config.forwarded_for().unwrap(),
        lanyard_web::ForwardedFor::Hops(2)
    );
    let config = load(
        "[server]\ntrust_forwarded_for = true\ntrusted_proxies = [\"10.0.0.0/8\", \"192.0.2.1\"]\n",
    )
    .unwrap();
    assert!(matches!(
        config.forwarded_for().unwrap(),
        lanyard_web::ForwardedFor::Proxies(n) if n.len() == 2
    ));
    for (toml, key) in [
        (
            "[server]\ntrust_forwarded_for = true\nforwarded_for_hops = 0\n",
            "server.forwarded_for_hops",
        ),
        (
            "[server]\ntrust_forwarded_for = true\ntrusted_proxies = [\"lb.internal\"]\n",
            "server.trusted_proxies",
        ),
        (
            "[server]\ntrust_forwarded_for = true\nforwarded_for_hops = 2\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
            "server.trusted_proxies",
        ),
        (
            "[server]\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
            "server.trusted_proxies",
        ),
    ] {
        let err = load(toml).unwrap_err().to_string();
        assert!(err.contains(key), "{toml}: {err}");
    }
}

/// Issue 11 item 9: a retired key stays published for the longest lifetime of any token it
/// signed, including a PAT exchange's above the access and ID token lifetimes, plus the
/// leeway and one ring reload.
#[test]
fn r05_retired_keys_outlive_exchange_minted_tokens() {
    let mut config = Config::default();
    config.tokens.access_token_ttl_secs = 60;
    config.tokens.id_token_ttl_secs = 60;
    config.pats.exchange_ttl_secs = 3600;
    let policy = crate::app::rotation_policy(&config);
    let reload = config.keys.reload_every_secs as i64;
    assert!(
        policy.max_token_ttl_secs >= 3600 + 60 + reload,
        "{policy:?}"
    );
    assert!(
        policy.max_token_ttl_secs >= lanyard_issuer::settings::MAX_ACCESS_TOKEN_TTL_SECS + reload,
        "a client's own access token lifetime: {policy:?}"
    );
}

/// Issue 11 item 16: the assertion limits default to an hour and 60 s of skew, and are
/// bounded (the leeway by S22's 60 s).
#[test]
fn client_assertion_limits_are_bounded() {
    let defaults = Config::default();
    assert_eq!(defaults.tokens.client_assertion_max_lifetime_secs, 3600);
    assert_eq!(defaults.tokens.client_assertion_leeway_secs, 60);
    let refused = |tweak: &dyn Fn(&mut Config), key: &str| {
        let mut config = Config::default();
        tweak(&mut config);
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains(key), "{key}: {err}");
    };
    let max = "tokens.client_assertion_max_lifetime_secs";
    refused(&|c| c.tokens.client_assertion_max_lifetime_secs = 59, max);
    refused(
        &|c| c.tokens.client_assertion_max_lifetime_secs = 86_401,
        max,
    );
    let leeway = "tokens.client_assertion_leeway_secs";
    refused(&|c| c.tokens.client_assertion_leeway_secs = -1, leeway);
    refused(&|c| c.tokens.client_assertion_leeway_secs = 61, leeway);
    let mut ok = Config::default();
    ok.tokens.client_assertion_max_lifetime_secs = 600;
    ok.tokens.client_assertion_leeway_secs = 0;
    ok.validate().unwrap();
}

/// H2: the embedded default keeps ephemeral state in the database; the in-process store is
/// an explicit choice, and only for one node without Redis.
#[test]
fn h2_ephemeral_state_defaults_to_the_database_and_memory_excludes_redis() {
    use crate::config::EmbeddedStore;
    let config = Config::default();
    assert_eq!(config.ephemeral.store, EmbeddedStore::Database);
    config.validate().unwrap();

    let mut config = Config::default();
    config.ephemeral.store = EmbeddedStore::Memory;
    config.validate().unwrap();
    config.ephemeral.redis_url = "redis://127.0.0.1:6379".into();
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("ephemeral.store"), "{err}");
}

#[test]
fn item3_the_shortest_password_is_configurable_from_8_to_64() {
    let dir = tempfile::tempdir().unwrap();
    let config = load_with(dir.path(), "[passwords]\nmin_length = 12\n").unwrap();
    assert_eq!(config.passwords.min_len, 12);
    assert_eq!(
        load_with(dir.path(), "").unwrap().passwords.min_len,
        8,
        "the default"
    );
    for refused in [0, 7, 65] {
        let err = load_with(
            dir.path(),
            &format!("[passwords]\nmin_length = {refused}\n"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("passwords.min_length"), "{refused}: {err}");
    }
}

#[test]
fn issue17_the_hashing_settings_are_read_and_bad_values_name_their_key() {
    let dir = tempfile::tempdir().unwrap();
    let config = load_with(
        dir.path(),
        "[passwords]\ncpu_share_percent = 40\nmax_hash_wait_ms = 800\nmax_queued_hashes = 32\n",
    )
    .unwrap();
    assert_eq!(config.passwords.cpu_share_percent, 40);
    assert_eq!(config.passwords.max_hash_wait_ms, 800);
    assert_eq!(config.passwords.max_queued_hashes, 32);
    for (toml, key) in [
        (
            "max_concurrent_hashes = 1",
            "passwords.max_concurrent_hashes",
        ),
        ("cpu_share_percent = 0", "passwords.cpu_share_percent"),
        ("cpu_share_percent = 51", "passwords.cpu_share_percent"),
        ("max_queued_hashes = 0", "passwords.max_queued_hashes"),
        ("max_hash_wait_ms = 0", "passwords.max_hash_wait_ms"),
    ] {
        let err = load_with(dir.path(), &format!("[passwords]\n{toml}\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{toml}: {err}");
    }
    // Malformed and oversized values are refused by the parser, naming the field.
    for toml in [
        "cpu_share_percent = \"lots\"",
        "cpu_share_percent = 300",
        "max_hash_wait_ms = -1",
    ] {
        let err = load_with(dir.path(), &format!("[passwords]\n{toml}\n"))
            .unwrap_err()
            .to_string();
        let field = toml.split(' ').next().unwrap();
        assert!(err.contains(field), "{toml}: {err}");
    }
}
