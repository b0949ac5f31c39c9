//! The SQL plumbing shared by every store operation: the dialect switch, a statement builder
//! with numbered placeholders, and multi-row inserts that stay under the bind limit.

use crate::{StoreError, StoreResult};
use sqlx::AnyConnection;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Arguments, AssertSqlSafe, Type};

/// Which database the statements run on. Both accept `$N` placeholders, `ON CONFLICT`,
/// `RETURNING` and `NULLS LAST`, so nearly all SQL text is shared; the few differences are
/// methods here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// `verb` (`INSERT`, `UPDATE`) for a statement inside a write transaction, which any error
    /// rolls back whole: on SQLite `verb OR FAIL`, which spares the statement an undo journal
    /// of its own (a copy of every page it changes) when each of its constraints can fail it
    /// alone — no immediate foreign key. PostgreSQL keeps no such journal.
    pub(crate) fn or_fail(self, verb: &str) -> String {
        match self {
            Backend::Sqlite => format!("{verb} OR FAIL"),
            Backend::Postgres => verb.to_string(),
        }
    }

    /// Bind parameters per statement: SQLite allows 32 766, PostgreSQL 65 535. Chunks stay well
    /// below both so a statement's text stays small enough to cache.
    pub(crate) fn max_binds(self) -> usize {
        match self {
            Backend::Sqlite => 8_000,
            Backend::Postgres => 16_000,
        }
    }

    /// Text comparisons and ordering in byte order on both backends, so paging and ordering
    /// agree whatever collation the PostgreSQL database was created with.
    pub(crate) fn collate(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " COLLATE \"C\"",
        }
    }
}

/// A statement under construction: text plus its arguments. Placeholders are written when the
/// statement runs: `$N` for PostgreSQL, `?` for SQLite — SQLite looks named parameters (`$N`
/// included) up by a linear scan, which makes a statement with thousands of them quadratic.
pub(crate) struct Sql {
    text: String,
    /// Byte offsets in `text` where placeholders go, in binding order.
    placeholders: Vec<usize>,
    args: Vec<Value>,
    /// Whether the connection keeps the prepared statement for the next use of the same text
    /// (see [`Sql::reusable`]).
    reusable: bool,
}

/// A statement argument, or a column value read back. Arguments are kept in this form until
/// the statement runs, so the same statement can go to sqlx (PostgreSQL, SQLite reads) or to
/// the SQLite writer ([`crate::lite`]), which binds them without copying them first.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    /// NULL, with the type PostgreSQL is told for the parameter.
    Null(NullKind),
    Int(i64),
    Real(f64),
    Bool(bool),
    Text(String),
    Blob(Vec<u8>),
}

/// The type of a NULL argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NullKind {
    Int,
    Real,
    Bool,
    Text,
    Blob,
}

/// A Rust value a statement can bind.
pub(crate) trait Bind {
    const KIND: NullKind;
    fn into_value(self) -> Value;
}

macro_rules! bind_as {
    ($kind:ident, $variant:ident, $($ty:ty => $conv:expr),+ $(,)?) => {
        $(impl Bind for $ty {
            const KIND: NullKind = NullKind::$kind;
            fn into_value(self) -> Value {
                let convert: fn($ty) -> _ = $conv;
                Value::$variant(convert(self))
            }
        })+
    };
}

bind_as!(Int, Int, i64 => |v| v, i32 => i64::from, u32 => i64::from);
bind_as!(Real, Real, f64 => |v| v);
bind_as!(Bool, Bool, bool => |v| v);
bind_as!(Text, Text, String => |v| v, &str => str::to_string, &String => String::clone);
bind_as!(Blob, Blob, Vec<u8> => |v| v, &[u8] => <[u8]>::to_vec);

impl<T: Bind> Bind for Option<T> {
    const KIND: NullKind = T::KIND;
    fn into_value(self) -> Value {
        match self {
            Some(value) => value.into_value(),
            None => Value::Null(T::KIND),
        }
    }
}

