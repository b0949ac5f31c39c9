//! The graphs of entity pages: an entity's upstream and downstream dependencies to a chosen
//! depth, and a system's or domain's parts. Walks the catalog breadth-first (one read per
//! level) and hands the result to `paved_render::graph` for layout and drawing.

use super::view::{self, Titles};
use crate::AppState;
use paved_catalog::CatalogResult;
use paved_model::EntityRef;
use paved_render::graph::{Direction, Graph, GraphEdge, GraphNode, LayoutOptions, render_svg};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// Beyond this many entities a graph stops growing (and says so): it stays readable and fast.
pub const MAX_GRAPH_NODES: usize = 200;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphDirection {
    Both,
    Downstream,
    Upstream,
}

impl GraphDirection {
    pub fn as_str(self) -> &'static str {
        match self {
            GraphDirection::Both => "both",
            GraphDirection::Downstream => "downstream",
            GraphDirection::Upstream => "upstream",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            GraphDirection::Both => "Both directions",
            GraphDirection::Downstream => "What it depends on",
            GraphDirection::Upstream => "What depends on it",
        }
    }
}

#[derive(Serialize)]
pub struct RenderedGraph {
    pub svg: String,
    pub nodes: usize,
    pub edges: usize,
    /// The walk stopped at [`MAX_GRAPH_NODES`].
    pub truncated: bool,
}

/// Relations followed from an entity, with the edge they draw. Edges run the way calls and
/// dependencies flow — consumer → API → provider → what it depends on — so the layout reads
/// left to right. `(relation on the visited entity, downstream?, edge label, edge from visited?)`
const FOLLOWED: [(&str, bool, &str, bool); 6] = [
    ("dependsOn", true, "dependsOn", true),
    ("consumesApi", true, "consumesApi", true),
    ("apiProvidedBy", true, "providedBy", true),
    ("dependencyOf", false, "dependsOn", false),
    ("apiConsumedBy", false, "consumesApi", false),
    ("providesApi", false, "providedBy", false),
];

fn relation_targets<'a>(
    value: &'a Value,
    relation: &'a str,
) -> impl Iterator<Item = EntityRef> + 'a {
    value
        .get("relations")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(move |r| r.get("type").and_then(Value::as_str) == Some(relation))
        .filter_map(|r| r.get("targetRef").and_then(Value::as_str))
        .filter_map(|r| EntityRef::parse_full(r).ok())
}

/// The nodes and edges found so far, with the entities read for them.
struct Walk {
    values: HashMap<EntityRef, Value>,
    order: Vec<EntityRef>,
    edges: BTreeSet<(EntityRef, EntityRef, &'static str)>,
    truncated: bool,
}

impl Walk {
    fn new(root: &EntityRef, root_value: &Value) -> Walk {
        let mut values = HashMap::new();
        values.insert(root.clone(), root_value.clone());
        Walk {
            values,
            order: vec![root.clone()],
            edges: BTreeSet::new(),
            truncated: false,
        }
    }

    fn knows(&self, entity: &EntityRef) -> bool {
        self.order.contains(entity)
    }

    /// Adds a node if there is room; false when the graph is full.
    fn add_node(&mut self, entity: &EntityRef) -> bool {
        if self.knows(entity) {
            return true;
        }
        if self.order.len() >= MAX_GRAPH_NODES {
            self.truncated = true;
            return false;
        }
        self.order.push(entity.clone());
        true
    }

    async fn load(&mut self, state: &AppState, refs: &[EntityRef]) -> CatalogResult<()> {
        let missing: Vec<EntityRef> = refs
            .iter()
            .filter(|r| !self.values.contains_key(*r))
            .cloned()
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        for (entity, raw) in missing
            .iter()
            .zip(state.catalog.entities_by_refs(&missing).await?)
        {
            if let Some(value) = raw.as_ref().and_then(view::parse_raw) {
                self.values.insert(entity.clone(), value);
            }
        }
        Ok(())
    }

