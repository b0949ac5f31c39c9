//! The SQLite writer: one connection on a thread of its own, taking whole batches of
//! statements per message.
//!
//! SQLite has one writer at a time, so the store keeps one write connection and hands it to
//! one caller at a time ([`LiteWriter::session`]). sqlx's SQLite driver behind its `Any`
//! front copied every text argument on the way (a second time when SQLite binds it) and sent
//! each statement to its worker thread as a message of its own; here a batch of statements is
//! one message, each argument is bound from where it lies, and rows come back as [`Value`]s.
//! Inserting a 100k-entity catalog's stitched rows took 3.0–3.8 s through sqlx and 2.0–2.1 s
//! this way (docs/PERFORMANCE.md). Reads keep their own connections (`readers`, `points`).

use crate::sql::{Conn, NullKind, Row, Sql, Value, sqlite_error};
use crate::store::{BUSY_TIMEOUT, WRITER_CACHE_KIB};
use crate::{StoreError, StoreResult};
use rusqlite::types::{ToSql, ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, Statement};
use std::path::Path;
use std::sync::{Arc, mpsc};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

/// Prepared statements kept by the writer: the few full-size multi-row statements of bulk
/// writes and the small ones of everyday writes.
const STATEMENT_CACHE: usize = 64;

/// How long a write waits for the writer before it fails: longer than any ingestion holds it.
const WAIT: std::time::Duration = std::time::Duration::from_secs(600);

enum Command {
    Run(Vec<Sql>, oneshot::Sender<StoreResult<u64>>),
    Fetch(Sql, bool, oneshot::Sender<StoreResult<Vec<Row>>>),
    /// Rolls back the open transaction, if there is one: a session ended without committing.
    Rollback,
    /// Folds the write-ahead log into the database and closes the connection.
    Close(oneshot::Sender<()>),
}

/// The write connection. Clones share it.
#[derive(Clone)]
pub(crate) struct LiteWriter {
    sender: Arc<Mutex<mpsc::Sender<Command>>>,
    /// How long [`session`](Self::session) waits: [`WAIT`].
    wait: std::time::Duration,
}

impl LiteWriter {
    /// Opens (creating it when missing) the database file and starts the writer's thread.
    pub(crate) fn open(path: &Path) -> StoreResult<LiteWriter> {
        let unavailable = |e: &dyn std::fmt::Display| {
            StoreError::Unavailable(format!("opening {}: {e}", path.display()))
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| unavailable(&e))?;
        setup(&conn).map_err(|e| unavailable(&e))?;
        let (sender, commands) = mpsc::channel();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || serve(conn, commands))
            .map_err(|e| unavailable(&e))?;
        Ok(LiteWriter {
            sender: Arc::new(Mutex::new(sender)),
            wait: WAIT,
        })
    }

    /// The connection for the caller alone until the session is dropped; other callers wait
    /// their turn, first come first served, for at most [`WAIT`]. Statements run in
    /// autocommit mode until [`Session::begin`].
    pub(crate) async fn session(&self) -> StoreResult<Session> {
        tokio::time::timeout(self.wait, self.waiting_session())
            .await
            .map_err(|_| {
                StoreError::Unavailable(format!(
                    "the database's writer stayed busy for {} s",
                    self.wait.as_secs_f64()
                ))
            })
    }

    async fn waiting_session(&self) -> Session {
        Session {
            sender: self.sender.clone().lock_owned().await,
        }
    }

    /// Waits for the current session, folds the log into the database and closes the
    /// connection; sessions after this fail as `Unavailable`.
    pub(crate) async fn close(&self) {
        let session = self.waiting_session().await;
        let (reply, answer) = oneshot::channel();
        if session.sender.send(Command::Close(reply)).is_ok() {
            let _ = answer.await;
        }
    }
}

/// The writer's pragmas: the same durability as every connection, plus a bigger page cache
/// and file-backed temporary data for the writer.
fn setup(conn: &Connection) -> rusqlite::Result<()> {
    // 16 KiB pages suit rows of a few KB (final JSON) and bulk writes; the setting takes
    // effect only on a new database, so it comes before WAL mode writes the header.
    conn.pragma_update(None, "page_size", 16384)?;
    // WAL lets readers run beside the writer; NORMAL sync is durable across application
    // crashes (a power cut may lose the last transactions, never corrupt the file).
    conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Temporary data (the sort that builds an index after a large ingestion) goes to a file,
    // so its size is not resident memory.
    conn.pragma_update(None, "temp_store", "FILE")?;
    // Bulk ingestion touches many index pages.
    conn.pragma_update(None, "cache_size", -i64::from(WRITER_CACHE_KIB))?;
    // After a big ingestion the log is checkpointed and cut back to 64 MiB, so the next
    // start does not replay (and the disk does not keep) a gigabyte of log.
    conn.pragma_update(None, "journal_size_limit", 64 * 1024 * 1024)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(())
}

