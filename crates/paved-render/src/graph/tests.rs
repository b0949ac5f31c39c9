//! Tests of the layout steps and the SVG drawing, on hand-made and seeded random graphs.

use super::layering::{assign_layers, prepare};
use super::ordering::{count_crossings, initial_order, reduce_crossings};
use super::svg::safe_href;
use super::*;

fn node(id: &str) -> GraphNode {
    GraphNode {
        id: format!("component:default/{id}"),
        label: id.to_owned(),
        kind: "component".to_owned(),
        detail: None,
        href: format!("/catalog/default/component/{id}"),
        critical: false,
        focus: false,
    }
}

fn edge(from: &str, to: &str, label: &str) -> GraphEdge {
    GraphEdge {
        from: format!("component:default/{from}"),
        to: format!("component:default/{to}"),
        label: label.to_owned(),
    }
}

fn graph(nodes: &[&str], edges: &[(&str, &str)]) -> Graph {
    Graph {
        nodes: nodes.iter().map(|id| node(id)).collect(),
        edges: edges
            .iter()
            .map(|(from, to)| edge(from, to, "dependsOn"))
            .collect(),
    }
}

/// A tiny linear congruential generator: seeded, reproducible, no dependency.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound.max(1) as u64) as usize
    }
}

/// A catalog-like random graph: mixed kinds, details and critical nodes. With `acyclic`, edges
/// only go from lower to higher index (mostly to nearby nodes, sometimes far), otherwise anywhere.
pub(super) fn random_graph(nodes: usize, edges: usize, seed: u64, acyclic: bool) -> Graph {
    let mut rng = Lcg(seed);
    let kinds = ["component", "api", "resource", "system", "group"];
    let relations = ["dependsOn", "consumesApi", "providesApi", "partOf"];
    let graph_nodes = (0..nodes)
        .map(|index| {
            let kind = kinds[rng.below(kinds.len())];
            GraphNode {
                id: format!("{kind}:default/n{index}"),
                label: format!(
                    "{}-service-{index}",
                    ["cart", "billing", "search", "auth"][index % 4]
                ),
                kind: kind.to_owned(),
                detail: (rng.below(3) > 0).then(|| "service · production".to_owned()),
                href: format!("/catalog/default/{kind}/n{index}"),
                critical: rng.below(10) == 0,
                focus: index == 0,
            }
        })
        .collect::<Vec<_>>();
    let mut graph_edges = Vec::with_capacity(edges);
    while graph_edges.len() < edges && nodes > 1 {
        let (from, to) = if acyclic {
            let from = rng.below(nodes - 1);
            let reach = if rng.below(5) == 0 { nodes } else { 12 };
            let to = from + 1 + rng.below(reach.min(nodes - 1 - from));
            (from, to)
        } else {
            (rng.below(nodes), rng.below(nodes))
        };
        graph_edges.push(GraphEdge {
            from: graph_nodes[from].id.clone(),
            to: graph_nodes[to].id.clone(),
            label: relations[rng.below(relations.len())].to_owned(),
        });
    }
    Graph {
        nodes: graph_nodes,
        edges: graph_edges,
    }
}

fn box_of(layout: &Layout, graph_index: usize) -> &NodeBox {
    layout
        .nodes
        .iter()
        .find(|placed| placed.node == graph_index)
        .expect("every kept node is placed")
}

fn assert_no_overlaps(layout: &Layout) {
    for (index, a) in layout.nodes.iter().enumerate() {
        for b in &layout.nodes[index + 1..] {
            let apart = a.x + a.width <= b.x
                || b.x + b.width <= a.x
                || a.y + a.height <= b.y
                || b.y + b.height <= a.y;
            assert!(apart, "boxes overlap: {a:?} and {b:?}");
        }
    }
}

fn assert_inside_view(layout: &Layout) {
    for placed in &layout.nodes {
        assert!(placed.x >= 0.0 && placed.y >= 0.0);
        assert!(placed.x + placed.width <= layout.width);
        assert!(placed.y + placed.height <= layout.height);
    }
}

