//! Filtered, ordered, paged entity queries and facets, all answered from the `search` table
//! (Backstage's field index): one `IN (SELECT entity_id FROM search …)` per filter condition.

use crate::sql::{Backend, Sql, get};
use crate::*;
use paved_model::filter::EntityFilter;
use sqlx::AnyConnection;
use std::collections::BTreeMap;

/// Appends ` AND (…)` restricting `e` (the entities table) to entities matching `filter`.
fn push_filter(sql: &mut Sql, filter: &EntityFilter) {
    if filter.any_of.is_empty() {
        return;
    }
    sql.push(" AND (");
    for (i, set) in filter.any_of.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push("(");
        if set.all_of.is_empty() {
            sql.push("1 = 1)");
            continue;
        }
        // One id list per condition, intersected inside the index: the database never walks
        // the entities of a broad condition (kind=component) to check a narrow one.
        sql.push("e.id IN (");
        // SQLite builds its temporary set from the left-most list and probes it with the
        // others: start from the narrow conditions. `kind`, `apiVersion`, the namespace and
        // bare existence checks match a large share of the catalog, so they go last.
        let mut conditions: Vec<_> = set.all_of.iter().collect();
        conditions.sort_by_key(|c| {
            let broad_key = matches!(
                c.key.as_str(),
                "kind" | "apiversion" | "metadata.namespace" | "spec.lifecycle" | "spec.type"
            );
            (c.values.is_none(), broad_key)
        });
        for (j, condition) in conditions.into_iter().enumerate() {
            if j > 0 {
                sql.push(" INTERSECT ");
            }
            sql.push("SELECT entity_id FROM search WHERE key = ");
            sql.bind(condition.key.to_lowercase());
            match &condition.values {
                None => {}
                Some(values) if values.is_empty() => {
                    sql.push(" AND 1 = 0");
                }
                Some(values) => {
                    sql.push(" AND value IN ");
                    sql.bind_list(values.iter().map(|v| v.to_lowercase()));
                }
            }
        }
        sql.push("))");
    }
    sql.push(")");
}

/// Appends ` AND …` restricting `e` to entities with a value containing the term.
fn push_full_text(sql: &mut Sql, full_text: &FullTextFilter) {
    let term = full_text.term.trim().to_lowercase();
    if term.is_empty() {
        return;
    }
    let escaped = term
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    sql.push(" AND e.id IN (SELECT entity_id FROM search WHERE value LIKE ");
    sql.bind(format!("%{escaped}%")).push(" ESCAPE '\\'");
    if !full_text.fields.is_empty() {
        sql.push(" AND key IN ");
        sql.bind_list(full_text.fields.iter().map(|f| f.to_lowercase()));
    }
    sql.push(")");
}

/// Appends ` AND …` restricting `e` to the listed entities. The list travels as one JSON
/// array parameter, however long it is.
fn push_refs(sql: &mut Sql, backend: Backend, refs: &[EntityRef]) {
    let refs: Vec<String> = refs.iter().map(ToString::to_string).collect();
    // A list of strings always encodes.
    let json = serde_json::to_string(&refs).unwrap_or_else(|_| "[]".into());
    sql.push(" AND e.entity_ref IN (SELECT value FROM ");
    match backend {
        Backend::Sqlite => sql.push("json_each(").bind(json).push(")"),
        Backend::Postgres => sql
            .push("json_array_elements_text(CAST(")
            .bind(json)
            .push(" AS json))"),
    };
    sql.push(")");
}

fn push_where(sql: &mut Sql, backend: Backend, query: &EntityQuery) {
    sql.push(" WHERE e.etag IS NOT NULL");
    if let Some(filter) = &query.filter {
        push_filter(sql, filter);
    }
    if let Some(full_text) = &query.full_text {
        push_full_text(sql, full_text);
    }
    if let Some(refs) = &query.refs {
        push_refs(sql, backend, refs);
    }
}