/// Statements with more placeholders than this are prepared for one use unless marked
/// [`Sql::reusable`]: a multi-row statement's prepared form is hundreds of kilobytes, and
/// each odd-sized last chunk of a bulk write would otherwise stay in the connection's
/// statement cache (a hundred of them were a fifth of the memory of a large ingestion).
const CACHED_PLACEHOLDERS: usize = 64;

/// The `IN` list length of a full chunk: statements with lists of this length are reused.
pub(crate) const IN_CHUNK: usize = 500;

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Sql {
            text: text.to_string(),
            placeholders: Vec::new(),
            args: Vec::new(),
            reusable: false,
        }
    }

    /// Keeps the prepared statement for the next statement with the same text, however many
    /// placeholders it has: for the full-size chunks of bulk writes and lookups, which repeat.
    pub(crate) fn reusable(&mut self) -> &mut Self {
        self.reusable = true;
        self
    }

    pub(crate) fn persistent(&self) -> bool {
        self.reusable || self.placeholders.len() <= CACHED_PLACEHOLDERS
    }

    /// The statement's text with its placeholders written for SQLite (`?`) or PostgreSQL
    /// (`$N`), and its arguments in order.
    pub(crate) fn render(self, sqlite: bool) -> (String, Vec<Value>) {
        if self.placeholders.is_empty() {
            return (self.text, self.args);
        }
        let mut text = String::with_capacity(self.text.len() + 6 * self.placeholders.len());
        let mut from = 0;
        for (i, &at) in self.placeholders.iter().enumerate() {
            text.push_str(&self.text[from..at]);
            if sqlite {
                text.push('?');
            } else {
                text.push('$');
                text.push_str(&(i + 1).to_string());
            }
            from = at;
        }
        text.push_str(&self.text[from..]);
        (text, self.args)
    }

    pub(crate) fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder for `value`.
    pub(crate) fn bind(&mut self, value: impl Bind) -> &mut Self {
        self.placeholders.push(self.text.len());
        self.args.push(value.into_value());
        self
    }

    /// Appends `(p1, p2, …)` binding each value: for `IN` lists.
    pub(crate) fn bind_list<T: Bind>(&mut self, values: impl IntoIterator<Item = T>) -> &mut Self {
        self.text.push('(');
        let mut count = 0;
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(value);
            count += 1;
        }
        self.text.push(')');
        if count == IN_CHUNK {
            self.reusable();
        }
        self
    }

    pub(crate) async fn execute(self, conn: &mut (impl Conn + ?Sized)) -> StoreResult<u64> {
        conn.run(vec![self]).await
    }

    pub(crate) async fn fetch_all(self, conn: &mut (impl Conn + ?Sized)) -> StoreResult<Vec<Row>> {
        conn.fetch(self, false).await
    }

    pub(crate) async fn fetch_optional(
        self,
        conn: &mut (impl Conn + ?Sized),
    ) -> StoreResult<Option<Row>> {
        Ok(conn.fetch(self, true).await?.into_iter().next())
    }
}

/// A connection statements run on: sqlx's (PostgreSQL, SQLite reads, and the transactions
/// and pooled connections over them) or the SQLite writer's.
pub(crate) trait Conn: Send {
    /// Runs statements in order, stopping at the first that fails; returns the rows the last
    /// one changed.
    fn run(&mut self, statements: Vec<Sql>) -> impl Future<Output = StoreResult<u64>> + Send;
    /// The rows of a query; only the first when `one`.
    fn fetch(&mut self, sql: Sql, one: bool) -> impl Future<Output = StoreResult<Vec<Row>>> + Send;
}

impl Conn for AnyConnection {
    async fn run(&mut self, statements: Vec<Sql>) -> StoreResult<u64> {
        let sqlite = self.backend_name().eq_ignore_ascii_case("sqlite");
        let mut changed = 0;
        for sql in statements {
            let persistent = sql.persistent();
            let (text, args) = sql.render(sqlite);
            changed = sqlx::query_with(AssertSqlSafe(text), any_arguments(args))
                .persistent(persistent)
                .execute(&mut *self)
                .await
                .map_err(db_error)?
                .rows_affected();
        }
        Ok(changed)
    }

