//! Filtered, ordered, paged entity queries and facets, all answered from the `search` table
//! (Backstage's field index). A filter is planned before it runs: each condition's size is
//! probed with a bounded count, the smallest drives, and the others are checked per candidate
//! (see [`FilterPlan`]).
//!
//! Every query here relies on one invariant of the store: an entity has `search` rows only
//! once it has a final form (`etag` set). Stitching writes both together and nothing clears
//! an etag, so an id found in `search` is a live entity without looking at its row.

use crate::sql::{Backend, Sql, get};
use crate::*;
use paved_model::filter::{EntityFilter, FilterCondition};
use sqlx::AnyConnection;
use std::collections::BTreeMap;

/// A condition with fewer index rows than this is narrow: its entities are collected, ordered
/// and counted in one statement. At or above it, a default-ordered page walks the entities in
/// ref order and stops after one page. At 100k entities the two cost the same near 1 500
/// rows (a page of 20 walks about 2M / rows entities); the probe itself reads at most this
/// many index entries per condition.
const NARROW_ROWS: i64 = 1000;

/// Size probes per statement: below both databases' limits on result columns.
const PROBES_PER_STATEMENT: usize = 400;

/// Sets per `UNION` chain (SQLite allows 500 terms in one compound statement).
const UNION_TERMS: usize = 200;

/// How a filter runs, decided from bounded counts of its conditions.
enum FilterPlan<'a> {
    /// No filter, or a set without conditions: every entity matches.
    Everything,
    /// Every set has a condition with an empty value list: nothing matches.
    Nothing,
    /// The sets that can match, each with its driving condition.
    Sets {
        sets: Vec<PlannedSet<'a>>,
        /// Every driving condition has fewer than [`NARROW_ROWS`] index rows.
        narrow: bool,
    },
}

/// One AND-set of a filter: the entities of its smallest condition (`driver`), each checked
/// for the `others` with a correlated `EXISTS` on the `(entity_id, key, value)` index.
struct PlannedSet<'a> {
    driver: &'a FilterCondition,
    others: Vec<&'a FilterCondition>,
}

/// Keys that match a large share of any catalog: among conditions whose probes both reach
/// [`NARROW_ROWS`], another key drives.
fn broad_key(key: &str) -> bool {
    matches!(
        key,
        "kind" | "apiversion" | "metadata.namespace" | "spec.lifecycle" | "spec.type"
    )
}

fn is_broad(condition: &FilterCondition) -> bool {
    broad_key(&condition.key.to_lowercase())
}

/// Probes the size of the conditions at `positions` (set, condition) of `sets`, each count
/// stopping at [`NARROW_ROWS`], into `sizes`: one column per condition, in statements of at
/// most [`PROBES_PER_STATEMENT`] columns (a filter with a set per starred entity may have
/// thousands of conditions).
async fn probe_sizes(
    conn: &mut AnyConnection,
    sets: &[Vec<&FilterCondition>],
    positions: &[(usize, usize)],
    sizes: &mut [Vec<Option<i64>>],
) -> StoreResult<()> {
    for chunk in positions.chunks(PROBES_PER_STATEMENT) {
        let mut probe = Sql::new("SELECT ");
        for (i, &(s, c)) in chunk.iter().enumerate() {
            let condition = sets[s][c];
            if i > 0 {
                probe.push(", ");
            }
            probe.push("(SELECT COUNT(*) FROM (SELECT 1 FROM search WHERE key = ");
            probe.bind(field_key(&condition.key));
            push_values(&mut probe, "value", condition);
            probe.push(&format!(" LIMIT {NARROW_ROWS}) AS p{i})"));
        }
        let row = probe.fetch_optional(conn).await?.ok_or_else(|| {
            StoreError::Database("the filter's size probe returned no row".into())
        })?;
        for (i, &(s, c)) in chunk.iter().enumerate() {
            sizes[s][c] = Some(get::<i64>(&row, i)?);
        }
    }
    Ok(())
}