pub(crate) async fn query_entities(
    conn: &mut AnyConnection,
    backend: Backend,
    query: &EntityQuery,
) -> StoreResult<EntityPage> {
    let collate = backend.collate();
    // (expression, ascending) per order column; entity ref when none is asked for.
    let mut order: Vec<(String, bool)> = Vec::new();
    // The page is chosen on ids and order values only; the entities' JSON is joined to the
    // chosen rows afterwards, so sorting never carries large texts.
    let mut sql = Sql::new("SELECT p.id, ej.final_json");
    let columns = query.order.len().max(1);
    for i in 0..columns {
        sql.push(&format!(", p.o{i}"));
    }
    sql.push(" FROM (SELECT q.id");
    let mut inner = String::new();
    let mut order_keys: Vec<String> = Vec::new();
    if query.order.is_empty() {
        order.push(("q.o0".into(), true));
        inner.push_str(&format!(", e.entity_ref{collate} AS o0"));
    } else {
        for (i, field) in query.order.iter().enumerate() {
            order.push((format!("q.o{i}"), !field.descending));
            order_keys.push(field.field.to_lowercase());
        }
    }
    for i in 0..order.len() {
        sql.push(&format!(", q.o{i}"));
    }
    sql.push(" FROM (SELECT e.id");
    if order_keys.is_empty() {
        sql.push(&inner);
    }
    for (i, key) in order_keys.iter().enumerate() {
        let aggregate = if order[i].1 { "MIN" } else { "MAX" };
        sql.push(&format!(
            ", (SELECT {aggregate}(s.value{collate}) FROM search s WHERE s.entity_id = e.id AND s.key = "
        ));
        sql.bind(key.as_str());
        sql.push(&format!(") AS o{i}"));
    }
    sql.push(" FROM entities e");
    push_where(&mut sql, backend, query);
    sql.push(") q WHERE 1 = 1");

    let backward = query.keyset.as_ref().is_some_and(|k| k.backward);
    if let Some(keyset) = &query.keyset {
        if keyset.values.len() != order.len() {
            return Err(StoreError::Invalid(
                "the cursor does not match the requested order".into(),
            ));
        }
        sql.push(" AND ");
        let mut closing = 0;
        for ((column, ascending), value) in order.iter().zip(&keyset.values) {
            sql.push("(");
            match (value, backward) {
                (Some(value), false) => {
                    let op = if *ascending { ">" } else { "<" };
                    sql.push(&format!("{column} {op} ")).bind(value.as_str());
                    sql.push(&format!(" OR {column} IS NULL"));
                }
                (Some(value), true) => {
                    let op = if *ascending { "<" } else { ">" };
                    sql.push(&format!("{column} {op} ")).bind(value.as_str());
                }
                (None, false) => {
                    sql.push("1 = 0");
                }
                (None, true) => {
                    sql.push(&format!("{column} IS NOT NULL"));
                }
            }
            sql.push(" OR (");
            match value {
                Some(value) => {
                    sql.push(&format!("{column} = ")).bind(value.as_str());
                }
                None => {
                    sql.push(&format!("{column} IS NULL"));
                }
            }
            sql.push(" AND ");
            closing += 2;
        }
        sql.push(if backward { "q.id < " } else { "q.id > " })
            .bind(keyset.id);
        for _ in 0..closing {
            sql.push(")");
        }
    }

    sql.push(" ORDER BY ");
    for (column, ascending) in &order {
        // Backward pages read the order reversed, then flip the rows back.
        let ascending = *ascending != backward;
        let nulls = if backward { "FIRST" } else { "LAST" };
        let direction = if ascending { "ASC" } else { "DESC" };
        sql.push(&format!("{column} {direction} NULLS {nulls}, "));
    }
    sql.push(if backward { "q.id DESC" } else { "q.id ASC" });
    if let Some(limit) = query.limit {
        sql.push(" LIMIT ")
            .bind(i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX));
    } else if query.offset.is_some() && backend == Backend::Sqlite {
        sql.push(" LIMIT -1");
    }
    if let Some(offset) = query.offset {
        sql.push(" OFFSET ")
            .bind(i64::try_from(offset).unwrap_or(i64::MAX));
    }
    sql.push(") p JOIN entities ej ON ej.id = p.id ORDER BY ");
    for (i, (_, ascending)) in order.iter().enumerate() {
        let ascending = *ascending != backward;
        let nulls = if backward { "FIRST" } else { "LAST" };
        let direction = if ascending { "ASC" } else { "DESC" };
        sql.push(&format!("p.o{i} {direction} NULLS {nulls}, "));
    }
    sql.push(if backward { "p.id DESC" } else { "p.id ASC" });

    let rows = sql.fetch_all(conn).await?;
    let columns = order.len();
    let mut page: Vec<(i64, String, Vec<Option<String>>)> = Vec::with_capacity(rows.len());
    for row in &rows {
        let mut values = Vec::with_capacity(columns);
        for i in 0..columns {
            values.push(get::<Option<String>>(row, 2 + i)?);
        }
        page.push((get(row, 0)?, get(row, 1)?, values));
    }
    let more = query.limit.is_some_and(|limit| page.len() > limit);
    if let Some(limit) = query.limit {
        page.truncate(limit);
    }
    if backward {
        page.reverse();
    }
    let keyset_of = |item: &(i64, String, Vec<Option<String>>), backward: bool| Keyset {
        values: item.2.clone(),
        id: item.0,
        backward,
    };
    let (next, prev) = if backward {
        (
            page.last().map(|last| keyset_of(last, false)),
            if more {
                page.first().map(|f| keyset_of(f, true))
            } else {
                None
            },
        )
    } else {
        let next = if more {
            page.last().map(|last| keyset_of(last, false))
        } else {
            None
        };
        let prev = if query.keyset.is_some() {
            page.first().map(|f| keyset_of(f, true))
        } else {
            None
        };
        (next, prev)
    };

    let mut count = Sql::new("SELECT COUNT(*) FROM entities e");
    push_where(&mut count, backend, query);
    let total = match count.fetch_optional(conn).await? {
        Some(row) => get::<i64>(&row, 0)?.max(0) as u64,
        None => 0,
    };
    Ok(EntityPage {
        items: page
            .into_iter()
            .map(|(_, json, _)| RawEntity { json })
            .collect(),
        total_items: total,
        next,
        prev,
    })
}

