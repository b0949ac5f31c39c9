//! The SQL plumbing shared by every store operation: the dialect switch, a statement builder
//! with numbered placeholders, and multi-row inserts that stay under the bind limit.

use crate::StoreError;
use sqlx::AnyConnection;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, Arguments, AssertSqlSafe, Encode, Type};

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
    args: AnyArguments,
    /// Whether the connection keeps the prepared statement for the next use of the same text
    /// (see [`Sql::reusable`]).
    reusable: bool,
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
            args: AnyArguments::default(),
            reusable: false,
        }
    }

    /// Keeps the prepared statement for the next statement with the same text, however many
    /// placeholders it has: for the full-size chunks of bulk writes and lookups, which repeat.
    pub(crate) fn reusable(&mut self) -> &mut Self {
        self.reusable = true;
        self
    }

    fn persistent(&self) -> bool {
        self.reusable || self.placeholders.len() <= CACHED_PLACEHOLDERS
    }

    fn render(self, conn: &AnyConnection) -> (String, AnyArguments) {
        if self.placeholders.is_empty() {
            return (self.text, self.args);
        }
        let sqlite = conn.backend_name().eq_ignore_ascii_case("sqlite");
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
    pub(crate) fn bind<'a, T: Encode<'a, Any> + Type<Any> + 'a>(&mut self, value: T) -> &mut Self {
        self.placeholders.push(self.text.len());
        // Encoding into Any's buffer only fails for types Any cannot carry; we bind none.
        if let Err(error) = self.args.add(value) {
            tracing::error!(%error, "binding a statement argument failed");
        }
        self
    }

    /// Appends `(p1, p2, …)` binding each value: for `IN` lists.
    pub(crate) fn bind_list<'a, T, I>(&mut self, values: I) -> &mut Self
    where
        T: Encode<'a, Any> + Type<Any> + 'a,
        I: IntoIterator<Item = T>,
    {
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

    pub(crate) async fn execute(self, conn: &mut AnyConnection) -> Result<u64, StoreError> {
        let persistent = self.persistent();
        let (text, args) = self.render(conn);
        let result = sqlx::query_with(AssertSqlSafe(text), args)
            .persistent(persistent)
            .execute(conn)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected())
    }

    pub(crate) async fn fetch_all(
        self,
        conn: &mut AnyConnection,
    ) -> Result<Vec<AnyRow>, StoreError> {
        let persistent = self.persistent();
        let (text, args) = self.render(conn);
        sqlx::query_with(AssertSqlSafe(text), args)
            .persistent(persistent)
            .fetch_all(conn)
            .await
            .map_err(db_error)
    }

    pub(crate) async fn fetch_optional(
        self,
        conn: &mut AnyConnection,
    ) -> Result<Option<AnyRow>, StoreError> {
        let persistent = self.persistent();
        let (text, args) = self.render(conn);
        sqlx::query_with(AssertSqlSafe(text), args)
            .persistent(persistent)
            .fetch_optional(conn)
            .await
            .map_err(db_error)
    }
}

/// Runs statements built beforehand, in order.
pub(crate) async fn run_statements(
    conn: &mut AnyConnection,
    statements: Vec<Sql>,
) -> Result<(), StoreError> {
    for sql in statements {
        sql.execute(conn).await?;
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
    for (chunk, full) in owned_chunks(rows, per_statement) {
        let mut sql = Sql::new(head);
        sql.push(" VALUES ");
        for (i, row) in chunk.into_iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            bind_row(&mut sql, row);
            sql.push(")");
        }
        sql.push(tail);
        if full {
            sql.reusable();
        }
        statements.push(sql);
    }
    statements
}

/// `rows` in chunks of `size` (the last one shorter), each with whether it is full.
pub(crate) fn owned_chunks<R>(rows: Vec<R>, size: usize) -> impl Iterator<Item = (Vec<R>, bool)> {
    let size = size.max(1);
    let mut rows = rows.into_iter().peekable();
    std::iter::from_fn(move || {
        rows.peek()?;
        let chunk: Vec<R> = rows.by_ref().take(size).collect();
        let full = chunk.len() == size;
        Some((chunk, full))
    })
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

/// Reads a column, turning a type mismatch into a store error instead of a panic.
pub(crate) fn get<'r, T>(row: &'r AnyRow, index: usize) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Any> + Type<Any>,
{
    use sqlx::Row;
    row.try_get(index)
        .map_err(|e| StoreError::Database(format!("reading column {index}: {e}")))
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

impl InsertRow for (i64, &str, &str, &str) {
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
                let head = format!("INSERT INTO {table} ({}) VALUES ", names.join(", "));
                let per_statement = (backend.max_binds() / columns.len().max(1)).max(1);
                for (chunk, full) in owned_chunks(rows, per_statement) {
                    let mut sql = Sql::new(&head);
                    for (i, row) in chunk.into_iter().enumerate() {
                        sql.push(if i == 0 { "(" } else { ", (" });
                        row.bind_columns(&mut sql);
                        sql.push(")");
                    }
                    if full {
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

    pub(crate) async fn insert(self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        run_statements(conn, self.0).await
    }
}

/// Inserts many small rows (see [`EncodedRows`]).
pub(crate) async fn insert_many<R: InsertRow>(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
    columns: &[(&str, &str)],
    rows: Vec<R>,
) -> Result<(), StoreError> {
    EncodedRows::encode(backend, table, columns, rows)?
        .insert(conn)
        .await
}
