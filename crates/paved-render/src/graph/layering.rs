//! Input normalisation, cycle removal, layer assignment and dummy vertices for long edges.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::collections::hash_map::Entry;

use super::{Graph, MAX_ROUTING_VERTICES, TooLarge};

/// The graph as the layout sees it. A node's position in `nodes` is its vertex id from here on.
pub(super) struct Prepared {
    /// Index into `Graph::nodes` of each distinct node id, first occurrence kept.
    pub nodes: Vec<usize>,
    /// Distinct `(from, to)` pairs between different nodes, sorted by `(from, to)`.
    pub edges: Vec<Relation>,
    /// Pairs with `from == to`, sorted.
    pub self_loops: Vec<Relation>,
}

pub(super) struct Relation {
    pub from: usize,
    pub to: usize,
    /// Distinct non-empty labels of the merged input edges, in input order.
    pub relations: Vec<String>,
}

pub(super) fn prepare(graph: &Graph) -> Prepared {
    // Lookups only: nothing iterates this map, so its order cannot reach the output.
    let mut index: HashMap<&str, usize> = HashMap::with_capacity(graph.nodes.len());
    let mut nodes = Vec::with_capacity(graph.nodes.len());
    for (graph_index, node) in graph.nodes.iter().enumerate() {
        if let Entry::Vacant(slot) = index.entry(node.id.as_str()) {
            slot.insert(nodes.len());
            nodes.push(graph_index);
        }
    }

    let mut pairs: Vec<(usize, usize, usize)> = graph
        .edges
        .iter()
        .enumerate()
        .filter_map(|(edge_index, edge)| {
            let from = *index.get(edge.from.as_str())?;
            let to = *index.get(edge.to.as_str())?;
            Some((from, to, edge_index))
        })
        .collect();
    pairs.sort_unstable();

    let mut edges: Vec<Relation> = Vec::new();
    let mut self_loops: Vec<Relation> = Vec::new();
    for (from, to, edge_index) in pairs {
        let target = if from == to {
            &mut self_loops
        } else {
            &mut edges
        };
        let label = graph.edges[edge_index].label.trim();
        match target.last_mut() {
            Some(last) if last.from == from && last.to == to => {
                if !label.is_empty() && !last.relations.iter().any(|known| known == label) {
                    last.relations.push(label.to_owned());
                }
            }
            _ => target.push(Relation {
                from,
                to,
                relations: if label.is_empty() {
                    Vec::new()
                } else {
                    vec![label.to_owned()]
                },
            }),
        }
    }
    Prepared {
        nodes,
        edges,
        self_loops,
    }
}

/// The proper layered graph: every edge joins adjacent layers, long edges run through dummies.
pub(super) struct Layered {
    /// Vertices `0..real_count` are the prepared nodes; the rest are dummies.
    pub real_count: usize,
    pub layer_of: Vec<usize>,
    pub layer_count: usize,
    /// Neighbours one layer down, sorted by vertex id.
    pub succs: Vec<Vec<usize>>,
    /// Neighbours one layer up, sorted by vertex id.
    pub preds: Vec<Vec<usize>>,
    /// Weakly connected part of each vertex, numbered by its smallest node.
    pub component_of: Vec<usize>,
    pub routes: Vec<Route>,
}

impl Layered {
    pub fn vertex_count(&self) -> usize {
        self.layer_of.len()
    }

    pub fn is_dummy(&self, vertex: usize) -> bool {
        vertex >= self.real_count
    }
}

/// One drawn edge between two nodes, oriented down the layers.
pub(super) struct Route {
    /// `upper`, its dummies in layer order, `lower`.
    pub chain: Vec<usize>,
    /// Index into `Prepared::edges` of the relation pointing down (upper → lower), if any.
    pub forward: Option<usize>,
    /// Index into `Prepared::edges` of the relation pointing up, reversed to break a cycle.
    pub backward: Option<usize>,
}

