//! Read connections. On PostgreSQL they come from sqlx's pool. On SQLite the store keeps its
//! own: sqlx's pool pings a connection when it is taken and again when it is given back, and
//! each ping is a round trip to the connection's worker thread — two of the three thread
//! hand-offs of a lookup by name. A local file needs neither check: a connection stays
//! usable, and the worker runs one command after another, so a query abandoned half-way
//! (its request cancelled) is finished or reset before the next one starts.

use crate::sql::db_error;
use crate::{StoreError, StoreResult};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMappedMutexGuard, OwnedMutexGuard, OwnedSemaphorePermit, Semaphore};

/// Where read connections come from.
#[derive(Clone)]
pub(crate) enum Readers {
    Pool(AnyPool),
    Sqlite(Arc<SqliteReaders>),
}

impl Readers {
    pub(crate) async fn acquire(&self) -> StoreResult<ReadConnection> {
        match self {
            Readers::Pool(pool) => Ok(ReadConnection::Pooled(
                pool.acquire().await.map_err(db_error)?,
            )),
            Readers::Sqlite(readers) => Ok(ReadConnection::Sqlite(readers.acquire().await?)),
        }
    }

    /// Closes the idle connections; those in use close when they are dropped.
    pub(crate) async fn close(&self) {
        match self {
            Readers::Pool(pool) => pool.close().await,
            Readers::Sqlite(readers) => readers.close().await,
        }
    }
}

/// SQLite read connections: a fixed number of slots, each opened on first use and then
/// kept. A read takes a permit (one per slot, so a free slot exists) and locks a free slot.
pub(crate) struct SqliteReaders {
    url: String,
    slots: Vec<Arc<Mutex<Option<AnyConnection>>>>,
    permits: Arc<Semaphore>,
}

/// How long a read waits for a free connection before it fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

impl SqliteReaders {
    /// Opens the first connection at once, so a database that cannot be read fails the start.
    pub(crate) async fn open(url: &str, max: usize) -> StoreResult<SqliteReaders> {
        let max = max.max(1);
        let mut slots: Vec<Arc<Mutex<Option<AnyConnection>>>> =
            (0..max).map(|_| Arc::new(Mutex::new(None))).collect();
        slots[0] = Arc::new(Mutex::new(Some(connect(url).await?)));
        Ok(SqliteReaders {
            url: url.to_string(),
            slots,
            permits: Arc::new(Semaphore::new(max)),
        })
    }

    async fn acquire(&self) -> StoreResult<SqliteReader> {
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "no database connection free after {} s",
                    ACQUIRE_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|_| StoreError::Unavailable("the store is closed".into()))?;
        // A permit is held per locked slot, so one of them is free; opened ones first.
        let mut free = None;
        for slot in &self.slots {
            if let Ok(guard) = slot.clone().try_lock_owned() {
                let opened = guard.is_some();
                free = Some(guard);
                if opened {
                    break;
                }
            }
        }
        let Some(mut guard) = free else {
            return Err(StoreError::Unavailable(
                "no free database connection".into(),
            ));
        };
        if guard.is_none() {
            *guard = Some(connect(&self.url).await?);
        }
        let conn = OwnedMutexGuard::try_map(guard, Option::as_mut)
            .map_err(|_| StoreError::Unavailable("no database connection".into()))?;
        Ok(SqliteReader {
            conn,
            _permit: permit,
        })
    }

    async fn close(&self) {
        self.permits.close();
        for slot in &self.slots {
            if let Ok(mut guard) = slot.try_lock()
                && let Some(conn) = guard.take()
            {
                let _ = conn.close().await;
            }
        }
    }
}

async fn connect(url: &str) -> StoreResult<AnyConnection> {
    let mut conn = AnyConnection::connect(url)
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?;
    crate::store::sqlite_pragmas(&mut conn, false)
        .await
        .map_err(db_error)?;
    Ok(conn)
}

/// A SQLite read connection, its slot locked until it is dropped. The slot is unlocked before
/// the permit is given back (fields drop in order).
pub(crate) struct SqliteReader {
    conn: OwnedMappedMutexGuard<Option<AnyConnection>, AnyConnection>,
    _permit: OwnedSemaphorePermit,
}

/// A read connection, used as `&mut AnyConnection`.
pub(crate) enum ReadConnection {
    Pooled(PoolConnection<Any>),
    Sqlite(SqliteReader),
}

impl Deref for ReadConnection {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        match self {
            ReadConnection::Pooled(conn) => conn,
            ReadConnection::Sqlite(reader) => &reader.conn,
        }
    }
}

impl DerefMut for ReadConnection {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            ReadConnection::Pooled(conn) => conn,
            ReadConnection::Sqlite(reader) => &mut reader.conn,
        }
    }
}
