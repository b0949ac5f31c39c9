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
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Sql {
            text: text.to_string(),
            placeholders: Vec::new(),
            args: AnyArguments::default(),
        }
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
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.text.push_str(", ");
            }
            self.bind(value);
        }
        self.text.push(')');
        self
    }

    pub(crate) async fn execute(self, conn: &mut AnyConnection) -> Result<u64, StoreError> {
        let (text, args) = self.render(conn);
        let result = sqlx::query_with(AssertSqlSafe(text), args)
            .execute(conn)
            .await
            .map_err(db_error)?;
        Ok(result.rows_affected())
    }

    pub(crate) async fn fetch_all(
        self,
        conn: &mut AnyConnection,
    ) -> Result<Vec<AnyRow>, StoreError> {
        let (text, args) = self.render(conn);
        sqlx::query_with(AssertSqlSafe(text), args)
            .fetch_all(conn)
            .await
            .map_err(db_error)
    }

    pub(crate) async fn fetch_optional(
        self,
        conn: &mut AnyConnection,
    ) -> Result<Option<AnyRow>, StoreError> {
        let (text, args) = self.render(conn);
        sqlx::query_with(AssertSqlSafe(text), args)
            .fetch_optional(conn)
            .await
            .map_err(db_error)
    }
}

/// Inserts `rows` with multi-row `INSERT … VALUES (…), (…) [tail]` statements, as many rows
/// per statement as the bind limit allows: one round trip per few thousand rows instead of one
/// per row. `bind_row` binds exactly `columns` values, separated by `push(", ")`. Returns what
/// a `RETURNING` tail yields. `head` may also open an `UPDATE … FROM (` whose `tail` closes it.
pub(crate) async fn insert_rows<R>(
    conn: &mut AnyConnection,
    backend: Backend,
    head: &str,
    tail: &str,
    columns: usize,
    rows: &[R],
    bind_row: impl Fn(&mut Sql, &R),
) -> Result<Vec<AnyRow>, StoreError> {
    let per_statement = (backend.max_binds() / columns).max(1);
    let mut returned = Vec::new();
    for chunk in rows.chunks(per_statement) {
        let mut sql = Sql::new(head);
        sql.push(" VALUES ");
        for (i, row) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            bind_row(&mut sql, row);
            sql.push(")");
        }
        sql.push(tail);
        returned.extend(sql.fetch_all(conn).await?);
    }
    Ok(returned)
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

/// Rows encoded for [`insert_json`], one JSON array of arrays per statement: encoding may run
/// on another thread than the insert.
pub(crate) struct JsonRows(Vec<String>);

impl JsonRows {
    pub(crate) fn encode<R: serde::Serialize>(table: &str, rows: &[R]) -> Result<Self, StoreError> {
        const ROWS_PER_STATEMENT: usize = 20_000;
        rows.chunks(ROWS_PER_STATEMENT)
            .map(|chunk| {
                serde_json::to_string(chunk)
                    .map_err(|e| StoreError::Invalid(format!("encoding rows for {table}: {e}")))
            })
            .collect::<Result<Vec<String>, StoreError>>()
            .map(JsonRows)
    }
}

/// Inserts many small rows with one bound parameter per statement: the rows travel as one
/// JSON array of arrays, unpacked by the database (`json_each` on SQLite,
/// `json_array_elements` on PostgreSQL). Binding millions of values one by one costs more
/// than the insert itself. `columns` names the target columns with their PostgreSQL types,
/// `tail` may hold `ON CONFLICT … RETURNING …`; what it returns is returned.
pub(crate) async fn insert_json<R: serde::Serialize>(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
    columns: &[(&str, &str)],
    tail: &str,
    rows: &[R],
) -> Result<Vec<AnyRow>, StoreError> {
    let rows = JsonRows::encode(table, rows)?;
    insert_json_rows(conn, backend, table, columns, tail, rows).await
}

/// [`insert_json`] of rows encoded beforehand.
pub(crate) async fn insert_json_rows(
    conn: &mut AnyConnection,
    backend: Backend,
    table: &str,
    columns: &[(&str, &str)],
    tail: &str,
    rows: JsonRows,
) -> Result<Vec<AnyRow>, StoreError> {
    let names: Vec<&str> = columns.iter().map(|(name, _)| *name).collect();
    let mut head = format!("INSERT INTO {table} ({}) SELECT ", names.join(", "));
    for (i, (_, pg_type)) in columns.iter().enumerate() {
        if i > 0 {
            head.push_str(", ");
        }
        match backend {
            Backend::Sqlite => head.push_str(&format!("j.value ->> {i}")),
            Backend::Postgres => head.push_str(&format!("(j.value ->> {i})::{pg_type}")),
        }
    }
    head.push_str(match backend {
        Backend::Sqlite => " FROM json_each(",
        Backend::Postgres => " FROM json_array_elements(",
    });
    // `WHERE true` keeps SQLite from reading a following `ON CONFLICT` as a join constraint.
    let close = match backend {
        Backend::Sqlite => ") AS j WHERE true",
        Backend::Postgres => "::json) AS j WHERE true",
    };
    let mut returned = Vec::new();
    for json in rows.0 {
        let mut sql = Sql::new(&head);
        sql.bind(json).push(close).push(tail);
        returned.extend(sql.fetch_all(conn).await?);
    }
    Ok(returned)
}
