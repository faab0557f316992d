//! Backends and fixtures for the contract suites.

use std::sync::Arc;
use std::time::Duration;

use lanyard_core::model::{
    AccountKind, AccountStatus, Client, ClientAuthMethod, GrantType, NewAccount, NewRefreshFamily,
    RefreshFamily,
};
use lanyard_core::ports::{AccountRepo, ClientRepo, EphemeralStore, RefreshRepo};
use lanyard_core::{AccountId, ClientId, FamilyId, ManualClock, OsRng, StoreError, Timestamp};
use lanyard_store::testing::{
    TempPostgres, cleanup_redis_prefix, postgres_url_from_env, redis_url_from_env,
    temp_redis_prefix,
};
use lanyard_store::{MemoryStore, RedisStore, SqlStore};

pub const NOW: Timestamp = Timestamp(1_700_000_000);

/// A SQL store whose new rows get ids from a clock at [`NOW`] and the OS generator.
pub async fn connect(url: &str) -> Result<SqlStore, StoreError> {
    SqlStore::connect(url, Arc::new(ManualClock::new(NOW)), Arc::new(OsRng)).await
}

/// An id no row has (or a unique tag).
pub fn random_id() -> uuid::Uuid {
    lanyard_core::ids::random_uuid(&OsRng)
}

pub struct Db {
    pub store: SqlStore,
    pub url: String,
    guard: Guard,
}

enum Guard {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(TempPostgres),
}

impl Db {
    pub fn wrap_sqlite(store: SqlStore, dir: tempfile::TempDir) -> Db {
        Db {
            store,
            url: String::new(),
            guard: Guard::Sqlite(dir),
        }
    }

    pub async fn cleanup(self) {
        if let Guard::Postgres(pg) = self.guard {
            pg.cleanup().await.unwrap();
        }
    }
}

/// A fresh SQLite file in a temp folder, in a sub-folder that does not exist yet (so
/// `connect` must create it). Not migrated.
pub async fn sqlite_unmigrated() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}/nested/lanyard.db?mode=rwc",
        dir.path().display()
    );
    let store = connect(&url).await.unwrap();
    assert!(store.is_sqlite());
    Db {
        store,
        url,
        guard: Guard::Sqlite(dir),
    }
}

pub async fn sqlite() -> Db {
    let db = sqlite_unmigrated().await;
    db.store.migrate().await.unwrap();
    db
}

/// A fresh PostgreSQL database, or None when no server is configured. Not migrated.
pub async fn postgres_unmigrated() -> Option<Db> {
    let admin = postgres_url_from_env()?;
    let (url, guard) = TempPostgres::create(&admin).await.unwrap();
    let store = connect(&url).await.unwrap();
    assert!(!store.is_sqlite());
    Some(Db {
        store,
        url,
        guard: Guard::Postgres(guard),
    })
}

pub async fn postgres() -> Option<Db> {
    let db = postgres_unmigrated().await?;
    db.store.migrate().await.unwrap();
    Some(db)
}

/// An ephemeral store under test plus what the suite needs to observe expiry without
/// sleeping: the manual clock of the memory store, or a raw connection for Redis's PTTL.
pub struct Ephemeral {
    pub store: Arc<dyn EphemeralStore>,
    clock: Option<Arc<ManualClock>>,
    redis: Option<(String, String)>,
    db: Option<Db>,
}

pub fn memory() -> Ephemeral {
    let clock = Arc::new(ManualClock::new(NOW));
    Ephemeral {
        store: Arc::new(MemoryStore::new(clock.clone())),
        clock: Some(clock),
        redis: None,
        db: None,
    }
}

/// The database's ephemeral store on a fresh, migrated database at `url`, with a manual
/// clock of its own.
async fn sql_ephemeral(url: &str) -> (SqlStore, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(NOW));
    let store = SqlStore::connect(url, clock.clone(), Arc::new(OsRng))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (store, clock)
}

pub async fn sql_sqlite() -> Ephemeral {
    let db = sqlite_unmigrated().await;
    let (store, clock) = sql_ephemeral(&db.url).await;
    Ephemeral {
        store: Arc::new(store.ephemeral()),
        clock: Some(clock),
        redis: None,
        db: Some(db),
    }
}

pub async fn sql_postgres() -> Option<Ephemeral> {
    let db = postgres_unmigrated().await?;
    let (store, clock) = sql_ephemeral(&db.url).await;
    Some(Ephemeral {
        store: Arc::new(store.ephemeral()),
        clock: Some(clock),
        redis: None,
        db: Some(db),
    })
}

pub async fn redis() -> Option<Ephemeral> {
    let url = redis_url_from_env()?;
    let prefix = temp_redis_prefix();
    let store = RedisStore::connect(&url, &prefix).await.unwrap();
    store.ping().await.unwrap();
    Some(Ephemeral {
        store: Arc::new(store),
        clock: None,
        redis: Some((url, prefix)),
        db: None,
    })
}

