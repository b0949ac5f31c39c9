//! Layered (Sugiyama-style) layout of entity graphs, rendered as standalone, themeable SVG.
//!
//! The portal's Dependencies tab and the System and Domain diagrams call [`render_svg`] on the
//! server; [`layout`] is the same computation without the drawing, for tests and other renderers.
//!
//! # Why this is written here rather than taken from a crate
//! The layered-layout crates checked do not fit: `layout-rs` draws its own SVG with inline
//! colours and shapes (no links, no classes for light and dark themes) around a Graphviz-style
//! model; `rust-sugiyama` returns vertex centres only (no routes through dummy vertices, so edges
//! cannot be drawn around nodes) and reads its settings from process environment variables,
//! which a pure, deterministic renderer cannot have; the `dagre` ports are young. The algorithm
//! below is a few hundred lines per step, deterministic and bounded.
//!
//! # Pipeline
//! 1. Normalise: duplicate node ids keep the first node, edges naming unknown ids are dropped,
//!    parallel edges merge into one (their relations listed together), self-loops are set aside
//!    and drawn as small loops.
//! 2. Cycle removal: a depth-first search from the sources reverses the back edges it meets; a
//!    reversed edge is still drawn pointing at its real target. An edge and its exact opposite
//!    (a two-cycle) become one line with an arrowhead at each end.
//! 3. Layers: longest path from the sources, then each node slides towards the side where it has
//!    more edges while that shortens the edges (a cheap stand-in for network simplex), so sources
//!    sit next to their targets rather than all in the first layer.
//! 4. Dummy vertices on every layer a long edge crosses, so the edge gets its own lane.
//! 5. Crossing reduction: alternating barycenter sweeps and adjacent swaps; the order with the
//!    fewest crossings (the initial depth-first order included) wins. Disconnected parts stay side
//!    by side rather than interleaved.
//! 6. Coordinates: Brandes–Köpf (four alignments balanced), which keeps long edges straight and
//!    nodes apart; boxes of different sizes are honoured.
//! 7. Routes: edges leave and enter through spread ports, run straight through node layers and
//!    bend only in the gaps between layers, as cubic Béziers tangent to the flow.
//!
//! Input that is too big to draw usefully ([`MAX_NODES`], [`MAX_EDGES`] or
//! [`MAX_ROUTING_VERTICES`] exceeded) yields [`TooLarge`] from [`layout`] and a small SVG saying
//! so from [`render_svg`], never a long computation.
//!
//! # Class vocabulary of the SVG
//! Colours come only from CSS (plus `currentColor` fallbacks), so the page themes the drawing in
//! light and dark mode. [`DEFAULT_STYLESHEET`] is a complete theme the page can include.
//! - `paved-graph` on the root `<svg>`, with `direction-lr` or `direction-tb`; a message drawing
//!   adds `empty` or `too-large` and holds one `<text class="message">`.
//! - `edges`, `edge-labels`, `nodes`: the three layer groups, drawn in that order.
//! - `edge` on each edge `<path>`, with `rel-<relation>` per relation it carries (for instance
//!   `rel-dependsOn`), `reversed` when drawn against the flow to break a cycle,
//!   `both-directions` when it stands for a two-cycle, `self-loop`. The arrowhead marker's path
//!   has `edge-arrow`.
//! - `edge-label` on the `<g>` of an edge's label (also carrying the `rel-…` classes), holding a
//!   `<rect class="edge-label-bg">` and a `<text>`.
//! - `node-link` on each node's `<a>`; `node` on the `<g>` inside it, with `kind-<kind>`
//!   (lower-cased, for instance `kind-component`), `critical` for critical-tier entities,
//!   `focus` for the entity the page is about (its link also has `aria-current="page"`).
//!   Inside: `<rect class="node-box">`, `<text class="node-label">`, `<text class="node-detail">`,
//!   and for critical nodes `<g class="critical-badge">` (a circle with "!", so criticality does
//!   not rest on colour alone).
//!
//! Class tokens made from input (kinds, relations) keep only ASCII letters, digits, `-` and `_`.

mod layering;
mod ordering;
mod position;
mod routing;
mod svg;
#[cfg(test)]
mod tests;
mod text;

pub use svg::{DEFAULT_STYLESHEET, render_layout};

/// An entity in the drawing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphNode {
    /// Entity reference, unique within the graph, e.g. `component:default/checkout`.
    pub id: String,
    /// Display name (title or name).
    pub label: String,
    /// Entity kind, e.g. `component`; becomes the `kind-<kind>` class.
    pub kind: String,
    /// Second line, e.g. `service · production`.
    pub detail: Option<String>,
    /// Link target of the node (the portal's entity page).
    pub href: String,
    /// Critical tier: marked with the `critical` class and a badge.
    pub critical: bool,
    /// The entity the page is about.
    pub focus: bool,
}

/// A relation between two entities, drawn as an arrow from `from` to `to`.
///
/// Pass each fact once, in one direction (`dependsOn`, not also `dependencyOf`): an edge and its
/// opposite are drawn as one line with arrowheads at both ends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphEdge {
    pub from: String,
    pub to: String,
    /// Relation type, e.g. `dependsOn`; becomes a `rel-<relation>` class and the edge label.
    pub label: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

