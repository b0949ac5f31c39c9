//! Lookups of single entities on SQLite (by ref, by uid, an entity's ancestry), answered on
//! the calling thread.
//!
//! sqlx runs each SQLite connection on a worker thread of its own: a query is a message to
//! that thread and its answer a message back, so a lookup costs two thread wake-ups and two
//! context switches besides its few microseconds of B-tree search. Under 64 concurrent
//! clients those hand-offs (futex wake-ups, scheduling) were a fifth of the server's CPU
//! time for lookups by name. These lookups read one row through an index from a page cache
//! that is nearly always warm, so they run where the request is, on a connection of their
//! own; everything else — filtered queries, facets, writes — keeps sqlx.
//!
//! Each lookup is one statement, so one implicit read transaction: it sees the last commit,
//! as a read through sqlx does. A connection is taken from the idle list for the lookup and
//! put back after it; at most as many are open as lookups ever ran at once (a few: one per
//! runtime thread), and the idle list keeps [`IDLE_MAX`] of them.

use crate::store::{BUSY_TIMEOUT, READER_CACHE_KIB};
use crate::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags, OptionalExtension, Params, Row};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Idle connections kept: more than the runtime's threads that can look up at once.
const IDLE_MAX: usize = 8;

pub(crate) struct PointReaders {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    closed: AtomicBool,
}

impl PointReaders {
    /// Opens one connection at once, so a file that cannot be read fails the start.
    pub(crate) fn open(path: &Path) -> StoreResult<PointReaders> {
        let readers = PointReaders {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
            closed: AtomicBool::new(false),
        };
        let first = readers.connect()?;
        readers.give_back(first);
        Ok(readers)
    }

    fn connect(&self) -> StoreResult<Connection> {
        // Read-write: a reader of a WAL database writes its shared-memory index; query_only
        // keeps it from changing the database itself.
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| StoreError::Unavailable(format!("opening {}: {e}", self.path.display())))?;
        let setup = || -> rusqlite::Result<()> {
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.pragma_update(None, "query_only", true)?;
            conn.pragma_update(None, "cache_size", -i64::from(READER_CACHE_KIB))?;
            conn.set_prepared_statement_cache_capacity(16);
            Ok(())
        };
        setup().map_err(|e| StoreError::Unavailable(format!("{}: {e}", self.path.display())))?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_MAX
            && !self.closed.load(Ordering::Acquire)
        {
            idle.push(conn);
        }
    }

    /// Runs `read` on a connection of its own (opened when none is idle).
    fn with<T>(&self, read: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StoreError::Unavailable("the store is closed".into()));
        }
        let taken = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        let conn = match taken {
            Some(conn) => conn,
            None => self.connect()?,
        };
        let result = read(&conn);
        self.give_back(conn);
        result.map_err(crate::sql::sqlite_error)
    }

    /// The first row `sql` returns with `params`, mapped by `map`; `None` without a row.
    pub(crate) fn row<T>(
        &self,
        sql: &str,
        params: impl Params,
        map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> StoreResult<Option<T>> {
        self.with(|conn| first_row(conn, sql, params, map))
    }

    /// Closes the idle connections and refuses further lookups.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }
}

/// The first row of a cached statement, mapped; `None` without a row.
fn first_row<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    map: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<Option<T>> {
    conn.prepare_cached(sql)?.query_row(params, map).optional()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn database(dir: &tempfile::TempDir) -> (PathBuf, Connection) {
        let path = dir.path().join("points.db");
        let writer = Connection::open(&path).expect("open");
        writer
            .execute_batch(
                "PRAGMA journal_mode = WAL; \
                 CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT NOT NULL); \
                 INSERT INTO t VALUES ('a', 'one');",
            )
            .expect("schema");
        (path, writer)
    }

    /// Readers of a fresh database, and its writer (kept open: the WAL stays).
    fn opened(dir: &tempfile::TempDir) -> (PointReaders, Connection) {
        let (path, writer) = database(dir);
        (PointReaders::open(&path).expect("readers"), writer)
    }

    fn value(readers: &PointReaders, key: &str) -> Option<String> {
        readers
            .row("SELECT v FROM t WHERE k = ?1", [key], |row| row.get(0))
            .expect("lookup")
    }

    #[test]
    fn a_lookup_sees_the_last_commit_and_nothing_uncommitted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (path, mut writer) = database(&dir);
        let readers = PointReaders::open(&path).expect("readers");
        assert_eq!(value(&readers, "a").as_deref(), Some("one"));
        assert_eq!(value(&readers, "b"), None);

        let tx = writer.transaction().expect("begin");
        tx.execute("INSERT INTO t VALUES ('b', 'two')", [])
            .expect("insert");
        assert_eq!(value(&readers, "b"), None, "not committed yet");
        tx.commit().expect("commit");
        assert_eq!(value(&readers, "b").as_deref(), Some("two"));
    }

    #[test]
    fn lookups_at_once_each_get_a_connection_and_the_idle_ones_are_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (readers, _writer) = opened(&dir);
        // A lookup inside a lookup needs a second connection.
        let nested = readers
            .with(|outer| {
                let inner = readers
                    .row("SELECT v FROM t WHERE k = 'a'", [], |row| {
                        row.get::<_, String>(0)
                    })
                    .map_err(|e| rusqlite::Error::InvalidParameterName(e.to_string()))?;
                let outer: Option<String> =
                    first_row(outer, "SELECT v FROM t WHERE k = 'a'", [], |row| row.get(0))?;
                Ok((inner, outer))
            })
            .expect("nested");
        assert_eq!(nested, (Some("one".into()), Some("one".into())));
        assert_eq!(readers.idle.lock().expect("idle").len(), 2);
    }

    #[test]
    fn a_lookup_cannot_write_and_says_why() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (readers, _writer) = opened(&dir);
        let error = readers
            .with(|conn| conn.execute("DELETE FROM t", []))
            .expect_err("a write through a reader");
        assert!(
            matches!(&error, StoreError::Database(m) if m.contains("readonly") || m.contains("read-only") || m.contains("query_only")),
            "{error:?}"
        );
        assert_eq!(value(&readers, "a").as_deref(), Some("one"));
    }

    #[test]
    fn a_closed_store_refuses_lookups() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (readers, _writer) = opened(&dir);
        readers.close();
        match readers.row("SELECT 1", [], |row| row.get::<_, i64>(0)) {
            Err(StoreError::Unavailable(message)) => assert!(message.contains("closed")),
            other => panic!("unexpected {other:?}"),
        }
        assert!(readers.idle.lock().expect("idle").is_empty());
    }

    #[test]
    fn a_missing_database_fails_the_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("no-such-folder").join("points.db");
        assert!(matches!(
            PointReaders::open(&path),
            Err(StoreError::Unavailable(_))
        ));
    }
}