impl Ephemeral {
    pub async fn cleanup(self) {
        if let Some((url, prefix)) = &self.redis {
            cleanup_redis_prefix(url, prefix).await.unwrap();
        }
        if let Some(db) = self.db {
            db.cleanup().await;
        }
    }

    /// The manual clock of the memory and database stores (Redis keeps its own time).
    pub fn clock(&self) -> Option<&Arc<ManualClock>> {
        self.clock.as_ref()
    }

    /// The raw Redis URL and key prefix, for Redis-only assertions.
    pub fn redis(&self) -> Option<&(String, String)> {
        self.redis.as_ref()
    }

    /// Asserts that `key` is present now and expires `ttl` after it was first written:
    /// by moving the manual clock (memory) or by reading PTTL (Redis).
    pub async fn assert_expires_after(&self, key: &str, ttl: Duration) {
        assert!(
            self.store.get(key).await.unwrap().is_some(),
            "{key:?} is present"
        );
        if let Some(clock) = &self.clock {
            let secs = i64::try_from(ttl.as_secs()).unwrap();
            clock.advance(secs - 1);
            assert!(
                self.store.get(key).await.unwrap().is_some(),
                "alive before its TTL"
            );
            clock.advance(1);
            assert!(
                self.store.get(key).await.unwrap().is_none(),
                "gone at its TTL"
            );
        }
        if let Some((url, prefix)) = &self.redis {
            let pttl = pttl(url, &format!("{prefix}{key}")).await;
            let ttl_ms = i64::try_from(ttl.as_millis()).unwrap();
            assert!(
                pttl > 0 && pttl <= ttl_ms,
                "PTTL {pttl} within (0, {ttl_ms}]"
            );
            // A PTTL within a second of the full TTL proves it was not set by a later call.
            assert!(pttl > ttl_ms - 1_000, "PTTL {pttl} close to {ttl_ms}");
        }
    }
}

pub async fn pttl(url: &str, full_key: &str) -> i64 {
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("PTTL")
        .arg(full_key)
        .query_async(&mut conn)
        .await
        .unwrap()
}

pub fn new_account(email: &str) -> NewAccount {
    NewAccount {
        email: email.to_owned(),
        email_normalized: email.to_lowercase(),
        email_verified: false,
        name: "Test User".to_owned(),
        password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned()),
        status: AccountStatus::Active,
        kind: AccountKind::Person,
    }
}

pub async fn account(store: &SqlStore, email: &str) -> AccountId {
    store
        .insert_account(new_account(email), NOW)
        .await
        .unwrap()
        .id
}

pub fn client(id: &str) -> Client {
    Client {
        id: ClientId::parse(id).unwrap(),
        name: format!("Client {id}"),
        redirect_uris: vec!["https://app.example/cb".to_owned()],
        post_logout_redirect_uris: vec![],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        auth_method: ClientAuthMethod::ClientSecretBasic,
        secret_hash: Some("ab".repeat(32)),
        jwks: None,
        first_party: false,
        allowed_scopes: vec!["openid".to_owned(), "email".to_owned()],
        access_token_ttl: None,
        refresh_idle_ttl: None,
        refresh_absolute_ttl: None,
        exchange_audiences: vec![],
        backchannel_logout_uri: None,
        backchannel_logout_session_required: false,
        site: None,
        created_at: NOW,
    }
}

/// A live family (idle expiry NOW+100, absolute NOW+1000) of a new account and client,
/// whose current token is `first_token`.
pub async fn family(store: &SqlStore, first_token: &str) -> RefreshFamily {
    let tag = random_id().simple().to_string();
    let account = account(store, &format!("{tag}@example.com")).await;
    let client = client(&format!("client-{tag}"));
    store.insert_client(&client).await.unwrap();
    family_for(store, account, &client.id, first_token).await
}

pub async fn family_for(
    store: &SqlStore,
    account: AccountId,
    client: &ClientId,
    first_token: &str,
) -> RefreshFamily {
    let family = RefreshFamily {
        id: FamilyId::new(&ManualClock::new(NOW), &OsRng),
        client_id: client.clone(),
        account_id: account,
        scope: "openid offline_access".to_owned(),
        auth_time: NOW.minus_secs(5),
        acr: Some("urn:lanyard:acr:mfa".to_owned()),
        amr: "pwd otp".to_owned(),
        created_at: NOW,
        absolute_expires_at: NOW.plus_secs(1_000),
        idle_expires_at: NOW.plus_secs(100),
        revoked_at: None,
    };
    let new = NewRefreshFamily {
        family: family.clone(),
        first_token_hash: Some(first_token.to_owned()),
    };
    store.insert_family(new).await.unwrap();
    family
}