fn serve(conn: Connection, commands: mpsc::Receiver<Command>) {
    for command in commands {
        match command {
            Command::Run(statements, reply) => {
                let _ = reply.send(run(&conn, statements));
            }
            Command::Fetch(sql, one, reply) => {
                let _ = reply.send(fetch(&conn, sql, one).map_err(sqlite_error));
            }
            Command::Rollback => roll_back(&conn),
            Command::Close(reply) => {
                roll_back(&conn);
                if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())) {
                    tracing::warn!(error = %e, "checkpoint at shutdown failed");
                }
                drop(conn);
                let _ = reply.send(());
                return;
            }
        }
    }
}

fn roll_back(conn: &Connection) {
    if !conn.is_autocommit()
        && let Err(e) = conn.execute_batch("ROLLBACK")
    {
        tracing::warn!(error = %e, "rolling back an unfinished write failed");
    }
}

fn run(conn: &Connection, statements: Vec<Sql>) -> StoreResult<u64> {
    let mut changed = 0;
    for sql in statements {
        changed = with_statement(conn, sql, |statement| {
            // Stepped to the end, so statements that return rows (pragmas, RETURNING) run
            // whole as well.
            let mut rows = statement.raw_query();
            while rows.next()?.is_some() {}
            drop(rows);
            Ok(if statement.readonly() {
                0
            } else {
                conn.changes()
            })
        })
        .map_err(sqlite_error)?;
    }
    Ok(changed)
}

fn fetch(conn: &Connection, sql: Sql, one: bool) -> rusqlite::Result<Vec<Row>> {
    with_statement(conn, sql, |statement| {
        let columns = statement.column_count();
        let mut rows = statement.raw_query();
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(value(row.get_ref(i)?));
            }
            out.push(Row::Values(values));
            if one {
                break;
            }
        }
        Ok(out)
    })
}

/// Prepares `sql` (from the cache when it is [`Sql::persistent`]), binds its arguments and
/// hands it to `step`.
fn with_statement<T>(
    conn: &Connection,
    sql: Sql,
    step: impl FnOnce(&mut Statement<'_>) -> rusqlite::Result<T>,
) -> rusqlite::Result<T> {
    let persistent = sql.persistent();
    let (text, args) = sql.render(true);
    let (mut cached, mut once);
    let statement: &mut Statement<'_> = if persistent {
        cached = conn.prepare_cached(&text)?;
        &mut cached
    } else {
        once = conn.prepare(&text)?;
        &mut once
    };
    for (i, arg) in args.iter().enumerate() {
        statement.raw_bind_parameter(i + 1, arg)?;
    }
    step(statement)
}

fn value(column: ValueRef<'_>) -> Value {
    match column {
        ValueRef::Null => Value::Null(NullKind::Text),
        ValueRef::Integer(v) => Value::Int(v),
        ValueRef::Real(v) => Value::Real(v),
        // Text that is not UTF-8 stays bytes: reading it as a string is then an error.
        ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => Value::Text(text.to_string()),
            Err(_) => Value::Blob(bytes.to_vec()),
        },
        ValueRef::Blob(bytes) => Value::Blob(bytes.to_vec()),
    }
}

impl ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null(_) => ValueRef::Null,
            Value::Int(v) => ValueRef::Integer(*v),
            Value::Real(v) => ValueRef::Real(*v),
            Value::Bool(v) => ValueRef::Integer(i64::from(*v)),
            Value::Text(v) => ValueRef::Text(v.as_bytes()),
            Value::Blob(v) => ValueRef::Blob(v),
        }))
    }
}

/// The write connection held by one caller (see [`LiteWriter::session`]).
pub(crate) struct Session {
    sender: OwnedMutexGuard<mpsc::Sender<Command>>,
}

