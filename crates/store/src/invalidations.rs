//! The [`Invalidations`] port: a shared file for the embedded default
//! (where the `lanyard` CLI is another process beside the server), Redis pub/sub for a
//! cluster.
//!
//! A Redis publish returns how many nodes received the message; each node's listener
//! answers on the publishing node's own acknowledgement channel once it has handled it, so
//! [`Invalidations::publish`] returns only when every node has dropped what it cached (or
//! after [`ACK_WAIT`], logged). A node that loses its subscription reports `None` from
//! [`Invalidations::sync_epoch`] until it has subscribed again, and then a new epoch, so
//! callers never trust a cache that may have missed a message.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use lanyard_core::locks::{lock, read, write};
use lanyard_core::ports::Invalidations;
use lanyard_core::{Rng, StoreError};
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use tokio::sync::Notify;

use crate::error;

type Listener = Arc<dyn Fn(&str) + Send + Sync>;

/// The embedded default: one append-only file in the data folder. `publish` appends a line
/// and reads the file back, which runs this process's listeners; [`Invalidations::sync_epoch`] (asked before every
/// cached lookup) checks the file's length with one `stat` and replays lines another
/// process (the CLI) appended. Lines before this process started are irrelevant: its cache
/// starts empty.
///
/// Compaction: once a `publish` leaves the file larger than the threshold
/// ([`DEFAULT_COMPACT_AT_BYTES`]), the publisher replaces it (rename of a new empty file)
/// instead of letting it grow forever. No line needs keeping: a reader that sees the file
/// replaced (another inode, or shorter than what it read) starts a new epoch, so every
/// cache entry read before is dropped, and it reads the new file from the start. That is
/// safe against a writer that still appends to the old file: the writer changed the
/// database before it opened the file, so before the replacement, so before any reader
/// noticed it; whatever a reader loads after noticing sees the change.
pub struct FileInvalidations {
    path: std::path::PathBuf,
    listeners: RwLock<Vec<Listener>>,
    /// Which file this process reads, and how far it has read (or written) it.
    seen: Mutex<Position>,
    /// Moves on every replacement of the file this process notices.
    epoch: AtomicU64,
    compact_at: u64,
}

/// A `publish` that leaves the file above this size replaces it with an empty one (about
/// 25,000 invalidations of a PAT or an account).
pub const DEFAULT_COMPACT_AT_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Position {
    file: FileId,
    offset: u64,
}

/// What tells one file at the path from its replacement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId(u64, u64);

#[cfg(unix)]
fn file_id(meta: &std::fs::Metadata) -> FileId {
    use std::os::unix::fs::MetadataExt;
    FileId(meta.dev(), meta.ino())
}

/// Elsewhere only a file shorter than what was read shows a replacement.
#[cfg(not(unix))]
fn file_id(_meta: &std::fs::Metadata) -> FileId {
    FileId(0, 0)
}

impl std::fmt::Debug for FileInvalidations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileInvalidations")
            .field("path", &self.path)
            .finish()
    }
}

impl FileInvalidations {
    pub fn open(path: std::path::PathBuf) -> Result<FileInvalidations, StoreError> {
        Self::with_compaction_threshold(path, DEFAULT_COMPACT_AT_BYTES)
    }

    /// Like [`FileInvalidations::open`], compacting above `compact_at` bytes.
    pub fn with_compaction_threshold(
        path: std::path::PathBuf,
        compact_at: u64,
    ) -> Result<FileInvalidations, StoreError> {
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        // Owner-only like the rest of the data folder (crate::files).
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options
            .open(&path)
            .map_err(|e| StoreError::Other(format!("invalidation file: {e}")))?;
        let meta = file
            .metadata()
            .map_err(|e| StoreError::Other(format!("invalidation file: {e}")))?;
        Ok(FileInvalidations {
            path,
            listeners: RwLock::new(Vec::new()),
            seen: Mutex::new(Position {
                file: file_id(&meta),
                offset: meta.len(),
            }),
            epoch: AtomicU64::new(1),
            compact_at,
        })
    }