/// Points along an edge's path, its Béziers sampled.
fn sample(route: &EdgeRoute) -> Vec<Point> {
    let mut points = vec![route.start];
    let mut current = route.start;
    for segment in &route.segments {
        match *segment {
            Segment::Line { to } => {
                for step in 1..=10 {
                    let t = f64::from(step) / 10.0;
                    points.push(Point {
                        x: current.x + (to.x - current.x) * t,
                        y: current.y + (to.y - current.y) * t,
                    });
                }
                current = to;
            }
            Segment::Cubic {
                control1,
                control2,
                to,
            } => {
                for step in 1..=20 {
                    let t = f64::from(step) / 20.0;
                    let u = 1.0 - t;
                    let blend = |a: f64, b: f64, c: f64, d: f64| {
                        u * u * u * a + 3.0 * u * u * t * b + 3.0 * u * t * t * c + t * t * t * d
                    };
                    points.push(Point {
                        x: blend(current.x, control1.x, control2.x, to.x),
                        y: blend(current.y, control1.y, control2.y, to.y),
                    });
                }
                current = to;
            }
        }
    }
    points
}

/// No edge runs through a box other than its own two ends.
fn assert_edges_avoid_nodes(layout: &Layout) {
    for route in &layout.edges {
        for point in sample(route) {
            for placed in &layout.nodes {
                if placed.node == route.from || placed.node == route.to {
                    continue;
                }
                let inside = point.x > placed.x + 0.5
                    && point.x < placed.x + placed.width - 0.5
                    && point.y > placed.y + 0.5
                    && point.y < placed.y + placed.height - 0.5;
                assert!(!inside, "edge {route:?} passes through {placed:?}");
            }
        }
    }
}

/// Every edge runs down the layers, except those reversed to break a cycle, which run up.
fn assert_layering(layout: &Layout) {
    for route in layout.edges.iter().filter(|route| !route.self_loop) {
        let (from, to) = (box_of(layout, route.from), box_of(layout, route.to));
        if route.reversed {
            assert!(
                from.layer > to.layer,
                "reversed edge must run up: {route:?}"
            );
        } else {
            assert!(from.layer < to.layer, "edge must run down: {route:?}");
        }
    }
}

fn assert_well_formed(svg: &str) -> roxmltree::Document<'_> {
    match roxmltree::Document::parse(svg) {
        Ok(document) => document,
        Err(error) => panic!("not well-formed XML ({error}):\n{svg}"),
    }
}

#[test]
fn edges_run_down_the_layers_and_long_edges_get_dummy_chains() {
    let g = graph(
        &["a", "b", "c", "d"],
        &[("a", "b"), ("b", "c"), ("c", "d"), ("a", "d")],
    );
    let prepared = prepare(&g);
    let layered = assign_layers(&prepared).unwrap();
    assert_eq!(&layered.layer_of[..4], &[0, 1, 2, 3]);
    // Every segment joins adjacent layers.
    for (vertex, succs) in layered.succs.iter().enumerate() {
        for &next in succs {
            assert_eq!(layered.layer_of[next], layered.layer_of[vertex] + 1);
        }
    }
    let long = layered
        .routes
        .iter()
        .find(|route| route.chain.first() == Some(&0) && route.chain.last() == Some(&3))
        .unwrap();
    assert_eq!(long.chain.len(), 4, "a → d spans three layers: two dummies");
    assert!(long.chain[1..3].iter().all(|&v| layered.is_dummy(v)));

    let laid = layout(&g, &LayoutOptions::default()).unwrap();
    assert_eq!(laid.layer_count, 4);
    assert_layering(&laid);
    assert_no_overlaps(&laid);
    assert_edges_avoid_nodes(&laid);
    // The long edge bends around b and c rather than through them.
    let long_route = laid
        .edges
        .iter()
        .find(|route| route.from == 0 && route.to == 3)
        .unwrap();
    assert!(long_route.segments.len() >= 4);
}

#[test]
fn sources_sit_next_to_their_targets() {
    // x only feeds d, the last layer: it belongs right before d, not in the first layer.
    let g = graph(
        &["a", "b", "c", "d", "x"],
        &[("a", "b"), ("b", "c"), ("c", "d"), ("x", "d")],
    );
    let laid = layout(&g, &LayoutOptions::default()).unwrap();
    assert_eq!(box_of(&laid, 4).layer, 2);
    assert_eq!(box_of(&laid, 3).layer, 3);
}

