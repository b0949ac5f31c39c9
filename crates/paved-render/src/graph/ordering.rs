//! Order of the vertices within each layer: crossing reduction by barycenter sweeps and
//! adjacent swaps, keeping the best order seen.

use super::layering::Layered;

pub(super) struct Ordering {
    /// Vertices of each layer, first to last along the cross axis.
    pub layers: Vec<Vec<usize>>,
    pub crossings: usize,
}

/// Sweeps stop after this many rounds without a better order.
const PATIENCE: usize = 4;

pub(super) fn reduce_crossings(graph: &Layered) -> Ordering {
    let mut layers = initial_order(graph);
    let mut best_crossings = count_crossings(graph, &layers);
    let mut best = layers.clone();
    // Big graphs get fewer rounds: each round is linear-ish, but the page waits for it.
    let rounds = if graph.vertex_count() > 3000 { 8 } else { 24 };
    let mut position = positions(graph.vertex_count(), &layers);
    let mut scratch = Scratch::default();
    let mut rounds_without_gain = 0;
    for round in 0..rounds {
        if best_crossings == 0 {
            break;
        }
        sweep(graph, &mut layers, &mut position, round % 2 == 0);
        transpose(graph, &mut layers, &mut position, &mut scratch);
        let crossings = count_crossings(graph, &layers);
        if crossings < best_crossings {
            best_crossings = crossings;
            best.clone_from(&layers);
            rounds_without_gain = 0;
        } else {
            rounds_without_gain += 1;
            if rounds_without_gain >= PATIENCE {
                break;
            }
        }
    }
    Ordering {
        layers: best,
        crossings: best_crossings,
    }
}

/// Depth-first order from the nodes of the first layers, part by part: a subtree starts out
/// contiguous, which is already close to a good order, and parts never interleave.
pub(super) fn initial_order(graph: &Layered) -> Vec<Vec<usize>> {
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); graph.layer_count];
    let mut roots: Vec<usize> = (0..graph.real_count).collect();
    roots.sort_by_key(|&vertex| (graph.component_of[vertex], graph.layer_of[vertex], vertex));
    let mut seen = vec![false; graph.vertex_count()];
    let mut stack: Vec<usize> = Vec::new();
    for root in roots {
        if seen[root] {
            continue;
        }
        seen[root] = true;
        stack.push(root);
        while let Some(vertex) = stack.pop() {
            layers[graph.layer_of[vertex]].push(vertex);
            // Reversed, so the first successor is visited first.
            for &next in graph.succs[vertex].iter().rev() {
                if !seen[next] {
                    seen[next] = true;
                    stack.push(next);
                }
            }
        }
    }
    layers
}

pub(super) fn positions(vertex_count: usize, layers: &[Vec<usize>]) -> Vec<usize> {
    let mut position = vec![0; vertex_count];
    for layer in layers {
        for (index, &vertex) in layer.iter().enumerate() {
            position[vertex] = index;
        }
    }
    position
}

/// Crossings between adjacent layers, by counting inversions with a Fenwick tree
/// (Barth, Jünger and Mutzel's bilayer cross count).
pub(super) fn count_crossings(graph: &Layered, layers: &[Vec<usize>]) -> usize {
    let position = positions(graph.vertex_count(), layers);
    let mut total = 0;
    let mut sequence: Vec<usize> = Vec::new();
    let mut tree: Vec<usize> = Vec::new();
    for pair in layers.windows(2) {
        let (upper, lower) = (&pair[0], &pair[1]);
        sequence.clear();
        for &vertex in upper {
            let start = sequence.len();
            sequence.extend(
                graph.succs[vertex]
                    .iter()
                    .filter(|&&next| graph.layer_of[next] == graph.layer_of[vertex] + 1)
                    .map(|&next| position[next]),
            );
            sequence[start..].sort_unstable();
        }
        tree.clear();
        tree.resize(lower.len() + 1, 0);
        for (inserted, &value) in sequence.iter().enumerate() {
            // Inserted values not greater than `value` …
            let mut not_greater = 0;
            let mut index = value + 1;
            while index > 0 {
                not_greater += tree[index];
                index &= index - 1;
            }
            // … so the rest cross this edge.
            total += inserted - not_greater;
            let mut index = value + 1;
            while index < tree.len() {
                tree[index] += 1;
                index += index & index.wrapping_neg();
            }
        }
    }
    total
}