    /// Replays what other processes appended since the last look; notices a replaced file.
    fn catch_up(&self) -> Result<(), std::io::Error> {
        use std::io::{Read, Seek, SeekFrom};
        let meta = std::fs::metadata(&self.path)?;
        {
            let seen = lock(&self.seen);
            if file_id(&meta) == seen.file && meta.len() == seen.offset {
                return Ok(());
            }
        }
        // Read through one handle, whose own metadata says which file it is.
        let mut file = std::fs::File::open(&self.path)?;
        let meta = file.metadata()?;
        let mut seen = lock(&self.seen);
        if file_id(&meta) != seen.file || meta.len() < seen.offset {
            // Replaced (compacted): lines may have been missed, so whatever was cached
            // under the old epoch is not trusted any more.
            *seen = Position {
                file: file_id(&meta),
                offset: 0,
            };
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }
        let len = meta.len();
        if len <= seen.offset {
            return Ok(());
        }
        file.seek(SeekFrom::Start(seen.offset))?;
        let mut text = String::new();
        file.take(len - seen.offset).read_to_string(&mut text)?;
        // Only whole lines count; a line still being written is read next time.
        let complete = text.rfind('\n').map_or(0, |i| i + 1);
        seen.offset += complete as u64;
        drop(seen);
        for line in text[..complete].lines() {
            for listener in read(&self.listeners).iter() {
                listener(line);
            }
        }
        Ok(())
    }
}

impl FileInvalidations {
    /// Replaces the file with an empty one (a rename, atomic for every reader). A failure
    /// only leaves the file as long as it was.
    fn compact(&self) {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{}.{n}.tmp", std::process::id()));
        let fresh = std::path::PathBuf::from(name);
        let done = crate::files::create_private_file(&fresh)
            .and_then(|()| std::fs::rename(&fresh, &self.path));
        if let Err(e) = done {
            let _ = std::fs::remove_file(&fresh);
            tracing::warn!(error = %e, "compacting the invalidation file failed");
        }
    }
}

#[async_trait]
impl Invalidations for FileInvalidations {
    async fn publish(&self, message: &str) -> Result<(), StoreError> {
        use std::io::Write;
        let io = |e: std::io::Error| StoreError::Unavailable(format!("invalidation file: {e}"));
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(io)?;
        // One short write with O_APPEND: lines of concurrent writers never interleave.
        file.write_all(format!("{message}\n").as_bytes())
            .map_err(io)?;
        if file.metadata().map_err(io)?.len() > self.compact_at {
            self.compact();
        }
        // Reading the file back delivers this line too (once), with any another process
        // appended before it.
        self.catch_up().map_err(io)?;
        Ok(())
    }

    fn listen(&self, listener: Listener) {
        write(&self.listeners).push(listener);
    }

    fn sync_epoch(&self) -> Option<u64> {
        match self.catch_up() {
            Ok(()) => Some(self.epoch.load(Ordering::SeqCst)),
            Err(e) => {
                tracing::warn!(error = %e, "reading the invalidation file failed");
                None
            }
        }
    }
}

/// How long `publish` waits for every node's acknowledgement.
const ACK_WAIT: Duration = Duration::from_secs(1);
/// Pause between attempts to subscribe again after the connection dropped.
const RESUBSCRIBE_PAUSE: Duration = Duration::from_millis(250);

/// A cluster: Redis pub/sub under the deployment's key prefix.
#[derive(Clone)]
pub struct RedisInvalidations {
    inner: Arc<Inner>,
}

struct Inner {
    publisher: ConnectionManager,
    channel: String,
    /// This node's acknowledgement channel (unique per process).
    ack_channel: String,
    listeners: RwLock<Vec<Listener>>,
    /// 0 while unsubscribed; otherwise the subscription's generation.
    epoch: AtomicU64,
    generations: AtomicU64,
    waiting: Mutex<HashMap<String, Waiter>>,
    next_id: AtomicU64,
}