#[test]
fn a_cycle_is_broken_by_reversing_one_edge_which_still_points_at_its_target() {
    let g = graph(&["a", "b", "c"], &[("a", "b"), ("b", "c"), ("c", "a")]);
    let laid = layout(&g, &LayoutOptions::default()).unwrap();
    assert_eq!(laid.edges.len(), 3);
    let reversed: Vec<_> = laid.edges.iter().filter(|route| route.reversed).collect();
    assert_eq!(reversed.len(), 1);
    assert_eq!(
        (reversed[0].from, reversed[0].to),
        (2, 0),
        "c → a is the back edge"
    );
    assert_layering(&laid);
    assert_no_overlaps(&laid);
    // The path ends at a's box: the arrowhead points at the real target.
    let end = match reversed[0].segments.last().unwrap() {
        Segment::Line { to } | Segment::Cubic { to, .. } => *to,
    };
    let a = box_of(&laid, 0);
    assert!(
        (end.x - (a.x + a.width)).abs() < 1e-6,
        "enters a from its far side"
    );
    let svg = render_svg(&g, &LayoutOptions::default());
    assert_well_formed(&svg);
    assert!(svg.contains("class=\"edge rel-dependsOn reversed\""));
}

#[test]
fn a_two_cycle_becomes_one_edge_with_two_arrowheads() {
    let g = graph(&["a", "b"], &[("a", "b"), ("b", "a")]);
    let laid = layout(&g, &LayoutOptions::default()).unwrap();
    assert_eq!(laid.edges.len(), 1);
    assert!(laid.edges[0].both_directions);
    assert!(!laid.edges[0].reversed);
    let svg = render_svg(&g, &LayoutOptions::default());
    assert!(svg.contains("marker-start=\"url(#paved-graph-arrow)\""));
    assert!(svg.contains("marker-end=\"url(#paved-graph-arrow)\""));
}

#[test]
fn random_graphs_with_cycles_keep_the_layout_properties() {
    for seed in 1..=5 {
        let g = random_graph(60, 140, seed, false);
        for direction in [Direction::LeftToRight, Direction::TopToBottom] {
            let options = LayoutOptions {
                direction,
                show_edge_labels: true,
                ..LayoutOptions::default()
            };
            let laid = layout(&g, &options).unwrap();
            assert_layering(&laid);
            assert_no_overlaps(&laid);
            assert_inside_view(&laid);
            assert_edges_avoid_nodes(&laid);
            assert_well_formed(&render_svg(&g, &options));
        }
    }
}

#[test]
fn a_self_loop_is_drawn_beside_its_node_and_does_not_move_it() {
    let g = graph(&["a", "b"], &[("a", "a"), ("a", "b")]);
    let laid = layout(&g, &LayoutOptions::default()).unwrap();
    assert_eq!((box_of(&laid, 0).layer, box_of(&laid, 1).layer), (0, 1));
    let loops: Vec<_> = laid.edges.iter().filter(|route| route.self_loop).collect();
    assert_eq!(loops.len(), 1);
    assert_eq!((loops[0].from, loops[0].to), (0, 0));
    assert_edges_avoid_nodes(&laid);
    assert_inside_view(&laid);
    let svg = render_svg(&g, &LayoutOptions::default());
    assert!(svg.contains("class=\"edge rel-dependsOn self-loop\""));
    assert_well_formed(&svg);
}

#[test]
fn an_empty_graph_renders_a_message() {
    let options = LayoutOptions {
        title: "Dependencies of checkout".to_owned(),
        ..LayoutOptions::default()
    };
    let laid = layout(&Graph::default(), &options).unwrap();
    assert!(laid.nodes.is_empty() && laid.edges.is_empty());
    let svg = render_svg(&Graph::default(), &options);
    let document = assert_well_formed(&svg);
    let root = document.root_element();
    assert_eq!(root.attribute("role"), Some("img"));
    assert_eq!(root.attribute("class"), Some("paved-graph empty"));
    assert!(svg.contains("<title id=\"paved-graph-title\">Dependencies of checkout</title>"));
    assert!(svg.contains("Nothing to show"));
}