/// Reorders each layer by the mean position of its neighbours in the layer just fixed. Vertices
/// without such neighbours keep their slot; each connected part is reordered within its own run.
fn sweep(graph: &Layered, layers: &mut [Vec<usize>], position: &mut [usize], downward: bool) {
    let count = layers.len();
    let indices: Vec<usize> = if downward {
        (1..count).collect()
    } else {
        (0..count.saturating_sub(1)).rev().collect()
    };
    let neighbours = if downward { &graph.preds } else { &graph.succs };
    let mut movable: Vec<(f64, usize, usize)> = Vec::new();
    let mut slots: Vec<usize> = Vec::new();
    for index in indices {
        let layer = &mut layers[index];
        let mut start = 0;
        while start < layer.len() {
            let component = graph.component_of[layer[start]];
            let end = layer[start..]
                .iter()
                .position(|&vertex| graph.component_of[vertex] != component)
                .map_or(layer.len(), |offset| start + offset);
            movable.clear();
            slots.clear();
            for (slot, &vertex) in layer.iter().enumerate().take(end).skip(start) {
                let around = &neighbours[vertex];
                if around.is_empty() {
                    continue;
                }
                let sum: usize = around.iter().map(|&other| position[other]).sum();
                movable.push((sum as f64 / around.len() as f64, slot, vertex));
                slots.push(slot);
            }
            movable.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (&slot, &(_, _, vertex)) in slots.iter().zip(movable.iter()) {
                layer[slot] = vertex;
            }
            start = end;
        }
        for (slot, &vertex) in layer.iter().enumerate() {
            position[vertex] = slot;
        }
    }
}

#[derive(Default)]
struct Scratch {
    left: Vec<usize>,
    right: Vec<usize>,
}

/// Swaps neighbours in a layer while that removes crossings with both adjacent layers.
fn transpose(
    graph: &Layered,
    layers: &mut [Vec<usize>],
    position: &mut [usize],
    scratch: &mut Scratch,
) {
    for _ in 0..4 {
        let mut improved = false;
        for layer in layers.iter_mut() {
            for slot in 1..layer.len() {
                let (left, right) = (layer[slot - 1], layer[slot]);
                if graph.component_of[left] != graph.component_of[right] {
                    continue;
                }
                let (kept, swapped) = pair_crossings(graph, position, left, right, scratch);
                if swapped < kept {
                    layer.swap(slot - 1, slot);
                    position[left] = slot;
                    position[right] = slot - 1;
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
}

/// Crossings among the edges of `left` and `right` with `left` first, and with `right` first.
fn pair_crossings(
    graph: &Layered,
    position: &[usize],
    left: usize,
    right: usize,
    scratch: &mut Scratch,
) -> (usize, usize) {
    let (mut kept, mut swapped) = (0, 0);
    for neighbours in [&graph.preds, &graph.succs] {
        scratch.left.clear();
        scratch
            .left
            .extend(neighbours[left].iter().map(|&vertex| position[vertex]));
        scratch.left.sort_unstable();
        scratch.right.clear();
        scratch
            .right
            .extend(neighbours[right].iter().map(|&vertex| position[vertex]));
        scratch.right.sort_unstable();
        // An edge of `right` crosses the edges of `left` ending further along if `left` comes
        // first, and those ending before it otherwise; a shared neighbour crosses neither way.
        let mut before = 0;
        for &end in &scratch.right {
            while before < scratch.left.len() && scratch.left[before] < end {
                before += 1;
            }
            let mut not_after = before;
            while not_after < scratch.left.len() && scratch.left[not_after] == end {
                not_after += 1;
            }
            kept += scratch.left.len() - not_after;
            swapped += before;
        }
    }
    (kept, swapped)
}
