//! The graph renderer through its public API: a snapshot of a small drawing, and sample drawings
//! written for people to look at when `PAVED_GRAPH_SAMPLE` is set.

use std::time::Instant;

use expect_test::expect;
use paved_render::graph::{
    Direction, Graph, GraphEdge, GraphNode, LayoutOptions, layout, render_svg,
};

fn entity(kind: &str, name: &str, detail: Option<&str>) -> GraphNode {
    GraphNode {
        id: format!("{kind}:default/{name}"),
        label: name.to_owned(),
        kind: kind.to_owned(),
        detail: detail.map(str::to_owned),
        href: format!("/catalog/default/{kind}/{name}"),
        critical: false,
        focus: false,
    }
}

fn relation(from: &str, to: &str, label: &str) -> GraphEdge {
    GraphEdge {
        from: from.to_owned(),
        to: to.to_owned(),
        label: label.to_owned(),
    }
}

#[test]
fn small_dependency_graph_snapshot() {
    let mut checkout = entity("component", "checkout", Some("service · production"));
    checkout.focus = true;
    let mut payments = entity("component", "payments", Some("service · production"));
    payments.critical = true;
    let graph = Graph {
        nodes: vec![
            checkout,
            payments,
            entity("api", "payments-api", Some("openapi")),
            entity("resource", "orders-db", None),
        ],
        edges: vec![
            relation(
                "component:default/checkout",
                "component:default/payments",
                "dependsOn",
            ),
            relation(
                "component:default/checkout",
                "api:default/payments-api",
                "consumesApi",
            ),
            relation(
                "component:default/payments",
                "api:default/payments-api",
                "providesApi",
            ),
            relation(
                "component:default/checkout",
                "resource:default/orders-db",
                "dependsOn",
            ),
        ],
    };
    let options = LayoutOptions {
        direction: Direction::LeftToRight,
        show_edge_labels: true,
        title: "Dependencies of checkout".to_owned(),
        id_prefix: "deps".to_owned(),
        embed_stylesheet: false,
    };
    expect![[r#"
        <svg xmlns="http://www.w3.org/2000/svg" class="paved-graph direction-lr" viewBox="0 0 656 136" width="656" height="136" role="group" aria-labelledby="deps-title" aria-describedby="deps-desc">
        <title id="deps-title">Dependencies of checkout</title>
        <desc id="deps-desc">4 entities, 4 relations.</desc>
        <defs><marker id="deps-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="9" markerHeight="9" markerUnits="userSpaceOnUse" orient="auto-start-reverse"><path class="edge-arrow" d="M0,0L10,5L0,10z" fill="currentColor"/></marker></defs>
        <g class="edges">
        <path class="edge rel-dependsOn" d="M149,85C203.1,85 203.1,38 257.2,38" fill="none" stroke="currentColor" marker-end="url(#deps-arrow)"><title>checkout dependsOn payments</title></path>
        <path class="edge rel-consumesApi" d="M149,101C203.1,101 203.1,120 257.2,120L408.2,120C462.2,120 462.2,83 516.3,83" fill="none" stroke="currentColor" marker-end="url(#deps-arrow)"><title>checkout consumesApi payments-api</title></path>
        <path class="edge rel-dependsOn" d="M149,93L257.2,93L284.7,93" fill="none" stroke="currentColor" marker-end="url(#deps-arrow)"><title>checkout dependsOn orders-db</title></path>
        <path class="edge rel-providesApi" d="M408.2,38C462.2,38 462.2,75 516.3,75" fill="none" stroke="currentColor" marker-end="url(#deps-arrow)"><title>payments providesApi payments-api</title></path>
        </g>
        <g class="edge-labels">
        <g class="edge-label rel-dependsOn"><rect class="edge-label-bg" x="169.7" y="54" width="66.7" height="15" rx="3" fill="none"/><text x="203.1" y="65.4" font-size="11" text-anchor="middle">dependsOn</text></g>
        <g class="edge-label rel-consumesApi"><rect class="edge-label-bg" x="163" y="103" width="80.2" height="15" rx="3" fill="none"/><text x="203.1" y="114.4" font-size="11" text-anchor="middle">consumesApi</text></g>
        <g class="edge-label rel-dependsOn"><rect class="edge-label-bg" x="169.7" y="85.5" width="66.7" height="15" rx="3" fill="none"/><text x="203.1" y="96.9" font-size="11" text-anchor="middle">dependsOn</text></g>
        <g class="edge-label rel-providesApi"><rect class="edge-label-bg" x="426.6" y="49" width="71.4" height="15" rx="3" fill="none"/><text x="462.2" y="60.4" font-size="11" text-anchor="middle">providesApi</text></g>
        </g>
        <g class="nodes">
        <a class="node-link" href="/catalog/default/component/checkout" aria-current="page"><g class="node kind-component focus"><title>checkout
        service · production</title><rect class="node-box" x="16" y="71" width="133" height="44" rx="6" fill="none" stroke="currentColor"/><text class="node-label" x="26" y="90" font-size="13">checkout</text><text class="node-detail" x="26" y="105" font-size="11">service · production</text></g></a>
        <a class="node-link" href="/catalog/default/component/payments"><g class="node kind-component critical"><title>payments
        service · production
        Critical tier</title><rect class="node-box" x="257.2" y="16" width="151" height="44" rx="6" fill="none" stroke="currentColor"/><text class="node-label" x="267.2" y="35" font-size="13">payments</text><text class="node-detail" x="267.2" y="50" font-size="11">service · production</text><g class="critical-badge"><circle cx="392.2" cy="30.5" r="7" fill="currentColor"/><text x="392.2" y="34.5" font-size="11" text-anchor="middle">!</text></g></g></a>
        <a class="node-link" href="/catalog/default/api/payments-api"><g class="node kind-api"><title>payments-api
        openapi</title><rect class="node-box" x="516.3" y="57" width="123" height="44" rx="6" fill="none" stroke="currentColor"/><text class="node-label" x="526.3" y="76" font-size="13">payments-api</text><text class="node-detail" x="526.3" y="91" font-size="11">openapi</text></g></a>
        <a class="node-link" href="/catalog/default/resource/orders-db"><g class="node kind-resource"><title>orders-db</title><rect class="node-box" x="284.7" y="78" width="96" height="30" rx="6" fill="none" stroke="currentColor"/><text class="node-label" x="294.7" y="97.6" font-size="13">orders-db</text></g></a>
        </g>
        </svg>
    "#]]
    .assert_eq(&render_svg(&graph, &options));
}

/// A seeded, catalog-like random DAG of `nodes` entities and `edges` relations.
fn random_catalog(nodes: usize, edges: usize, seed: u64) -> Graph {
    let mut state = seed;
    let mut next = move |bound: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) % bound.max(1) as u64) as usize
    };
    let kinds = ["component", "component", "api", "resource", "system"];
    let words = [
        "cart", "billing", "search", "auth", "ledger", "catalog", "email", "risk",
    ];
    let relations = ["dependsOn", "consumesApi", "providesApi", "partOf"];
    let mut graph = Graph::default();
    for index in 0..nodes {
        let kind = kinds[next(kinds.len())];
        let mut node = entity(
            kind,
            &format!(
                "{}-{}-{index}",
                words[next(words.len())],
                words[next(words.len())]
            ),
            (next(3) > 0).then_some("service · production"),
        );
        node.critical = next(12) == 0;
        node.focus = index == 0;
        graph.nodes.push(node);
    }
    while graph.edges.len() < edges {
        let from = next(nodes - 1);
        let reach = if next(5) == 0 { nodes } else { 10 };
        let to = from + 1 + next(reach.min(nodes - 1 - from));
        graph.edges.push(relation(
            &graph.nodes[from].id,
            &graph.nodes[to].id,
            relations[next(relations.len())],
        ));
    }
    graph
}

