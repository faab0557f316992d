//! Turns sea-orm and redis errors into [`StoreError`] without leaking SQL text, bound values
//! or URLs: driver messages can quote the offending value (an email, a token hash), so only
//! a fixed context string and, for unexpected database errors, the SQLSTATE code go out.

use std::ops::Deref;

use lanyard_core::StoreError;
use sea_orm::{DbErr, RuntimeErr, SqlErr, sqlx};

/// Maps a database error; `context` names the operation (`"insert account"`) and must be a
/// constant so nothing caller-supplied can end up in the message.
pub(crate) fn db(context: &'static str, err: DbErr) -> StoreError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            return StoreError::Conflict(format!("{context}: already exists"));
        }
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
            return StoreError::Conflict(format!("{context}: refers to a missing record"));
        }
        _ => {}
    }
    match &err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => {
            StoreError::Unavailable(format!("{context}: database unreachable"))
        }
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            sqlx_error(context, e.deref())
        }
        DbErr::TryIntoErr { .. } | DbErr::Type(_) | DbErr::Json(_) => {
            StoreError::Corrupt(format!("{context}: undecodable column"))
        }
        DbErr::RecordNotFound(_) => StoreError::NotFound,
        _ => StoreError::Other(format!("{context}: database error")),
    }
}

fn sqlx_error(context: &'static str, err: &sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => {
            StoreError::Unavailable(format!("{context}: database unreachable"))
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::TypeNotFound { .. } => {
            StoreError::Corrupt(format!("{context}: undecodable column"))
        }
        sqlx::Error::Database(db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            // SQLite BUSY/LOCKED (the busy timeout ran out) and PostgreSQL serialization,
            // deadlock and shutdown classes are transient: callers should answer 503.
            if is_transient(&code) {
                StoreError::Unavailable(format!("{context}: database busy ({code})"))
            } else {
                StoreError::Other(format!("{context}: database error {code}"))
            }
        }
        _ => StoreError::Other(format!("{context}: database error")),
    }
}

/// SQLite reports extended result codes (BUSY_SNAPSHOT is 517): the primary code is the low
/// byte, 5 = BUSY, 6 = LOCKED. PostgreSQL: class 08 (connection), serialization failure,
/// deadlock, admin shutdown, cannot connect now.
fn is_transient(code: &str) -> bool {
    if let Ok(sqlite) = code.parse::<i32>() {
        return matches!(sqlite & 0xff, 5 | 6);
    }
    code.starts_with("08") || matches!(code, "40001" | "40P01" | "57P01" | "57P03")
}

/// A stored value that does not decode: a bug or tampering, never user input.
pub(crate) fn corrupt(what: &'static str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

/// Maps a redis error. Connection-level failures become `Unavailable` so callers fail closed
/// with 503; anything else is unexpected.
pub(crate) fn redis(context: &'static str, err: &redis::RedisError) -> StoreError {
    if err.is_io_error()
        || err.is_connection_dropped()
        || err.is_connection_refusal()
        || err.is_timeout()
        || err.is_unrecoverable_error()
    {
        StoreError::Unavailable(format!("{context}: redis unreachable"))
    } else {
        StoreError::Other(format!("{context}: redis error ({})", err.category()))
    }
}