pub(super) fn assign_layers(prepared: &Prepared) -> Result<Layered, TooLarge> {
    let node_count = prepared.nodes.len();
    let reversed = back_edges(node_count, &prepared.edges);

    // Orient, then merge an edge with its reversed opposite (a two-cycle) into one route.
    let mut oriented: Vec<(usize, usize, usize)> = prepared
        .edges
        .iter()
        .enumerate()
        .map(|(index, edge)| {
            if reversed[index] {
                (edge.to, edge.from, index)
            } else {
                (edge.from, edge.to, index)
            }
        })
        .collect();
    oriented.sort_unstable();
    let mut ends: Vec<(usize, usize)> = Vec::new();
    let mut routes: Vec<Route> = Vec::new();
    for (upper, lower, index) in oriented {
        if ends.last() != Some(&(upper, lower)) {
            ends.push((upper, lower));
            routes.push(Route {
                chain: vec![upper, lower],
                forward: None,
                backward: None,
            });
        }
        if let Some(route) = routes.last_mut() {
            if reversed[index] {
                route.backward = Some(index);
            } else {
                route.forward = Some(index);
            }
        }
    }

    let mut layer_of = longest_path_layers(node_count, &ends);
    shorten_edges(node_count, &ends, &mut layer_of);
    let component_of = components(node_count, &ends);
    // Each part starts at layer 0, so a small part does not float in the middle of a big one.
    let mut component_min = vec![usize::MAX; node_count];
    for vertex in 0..node_count {
        let component = component_of[vertex];
        component_min[component] = component_min[component].min(layer_of[vertex]);
    }
    for vertex in 0..node_count {
        layer_of[vertex] -= component_min[component_of[vertex]];
    }

    let mut vertex_count = node_count;
    for &(upper, lower) in &ends {
        let span = layer_of[lower].saturating_sub(layer_of[upper]);
        vertex_count = vertex_count.saturating_add(span.saturating_sub(1));
    }
    if vertex_count > MAX_ROUTING_VERTICES {
        return Err(TooLarge::RoutingVertices {
            count: vertex_count,
            limit: MAX_ROUTING_VERTICES,
        });
    }

    let mut component_of = component_of;
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); node_count];
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); node_count];
    for route in &mut routes {
        let (upper, lower) = (route.chain[0], route.chain[1]);
        let mut previous = upper;
        let mut chain = vec![upper];
        for layer in layer_of[upper] + 1..layer_of[lower] {
            let dummy = layer_of.len();
            layer_of.push(layer);
            component_of.push(component_of[upper]);
            succs.push(Vec::new());
            preds.push(Vec::new());
            succs[previous].push(dummy);
            preds[dummy].push(previous);
            chain.push(dummy);
            previous = dummy;
        }
        succs[previous].push(lower);
        preds[lower].push(previous);
        chain.push(lower);
        route.chain = chain;
    }
    for list in succs.iter_mut().chain(preds.iter_mut()) {
        list.sort_unstable();
    }
    let layer_count = layer_of.iter().max().map_or(0, |&max| max + 1);
    Ok(Layered {
        real_count: node_count,
        layer_of,
        layer_count,
        succs,
        preds,
        component_of,
        routes,
    })
}

/// Marks the edges a depth-first search finds pointing back into its own stack. Starting from
/// the sources makes the search follow the graph's own flow, so few edges are reversed.
fn back_edges(node_count: usize, edges: &[Relation]) -> Vec<bool> {
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); node_count];
    let mut in_degree = vec![0usize; node_count];
    for (index, edge) in edges.iter().enumerate() {
        out[edge.from].push((edge.to, index));
        in_degree[edge.to] += 1;
    }
    const NEW: u8 = 0;
    const ON_STACK: u8 = 1;
    const DONE: u8 = 2;
    let mut state = vec![NEW; node_count];
    let mut reversed = vec![false; edges.len()];
    let mut stack: Vec<(usize, usize)> = Vec::new();
    let sources = (0..node_count).filter(|&vertex| in_degree[vertex] == 0);
    for root in sources.chain(0..node_count) {
        if state[root] != NEW {
            continue;
        }
        state[root] = ON_STACK;
        stack.push((root, 0));
        while let Some(top) = stack.last_mut() {
            let vertex = top.0;
            if let Some(&(target, index)) = out[vertex].get(top.1) {
                top.1 += 1;
                match state[target] {
                    NEW => {
                        state[target] = ON_STACK;
                        stack.push((target, 0));
                    }
                    ON_STACK => reversed[index] = true,
                    _ => {}
                }
            } else {
                state[vertex] = DONE;
                stack.pop();
            }
        }
    }
    reversed
}