/// With `PAVED_GRAPH_SAMPLE` set, writes sample drawings to the workspace's `target/` and prints
/// how long the 200-node one takes (run with `--release` for meaningful numbers).
#[test]
fn write_sample_drawings_when_asked() {
    if std::env::var_os("PAVED_GRAPH_SAMPLE").is_none() {
        return;
    }
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
    std::fs::create_dir_all(&target).unwrap();

    let big = random_catalog(200, 400, 42);
    let options = LayoutOptions {
        title: "Sample: 200 entities, 400 relations".to_owned(),
        embed_stylesheet: true,
        ..LayoutOptions::default()
    };
    let runs = 50;
    let started = Instant::now();
    let mut svg = String::new();
    for _ in 0..runs {
        svg = render_svg(&big, &options);
    }
    let per_run = started.elapsed().as_secs_f64() * 1000.0 / f64::from(runs);
    let laid = layout(&big, &options).unwrap();
    println!(
        "200 nodes / 400 edges: {per_run:.2} ms per layout and render (mean of {runs}), \
         {} layers, {} crossings, {:.0}×{:.0}, {} bytes",
        laid.layer_count,
        laid.crossings,
        laid.width,
        laid.height,
        svg.len()
    );
    std::fs::write(target.join("graph-sample.svg"), &svg).unwrap();

    let small = random_catalog(24, 34, 7);
    for (name, direction) in [
        ("graph-sample-small-lr.svg", Direction::LeftToRight),
        ("graph-sample-small-tb.svg", Direction::TopToBottom),
    ] {
        let options = LayoutOptions {
            direction,
            show_edge_labels: true,
            title: "Sample: 24 entities".to_owned(),
            embed_stylesheet: true,
            ..LayoutOptions::default()
        };
        std::fs::write(target.join(name), render_svg(&small, &options)).unwrap();
    }
}