/// The field index's number for a key as a filter, facet or order names it (any case).
fn field_key(key: &str) -> i64 {
    paved_model::search::key_id(&key.to_lowercase())
}

/// Appends ` AND value IN (…)` for a condition's values (nothing for an existence check).
/// `column` is the qualified `value` column.
fn push_values(sql: &mut Sql, column: &str, condition: &FilterCondition) {
    if let Some(values) = &condition.values {
        sql.push(&format!(" AND {column} IN "));
        sql.bind_list(values.iter().map(|v| v.to_lowercase()));
    }
}

/// Plans `filter`: drops sets that cannot match, probes the size of the remaining
/// conditions that may drive (each count stops at [`NARROW_ROWS`]) and picks each set's
/// driver.
async fn plan_filter<'a>(
    conn: &mut AnyConnection,
    filter: Option<&'a EntityFilter>,
) -> StoreResult<FilterPlan<'a>> {
    let Some(filter) = filter else {
        return Ok(FilterPlan::Everything);
    };
    let mut candidate_sets: Vec<Vec<&FilterCondition>> = Vec::new();
    for set in &filter.any_of {
        if set.all_of.is_empty() {
            return Ok(FilterPlan::Everything);
        }
        let empty_values = set
            .all_of
            .iter()
            .any(|c| c.values.as_ref().is_some_and(Vec::is_empty));
        if !empty_values {
            candidate_sets.push(set.all_of.iter().collect());
        }
    }
    if candidate_sets.is_empty() {
        return Ok(FilterPlan::Nothing);
    }

    // A broad condition (`kind=component`) reads NARROW_ROWS index entries to learn that it
    // is broad: the whole cost of a probe when a narrow condition beside it drives anyway.
    // So the first round probes every condition except those on broad keys in sets that
    // also have another condition; the second round probes those only in the sets where
    // nothing came out narrow. An unprobed condition counts as NARROW_ROWS: it never drives.
    let mut sizes: Vec<Vec<Option<i64>>> = candidate_sets
        .iter()
        .map(|set| vec![None; set.len()])
        .collect();
    let first: Vec<(usize, usize)> = candidate_sets
        .iter()
        .enumerate()
        .flat_map(|(s, set)| {
            let others = set.iter().any(|c| !is_broad(c));
            (0..set.len())
                .filter(move |&c| !(others && is_broad(set[c])))
                .map(move |c| (s, c))
        })
        .collect();
    probe_sizes(conn, &candidate_sets, &first, &mut sizes).await?;
    let second: Vec<(usize, usize)> = candidate_sets
        .iter()
        .enumerate()
        .filter(|(s, _)| !sizes[*s].iter().flatten().any(|size| *size < NARROW_ROWS))
        .flat_map(|(s, set)| {
            let probed = &sizes[s];
            (0..set.len())
                .filter(move |&c| probed[c].is_none())
                .map(move |c| (s, c))
        })
        .collect();
    probe_sizes(conn, &candidate_sets, &second, &mut sizes).await?;

    let mut sets = Vec::with_capacity(candidate_sets.len());
    let mut narrow = true;
    for (conditions, set_sizes) in candidate_sets.into_iter().zip(sizes) {
        let sized: Vec<(i64, &FilterCondition)> = conditions
            .iter()
            .zip(set_sizes)
            .map(|(c, size)| (size.unwrap_or(NARROW_ROWS), *c))
            .collect();
        // Smallest first; among equal (capped) sizes, a condition on a broad key or a bare
        // existence check drives last. `min_by_key` keeps the first of equals: filter order.
        let Some(position) = sized
            .iter()
            .enumerate()
            .min_by_key(|(_, (size, c))| (*size, is_broad(c), c.values.is_none()))
            .map(|(i, _)| i)
        else {
            continue;
        };
        let (size, driver) = sized[position];
        if size == 0 {
            // The driving condition matches nothing, so neither does the set.
            continue;
        }
        narrow &= size < NARROW_ROWS;
        let others = sized
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != position)
            .map(|(_, (_, c))| *c)
            .collect();
        sets.push(PlannedSet { driver, others });
    }
    if sets.is_empty() {
        return Ok(FilterPlan::Nothing);
    }
    Ok(FilterPlan::Sets { sets, narrow })
}