    async fn fetch(&mut self, sql: Sql, one: bool) -> StoreResult<Vec<Row>> {
        let sqlite = self.backend_name().eq_ignore_ascii_case("sqlite");
        let persistent = sql.persistent();
        let (text, args) = sql.render(sqlite);
        let query =
            sqlx::query_with(AssertSqlSafe(text), any_arguments(args)).persistent(persistent);
        let rows = if one {
            query.fetch_optional(self).await.map(Vec::from_iter)
        } else {
            query.fetch_all(self).await
        };
        Ok(rows.map_err(db_error)?.into_iter().map(Row::Any).collect())
    }
}

/// Connections that are sqlx connections underneath.
macro_rules! conn_through_deref {
    ($($ty:ty),+ $(,)?) => {
        $(impl Conn for $ty {
            fn run(&mut self, statements: Vec<Sql>) -> impl Future<Output = StoreResult<u64>> + Send {
                <AnyConnection as Conn>::run(&mut **self, statements)
            }
            fn fetch(
                &mut self,
                sql: Sql,
                one: bool,
            ) -> impl Future<Output = StoreResult<Vec<Row>>> + Send {
                <AnyConnection as Conn>::fetch(&mut **self, sql, one)
            }
        })+
    };
}

conn_through_deref!(
    sqlx::Transaction<'static, Any>,
    sqlx::pool::PoolConnection<Any>,
    crate::readers::ReadConnection,
);

/// A connection that writes: a transaction or a single connection on PostgreSQL, the SQLite
/// writer's session (see `lite`).
pub(crate) enum Writer {
    Tx(sqlx::Transaction<'static, Any>),
    Pooled(sqlx::pool::PoolConnection<Any>),
    Lite(crate::lite::Session),
}

impl Writer {
    /// Commits the transaction (a connection without one has nothing to commit).
    pub(crate) async fn commit(self) -> StoreResult<()> {
        match self {
            Writer::Tx(tx) => tx.commit().await.map_err(db_error),
            Writer::Pooled(_) => Ok(()),
            Writer::Lite(session) => session.commit().await,
        }
    }
}

impl Conn for Writer {
    async fn run(&mut self, statements: Vec<Sql>) -> StoreResult<u64> {
        match self {
            Writer::Tx(tx) => tx.run(statements).await,
            Writer::Pooled(conn) => conn.run(statements).await,
            Writer::Lite(session) => session.run(statements).await,
        }
    }

    async fn fetch(&mut self, sql: Sql, one: bool) -> StoreResult<Vec<Row>> {
        match self {
            Writer::Tx(tx) => tx.fetch(sql, one).await,
            Writer::Pooled(conn) => conn.fetch(sql, one).await,
            Writer::Lite(session) => session.fetch(sql, one).await,
        }
    }
}

fn any_arguments(values: Vec<Value>) -> AnyArguments {
    let mut args = AnyArguments::default();
    for value in values {
        // Encoding into Any's buffer only fails for types Any cannot carry; these are not.
        let added = match value {
            Value::Null(NullKind::Int) => args.add(None::<i64>),
            Value::Null(NullKind::Real) => args.add(None::<f64>),
            Value::Null(NullKind::Bool) => args.add(None::<bool>),
            Value::Null(NullKind::Text) => args.add(None::<String>),
            Value::Null(NullKind::Blob) => args.add(None::<Vec<u8>>),
            Value::Int(v) => args.add(v),
            Value::Real(v) => args.add(v),
            Value::Bool(v) => args.add(v),
            Value::Text(v) => args.add(v),
            Value::Blob(v) => args.add(v),
        };
        if let Err(error) = added {
            tracing::error!(%error, "binding a statement argument failed");
        }
    }
    args
}

/// A row read back: sqlx's, or the SQLite writer's values.
pub(crate) enum Row {
    Any(AnyRow),
    Values(Vec<Value>),
}

/// A Rust value a column can be read as.
pub(crate) trait Column: Sized + for<'r> sqlx::Decode<'r, Any> + Type<Any> {
    fn from_value(value: &Value) -> Option<Self>;
}

impl Column for i64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Int(v) => Some(*v),
            Value::Bool(v) => Some(i64::from(*v)),
            _ => None,
        }
    }
}