impl Session {
    /// Starts a transaction; it ends with [`commit`](Self::commit), or rolls back when the
    /// session is dropped without one.
    pub(crate) async fn begin(&mut self) -> StoreResult<()> {
        self.run(vec![Sql::new("BEGIN IMMEDIATE")]).await.map(drop)
    }

    pub(crate) async fn commit(mut self) -> StoreResult<()> {
        self.run(vec![Sql::new("COMMIT")]).await.map(drop)
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<StoreResult<T>>) -> Command,
    ) -> StoreResult<T> {
        let closed = || StoreError::Unavailable("the store is closed".into());
        let (reply, answer) = oneshot::channel();
        self.sender.send(command(reply)).map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

impl Conn for Session {
    async fn run(&mut self, statements: Vec<Sql>) -> StoreResult<u64> {
        self.ask(|reply| Command::Run(statements, reply)).await
    }

    async fn fetch(&mut self, sql: Sql, one: bool) -> StoreResult<Vec<Row>> {
        self.ask(|reply| Command::Fetch(sql, one, reply)).await
    }
}

impl Drop for Session {
    /// A transaction still open (an error or a cancelled caller on the way) is rolled back
    /// before the next session's first statement: the writer's thread takes commands in order.
    fn drop(&mut self) {
        let _ = self.sender.send(Command::Rollback);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::get;

    fn writer(dir: &tempfile::TempDir) -> LiteWriter {
        LiteWriter::open(&dir.path().join("lite.db")).expect("open")
    }

    async fn count(session: &mut Session) -> i64 {
        let row = Sql::new("SELECT COUNT(*) FROM t")
            .fetch_optional(session)
            .await
            .expect("count")
            .expect("a row");
        get(&row, 0).expect("an integer")
    }

    async fn insert(session: &mut Session, i: i64) {
        let mut sql = Sql::new("INSERT INTO t (i) VALUES (");
        sql.bind(i).push(")");
        sql.execute(session).await.expect("insert");
    }

    /// A writer of a new database with one table `t`, and the folder that holds it.
    async fn with_table() -> (tempfile::TempDir, LiteWriter) {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = writer(&dir);
        let mut session = writer.session().await.expect("session");
        Sql::new("CREATE TABLE t (i INTEGER, r REAL, b INTEGER, s TEXT UNIQUE, x BLOB)")
            .execute(&mut session)
            .await
            .expect("create");
        drop(session);
        (dir, writer)
    }

    #[tokio::test]
    async fn values_are_written_and_read_back_as_bound() {
        let (_dir, writer) = with_table().await;
        let mut session = writer.session().await.expect("session");
        let mut insert = Sql::new("INSERT INTO t VALUES (");
        insert
            .bind(-7_i64)
            .push(", ")
            .bind(2.5_f64)
            .push(", ")
            .bind(true)
            .push(", ")
            .bind("é ok")
            .push(", ")
            .bind(vec![0_u8, 255])
            .push("), (")
            .bind(None::<i64>)
            .push(", ")
            .bind(None::<f64>)
            .push(", ")
            .bind(None::<bool>)
            .push(", ")
            .bind(None::<String>)
            .push(", ")
            .bind(None::<Vec<u8>>)
            .push(")");
        assert_eq!(insert.execute(&mut session).await.expect("insert"), 2);
        let rows = Sql::new("SELECT i, r, b, s, x FROM t ORDER BY i IS NULL")
            .fetch_all(&mut session)
            .await
            .expect("select");
        assert_eq!(rows.len(), 2);
        assert_eq!(get::<i64>(&rows[0], 0).unwrap(), -7);
        assert_eq!(get::<f64>(&rows[0], 1).unwrap(), 2.5);
        assert!(get::<bool>(&rows[0], 2).unwrap());
        assert_eq!(get::<String>(&rows[0], 3).unwrap(), "é ok");
        assert_eq!(get::<Vec<u8>>(&rows[0], 4).unwrap(), vec![0, 255]);
        assert_eq!(get::<Option<i64>>(&rows[1], 0).unwrap(), None);
        assert_eq!(get::<Option<String>>(&rows[1], 3).unwrap(), None);
        // A type that does not match is an error naming the column, not a panic.
        let error = get::<i64>(&rows[0], 3).expect_err("text as an integer");
        assert!(error.to_string().contains("column 3"), "{error}");
        assert!(get::<i64>(&rows[0], 9).is_err());
    }

    #[tokio::test]
    async fn a_session_dropped_inside_a_transaction_rolls_it_back() {
        let (_dir, writer) = with_table().await;
        {
            let mut session = writer.session().await.expect("session");
            session.begin().await.expect("begin");
            insert(&mut session, 1).await;
            assert_eq!(count(&mut session).await, 1, "seen inside the transaction");
        }
        let mut session = writer.session().await.expect("session");
        assert_eq!(count(&mut session).await, 0);
        // The writer is free for the next transaction.
        session.begin().await.expect("begin again");
        insert(&mut session, 2).await;
        session.commit().await.expect("commit");
        assert_eq!(
            count(&mut writer.session().await.expect("session")).await,
            1
        );
    }

    #[tokio::test]
    async fn a_failing_statement_stops_its_batch_and_says_why() {
        let (_dir, writer) = with_table().await;
        let mut session = writer.session().await.expect("session");
        session.begin().await.expect("begin");
        let statements = [
            "INSERT INTO t (s) VALUES ('a')",
            "INSERT INTO t (s) VALUES ('a')",
            "INSERT INTO t (s) VALUES ('b')",
        ]
        .map(Sql::new)
        .into();
        let error = session.run(statements).await.expect_err("a duplicate");
        assert!(
            matches!(&error, StoreError::Database(m) if m.contains("UNIQUE")),
            "{error:?}"
        );
        assert_eq!(
            count(&mut session).await,
            1,
            "the third statement did not run"
        );
        drop(session);
        assert_eq!(
            count(&mut writer.session().await.expect("session")).await,
            0
        );
    }

    #[tokio::test]
    async fn a_write_that_waits_too_long_for_the_writer_fails_as_unavailable() {
        let (_dir, writer) = with_table().await;
        let writer = LiteWriter {
            wait: std::time::Duration::from_millis(50),
            ..writer
        };
        let held = writer.session().await.expect("session");
        match writer.session().await {
            Err(StoreError::Unavailable(message)) => assert!(message.contains("busy"), "{message}"),
            Err(other) => panic!("unexpected {other:?}"),
            Ok(_) => panic!("two sessions at once"),
        }
        drop(held);
        let mut session = writer.session().await.expect("free again");
        assert_eq!(count(&mut session).await, 0);
    }

    #[tokio::test]
    async fn sessions_take_turns() {
        let (_dir, writer) = with_table().await;
        let mut first = writer.session().await.expect("session");
        first.begin().await.expect("begin");
        let second = {
            let writer = writer.clone();
            tokio::spawn(async move {
                let mut session = writer.session().await.expect("session");
                session.begin().await.expect("begin");
                insert(&mut session, 2).await;
                session.commit().await.expect("commit");
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!second.is_finished(), "the second waits for the first");
        insert(&mut first, 1).await;
        first.commit().await.expect("commit");
        second.await.expect("second");
        assert_eq!(
            count(&mut writer.session().await.expect("session")).await,
            2
        );
    }

    #[tokio::test]
    async fn a_closed_writer_refuses_writes_and_leaves_no_log() {
        let (dir, writer) = with_table().await;
        writer.close().await;
        let mut session = writer.session().await.expect("session");
        match Sql::new("INSERT INTO t (i) VALUES (1)")
            .execute(&mut session)
            .await
        {
            Err(StoreError::Unavailable(message)) => assert!(message.contains("closed")),
            other => panic!("unexpected {other:?}"),
        }
        let log = dir.path().join("lite.db-wal");
        assert!(
            !log.exists() || std::fs::metadata(&log).expect("log").len() == 0,
            "the log was folded in"
        );
    }

    #[tokio::test]
    async fn a_new_database_gets_large_pages_and_the_write_ahead_log() {
        let dir = tempfile::tempdir().expect("tempdir");
        let writer = writer(&dir);
        let mut session = writer.session().await.expect("session");
        for (pragma, expected) in [("page_size", "16384"), ("journal_mode", "wal")] {
            let row = Sql::new(&format!("PRAGMA {pragma}"))
                .fetch_optional(&mut session)
                .await
                .expect("pragma")
                .expect("a row");
            let value = match &row {
                Row::Values(values) => match &values[0] {
                    Value::Int(v) => v.to_string(),
                    Value::Text(v) => v.clone(),
                    other => format!("{other:?}"),
                },
                Row::Any(_) => unreachable!("the writer's rows are values"),
            };
            assert_eq!(value, expected, "{pragma}");
        }
    }
}