    fn into_graph(self, focus: &EntityRef) -> Graph {
        let titles = Titles::new();
        let nodes = self
            .order
            .iter()
            .map(|entity| node_for(entity, self.values.get(entity), entity == focus, &titles))
            .collect();
        let edges = self
            .edges
            .iter()
            .map(|(from, to, label)| GraphEdge {
                from: from.to_string(),
                to: to.to_string(),
                label: (*label).to_owned(),
            })
            .collect();
        Graph { nodes, edges }
    }
}

fn node_for(entity: &EntityRef, value: Option<&Value>, focus: bool, titles: &Titles) -> GraphNode {
    let summary = value.and_then(|v| view::EntitySummary::from_value(v, titles));
    let (label, detail, critical) = match &summary {
        Some(s) => {
            let mut detail: Vec<String> = vec![s.kind.clone()];
            detail.extend(s.spec_type.clone());
            detail.extend(s.lifecycle.clone());
            (s.title.clone(), Some(detail.join(" · ")), s.critical)
        }
        None => (
            view::short_ref(entity, None),
            Some("not in the catalog".to_owned()),
            false,
        ),
    };
    GraphNode {
        id: entity.to_string(),
        label,
        kind: entity.kind().to_owned(),
        detail,
        href: view::entity_href(entity),
        critical,
        focus,
    }
}

fn options(title: String, direction: Direction, id_prefix: &str) -> LayoutOptions {
    LayoutOptions {
        direction,
        show_edge_labels: true,
        title,
        id_prefix: id_prefix.to_owned(),
        ..LayoutOptions::default()
    }
}

/// Edge labels help on small graphs and bury large ones (line styles still tell relations
/// apart there).
const EDGE_LABELS_UP_TO: usize = 16;

fn rendered(graph: Graph, options: &LayoutOptions, truncated: bool) -> RenderedGraph {
    let mut options = options.clone();
    options.show_edge_labels = graph.edges.len() <= EDGE_LABELS_UP_TO;
    let options = &options;
    RenderedGraph {
        nodes: graph.nodes.len(),
        edges: graph.edges.len(),
        svg: render_svg(&graph, options),
        truncated,
    }
}

/// The entity's dependency graph to `depth` steps in `direction`.
pub async fn dependency_graph(
    state: &AppState,
    root: &EntityRef,
    root_value: &Value,
    depth: usize,
    direction: GraphDirection,
) -> CatalogResult<RenderedGraph> {
    let mut walk = Walk::new(root, root_value);
    let mut frontier = vec![root.clone()];
    for _ in 0..depth {
        let mut next = Vec::new();
        for entity in &frontier {
            let Some(value) = walk.values.get(entity).cloned() else {
                continue;
            };
            for (relation, downstream, label, from_visited) in FOLLOWED {
                let wanted = match direction {
                    GraphDirection::Both => true,
                    GraphDirection::Downstream => downstream,
                    GraphDirection::Upstream => !downstream,
                };
                if !wanted {
                    continue;
                }
                for target in relation_targets(&value, relation) {
                    let new = !walk.knows(&target);
                    if !walk.add_node(&target) {
                        continue;
                    }
                    let edge = if from_visited {
                        (entity.clone(), target.clone(), label)
                    } else {
                        (target.clone(), entity.clone(), label)
                    };
                    walk.edges.insert(edge);
                    if new {
                        next.push(target);
                    }
                }
            }
        }
        if next.is_empty() {
            break;
        }
        walk.load(state, &next).await?;
        frontier = next;
    }
    let title = format!("Dependencies of {}", view::short_ref(root, None));
    let truncated = walk.truncated;
    let graph = walk.into_graph(root);
    Ok(rendered(
        graph,
        &options(title, Direction::LeftToRight, "deps"),
        truncated,
    ))
}

/// A system's or domain's parts (and a domain's systems' parts), with the dependencies
/// between them.
pub async fn parts_diagram(
    state: &AppState,
    root: &EntityRef,
    root_value: &Value,
) -> CatalogResult<RenderedGraph> {
    let mut walk = Walk::new(root, root_value);
    let levels = if root.kind() == "domain" { 2 } else { 1 };
    let mut frontier = vec![root.clone()];
    for _ in 0..levels {
        let mut next = Vec::new();
        for entity in &frontier {
            let Some(value) = walk.values.get(entity).cloned() else {
                continue;
            };
            for part in relation_targets(&value, "hasPart") {
                let new = !walk.knows(&part);
                if walk.add_node(&part) {
                    walk.edges.insert((entity.clone(), part.clone(), "hasPart"));
                    if new {
                        next.push(part);
                    }
                }
            }
        }
        walk.load(state, &next).await?;
        frontier = next;
    }
    // Dependencies among the parts themselves.
    let members: Vec<EntityRef> = walk.order.clone();
    for entity in &members {
        let Some(value) = walk.values.get(entity).cloned() else {
            continue;
        };
        for (relation, _, label, from_visited) in FOLLOWED.iter().filter(|f| f.3) {
            for target in relation_targets(&value, relation) {
                if walk.knows(&target) && from_visited.to_owned() {
                    walk.edges.insert((entity.clone(), target, label));
                }
            }
        }
    }
    let title = format!("Parts of {}", view::short_ref(root, None));
    let truncated = walk.truncated;
    let graph = walk.into_graph(root);
    Ok(rendered(
        graph,
        &options(title, Direction::TopToBottom, "parts"),
        truncated,
    ))
}
