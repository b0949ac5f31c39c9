//! Cross-axis coordinates of the ordered layers: Brandes–Köpf ("Fast and Simple Horizontal
//! Coordinate Assignment", 2001) with boxes of different sizes.

use std::collections::HashSet;

use super::layering::Layered;

/// Minimum free space between neighbours in a layer.
#[derive(Debug, Clone, Copy)]
pub(super) struct Spacing {
    /// Between two node boxes.
    pub node_gap: f64,
    /// Where an edge lane (dummy vertex) is involved.
    pub edge_gap: f64,
}

/// Centre of each vertex on the cross axis; the first box edge is at 0. `size` is each vertex's
/// extent on the cross axis (0 for dummies).
pub(super) fn assign_cross(
    graph: &Layered,
    layers: &[Vec<usize>],
    size: &[f64],
    spacing: Spacing,
) -> Vec<f64> {
    let count = graph.vertex_count();
    if count == 0 {
        return Vec::new();
    }
    let separation = |left: usize, right: usize| {
        let gap = if graph.is_dummy(left) || graph.is_dummy(right) {
            spacing.edge_gap
        } else {
            spacing.node_gap
        };
        (size[left] + size[right]) / 2.0 + gap
    };
    let conflicts = type1_conflicts(graph, layers);

    let mut candidates: Vec<(bool, Vec<f64>)> = Vec::with_capacity(4);
    for upward in [true, false] {
        for leftward in [true, false] {
            let mut adjusted: Vec<Vec<usize>> = if upward {
                layers.to_vec()
            } else {
                layers.iter().rev().cloned().collect()
            };
            if !leftward {
                for layer in &mut adjusted {
                    layer.reverse();
                }
            }
            let neighbours = if upward { &graph.preds } else { &graph.succs };
            let root = vertical_alignment(count, &adjusted, neighbours, &conflicts);
            let mut xs = horizontal_compaction(count, &adjusted, &root, &separation);
            if !leftward {
                for x in &mut xs {
                    *x = -*x;
                }
            }
            candidates.push((leftward, xs));
        }
    }

    let extent = |xs: &[f64]| {
        let low = (0..count)
            .map(|v| xs[v] - size[v] / 2.0)
            .fold(f64::INFINITY, f64::min);
        let high = (0..count)
            .map(|v| xs[v] + size[v] / 2.0)
            .fold(f64::NEG_INFINITY, f64::max);
        (low, high)
    };
    let mut narrowest = 0;
    let mut narrowest_width = f64::INFINITY;
    for (index, (_, xs)) in candidates.iter().enumerate() {
        let (low, high) = extent(xs);
        if high - low < narrowest_width {
            narrowest_width = high - low;
            narrowest = index;
        }
    }
    let (target_low, target_high) = extent(&candidates[narrowest].1);
    for (leftward, xs) in &mut candidates {
        let (low, high) = extent(xs);
        let shift = if *leftward {
            target_low - low
        } else {
            target_high - high
        };
        for x in xs.iter_mut() {
            *x += shift;
        }
    }

    let mut result: Vec<f64> = (0..count)
        .map(|vertex| {
            let mut values = [
                candidates[0].1[vertex],
                candidates[1].1[vertex],
                candidates[2].1[vertex],
                candidates[3].1[vertex],
            ];
            values.sort_by(f64::total_cmp);
            (values[1] + values[2]) / 2.0
        })
        .collect();

    // Balancing takes a different pair of candidates per vertex, which can bring neighbours
    // closer than allowed; push them apart along each layer.
    for layer in layers {
        for pair in layer.windows(2) {
            let minimum = result[pair[0]] + separation(pair[0], pair[1]);
            if result[pair[1]] < minimum {
                result[pair[1]] = minimum;
            }
        }
    }

    let (low, _) = extent(&result);
    for x in &mut result {
        *x -= low;
    }
    result
}