impl Column for f64 {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Real(v) => Some(*v),
            Value::Int(v) => Some(*v as f64),
            _ => None,
        }
    }
}

impl Column for bool {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Bool(v) => Some(*v),
            Value::Int(v) => Some(*v != 0),
            _ => None,
        }
    }
}

impl Column for String {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Text(v) => Some(v.clone()),
            _ => None,
        }
    }
}

impl Column for Vec<u8> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Blob(v) => Some(v.clone()),
            Value::Text(v) => Some(v.clone().into_bytes()),
            _ => None,
        }
    }
}

impl<T: Column> Column for Option<T> {
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Null(_) => Some(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// Reads a column, turning a type mismatch into a store error instead of a panic.
pub(crate) fn get<T: Column>(row: &Row, index: usize) -> StoreResult<T> {
    match row {
        Row::Any(row) => {
            use sqlx::Row;
            row.try_get(index)
                .map_err(|e| StoreError::Database(format!("reading column {index}: {e}")))
        }
        Row::Values(values) => values.get(index).and_then(T::from_value).ok_or_else(|| {
            StoreError::Database(format!(
                "reading column {index}: {} is not a {}",
                values
                    .get(index)
                    .map_or_else(|| "no such column".to_string(), |v| format!("{v:?}")),
                std::any::type_name::<T>()
            ))
        }),
    }
}

/// Runs statements built beforehand, in order.
pub(crate) async fn run_statements(
    conn: &mut (impl Conn + ?Sized),
    statements: Vec<Sql>,
) -> StoreResult<()> {
    if !statements.is_empty() {
        conn.run(statements).await?;
    }
    Ok(())
}

/// Multi-row `INSERT … VALUES (…), (…) [tail]` statements for `rows`, as many rows per
/// statement as the bind limit allows: one round trip per few thousand rows instead of one
/// per row. `bind_row` binds exactly `columns` values, separated by `push(", ")`; it takes
/// each row by value, so owned strings are bound without a copy. `head` may also open an
/// `UPDATE … FROM (` whose `tail` closes it. Built, not run: see [`run_statements`].
pub(crate) fn build_insert_rows<R>(
    backend: Backend,
    head: &str,
    tail: &str,
    columns: usize,
    rows: Vec<R>,
    bind_row: impl Fn(&mut Sql, R),
) -> Vec<Sql> {
    let per_statement = (backend.max_binds() / columns).max(1);
    let mut statements = Vec::new();
    for (chunk, reused) in statement_chunks(backend, rows, per_statement) {
        let mut sql = Sql::new(head);
        sql.push(" VALUES ");
        for (i, row) in chunk.into_iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            bind_row(&mut sql, row);
            sql.push(")");
        }
        sql.push(tail);
        if reused {
            sql.reusable();
        }
        statements.push(sql);
    }
    statements
}

/// `rows` in chunks of `size` (the last one shorter).
pub(crate) fn owned_chunks<R>(rows: Vec<R>, size: usize) -> impl Iterator<Item = Vec<R>> {
    let size = size.max(1);
    let mut rows = rows.into_iter().peekable();
    std::iter::from_fn(move || {
        rows.peek()?;
        Some(rows.by_ref().take(size).collect())
    })
}

/// Fewest rows of a multi-row statement that is kept prepared (see [`statement_chunks`]).
const REUSED_ROWS_MIN: usize = 64;

/// `rows` cut for multi-row statements of at most `most` rows, each with whether its
/// statement is worth keeping prepared. Full chunks first. On SQLite what is left goes in
/// chunks of the powers of two it is made of, down to [`REUSED_ROWS_MIN`], and the rest in
/// one last chunk that is prepared once: every chunk but that last one has a size that recurs
/// (a 1000-entity apply chunk writes 571 + 256 + 128 + 45 entity rows, and the next the
/// same), so preparing a statement of thousands of placeholders is paid once per size, not
/// once per write (that was 0.3 s of a 100k ingestion). On PostgreSQL what is left is one
/// statement planned for one use: cut and kept prepared, a 10k ingestion took 11.4–11.6 s
/// instead of 9.3–10.6 s.
pub(crate) fn statement_chunks<R>(
    backend: Backend,
    rows: Vec<R>,
    most: usize,
) -> impl Iterator<Item = (Vec<R>, bool)> {
    let most = most.max(1);
    let mut left = rows.len();
    let mut rows = rows.into_iter();
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let (size, reused) = if left >= most {
            (most, true)
        } else if left >= REUSED_ROWS_MIN && backend == Backend::Sqlite {
            (1 << left.ilog2(), true)
        } else {
            (left, false)
        };
        left -= size;
        Some((rows.by_ref().take(size).collect(), reused))
    })
}

