//! `SearchIndex` on its own: ranking, prefix, typos, filters, facets, snippets, doc pages.

use paved_model::EntityRef;
use paved_search::{DocPage, EntityTextMatches, SearchIndex, SearchRequest, SearchResults};
use serde_json::{Value, json};

fn component(name: &str, description: &str, owner: &str, tags: &[&str]) -> Value {
    json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": name, "description": description, "tags": tags},
        "spec": {"type": "service", "lifecycle": "production", "owner": owner}
    })
}

fn index_of(entities: &[Value]) -> SearchIndex {
    let index = SearchIndex::in_memory().expect("index");
    for entity in entities {
        index.upsert_entity(entity).expect("upsert");
    }
    index.commit().expect("commit");
    index
}

fn search(index: &SearchIndex, term: &str) -> SearchResults {
    index
        .search(&SearchRequest {
            term: term.into(),
            limit: 20,
            ..SearchRequest::default()
        })
        .expect("search")
}

fn names(results: &SearchResults) -> Vec<String> {
    results
        .hits
        .iter()
        .map(|hit| {
            format!(
                "{}:{}",
                hit.doc_type,
                hit.document["title"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn an_exact_name_match_ranks_above_mentions_in_descriptions_and_titles() {
    let index = index_of(&[
        component(
            "orders-gateway",
            "Routes checkout calls; checkout checkout checkout",
            "team-a",
            &[],
        ),
        component("checkout", "Takes the money", "team-b", &[]),
        json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
            "metadata": {"name": "checkout-legacy", "title": "Checkout"},
            "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}
        }),
    ]);
    let results = search(&index, "checkout");
    assert_eq!(results.total, 3);
    assert_eq!(results.hits[0].document["name"], "checkout");
    assert_eq!(results.hits[0].rank, 1);
    assert_eq!(results.hits[2].document["name"], "orders-gateway");
}

#[test]
fn the_last_term_matches_as_a_prefix_while_typing() {
    let index = index_of(&[
        component("payments", "Moves money", "team-a", &[]),
        component("paperwork", "Forms", "team-a", &[]),
        component("ledger", "Books", "team-a", &["payroll"]),
    ]);
    let results = search(&index, "pay");
    let mut found: Vec<_> = results
        .hits
        .iter()
        .map(|h| h.document["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    found.sort();
    assert_eq!(found, vec!["ledger", "payments"]);
    // A term before the last is a whole word.
    assert_eq!(search(&index, "pay money").total, 0);
    assert_eq!(search(&index, "money pay").total, 1);
}

#[test]
fn terms_of_four_characters_or_more_match_with_one_typo() {
    let index = index_of(&[
        component("inventory", "Counts stock", "team-a", &[]),
        component("invoice", "Bills", "team-a", &[]),
    ]);
    assert_eq!(
        names(&search(&index, "inventroy")),
        ["software-catalog:inventory"]
    );
    assert_eq!(
        names(&search(&index, "invoise")),
        ["software-catalog:invoice"]
    );
    // Short terms must be exact (a prefix of the last term aside).
    assert_eq!(search(&index, "bils").total, 0);
}

#[test]
fn filters_narrow_results_and_facets_count_the_whole_result_set() {
    let mut entities: Vec<Value> = (0..30)
        .map(|i| {
            component(
                &format!("svc-{i}"),
                "a shop service",
                if i % 3 == 0 { "team-a" } else { "team-b" },
                &[],
            )
        })
        .collect();
    entities.push(json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
        "metadata": {"name": "shop-service-template", "title": "Shop service"},
        "spec": {"type": "service", "owner": "team-a", "steps": []}
    }));
    let index = index_of(&entities);
    let all = index
        .search(&SearchRequest {
            term: "shop".into(),
            limit: 5,
            ..SearchRequest::default()
        })
        .expect("search");
    assert_eq!(all.total, 31);
    assert_eq!(all.hits.len(), 5);
    let counts = |list: &[paved_search::FacetCount]| {
        list.iter()
            .map(|c| format!("{}={}", c.value, c.count))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        counts(&all.facets.types),
        ["software-catalog=30", "templates=1"]
    );
    assert_eq!(counts(&all.facets.kinds), ["Component=30", "Template=1"]);
    assert_eq!(counts(&all.facets.owners), ["team-b=20", "team-a=11"]);

    let mut request = SearchRequest {
        term: "shop".into(),
        limit: 50,
        ..SearchRequest::default()
    };
    request
        .filters
        .insert("owner".into(), vec!["Group:default/Team-A".into()]);
    request.types = vec!["software-catalog".into()];
    let filtered = index.search(&request).expect("search");
    assert_eq!(filtered.total, 10);
    assert!(
        filtered
            .hits
            .iter()
            .all(|h| h.document["owner"] == "team-a")
    );

    let mut request = SearchRequest {
        term: String::new(),
        limit: 50,
        ..SearchRequest::default()
    };
    request
        .filters
        .insert("kind".into(), vec!["template".into()]);
    assert_eq!(
        names(&index.search(&request).expect("search")),
        ["templates:Shop service"]
    );

    request.filters.insert("color".into(), vec!["red".into()]);
    let error = index.search(&request).expect_err("unknown filter");
    assert!(
        error.to_string().contains("unknown search filter 'color'"),
        "{error}"
    );
}

#[test]
fn pages_follow_each_other_without_overlap() {
    let entities: Vec<Value> = (0..25)
        .map(|i| component(&format!("node-{i:02}"), "cluster node", "team-a", &[]))
        .collect();
    let index = index_of(&entities);
    let mut seen = Vec::new();
    for offset in [0, 10, 20] {
        let page = index
            .search(&SearchRequest {
                term: "node".into(),
                offset,
                limit: 10,
                ..SearchRequest::default()
            })
            .expect("search");
        assert_eq!(page.hits.first().map(|h| h.rank), Some(offset + 1));
        seen.extend(
            page.hits
                .into_iter()
                .map(|h| h.document["name"].to_string()),
        );
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25);
}

#[test]
fn snippets_mark_matches_and_escape_everything_else() {
    let index = index_of(&[component(
        "renderer",
        "Turns <script>alert(1)</script> templates & markdown into HTML pages",
        "team-a",
        &[],
    )]);
    let results = search(&index, "markdown rend");
    let hit = &results.hits[0];
    assert_eq!(hit.highlight["title"], "<mark>renderer</mark>");
    assert_eq!(
        hit.highlight["text"],
        "Turns &lt;script&gt;alert(1)&lt;/script&gt; templates &amp; <mark>markdown</mark> into HTML pages"
    );
}

#[test]
fn api_operations_are_found_and_link_to_their_anchor() {
    let api = json!({
        "apiVersion": "backstage.io/v1alpha1", "kind": "API",
        "metadata": {"name": "petstore"},
        "spec": {"type": "openapi", "lifecycle": "production", "owner": "team-a",
            "definition": "{\"openapi\":\"3.0.0\",\"info\":{\"title\":\"Pets\",\"version\":\"1\"},\"paths\":{\"/pets/{petId}\":{\"delete\":{\"operationId\":\"removePet\",\"summary\":\"Deletes a pet from the store\"}}}}"}
    });
    let index = index_of(&[api]);
    let mut request = SearchRequest {
        term: "deletes pet".into(),
        limit: 10,
        ..SearchRequest::default()
    };
    request.types = vec!["api-operations".into()];
    let results = index.search(&request).expect("search");
    assert_eq!(names(&results), ["api-operations:DELETE /pets/{petId}"]);
    assert_eq!(
        results.hits[0].document["location"],
        "/catalog/default/api/petstore/definition#op-removePet"
    );
    assert_eq!(results.hits[0].document["owner"], "team-a");
}

#[test]
fn doc_pages_are_replaced_as_a_whole_and_go_with_their_entity() {
    let entity = component("billing", "Invoices", "team-a", &[]);
    let index = index_of(&[entity]);
    let billing = EntityRef::new("component", "default", "billing");
    let page = |path: &str, title: &str, text: &str| DocPage {
        entity_ref: billing.clone(),
        path: path.into(),
        location: format!("/docs/default/component/billing/{path}"),
        title: title.into(),
        headings: vec!["Overview".into(), "Reconciliation runbook".into()],
        text: text.into(),
    };
    let written = index
        .replace_doc_pages(
            &billing,
            vec![
                page(
                    "index.html",
                    "Billing",
                    "How invoices are produced every night.",
                ),
                page(
                    "runbook/",
                    "Runbook",
                    "Restart the reconciler when it stalls.",
                ),
            ],
        )
        .expect("pages");
    assert_eq!(written, 2);
    let results = search(&index, "reconciler");
    assert_eq!(names(&results), ["techdocs:Runbook"]);
    let hit = &results.hits[0];
    assert_eq!(
        hit.document["owner"], "team-a",
        "facts come from the entity"
    );
    assert_eq!(hit.document["kind"], "Component");
    assert_eq!(
        hit.document["location"],
        "/docs/default/component/billing/runbook/"
    );
    // Headings are searched too.
    assert_eq!(search(&index, "runbook").total, 2);

    index
        .replace_doc_pages(
            &billing,
            vec![page("index.html", "Billing", "Only this one now.")],
        )
        .expect("pages");
    assert_eq!(search(&index, "reconciler").total, 0);
    assert_eq!(search(&index, "only").total, 1);

    index.delete_entity(&billing);
    index.commit().expect("commit");
    assert_eq!(search(&index, "billing").total, 0);
    assert_eq!(index.num_docs(), 0);
}

#[test]
fn an_upsert_replaces_the_previous_version() {
    let index = index_of(&[component("search-me", "old words", "team-a", &[])]);
    index
        .upsert_entity(&component("search-me", "new words", "team-b", &[]))
        .expect("upsert");
    index.commit().expect("commit");
    assert_eq!(search(&index, "old").total, 0);
    let results = search(&index, "new");
    assert_eq!(results.total, 1);
    assert_eq!(results.hits[0].document["owner"], "team-b");
    assert_eq!(index.num_docs(), 1);
}

#[test]
fn unknown_types_are_refused_and_punctuation_matches_nothing() {
    let index = index_of(&[component("a", "b", "c", &[])]);
    let error = index
        .search(&SearchRequest {
            types: vec!["pages".into()],
            limit: 10,
            ..SearchRequest::default()
        })
        .expect_err("unknown type");
    assert!(error.to_string().contains("unknown search type 'pages'"));
    assert_eq!(search(&index, "!!!").total, 0);
    assert_eq!(search(&index, "").total, 1);
}

#[test]
fn suggestions_are_prefix_matches_with_kind_and_link() {
    let index = index_of(&[
        component("catalog-api", "", "team-a", &[]),
        component("catalog-ui", "", "team-a", &[]),
        component("billing", "", "team-a", &[]),
    ]);
    let suggestions = index.suggest("catal", 8).expect("suggest");
    assert_eq!(suggestions.len(), 2);
    assert!(suggestions.iter().all(|s| s.kind == "Component"));
    assert!(
        suggestions
            .iter()
            .any(|s| s.location == "/catalog/default/component/catalog-ui")
    );
    assert!(index.suggest("  ", 8).expect("suggest").is_empty());
}

fn matching(index: &SearchIndex, text: &str, cap: usize) -> EntityTextMatches {
    index
        .entities_matching_words(text, cap)
        .expect("text filter")
}

fn found(index: &SearchIndex, text: &str) -> Vec<String> {
    match matching(index, text, 100) {
        EntityTextMatches::Found(refs) => refs.iter().map(ToString::to_string).collect(),
        other => panic!("{text}: {other:?}"),
    }
}

#[test]
fn the_catalog_text_filter_matches_word_starts_in_name_title_and_description() {
    let mut titled = component("ledger", "Books every payment", "team-a", &["payroll"]);
    titled["metadata"]["title"] = json!("General Ledger");
    titled["metadata"]["annotations"] = json!({"example.com/runbook": "https://wiki/payments"});
    let index = index_of(&[
        component("payments-api", "Moves money", "team-a", &[]),
        component("payments_worker", "Settles at night", "team-b", &[]),
        component("checkout", "Takes the money", "team-a", &["payments"]),
        titled,
        json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": "API",
            "metadata": {"name": "orders"},
            "spec": {"type": "openapi", "lifecycle": "production", "owner": "team-a",
                "definition": "openapi: 3.0.0\ninfo: {title: Orders, version: '1'}\npaths:\n  /pay:\n    post:\n      operationId: payNow\n      summary: Pay an order\n"}
        }),
    ]);
    // The start of a word, case-insensitive; `-` and `_` split words.
    assert_eq!(
        found(&index, "PAY"),
        [
            "component:default/ledger",
            "component:default/payments-api",
            "component:default/payments_worker"
        ]
    );
    assert_eq!(found(&index, "work"), ["component:default/payments_worker"]);
    // Every word must match, each as the start of a word, in any of the three fields.
    assert_eq!(found(&index, "pay api"), ["component:default/payments-api"]);
    assert_eq!(
        found(&index, "payments-ap"),
        ["component:default/payments-api"]
    );
    assert_eq!(
        found(&index, "money"),
        [
            "component:default/checkout",
            "component:default/payments-api"
        ]
    );
    assert_eq!(found(&index, "general led"), ["component:default/ledger"]);
    assert_eq!(found(&index, "every paym"), ["component:default/ledger"]);
    // Not inside a word, not tags, annotations or API operations, no typos.
    assert!(found(&index, "ments").is_empty());
    assert!(found(&index, "payroll").is_empty());
    assert!(found(&index, "wiki").is_empty());
    assert!(found(&index, "paynow").is_empty());
    assert!(found(&index, "monye").is_empty());
    // The API entity itself is found by its name.
    assert_eq!(found(&index, "ord"), ["api:default/orders"]);

    // More than the cap, and text without a word the index keeps, are for the caller.
    assert_eq!(matching(&index, "pay", 2), EntityTextMatches::TooMany);
    assert!(
        matches!(matching(&index, "pay", 3), EntityTextMatches::Found(refs) if refs.len() == 3)
    );
    assert_eq!(matching(&index, "-_-", 100), EntityTextMatches::NoWords);
    assert_eq!(
        matching(&index, &"x".repeat(300), 100),
        EntityTextMatches::NoWords
    );
}

#[test]
fn the_catalog_text_filter_follows_upserts_and_deletes() {
    let index = index_of(&[component("search-me", "old words", "team-a", &[])]);
    assert_eq!(found(&index, "old"), ["component:default/search-me"]);
    index
        .upsert_entity(&component("search-me", "new words", "team-b", &[]))
        .expect("upsert");
    index
        .upsert_entity(&component("other", "new too", "team-b", &[]))
        .expect("upsert");
    index.commit().expect("commit");
    assert!(found(&index, "old").is_empty());
    assert_eq!(
        found(&index, "new"),
        ["component:default/other", "component:default/search-me"]
    );
    index.delete_entity(&EntityRef::new("component", "default", "other"));
    index.commit().expect("commit");
    assert_eq!(found(&index, "new"), ["component:default/search-me"]);
}
