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