/// Maps an error of SQLite's own API (the writer, point lookups): busy or locked is
/// `Unavailable` (retry later), the rest `Database`.
pub(crate) fn sqlite_error(error: rusqlite::Error) -> StoreError {
    match error.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            StoreError::Unavailable(error.to_string())
        }
        _ => StoreError::Database(error.to_string()),
    }
}

/// Maps a driver error: connection trouble is `Unavailable` (retry later), the rest `Database`.
pub(crate) fn db_error(error: sqlx::Error) -> StoreError {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(error.to_string())
        }
        sqlx::Error::Tls(_) => StoreError::Unavailable(error.to_string()),
        other => StoreError::Database(other.to_string()),
    }
}

/// A row of many small ones inserted at once (field index, relations, change events): its
/// columns bound in order (by value: owned strings move into the statement), or as one JSON
/// array.
pub(crate) trait InsertRow: serde::Serialize {
    fn bind_columns(self, sql: &mut Sql);
}

/// A row of the field index (`search`).
pub(crate) struct FieldIndexRow {
    pub(crate) entity_id: i64,
    /// The key's number ([`paved_model::search::key_id`]).
    pub(crate) key: i64,
    /// Numbers the rows of one entity.
    pub(crate) seq: i64,
    pub(crate) value: Option<String>,
    pub(crate) original_value: Option<String>,
}

impl serde::Serialize for FieldIndexRow {
    /// As an array in the columns' order, like the tuples of the other tables.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (
            self.entity_id,
            self.key,
            self.seq,
            &self.value,
            &self.original_value,
        )
            .serialize(serializer)
    }
}

impl InsertRow for FieldIndexRow {
    fn bind_columns(self, sql: &mut Sql) {
        sql.bind(self.entity_id)
            .push(", ")
            .bind(self.key)
            .push(", ")
            .bind(self.seq)
            .push(", ")
            .bind(self.value)
            .push(", ")
            .bind(self.original_value);
    }
}

impl InsertRow for (i64, String, String, String) {
    fn bind_columns(self, sql: &mut Sql) {
        sql.bind(self.0)
            .push(", ")
            .bind(self.1)
            .push(", ")
            .bind(self.2)
            .push(", ")
            .bind(self.3);
    }
}

impl InsertRow for (&str, Option<&str>, i64) {
    fn bind_columns(self, sql: &mut Sql) {
        sql.bind(self.0)
            .push(", ")
            .bind(self.1)
            .push(", ")
            .bind(self.2);
    }
}

/// Many small rows made into insert statements, ready to run: building them (binding or
/// encoding every value) may happen on another thread than running them.
///
/// On SQLite they are multi-row `INSERT … VALUES (?, …), …` statements, as many rows as the
/// bind limit allows. On PostgreSQL one JSON array of arrays per 20 000 rows travels as a
/// single parameter and `json_array_elements` unpacks it: there binding values one by one
/// costs more than the insert (and the reverse holds on SQLite, where `json_each` parses
/// each row's array once per column).
///
/// They run inside a write transaction (an ingestion's, a stitch's, a removal's), so they
/// insert [`Backend::or_fail`].
pub(crate) struct EncodedRows(Vec<Sql>);

