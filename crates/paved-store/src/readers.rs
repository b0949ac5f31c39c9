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
    crate::store::sqlite_reader_pragmas(&mut conn)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::{Sql, get};

    async fn readers(dir: &tempfile::TempDir, max: usize) -> Arc<SqliteReaders> {
        sqlx::any::install_default_drivers();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("readers.db").display()
        );
        Arc::new(SqliteReaders::open(&url, max).await.expect("open"))
    }

    async fn select(conn: &mut AnyConnection, n: i64) -> i64 {
        let mut sql = Sql::new("SELECT ");
        sql.bind(n);
        let row = sql
            .fetch_optional(conn)
            .await
            .expect("select")
            .expect("row");
        get::<i64>(&row, 0).expect("column")
    }

    fn opened(readers: &SqliteReaders) -> usize {
        readers
            .slots
            .iter()
            .filter(|slot| slot.try_lock().map(|c| c.is_some()).unwrap_or(true))
            .count()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn more_reads_than_connections_wait_for_a_free_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let readers = readers(&dir, 2).await;
        let tasks: Vec<_> = (0..20)
            .map(|i| {
                let readers = readers.clone();
                tokio::spawn(async move {
                    let mut conn = readers.acquire().await.expect("acquire");
                    let answer = select(&mut conn.conn, i).await;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    answer
                })
            })
            .collect();
        let mut answers = Vec::new();
        for task in tasks {
            answers.push(task.await.expect("task"));
        }
        assert_eq!(answers, (0..20).collect::<Vec<i64>>());
        assert_eq!(opened(&readers), 2, "two slots, each opened once");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_abandoned_half_way_leaves_its_connection_usable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let readers = readers(&dir, 1).await;
        let slow = async {
            let mut conn = readers.acquire().await.expect("acquire");
            Sql::new(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) \
                 SELECT COUNT(*) FROM (SELECT i FROM n LIMIT 50000000)",
            )
            .fetch_optional(&mut *conn.conn)
            .await
        };
        assert!(
            tokio::time::timeout(Duration::from_millis(20), slow)
                .await
                .is_err(),
            "the query outlives the timeout"
        );
        // The one connection is free again and answers the next query, not the old one.
        let mut conn = readers.acquire().await.expect("acquire again");
        assert_eq!(select(&mut conn.conn, 7).await, 7);
        assert_eq!(opened(&readers), 1);
    }

    #[tokio::test]
    async fn a_closed_store_refuses_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let readers = readers(&dir, 2).await;
        readers.close().await;
        match readers.acquire().await {
            Err(StoreError::Unavailable(message)) => assert!(message.contains("closed")),
            Err(other) => panic!("unexpected error {other:?}"),
            Ok(_) => panic!("a closed store handed out a connection"),
        }
    }
}