struct Waiter {
    acks: u64,
    done: Arc<Notify>,
}

impl std::fmt::Debug for RedisInvalidations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisInvalidations")
            .field("channel", &self.inner.channel)
            .finish()
    }
}

impl RedisInvalidations {
    /// Connects, subscribes in the background and resubscribes after failures; once every
    /// handle is dropped, the task stops at its next reconnect. `rng` names this node's
    /// acknowledgement channel.
    pub async fn start(
        url: &str,
        prefix: &str,
        publisher: ConnectionManager,
        rng: &dyn Rng,
    ) -> Result<RedisInvalidations, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|_| StoreError::Other("invalid redis url".to_owned()))?;
        let node = lanyard_core::ids::random_uuid(rng).simple().to_string();
        let inner = Arc::new(Inner {
            publisher,
            channel: format!("{prefix}invalidate"),
            ack_channel: format!("{prefix}invalidate_ack:{node}"),
            listeners: RwLock::new(Vec::new()),
            epoch: AtomicU64::new(0),
            generations: AtomicU64::new(0),
            waiting: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
        });
        let weak = Arc::downgrade(&inner);
        tokio::spawn(async move {
            while let Some(inner) = weak.upgrade() {
                if let Err(e) = inner.subscribe_and_serve(&client).await {
                    tracing::warn!(error = %e, "cache invalidation subscription lost");
                }
                inner.epoch.store(0, Ordering::SeqCst);
                drop(inner);
                tokio::time::sleep(RESUBSCRIBE_PAUSE).await;
            }
        });
        Ok(RedisInvalidations { inner })
    }
}

impl Inner {
    async fn subscribe_and_serve(&self, client: &redis::Client) -> Result<(), StoreError> {
        let mut pubsub = client
            .get_async_pubsub()
            .await
            .map_err(|e| error::redis("subscribe", &e))?;
        for channel in [&self.channel, &self.ack_channel] {
            pubsub
                .subscribe(channel)
                .await
                .map_err(|e| error::redis("subscribe", &e))?;
        }
        let generation = self.generations.fetch_add(1, Ordering::SeqCst) + 1;
        self.epoch.store(generation, Ordering::SeqCst);
        let mut messages = pubsub.on_message();
        while let Some(message) = messages.next().await {
            let Ok(payload) = message.get_payload::<String>() else {
                continue;
            };
            if message.get_channel_name() == self.ack_channel {
                self.acknowledged(&payload);
            } else {
                self.deliver(&payload).await;
            }
        }
        Ok(())
    }

    /// `<ack channel> <id> <message>`: hand the message to the listeners, then tell the
    /// publisher this node is done.
    async fn deliver(&self, payload: &str) {
        let mut parts = payload.splitn(3, ' ');
        let (Some(ack_channel), Some(id), Some(message)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return;
        };
        for listener in read(&self.listeners).iter() {
            listener(message);
        }
        let mut conn = self.publisher.clone();
        let sent: Result<u64, _> = conn.publish(ack_channel, id).await;
        if let Err(e) = sent {
            tracing::warn!(error = %error::redis("acknowledge", &e), "acknowledging an invalidation failed");
        }
    }

    fn acknowledged(&self, id: &str) {
        let mut waiting = lock(&self.waiting);
        if let Some(waiter) = waiting.get_mut(id) {
            waiter.acks += 1;
            waiter.done.notify_one();
        }
    }
}