impl EncodedRows {
    /// `columns` names the target columns with their PostgreSQL types.
    pub(crate) fn encode<R: InsertRow>(
        backend: Backend,
        table: &str,
        columns: &[(&str, &str)],
        rows: Vec<R>,
    ) -> Result<Self, StoreError> {
        let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
        let mut statements = Vec::new();
        match backend {
            Backend::Sqlite => {
                let head = format!(
                    "{} INTO {table} ({}) VALUES ",
                    backend.or_fail("INSERT"),
                    names.join(", ")
                );
                let per_statement = (backend.max_binds() / columns.len().max(1)).max(1);
                for (chunk, reused) in statement_chunks(backend, rows, per_statement) {
                    let mut sql = Sql::new(&head);
                    for (i, row) in chunk.into_iter().enumerate() {
                        sql.push(if i == 0 { "(" } else { ", (" });
                        row.bind_columns(&mut sql);
                        sql.push(")");
                    }
                    if reused {
                        sql.reusable();
                    }
                    statements.push(sql);
                }
            }
            Backend::Postgres => {
                const ROWS_PER_STATEMENT: usize = 20_000;
                let mut head = format!("INSERT INTO {table} ({}) SELECT ", names.join(", "));
                for (i, (_, pg_type)) in columns.iter().enumerate() {
                    if i > 0 {
                        head.push_str(", ");
                    }
                    head.push_str(&format!("(j.value ->> {i})::{pg_type}"));
                }
                head.push_str(" FROM json_array_elements(");
                for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                    let json = serde_json::to_string(chunk).map_err(|e| {
                        StoreError::Invalid(format!("encoding rows for {table}: {e}"))
                    })?;
                    let mut sql = Sql::new(&head);
                    sql.bind(json).push("::json) AS j");
                    statements.push(sql);
                }
            }
        }
        Ok(EncodedRows(statements))
    }

    pub(crate) fn into_statements(self) -> Vec<Sql> {
        self.0
    }

    pub(crate) async fn insert(self, conn: &mut (impl Conn + ?Sized)) -> StoreResult<()> {
        run_statements(conn, self.0).await
    }
}

/// Inserts many small rows (see [`EncodedRows`]).
pub(crate) async fn insert_many<R: InsertRow>(
    conn: &mut (impl Conn + ?Sized),
    backend: Backend,
    table: &str,
    columns: &[(&str, &str)],
    rows: Vec<R>,
) -> Result<(), StoreError> {
    EncodedRows::encode(backend, table, columns, rows)?
        .insert(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(rows: usize, most: usize) -> Vec<(usize, bool)> {
        statement_chunks(Backend::Sqlite, (0..rows).collect::<Vec<_>>(), most)
            .map(|(chunk, reused)| (chunk.len(), reused))
            .collect()
    }

    #[test]
    fn statement_chunks_recur_in_size_and_keep_the_rows_in_order() {
        assert_eq!(
            sizes(1000, 571),
            [(571, true), (256, true), (128, true), (45, false)]
        );
        assert_eq!(sizes(1142, 571), [(571, true), (571, true)]);
        assert_eq!(sizes(64, 571), [(64, true)]);
        assert_eq!(sizes(63, 571), [(63, false)]);
        assert_eq!(sizes(0, 571), []);
        assert_eq!(sizes(3, 1), [(1, true), (1, true), (1, true)]);
        let rows: Vec<usize> = statement_chunks(Backend::Sqlite, (0..777).collect(), 500)
            .flat_map(|(chunk, _)| chunk)
            .collect();
        assert_eq!(rows, (0..777).collect::<Vec<_>>());
    }

    #[test]
    fn on_postgres_the_rest_is_one_statement_planned_once() {
        let sizes: Vec<(usize, bool)> =
            statement_chunks(Backend::Postgres, (0..1000).collect::<Vec<_>>(), 571)
                .map(|(chunk, reused)| (chunk.len(), reused))
                .collect();
        assert_eq!(sizes, [(571, true), (429, false)]);
    }
}