fn conflict_key(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

/// Segments that cross an inner segment (dummy to dummy); alignment avoids them so long edges
/// stay straight.
fn type1_conflicts(graph: &Layered, layers: &[Vec<usize>]) -> HashSet<(usize, usize)> {
    let mut position = vec![0usize; graph.vertex_count()];
    for layer in layers {
        for (index, &vertex) in layer.iter().enumerate() {
            position[vertex] = index;
        }
    }
    // Lookups only: never iterated, so its order cannot reach the output.
    let mut conflicts = HashSet::new();
    for pair in layers.windows(2) {
        let (previous, layer) = (&pair[0], &pair[1]);
        let mut k0 = 0;
        let mut scan = 0;
        for (index, &vertex) in layer.iter().enumerate() {
            let inner = if graph.is_dummy(vertex) {
                graph.preds[vertex]
                    .iter()
                    .copied()
                    .find(|&pred| graph.is_dummy(pred))
            } else {
                None
            };
            let k1 = inner.map_or(previous.len(), |pred| position[pred]);
            if inner.is_some() || index + 1 == layer.len() {
                for &scanned in &layer[scan..=index] {
                    for &pred in &graph.preds[scanned] {
                        let pred_position = position[pred];
                        if (pred_position < k0 || k1 < pred_position)
                            && !(graph.is_dummy(pred) && graph.is_dummy(scanned))
                        {
                            conflicts.insert(conflict_key(pred, scanned));
                        }
                    }
                }
                scan = index + 1;
                k0 = k1;
            }
        }
    }
    conflicts
}

/// Groups vertices into blocks aligned with a median neighbour in the previous layer; returns
/// each vertex's block root.
fn vertical_alignment(
    count: usize,
    layers: &[Vec<usize>],
    neighbours: &[Vec<usize>],
    conflicts: &HashSet<(usize, usize)>,
) -> Vec<usize> {
    let mut root: Vec<usize> = (0..count).collect();
    let mut align: Vec<usize> = (0..count).collect();
    let mut position = vec![0usize; count];
    for layer in layers {
        for (index, &vertex) in layer.iter().enumerate() {
            position[vertex] = index;
        }
    }
    let mut sorted: Vec<usize> = Vec::new();
    for layer in layers {
        let mut previous: Option<usize> = None;
        for &vertex in layer {
            sorted.clear();
            sorted.extend_from_slice(&neighbours[vertex]);
            if sorted.is_empty() {
                continue;
            }
            sorted.sort_by_key(|&other| position[other]);
            let len = sorted.len();
            for &median in &sorted[(len - 1) / 2..=len / 2] {
                if align[vertex] == vertex
                    && previous.is_none_or(|p| p < position[median])
                    && !conflicts.contains(&conflict_key(vertex, median))
                {
                    align[median] = vertex;
                    root[vertex] = root[median];
                    align[vertex] = root[vertex];
                    previous = Some(position[median]);
                }
            }
        }
    }
    root
}

/// Places blocks as far towards the start as separation allows, then pulls each towards the
/// blocks after it so it does not hug the start needlessly.
fn horizontal_compaction(
    count: usize,
    layers: &[Vec<usize>],
    root: &[usize],
    separation: &impl Fn(usize, usize) -> f64,
) -> Vec<f64> {
    let mut block_edges: Vec<(usize, usize, f64)> = Vec::new();
    for layer in layers {
        for pair in layer.windows(2) {
            let (left, right) = (pair[0], pair[1]);
            block_edges.push((root[left], root[right], separation(left, right)));
        }
    }
    block_edges.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(b.2.total_cmp(&a.2)));
    block_edges.dedup_by(|later, earlier| (later.0, later.1) == (earlier.0, earlier.1));

    let mut incoming: Vec<Vec<(usize, f64)>> = vec![Vec::new(); count];
    let mut outgoing: Vec<Vec<(usize, f64)>> = vec![Vec::new(); count];
    let mut in_degree = vec![0usize; count];
    for &(from, to, weight) in &block_edges {
        outgoing[from].push((to, weight));
        incoming[to].push((from, weight));
        in_degree[to] += 1;
    }
    let blocks: Vec<usize> = (0..count).filter(|&v| root[v] == v).collect();
    let mut order: Vec<usize> = Vec::with_capacity(blocks.len());
    let mut ready: Vec<usize> = blocks
        .iter()
        .copied()
        .filter(|&b| in_degree[b] == 0)
        .rev()
        .collect();
    while let Some(block) = ready.pop() {
        order.push(block);
        for &(next, _) in &outgoing[block] {
            in_degree[next] -= 1;
            if in_degree[next] == 0 {
                ready.push(next);
            }
        }
    }
    // Alignment never crosses itself, so the block graph is acyclic; should a block still be
    // left over, placing it late keeps the result total (the final separation pass repairs it).
    if order.len() < blocks.len() {
        let mut placed = vec![false; count];
        for &block in &order {
            placed[block] = true;
        }
        order.extend(blocks.iter().copied().filter(|&b| !placed[b]));
    }

    let mut xs = vec![0.0f64; count];
    for &block in &order {
        xs[block] = incoming[block]
            .iter()
            .map(|&(from, weight)| xs[from] + weight)
            .fold(0.0, f64::max);
    }
    for &block in order.iter().rev() {
        let limit = outgoing[block]
            .iter()
            .map(|&(to, weight)| xs[to] - weight)
            .fold(f64::INFINITY, f64::min);
        if limit.is_finite() && limit > xs[block] {
            xs[block] = limit;
        }
    }
    (0..count).map(|vertex| xs[root[vertex]]).collect()
}