#[test]
fn edges_naming_unknown_entities_are_ignored() {
    let mut g = graph(&["a", "b"], &[("a", "b"), ("a", "ghost"), ("ghost", "b")]);
    g.edges.push(GraphEdge {
        from: String::new(),
        to: "component:default/a".to_owned(),
        label: "dependsOn".to_owned(),
    });
    let laid = layout(&g, &LayoutOptions::default()).unwrap();
    assert_eq!(laid.nodes.len(), 2);
    assert_eq!(laid.edges.len(), 1);
    assert_eq!((laid.edges[0].from, laid.edges[0].to), (0, 1));
}

#[test]
fn duplicate_nodes_and_parallel_edges_are_merged() {
    let mut g = graph(&["a", "b", "a"], &[]);
    g.nodes[2].label = "second a".to_owned();
    g.edges = vec![
        edge("a", "b", "dependsOn"),
        edge("a", "b", "dependsOn"),
        edge("a", "b", "consumesApi"),
        edge("a", "b", ""),
    ];
    let laid = layout(&g, &LayoutOptions::default()).unwrap();
    assert_eq!(
        laid.nodes.iter().map(|n| n.node).collect::<Vec<_>>(),
        [0, 1]
    );
    assert_eq!(laid.edges.len(), 1);
    assert_eq!(laid.edges[0].relations, ["dependsOn", "consumesApi"]);
    let svg = render_svg(&g, &LayoutOptions::default());
    assert!(svg.contains("class=\"edge rel-dependsOn rel-consumesApi\""));
    assert!(!svg.contains("second a"));
}