/// Appends a statement yielding the distinct ids (column `entity_id`) of the entities in
/// `sets`: per set, the driver's index range with an `EXISTS` per other condition; sets
/// joined by `UNION`, nested in groups below SQLite's limit of 500 terms per compound
/// statement.
fn push_id_set(sql: &mut Sql, sets: &[PlannedSet<'_>]) {
    if sets.len() > UNION_TERMS {
        for (i, group) in sets.chunks(UNION_TERMS).enumerate() {
            if i > 0 {
                sql.push(" UNION ");
            }
            sql.push("SELECT u.entity_id FROM (");
            push_id_set(sql, group);
            sql.push(") u");
        }
        return;
    }
    for (i, set) in sets.iter().enumerate() {
        if i > 0 {
            sql.push(" UNION ");
        }
        // `search` holds one row per entity, key and value: a driver with one value yields
        // each entity once; more values or an existence check need DISTINCT (UNION
        // de-duplicates on its own).
        let single_value = set.driver.values.as_ref().is_some_and(|v| v.len() == 1);
        sql.push(if sets.len() == 1 && !single_value {
            "SELECT DISTINCT d.entity_id FROM search d WHERE d.key = "
        } else {
            "SELECT d.entity_id FROM search d WHERE d.key = "
        });
        sql.bind(field_key(&set.driver.key));
        push_values(sql, "d.value", set.driver);
        for other in &set.others {
            push_exists(sql, "d.entity_id", other);
        }
    }
}

/// The value column of a per-entity check, as an expression rather than the bare column:
/// given `key = ? AND value IN (…)` SQLite would seek the `(key, value)` index — every
/// entity of a broad condition such as `kind = component` — instead of the entity's own
/// rows through the field index's `(entity_id, key, seq)` primary key.
const CHECKED_VALUE: &str = "(s.value || '')";

/// Appends ` AND EXISTS (…)`: the entity `id_column` meets `condition`.
fn push_exists(sql: &mut Sql, id_column: &str, condition: &FilterCondition) {
    sql.push(&format!(
        " AND EXISTS (SELECT 1 FROM search s WHERE s.entity_id = {id_column} AND s.key = "
    ));
    sql.bind(field_key(&condition.key));
    push_values(sql, CHECKED_VALUE, condition);
    sql.push(")");
}

/// Appends ` AND (…)` checking `sets` on the entity `e`, for walks over the entities table
/// that stop after a page. Each condition is a scalar subquery rather than `EXISTS`:
/// PostgreSQL turns an `EXISTS` into a semi-join or a hashed subplan that reads the
/// condition's whole index range before the first row; a scalar subquery stays one index
/// probe per entity walked.
fn push_filter_check(sql: &mut Sql, sets: &[PlannedSet<'_>]) {
    sql.push(" AND (");
    for (i, set) in sets.iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push("(1 = 1");
        for condition in std::iter::once(set.driver).chain(set.others.iter().copied()) {
            sql.push(" AND (SELECT 1 FROM search s WHERE s.entity_id = e.id AND s.key = ");
            sql.bind(field_key(&condition.key));
            push_values(sql, CHECKED_VALUE, condition);
            sql.push(" LIMIT 1) IS NOT NULL");
        }
        sql.push(")");
    }
    sql.push(")");
}

/// The range of entity refs `kind:…` when one set asks for exactly one kind: refs begin with
/// the lower-cased kind, so a walk in ref order can skip the other kinds (the `kind`
/// condition is still checked).
fn kind_ref_range(sets: &[PlannedSet<'_>]) -> Option<(String, String)> {
    let [set] = sets else {
        return None;
    };
    std::iter::once(set.driver)
        .chain(set.others.iter().copied())
        .find_map(|c| match (&c.values, c.key.as_str()) {
            (Some(values), "kind") if values.len() == 1 => {
                let kind = values[0].to_lowercase();
                // ';' follows ':' in byte order: every `kind:…` ref lies in between.
                Some((format!("{kind}:"), format!("{kind};")))
            }
            _ => None,
        })
}

/// Appends ` AND …` restricting the entity `id_column` to entities with a value containing
/// the term.
fn push_full_text(sql: &mut Sql, id_column: &str, full_text: Option<&FullTextFilter>) {
    let Some(full_text) = full_text else {
        return;
    };
    let term = full_text.term.trim().to_lowercase();
    if term.is_empty() {
        return;
    }
    let escaped = term
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    sql.push(&format!(
        " AND {id_column} IN (SELECT entity_id FROM search WHERE value LIKE "
    ));
    sql.bind(format!("%{escaped}%")).push(" ESCAPE '\\'");
    if !full_text.fields.is_empty() {
        sql.push(" AND key IN ");
        sql.bind_list(full_text.fields.iter().map(|f| field_key(f)));
    }
    sql.push(")");
}

/// Appends the candidates of a query restricted to listed entities (`EntityQuery::refs`):
/// the listed refs drive — one JSON array parameter however long the list, each ref one
/// lookup of the unique ref index — and each entity is checked for the filter and the
/// full-text term. Columns: `id`, and `ref` when `with_ref`.
fn push_listed_candidates(
    sql: &mut Sql,
    backend: Backend,
    refs: &[EntityRef],
    plan: &FilterPlan<'_>,
    full_text: Option<&FullTextFilter>,
    with_ref: bool,
) {
    let mut listed: Vec<String> = refs.iter().map(ToString::to_string).collect();
    listed.sort_unstable();
    listed.dedup();
    // A list of strings always encodes.
    let json = serde_json::to_string(&listed).unwrap_or_else(|_| "[]".into());
    sql.push("SELECT e.id");
    if with_ref {
        sql.push(&format!(", e.entity_ref{} AS ref", backend.collate()));
    }
    sql.push(" FROM (SELECT value FROM ");
    match backend {
        Backend::Sqlite => sql.push("json_each(").bind(json).push(")"),
        Backend::Postgres => sql
            .push("json_array_elements_text(CAST(")
            .bind(json)
            .push(" AS json))"),
    };
    // CROSS JOIN: SQLite drives from the list instead of walking every entity.
    sql.push(") r CROSS JOIN entities e WHERE e.entity_ref = r.value AND e.etag IS NOT NULL");
    if let FilterPlan::Sets { sets, .. } = plan {
        push_filter_check(sql, sets);
    }
    push_full_text(sql, "e.id", full_text);
}

/// A statement counting the entities that match the plan, the listed refs and the
/// full-text filter.
fn count_statement(
    backend: Backend,
    plan: &FilterPlan<'_>,
    refs: Option<&[EntityRef]>,
    full_text: Option<&FullTextFilter>,
) -> Sql {
    if let Some(refs) = refs {
        let mut sql = Sql::new("SELECT COUNT(*) FROM (");
        push_listed_candidates(&mut sql, backend, refs, plan, full_text, false);
        sql.push(") l");
        return sql;
    }
    match plan {
        FilterPlan::Sets { sets, .. } => {
            let mut sql = Sql::new("SELECT COUNT(*) FROM (");
            push_id_set(&mut sql, sets);
            sql.push(") m WHERE 1 = 1");
            push_full_text(&mut sql, "m.entity_id", full_text);
            sql
        }
        FilterPlan::Everything | FilterPlan::Nothing => {
            let mut sql = Sql::new("SELECT COUNT(*) FROM entities e WHERE e.etag IS NOT NULL");
            if matches!(plan, FilterPlan::Nothing) {
                sql.push(" AND 1 = 0");
            }
            push_full_text(&mut sql, "e.id", full_text);
            sql
        }
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
    let mut order_keys: Vec<String> = Vec::new();
    if query.order.is_empty() {
        order.push(("q.o0".into(), true));
    } else {
        for (i, field) in query.order.iter().enumerate() {
            order.push((format!("q.o{i}"), !field.descending));
            order_keys.push(field.field.to_lowercase());
        }
    }
    if let Some(keyset) = &query.keyset
        && keyset.values.len() != order.len()
    {
        return Err(StoreError::Invalid(
            "the cursor does not match the requested order".into(),
        ));
    }
    let by_ref = order_keys.is_empty();
    let plan = plan_filter(conn, query.filter.as_ref()).await?;
    let refs = query.refs.as_deref();
    if matches!(plan, FilterPlan::Nothing) || refs.is_some_and(<[EntityRef]>::is_empty) {
        return Ok(EntityPage {
            items: Vec::new(),
            total_items: 0,
            next: None,
            prev: None,
        });
    }
    let full_text = query.full_text.as_ref();
    // A narrow filter's entities are few: they are collected once, and the count comes with
    // the page instead of from a second evaluation of the filter.
    let count_with_page = matches!(plan, FilterPlan::Sets { narrow: true, .. }) || refs.is_some();

    // The page is chosen on ids and order values only; the entities' JSON is joined to the
    // chosen rows afterwards, so sorting never carries large texts.
    let mut sql = Sql::new("SELECT p.id, ej.final_json");
    for i in 0..order.len() {
        sql.push(&format!(", p.o{i}"));
    }
    if count_with_page {
        sql.push(", p.total");
    }
    sql.push(" FROM (SELECT q.id");
    for i in 0..order.len() {
        sql.push(&format!(", q.o{i}"));
    }
    if count_with_page {
        sql.push(", q.total");
    }
    sql.push(" FROM (SELECT c.id");
    if by_ref {
        sql.push(", c.ref AS o0");
    }
    for (i, key) in order_keys.iter().enumerate() {
        let aggregate = if order[i].1 { "MIN" } else { "MAX" };
        sql.push(&format!(
            ", (SELECT {aggregate}(s.value{collate}) FROM search s WHERE s.entity_id = c.id AND s.key = "
        ));
        sql.bind(field_key(key));
        sql.push(&format!(") AS o{i}"));
    }
    if count_with_page {
        sql.push(", COUNT(*) OVER () AS total");
    }
    // The candidates: `id`, and `ref` when ordering by it.
    sql.push(" FROM (");
    let entity_ref = format!("e.entity_ref{collate}");
    match (refs, &plan) {
        (Some(refs), _) => {
            push_listed_candidates(&mut sql, backend, refs, &plan, full_text, by_ref);
        }
        (None, FilterPlan::Sets { sets, narrow }) if *narrow || !by_ref => {
            // From the drivers' index ranges. Ordering by a field reads every match anyway;
            // CROSS JOIN keeps SQLite from walking all entities in ref order instead.
            sql.push("SELECT m.entity_id AS id");
            if by_ref {
                sql.push(&format!(", {entity_ref} AS ref"));
            }
            sql.push(" FROM (");
            push_id_set(&mut sql, sets);
            sql.push(") m");
            if by_ref {
                sql.push(" CROSS JOIN entities e WHERE e.id = m.entity_id");
            } else {
                sql.push(" WHERE 1 = 1");
            }
            push_full_text(&mut sql, "m.entity_id", full_text);
        }
        (None, FilterPlan::Sets { sets, .. }) => {
            // Broad and in ref order: walk the live refs, check each entity, stop after the
            // page.
            sql.push(&format!(
                "SELECT e.id, {entity_ref} AS ref FROM entities e WHERE e.etag IS NOT NULL"
            ));
            if let Some((from, to)) = kind_ref_range(sets) {
                sql.push(&format!(" AND {entity_ref} > "))
                    .bind(from)
                    .push(&format!(" AND {entity_ref} < "))
                    .bind(to);
            }
            push_filter_check(&mut sql, sets);
            push_full_text(&mut sql, "e.id", full_text);
        }
        (None, FilterPlan::Everything | FilterPlan::Nothing) => {
            sql.push("SELECT e.id");
            if by_ref {
                sql.push(&format!(", {entity_ref} AS ref"));
            }
            sql.push(" FROM entities e WHERE e.etag IS NOT NULL");
            push_full_text(&mut sql, "e.id", full_text);
        }
    }
    sql.push(") c) q WHERE 1 = 1");

    let backward = query.keyset.as_ref().is_some_and(|k| k.backward);
    if let Some(keyset) = &query.keyset {
        // In ref order (never null) the page lies on one side of the cursor's ref: said
        // plainly, the database starts its walk there instead of at the first ref.
        if by_ref && let Some(Some(value)) = keyset.values.first() {
            sql.push(if backward {
                " AND q.o0 <= "
            } else {
                " AND q.o0 >= "
            })
            .bind(value.as_str());
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
    let mut page_total = None;
    for row in &rows {
        let mut values = Vec::with_capacity(columns);
        for i in 0..columns {
            values.push(get::<Option<String>>(row, 2 + i)?);
        }
        if count_with_page {
            page_total = Some(get::<i64>(row, 2 + columns)?.max(0) as u64);
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

    let total = match page_total {
        Some(total) => total,
        // Nothing before an empty first page: nothing at all.
        None if count_with_page && query.keyset.is_none() && query.offset.unwrap_or(0) == 0 => 0,
        None => {
            let count = count_statement(backend, &plan, refs, full_text);
            match count.fetch_optional(conn).await? {
                Some(row) => get::<i64>(&row, 0)?.max(0) as u64,
                None => 0,
            }
        }
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
    let plan = plan_filter(conn, filter).await?;
    let mut sql = match &plan {
        FilterPlan::Nothing => return Ok(result),
        FilterPlan::Sets { sets, narrow: true } => {
            // Few entities: read their rows of the facet keys, entity by entity.
            let mut sql =
                Sql::new("SELECT s.key, COALESCE(s.original_value, s.value), COUNT(*) FROM (");
            push_id_set(&mut sql, sets);
            sql.push(
                ") m CROSS JOIN search s WHERE s.entity_id = m.entity_id \
                 AND s.value IS NOT NULL AND s.key IN ",
            );
            sql.bind_list(facets.iter().map(|f| field_key(f)));
            sql
        }
        FilterPlan::Sets { .. } | FilterPlan::Everything => {
            // Grouped in the index's own order (no sort); rows whose original spellings
            // differ only where `value` is equal are merged below.
            let mut sql = Sql::new(
                "SELECT s.key, COALESCE(s.original_value, s.value), COUNT(*) FROM search s \
                 WHERE s.value IS NOT NULL AND s.key IN ",
            );
            sql.bind_list(facets.iter().map(|f| field_key(f)));
            if let FilterPlan::Sets { sets, .. } = &plan {
                sql.push(" AND s.entity_id IN (");
                push_id_set(&mut sql, sets);
                sql.push(")");
            }
            sql
        }
    };
    sql.push(" GROUP BY s.key, s.value, s.original_value");
    let mut merged: BTreeMap<i64, BTreeMap<String, u64>> = BTreeMap::new();
    for row in sql.fetch_all(conn).await? {
        *merged
            .entry(get(&row, 0)?)
            .or_default()
            .entry(get(&row, 1)?)
            .or_default() += get::<i64>(&row, 2)?.max(0) as u64;
    }
    let by_key: BTreeMap<i64, Vec<FacetCount>> = merged
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
        if let Some(found) = by_key.get(&field_key(facet)) {
            *counts = found.clone();
            counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        }
    }
    Ok(result)
}