#[async_trait]
impl Invalidations for RedisInvalidations {
    async fn publish(&self, message: &str) -> Result<(), StoreError> {
        let inner = &self.inner;
        let id = inner.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        let done = Arc::new(Notify::new());
        lock(&inner.waiting).insert(
            id.clone(),
            Waiter {
                acks: 0,
                done: done.clone(),
            },
        );
        let payload = format!("{} {id} {message}", inner.ack_channel);
        let mut conn = inner.publisher.clone();
        let receivers: Result<u64, _> = conn.publish(&inner.channel, payload).await;
        let receivers = match receivers {
            Ok(n) => n,
            Err(e) => {
                lock(&inner.waiting).remove(&id);
                return Err(error::redis("publish", &e));
            }
        };
        let all_acked = tokio::time::timeout(ACK_WAIT, async {
            loop {
                let acks = lock(&inner.waiting).get(&id).map_or(0, |w| w.acks);
                if acks >= receivers {
                    return;
                }
                done.notified().await;
            }
        })
        .await
        .is_ok();
        lock(&inner.waiting).remove(&id);
        if !all_acked {
            tracing::warn!(
                receivers,
                "not every node acknowledged a cache invalidation in time"
            );
        }
        Ok(())
    }

    fn listen(&self, listener: Listener) {
        write(&self.inner.listeners).push(listener);
    }

    fn sync_epoch(&self) -> Option<u64> {
        match self.inner.epoch.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn counting(inv: &FileInvalidations) -> Arc<AtomicUsize> {
        let seen = Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        inv.listen(Arc::new(move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        seen
    }

    #[tokio::test]
    async fn each_message_reaches_each_process_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("invalidations.log");
        let server = FileInvalidations::open(path.clone()).unwrap();
        let cli = FileInvalidations::open(path).unwrap();
        let heard = counting(&server);
        server.publish("pat:1").await.unwrap();
        assert_eq!(heard.load(Ordering::SeqCst), 1, "its own message, once");
        cli.publish("pat:2").await.unwrap();
        assert_eq!(heard.load(Ordering::SeqCst), 1, "not before it looks");
        assert_eq!(server.sync_epoch(), Some(1));
        assert_eq!(heard.load(Ordering::SeqCst), 2, "the other process's, once");
        assert_eq!(server.sync_epoch(), Some(1));
        assert_eq!(heard.load(Ordering::SeqCst), 2);
    }

    /// Issue 11 item 13: the file stays small however many invalidations pass, and a process
    /// that may have missed lines in the replaced file (here the server, which had not read
    /// the CLI's last lines, and a writer that still appends to the old file) starts a new
    /// epoch, so nothing it cached before is trusted; afterwards messages flow as before.
    #[tokio::test]
    async fn the_file_is_compacted_and_readers_of_the_old_one_start_a_new_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("invalidations.log");
        let server = FileInvalidations::with_compaction_threshold(path.clone(), 200).unwrap();
        let cli = FileInvalidations::with_compaction_threshold(path.clone(), 200).unwrap();
        let heard = counting(&server);
        assert_eq!(server.sync_epoch(), Some(1));
        // A writer that opened the file before the compaction and writes after it.
        let mut late = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        for i in 0..100 {
            cli.publish(&format!("pat:0190b2c4-0000-7000-8000-{i:012}"))
                .await
                .unwrap();
            let len = std::fs::metadata(&path).unwrap().len();
            assert!(len <= 200, "{len} bytes after {i} messages");
        }
        {
            use std::io::Write;
            late.write_all(b"pat:written-to-the-old-file\n").unwrap();
        }
        let epoch = server.sync_epoch().unwrap();
        assert!(epoch > 1, "the server noticed the replacement: {epoch}");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left: {leftovers:?}");

        let before = heard.load(Ordering::SeqCst);
        cli.publish("account:1").await.unwrap();
        assert_eq!(server.sync_epoch(), Some(epoch), "no replacement since");
        assert_eq!(heard.load(Ordering::SeqCst), before + 1, "delivered once");
        assert_eq!(server.sync_epoch(), Some(epoch));
        assert_eq!(heard.load(Ordering::SeqCst), before + 1);
    }
}