#[test]
fn text_and_attributes_from_input_are_escaped() {
    let g = Graph {
        nodes: vec![
            GraphNode {
                id: "x".to_owned(),
                label: "<script>alert(\"x\")</script> & 'q'\u{1}".to_owned(),
                kind: "comp\"onent <b>".to_owned(),
                detail: Some("a & b \"c\" <i>".to_owned()),
                href: "/catalog?a=1&b=\"2\"><script>".to_owned(),
                critical: true,
                focus: true,
            },
            GraphNode {
                id: "y".to_owned(),
                label: "y".to_owned(),
                kind: String::new(),
                detail: None,
                href: " java\tscript:alert(1)".to_owned(),
                critical: false,
                focus: false,
            },
        ],
        edges: vec![GraphEdge {
            from: "x".to_owned(),
            to: "y".to_owned(),
            label: "dep<s>\"on\"".to_owned(),
        }],
    };
    let options = LayoutOptions {
        title: "Deps of <b>&\"'".to_owned(),
        id_prefix: "p\"><script>".to_owned(),
        show_edge_labels: true,
        ..LayoutOptions::default()
    };
    let svg = render_svg(&g, &options);
    assert!(!svg.contains("<script"), "{svg}");
    assert!(!svg.contains("<b>") && !svg.contains("<i>"));
    assert!(!svg.contains("script:alert"), "an unsafe link is dropped");
    assert!(svg.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;"));
    assert!(svg.contains("class=\"node kind-comp-onent--b- critical focus\""));
    assert!(svg.contains("class=\"node kind-unknown\""));
    assert!(svg.contains("id=\"p---script--title\""));
    let document = assert_well_formed(&svg);
    let title = document
        .descendants()
        .find(|n| n.has_tag_name("title"))
        .and_then(|n| n.text());
    assert_eq!(title, Some("Deps of <b>&\"'"));
    let link = document
        .descendants()
        .find(|n| n.has_tag_name("a"))
        .and_then(|n| n.attribute("href"));
    assert_eq!(link, Some("/catalog?a=1&b=\"2\"><script>"));
    let node_title = document
        .descendants()
        .filter(|n| n.has_tag_name("title"))
        .filter(|n| {
            n.parent_element()
                .and_then(|parent| parent.attribute("class"))
                .is_some_and(|class| class.starts_with("node "))
        })
        .find_map(|n| n.text().filter(|text| text.starts_with("<script>")));
    assert_eq!(
        node_title,
        Some("<script>alert(\"x\")</script> & 'q'\u{FFFD}\na & b \"c\" <i>\nCritical tier")
    );
    assert_eq!(
        document
            .descendants()
            .filter(|n| n.has_tag_name("a"))
            .count(),
        1
    );
}

#[test]
fn long_labels_are_cut_with_an_ellipsis_and_kept_whole_in_the_tooltip() {
    let long = "an-extraordinarily-long-component-name-that-no-box-could-ever-hold-whole";
    let mut g = graph(&["a"], &[]);
    g.nodes[0].label = long.to_owned();
    g.nodes[0].detail = Some("website · production · owned by the web platform team".to_owned());
    let laid = layout(&g, &LayoutOptions::default()).unwrap();
    assert_eq!(laid.nodes[0].width, text::MAX_NODE_WIDTH);
    let svg = render_svg(&g, &LayoutOptions::default());
    let document = assert_well_formed(&svg);
    let label = document
        .descendants()
        .find(|n| n.attribute("class") == Some("node-label"))
        .and_then(|n| n.text())
        .unwrap();
    assert!(label.ends_with('…') && label.len() < long.len(), "{label}");
    assert!(long.starts_with(label.trim_end_matches('…')));
    let detail = document
        .descendants()
        .find(|n| n.attribute("class") == Some("node-detail"))
        .and_then(|n| n.text())
        .unwrap();
    assert!(detail.ends_with('…'), "{detail}");
    assert!(svg.contains(&format!("<title>{long}\n")));
}

#[test]
fn top_to_bottom_puts_layers_in_rows() {
    let g = graph(&["a", "b", "c"], &[("a", "b"), ("a", "c")]);
    let options = LayoutOptions {
        direction: Direction::TopToBottom,
        ..LayoutOptions::default()
    };
    let laid = layout(&g, &options).unwrap();
    let (a, b, c) = (box_of(&laid, 0), box_of(&laid, 1), box_of(&laid, 2));
    assert!(a.y + a.height < b.y && a.y + a.height < c.y);
    assert_eq!(b.y, c.y);
    assert!(b.x + b.width <= c.x || c.x + c.width <= b.x);
    // a sits centred over its two targets.
    let centre = |n: &NodeBox| n.x + n.width / 2.0;
    assert!((centre(a) - (centre(b) + centre(c)) / 2.0).abs() < 1.0);
    assert!(render_svg(&g, &options).contains("class=\"paved-graph direction-tb\""));
}

#[test]
fn a_straight_chain_is_drawn_straight() {
    let g = graph(&["a", "b", "c"], &[("a", "b"), ("b", "c")]);
    let laid = layout(&g, &LayoutOptions::default()).unwrap();
    let centres: Vec<f64> = laid.nodes.iter().map(|n| n.y + n.height / 2.0).collect();
    assert!(centres.iter().all(|&y| (y - centres[0]).abs() < 1e-6));
    for route in &laid.edges {
        assert!(
            route
                .segments
                .iter()
                .all(|segment| matches!(segment, Segment::Line { .. }))
        );
    }
}

#[test]
fn disconnected_parts_do_not_interleave() {
    let g = graph(
        &["a", "b", "c", "x", "y", "z"],
        &[("a", "b"), ("a", "c"), ("x", "y"), ("x", "z")],
    );
    let laid = layout(&g, &LayoutOptions::default()).unwrap();
    let bottom_of_first = (0..3)
        .map(|i| box_of(&laid, i))
        .map(|n| n.y + n.height)
        .fold(f64::NEG_INFINITY, f64::max);
    let top_of_second = (3..6)
        .map(|i| box_of(&laid, i).y)
        .fold(f64::INFINITY, f64::min);
    assert!(bottom_of_first <= top_of_second);
    assert_eq!(
        box_of(&laid, 3).layer,
        0,
        "each part starts at the first layer"
    );
}

#[test]
fn crossings_are_counted_between_adjacent_layers() {
    // a → d and b → c cross once when a, b and c, d are in input order.
    let g = graph(&["a", "b", "c", "d"], &[("a", "d"), ("b", "c")]);
    let layered = assign_layers(&prepare(&g)).unwrap();
    assert_eq!(count_crossings(&layered, &[vec![0, 1], vec![2, 3]]), 1);
    assert_eq!(count_crossings(&layered, &[vec![0, 1], vec![3, 2]]), 0);
    // Both edges cross the two of a third … here, K(2,2) always crosses once.
    let k22 = graph(
        &["a", "b", "c", "d"],
        &[("a", "c"), ("a", "d"), ("b", "c"), ("b", "d")],
    );
    let layered = assign_layers(&prepare(&k22)).unwrap();
    assert_eq!(count_crossings(&layered, &[vec![0, 1], vec![2, 3]]), 1);
    assert_eq!(count_crossings(&layered, &[vec![1, 0], vec![2, 3]]), 1);
}

#[test]
fn two_hundred_node_dag_has_no_overlaps_and_crossing_reduction_never_loses() {
    for seed in [7, 11, 2024] {
        let g = random_graph(200, 400, seed, true);
        let layered = assign_layers(&prepare(&g)).unwrap();
        let start = initial_order(&layered);
        let initial = count_crossings(&layered, &start);
        let reduced = reduce_crossings(&layered);
        assert_eq!(
            reduced.crossings,
            count_crossings(&layered, &reduced.layers)
        );
        assert!(
            reduced.crossings < initial,
            "seed {seed}: {} crossings after reduction, {initial} before",
            reduced.crossings
        );
        // The reduced order is a permutation of each layer.
        for (before, after) in start.iter().zip(&reduced.layers) {
            let (mut before, mut after) = (before.clone(), after.clone());
            before.sort_unstable();
            after.sort_unstable();
            assert_eq!(before, after);
        }

        for direction in [Direction::LeftToRight, Direction::TopToBottom] {
            let options = LayoutOptions {
                direction,
                ..LayoutOptions::default()
            };
            let laid = layout(&g, &options).unwrap();
            assert_eq!(laid.nodes.len(), 200);
            assert_eq!(laid.crossings, reduced.crossings);
            assert!(laid.edges.iter().all(|route| !route.reversed));
            assert_layering(&laid);
            assert_no_overlaps(&laid);
            assert_inside_view(&laid);
            assert_edges_avoid_nodes(&laid);
        }
    }
}

#[test]
fn the_same_input_gives_the_same_output() {
    let g = random_graph(120, 260, 99, false);
    let options = LayoutOptions {
        show_edge_labels: true,
        ..LayoutOptions::default()
    };
    let first = render_svg(&g, &options);
    let second = render_svg(&g.clone(), &options);
    assert_eq!(first, second);
    assert_eq!(layout(&g, &options), layout(&g, &options));
}

#[test]
fn oversized_graphs_get_a_message_instead_of_a_drawing() {
    let too_many = random_graph(MAX_NODES + 1, 10, 3, true);
    assert_eq!(
        layout(&too_many, &LayoutOptions::default()),
        Err(TooLarge::Nodes {
            count: MAX_NODES + 1,
            limit: MAX_NODES
        })
    );
    let svg = render_svg(&too_many, &LayoutOptions::default());
    assert_well_formed(&svg);
    assert!(svg.contains("class=\"paved-graph too-large\""));
    assert!(svg.contains("2001 entities (limit 2000)"));

    // A long chain with a shortcut from its head to every node: few edges, but they would need
    // hundreds of thousands of dummy vertices.
    let ids: Vec<String> = (0..1500).map(|i| format!("n{i}")).collect();
    let names: Vec<&str> = ids.iter().map(String::as_str).collect();
    let mut pairs: Vec<(&str, &str)> = names.windows(2).map(|w| (w[0], w[1])).collect();
    pairs.extend(names[2..].iter().map(|&to| (names[0], to)));
    let g = graph(&names, &pairs);
    assert!(matches!(
        layout(&g, &LayoutOptions::default()),
        Err(TooLarge::RoutingVertices { .. })
    ));
}

#[test]
fn nodes_are_links_with_kind_critical_and_focus_marks() {
    let mut g = graph(&["checkout", "payments"], &[("checkout", "payments")]);
    g.nodes[0].focus = true;
    g.nodes[1].critical = true;
    g.nodes[1].kind = "API".to_owned();
    g.nodes[1].detail = Some("openapi · production".to_owned());
    let svg = render_svg(&g, &LayoutOptions::default());
    let document = assert_well_formed(&svg);
    let links: Vec<_> = document
        .descendants()
        .filter(|n| n.has_tag_name("a"))
        .collect();
    assert_eq!(links.len(), 2);
    assert_eq!(
        links[0].attribute("href"),
        Some("/catalog/default/component/checkout")
    );
    assert_eq!(links[0].attribute("aria-current"), Some("page"));
    assert_eq!(links[1].attribute("aria-current"), None);
    let classes: Vec<_> = links
        .iter()
        .filter_map(|link| link.first_element_child())
        .filter_map(|group| group.attribute("class"))
        .collect();
    assert_eq!(
        classes,
        ["node kind-component focus", "node kind-api critical"]
    );
    assert!(svg.contains("<g class=\"critical-badge\">"));
    assert_eq!(svg.matches("<g class=\"critical-badge\">").count(), 1);
}

#[test]
fn only_relative_and_web_links_are_kept() {
    for kept in [
        "/catalog/default/component/checkout",
        "catalog/x",
        "?tab=deps",
        "#deps",
        "https://example.test/a:b",
        "HTTP://example.test",
        "mailto:team@example.test",
        "/a:b",
    ] {
        assert_eq!(safe_href(kept), Some(kept), "{kept}");
    }
    for dropped in [
        "",
        "   ",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        " \tjava\nscript:alert(1)",
        "data:text/html,<b>x</b>",
        "vbscript:x",
        "file:///etc/passwd",
    ] {
        assert_eq!(safe_href(dropped), None, "{dropped:?}");
    }
}

#[test]
fn wide_and_combined_characters_are_measured_and_cut_on_character_boundaries() {
    let mut g = graph(&["a", "b", "c"], &[("a", "b"), ("b", "c")]);
    g.nodes[0].label = "決済サービスの非常に長い名前でボックスに収まらない".to_owned();
    g.nodes[1].label = "🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀🚀".to_owned();
    g.nodes[2].label = "e\u{301}".repeat(40);
    let svg = render_svg(&g, &LayoutOptions::default());
    let document = assert_well_formed(&svg);
    let labels: Vec<&str> = document
        .descendants()
        .filter(|n| n.attribute("class") == Some("node-label"))
        .filter_map(|n| n.text())
        .collect();
    assert_eq!(labels.len(), 3);
    for (label, node) in labels.iter().zip(&g.nodes) {
        assert!(label.ends_with('…'), "{label}");
        assert!(node.label.starts_with(label.trim_end_matches('…')));
    }
}

#[test]
fn a_blank_label_falls_back_to_the_entity_reference() {
    let mut g = graph(&["a"], &[]);
    g.nodes[0].label = "  ".to_owned();
    let svg = render_svg(&g, &LayoutOptions::default());
    assert!(svg.contains(">component:default/a</text>"), "{svg}");
}

#[test]
fn a_second_graph_on_the_page_gets_its_own_ids() {
    let g = graph(&["a", "b"], &[("a", "b")]);
    let options = LayoutOptions {
        id_prefix: "parts-of-shop".to_owned(),
        ..LayoutOptions::default()
    };
    let svg = render_svg(&g, &options);
    assert!(svg.contains("<marker id=\"parts-of-shop-arrow\""));
    assert!(svg.contains("marker-end=\"url(#parts-of-shop-arrow)\""));
    assert!(svg.contains("aria-labelledby=\"parts-of-shop-title\""));
    assert!(!svg.contains("paved-graph-arrow"));
    // An id must start with a letter.
    let numeric = LayoutOptions {
        id_prefix: "42".to_owned(),
        ..LayoutOptions::default()
    };
    assert!(render_svg(&g, &numeric).contains("id=\"g-42-title\""));
}