pub(crate) async fn facets(
    conn: &mut AnyConnection,
    _backend: Backend,
    facets: &[String],
    filter: Option<&EntityFilter>,
) -> StoreResult<BTreeMap<String, Vec<FacetCount>>> {
    let mut result: BTreeMap<String, Vec<FacetCount>> =
        facets.iter().map(|f| (f.clone(), Vec::new())).collect();
    if facets.is_empty() {
        return Ok(result);
    }
    // Grouped in the index's own order (no sort); rows whose original spellings differ only
    // where `value` is equal are merged below.
    let mut sql = Sql::new(
        "SELECT s.key, COALESCE(s.original_value, s.value), COUNT(*) FROM search s \
         WHERE s.value IS NOT NULL AND s.key IN ",
    );
    sql.bind_list(facets.iter().map(|f| f.to_lowercase()));
    if let Some(filter) = filter {
        sql.push(" AND s.entity_id IN (SELECT e.id FROM entities e WHERE e.etag IS NOT NULL");
        push_filter(&mut sql, filter);
        sql.push(")");
    }
    sql.push(" GROUP BY s.key, s.value, s.original_value");
    let mut merged: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for row in sql.fetch_all(conn).await? {
        *merged
            .entry(get(&row, 0)?)
            .or_default()
            .entry(get(&row, 1)?)
            .or_default() += get::<i64>(&row, 2)?.max(0) as u64;
    }
    let by_key: BTreeMap<String, Vec<FacetCount>> = merged
        .into_iter()
        .map(|(key, values)| {
            let counts = values
                .into_iter()
                .map(|(value, count)| FacetCount { value, count })
                .collect();
            (key, counts)
        })
        .collect();
    for (facet, counts) in result.iter_mut() {
        if let Some(found) = by_key.get(&facet.to_lowercase()) {
            *counts = found.clone();
            counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        }
    }
    Ok(result)
}