fn topological_order(node_count: usize, ends: &[(usize, usize)]) -> Vec<usize> {
    let mut in_degree = vec![0usize; node_count];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); node_count];
    for &(upper, lower) in ends {
        out[upper].push(lower);
        in_degree[lower] += 1;
    }
    let mut queue: VecDeque<usize> = (0..node_count).filter(|&v| in_degree[v] == 0).collect();
    let mut order = Vec::with_capacity(node_count);
    while let Some(vertex) = queue.pop_front() {
        order.push(vertex);
        for &next in &out[vertex] {
            in_degree[next] -= 1;
            if in_degree[next] == 0 {
                queue.push_back(next);
            }
        }
    }
    order
}

fn longest_path_layers(node_count: usize, ends: &[(usize, usize)]) -> Vec<usize> {
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); node_count];
    for &(upper, lower) in ends {
        preds[lower].push(upper);
    }
    let mut layer_of = vec![0usize; node_count];
    for vertex in topological_order(node_count, ends) {
        layer_of[vertex] = preds[vertex]
            .iter()
            .map(|&pred| layer_of[pred] + 1)
            .max()
            .unwrap_or(0);
    }
    layer_of
}

/// Moves each node within the layers its neighbours allow, towards the side with more edges:
/// every move shortens the total edge length, so this converges; a few passes get most of what
/// network simplex would.
fn shorten_edges(node_count: usize, ends: &[(usize, usize)], layer_of: &mut [usize]) {
    let mut preds: Vec<Vec<usize>> = vec![Vec::new(); node_count];
    let mut succs: Vec<Vec<usize>> = vec![Vec::new(); node_count];
    for &(upper, lower) in ends {
        succs[upper].push(lower);
        preds[lower].push(upper);
    }
    let order = topological_order(node_count, ends);
    // A real edge always leaves at least one layer between its ends; an order that is not
    // complete would mean a cycle survived, and moving nodes then could break that.
    if order.len() != node_count {
        return;
    }
    for _ in 0..8 {
        let mut moved = false;
        for &vertex in &order {
            let (ins, outs) = (preds[vertex].len(), succs[vertex].len());
            let target = if ins > outs {
                preds[vertex]
                    .iter()
                    .map(|&pred| layer_of[pred] + 1)
                    .max()
                    .unwrap_or(0)
            } else if outs > ins {
                match succs[vertex].iter().map(|&succ| layer_of[succ]).min() {
                    Some(lowest) => lowest.saturating_sub(1),
                    None => continue,
                }
            } else {
                continue;
            };
            if target != layer_of[vertex] {
                layer_of[vertex] = target;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
}

/// Weakly connected parts, each numbered by its smallest vertex's rank among the parts.
fn components(node_count: usize, ends: &[(usize, usize)]) -> Vec<usize> {
    fn find(parent: &mut [usize], mut vertex: usize) -> usize {
        while parent[vertex] != vertex {
            parent[vertex] = parent[parent[vertex]];
            vertex = parent[vertex];
        }
        vertex
    }
    let mut parent: Vec<usize> = (0..node_count).collect();
    for &(a, b) in ends {
        let (root_a, root_b) = (find(&mut parent, a), find(&mut parent, b));
        // The smaller root wins, so each part's root is its smallest vertex.
        if root_a < root_b {
            parent[root_b] = root_a;
        } else if root_b < root_a {
            parent[root_a] = root_b;
        }
    }
    let mut number_of_root = vec![usize::MAX; node_count];
    let mut next = 0;
    let mut component_of = vec![0; node_count];
    for (vertex, component) in component_of.iter_mut().enumerate() {
        let root = find(&mut parent, vertex);
        if number_of_root[root] == usize::MAX {
            number_of_root[root] = next;
            next += 1;
        }
        *component = number_of_root[root];
    }
    component_of
}