/// Which way the layers run: sources on the left or at the top.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Direction {
    #[default]
    LeftToRight,
    TopToBottom,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutOptions {
    pub direction: Direction,
    /// Draw each edge's relation next to it (widens the gaps between layers).
    pub show_edge_labels: bool,
    /// Accessible title of the drawing, e.g. "Dependencies of checkout".
    pub title: String,
    /// Prefix of the ids inside the SVG (title, arrowhead markers): distinct per drawing, so two
    /// graphs can share a page. Characters other than ASCII letters, digits, `-` and `_` are
    /// replaced.
    pub id_prefix: String,
    /// Put [`DEFAULT_STYLESHEET`] inside the SVG, for a drawing shown outside the portal's pages.
    pub embed_stylesheet: bool,
}

impl Default for LayoutOptions {
    fn default() -> Self {
        LayoutOptions {
            direction: Direction::LeftToRight,
            show_edge_labels: false,
            title: "Entity graph".to_owned(),
            id_prefix: "paved-graph".to_owned(),
            embed_stylesheet: false,
        }
    }
}

/// Graphs with more nodes than this are not laid out.
pub const MAX_NODES: usize = 2000;
/// Graphs with more edges than this are not laid out.
pub const MAX_EDGES: usize = 8000;
/// Limit on nodes plus the dummy vertices long edges need: bounds time and memory when a few
/// edges span very many layers.
pub const MAX_ROUTING_VERTICES: usize = 20_000;

/// Why a graph was not laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TooLarge {
    Nodes { count: usize, limit: usize },
    Edges { count: usize, limit: usize },
    RoutingVertices { count: usize, limit: usize },
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TooLarge::Nodes { count, limit } => {
                write!(
                    f,
                    "Graph too large to draw: {count} entities (limit {limit})."
                )
            }
            TooLarge::Edges { count, limit } => {
                write!(
                    f,
                    "Graph too large to draw: {count} relations (limit {limit})."
                )
            }
            TooLarge::RoutingVertices { count, limit } => write!(
                f,
                "Graph too large to draw: its relations span {count} layer crossings (limit {limit})."
            ),
        }
    }
}

impl std::error::Error for TooLarge {}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// One piece of an edge's path, continuing from where the previous one ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Segment {
    Line {
        to: Point,
    },
    Cubic {
        control1: Point,
        control2: Point,
        to: Point,
    },
}

/// A node's box; `x`, `y` is its top-left corner.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeBox {
    /// Index into [`Graph::nodes`].
    pub node: usize,
    pub layer: usize,
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
}

/// An edge's path from the border of `from` to the border of `to` (arrowhead end).
#[derive(Debug, Clone, PartialEq)]
pub struct EdgeRoute {
    /// Index into [`Graph::nodes`].
    pub from: usize,
    /// Index into [`Graph::nodes`].
    pub to: usize,
    /// Distinct relation labels of the merged input edges, in input order.
    pub relations: Vec<String>,
    pub start: Point,
    pub segments: Vec<Segment>,
    /// Drawn against the flow of layers, to break a cycle.
    pub reversed: bool,
    /// Stands for `from → to` and `to → from` at once.
    pub both_directions: bool,
    pub self_loop: bool,
    /// Centre of the relation label, when labels are shown and the edge has relations.
    pub label_at: Option<Point>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    pub direction: Direction,
    pub width: f64,
    pub height: f64,
    /// One box per distinct node id, in input order.
    pub nodes: Vec<NodeBox>,
    /// Edges between distinct nodes in a stable order, then self-loops.
    pub edges: Vec<EdgeRoute>,
    pub layer_count: usize,
    /// Edge crossings between adjacent layers in the chosen order (dummy segments included).
    pub crossings: usize,
}

/// Lays the graph out. Total: bad references are skipped, cycles broken, and only a graph over
/// the size limits is refused.
pub fn layout(graph: &Graph, options: &LayoutOptions) -> Result<Layout, TooLarge> {
    if graph.nodes.len() > MAX_NODES {
        return Err(TooLarge::Nodes {
            count: graph.nodes.len(),
            limit: MAX_NODES,
        });
    }
    if graph.edges.len() > MAX_EDGES {
        return Err(TooLarge::Edges {
            count: graph.edges.len(),
            limit: MAX_EDGES,
        });
    }
    let prepared = layering::prepare(graph);
    let layered = layering::assign_layers(&prepared)?;
    let ordering = ordering::reduce_crossings(&layered);
    Ok(routing::build(
        graph, &prepared, &layered, &ordering, options,
    ))
}

/// Lays the graph out and draws it as a standalone `<svg>` element; a graph that cannot be drawn
/// (empty, too large) gives a small SVG with a message instead.
pub fn render_svg(graph: &Graph, options: &LayoutOptions) -> String {
    match layout(graph, options) {
        Ok(layout) if layout.nodes.is_empty() => {
            svg::message_svg(options, "Nothing to show: no related entities.", "empty")
        }
        Ok(layout) => render_layout(graph, &layout, options),
        Err(too_large) => svg::message_svg(options, &too_large.to_string(), "too-large"),
    }
}
