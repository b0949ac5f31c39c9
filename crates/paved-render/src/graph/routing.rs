//! Geometry of the finished drawing: node boxes in their layers, edge routes through spread ports
//! and dummy lanes, label positions, all turned from layer/cross coordinates into SVG ones.

use super::layering::{Layered, Prepared};
use super::ordering::Ordering;
use super::position::{Spacing, assign_cross};
use super::text::{EDGE_LABEL_FONT_SIZE, node_size, text_width};
use super::{Direction, EdgeRoute, Graph, Layout, LayoutOptions, NodeBox, Point, Segment};

/// Free space around the drawing.
pub(super) const MARGIN: f64 = 16.0;
/// Height of an edge label's background.
pub(super) const EDGE_LABEL_HEIGHT: f64 = 15.0;
/// Horizontal padding inside an edge label's background.
pub(super) const EDGE_LABEL_PADDING: f64 = 4.0;
/// Distance between neighbouring ports on a node's side.
const PORT_STEP: f64 = 8.0;
/// Ports keep this far from a box's corners.
const PORT_INSET: f64 = 7.0;
/// Control-point offset of a self-loop: it bulges about 40% of this out of its node.
const LOOP_REACH: f64 = 26.0;
const EPSILON: f64 = 1e-6;

/// A position before it is known which axis runs along the layers.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Flow {
    /// Along the layers (x when left to right).
    along: f64,
    /// Across the layers (y when left to right).
    across: f64,
}

struct Frame {
    direction: Direction,
}

impl Frame {
    fn point(&self, flow: Flow) -> Point {
        match self.direction {
            Direction::LeftToRight => Point {
                x: flow.along,
                y: flow.across,
            },
            Direction::TopToBottom => Point {
                x: flow.across,
                y: flow.along,
            },
        }
    }

    /// Extent of a `width` × `height` box along and across the layers.
    fn extents(&self, width: f64, height: f64) -> (f64, f64) {
        match self.direction {
            Direction::LeftToRight => (width, height),
            Direction::TopToBottom => (height, width),
        }
    }
}

pub(super) fn build(
    graph: &Graph,
    prepared: &Prepared,
    layered: &Layered,
    ordering: &Ordering,
    options: &LayoutOptions,
) -> Layout {
    let frame = Frame {
        direction: options.direction,
    };
    let left_to_right = options.direction == Direction::LeftToRight;
    let real = layered.real_count;
    let sizes: Vec<(f64, f64)> = prepared
        .nodes
        .iter()
        .map(|&index| node_size(&graph.nodes[index]))
        .collect();
    let mut along_size = vec![0.0; layered.vertex_count()];
    let mut across_size = vec![0.0; layered.vertex_count()];
    for (vertex, &(width, height)) in sizes.iter().enumerate() {
        (along_size[vertex], across_size[vertex]) = frame.extents(width, height);
    }
    let spacing = if left_to_right {
        Spacing {
            node_gap: 18.0,
            edge_gap: 12.0,
        }
    } else {
        Spacing {
            node_gap: 28.0,
            edge_gap: 14.0,
        }
    };
    let across = assign_cross(layered, &ordering.layers, &across_size, spacing);

    let label_of = |relations: &[String]| -> Option<String> {
        (options.show_edge_labels && !relations.is_empty()).then(|| relations.join(", "))
    };
    let label_extent = |label: &str| -> (f64, f64) {
        let width = text_width(label, EDGE_LABEL_FONT_SIZE) + 2.0 * EDGE_LABEL_PADDING;
        frame.extents(width, EDGE_LABEL_HEIGHT)
    };

    // With labels, a gap between layers holds the longest label across (left to right) or a
    // few rows of labels (top to bottom).
    let mut layer_gap: f64 = if left_to_right { 56.0 } else { 48.0 };
    if options.show_edge_labels {
        let longest = prepared
            .edges
            .iter()
            .filter_map(|edge| label_of(&edge.relations))
            .map(|label| label_extent(&label).0)
            .fold(0.0, f64::max);
        layer_gap = layer_gap.max(longest + 28.0);
        if !left_to_right {
            layer_gap = layer_gap.max(72.0);
        }
    }

    let mut thickness = vec![0.0f64; layered.layer_count];
    for (vertex, &size) in along_size.iter().enumerate().take(real) {
        let layer = layered.layer_of[vertex];
        thickness[layer] = thickness[layer].max(size);
    }
    let mut band_start = Vec::with_capacity(layered.layer_count);
    let mut next = 0.0;
    for &size in &thickness {
        band_start.push(next);
        next += size + layer_gap;
    }
    let band = |vertex: usize| {
        let layer = layered.layer_of[vertex];
        (band_start[layer], band_start[layer] + thickness[layer])
    };
    let node_start = |vertex: usize| {
        let (start, _) = band(vertex);
        start + (thickness[layered.layer_of[vertex]] - along_size[vertex]) / 2.0
    };

    // Ports: a node's edges on one side are spread across that side in the order of the
    // vertices they lead to, so they leave without crossing each other.
    let spread = |vertex: usize, neighbours: &[usize]| -> Vec<(usize, f64)> {
        let mut sorted = neighbours.to_vec();
        sorted.sort_by(|&a, &b| across[a].total_cmp(&across[b]).then(a.cmp(&b)));
        let room = (across_size[vertex] - 2.0 * PORT_INSET).max(0.0);
        let step = if sorted.len() > 1 {
            PORT_STEP.min(room / (sorted.len() - 1) as f64)
        } else {
            0.0
        };
        let first = across[vertex] - step * (sorted.len().saturating_sub(1)) as f64 / 2.0;
        sorted
            .into_iter()
            .enumerate()
            .map(|(index, neighbour)| (neighbour, first + step * index as f64))
            .collect()
    };
    let out_ports: Vec<Vec<(usize, f64)>> = (0..real)
        .map(|vertex| spread(vertex, &layered.succs[vertex]))
        .collect();
    let in_ports: Vec<Vec<(usize, f64)>> = (0..real)
        .map(|vertex| spread(vertex, &layered.preds[vertex]))
        .collect();
    let port = |ports: &[(usize, f64)], vertex: usize, neighbour: usize| {
        ports
            .iter()
            .find(|&&(other, _)| other == neighbour)
            .map_or(across[vertex], |&(_, at)| at)
    };

    let mut edges: Vec<EdgeRoute> = Vec::new();
    let mut label_requests: Vec<LabelRequest> = Vec::new();
    for route in &layered.routes {
        let chain = &route.chain;
        let (Some(&upper), Some(&lower)) = (chain.first(), chain.last()) else {
            continue;
        };
        if chain.len() < 2 {
            continue;
        }
        // Points with, for each, whether the step reaching it crosses a gap between layers.
        let mut points: Vec<(Flow, bool)> = Vec::new();
        let mut push = |flow: Flow, crosses_gap: bool| {
            let same = points.last().is_some_and(|&(last, _): &(Flow, bool)| {
                (last.along - flow.along).abs() < EPSILON
                    && (last.across - flow.across).abs() < EPSILON
            });
            if !same {
                points.push((flow, crosses_gap));
            }
        };
        let leave = port(&out_ports[upper], upper, chain[1]);
        push(
            Flow {
                along: node_start(upper) + along_size[upper],
                across: leave,
            },
            false,
        );
        push(
            Flow {
                along: band(upper).1,
                across: leave,
            },
            false,
        );
        for &dummy in &chain[1..chain.len() - 1] {
            let (start, end) = band(dummy);
            push(
                Flow {
                    along: start,
                    across: across[dummy],
                },
                true,
            );
            push(
                Flow {
                    along: end,
                    across: across[dummy],
                },
                false,
            );
        }
        let enter = port(&in_ports[lower], lower, chain[chain.len() - 2]);
        push(
            Flow {
                along: band(lower).0,
                across: enter,
            },
            true,
        );
        push(
            Flow {
                along: node_start(lower),
                across: enter,
            },
            false,
        );

        let Some(first_relation) = route.forward.or(route.backward) else {
            continue;
        };
        let reversed = route.forward.is_none();
        let mut relations: Vec<String> = Vec::new();
        for index in [route.forward, route.backward].into_iter().flatten() {
            for relation in &prepared.edges[index].relations {
                if !relations.contains(relation) {
                    relations.push(relation.clone());
                }
            }
        }
        if let Some(label) = label_of(&relations) {
            // Preferably in the middle of the gap next to the relation's source; failing that
            // elsewhere along the edge, wherever no other label is yet.
            let (along_extent, across_extent) = label_extent(&label);
            let mut gap_steps: Vec<usize> = (1..points.len()).filter(|&i| points[i].1).collect();
            if reversed {
                gap_steps.reverse();
            }
            let mut candidates = Vec::new();
            for &step in gap_steps.iter().take(3) {
                let (a, b) = (points[step - 1].0, points[step].0);
                // The step ends where the next layer starts: the gap is the layer gap before it.
                let (gap_low, gap_high) = (b.along - layer_gap, b.along);
                for t in [0.5, 0.3, 0.7, 0.15, 0.85] {
                    let on_curve = along_curve(a, b, t);
                    let half = along_extent / 2.0;
                    let along = if gap_high - gap_low >= along_extent {
                        on_curve.along.clamp(gap_low + half, gap_high - half)
                    } else {
                        (gap_low + gap_high) / 2.0
                    };
                    candidates.push(Flow {
                        along,
                        across: on_curve.across,
                    });
                }
            }
            label_requests.push(LabelRequest {
                edge: edges.len(),
                along_extent,
                across_extent,
                candidates,
            });
        }

        let mut flows: Vec<Flow> = points.into_iter().map(|(flow, _)| flow).collect();
        if reversed {
            flows.reverse();
        }
        let relation = &prepared.edges[first_relation];
        edges.push(EdgeRoute {
            from: prepared.nodes[relation.from],
            to: prepared.nodes[relation.to],
            relations,
            start: frame.point(flows[0]),
            segments: flows
                .windows(2)
                .map(|pair| segment(&frame, pair[0], pair[1]))
                .collect(),
            reversed,
            both_directions: route.forward.is_some() && route.backward.is_some(),
            self_loop: false,
            label_at: None,
        });
    }

    // A self-loop turns around the node's corner between the downstream side and the side
    // facing its neighbour in the layer: the downstream side's ports sit around the middle, so
    // the loop stays clear of the node's other edges.
    for self_loop in &prepared.self_loops {
        let vertex = self_loop.from;
        let end = node_start(vertex) + along_size[vertex];
        let top = across[vertex] - across_size[vertex] / 2.0;
        let start = Flow {
            along: end - 14.0,
            across: top,
        };
        let control1 = Flow {
            along: end - 14.0,
            across: top - LOOP_REACH,
        };
        let control2 = Flow {
            along: end + LOOP_REACH,
            across: top + 5.0,
        };
        let finish = Flow {
            along: end,
            across: top + 5.0,
        };
        if let Some(label) = label_of(&self_loop.relations) {
            let (along_extent, across_extent) = label_extent(&label);
            let beside = end + LOOP_REACH * 0.4 + 6.0 + along_extent / 2.0;
            label_requests.push(LabelRequest {
                edge: edges.len(),
                along_extent,
                across_extent,
                candidates: vec![
                    Flow {
                        along: beside,
                        across: top - 4.0,
                    },
                    Flow {
                        along: beside,
                        across: top - 4.0 - across_extent,
                    },
                ],
            });
        }
        let node = prepared.nodes[vertex];
        edges.push(EdgeRoute {
            from: node,
            to: node,
            relations: self_loop.relations.clone(),
            start: frame.point(start),
            segments: vec![Segment::Cubic {
                control1: frame.point(control1),
                control2: frame.point(control2),
                to: frame.point(finish),
            }],
            reversed: false,
            both_directions: false,
            self_loop: true,
            label_at: None,
        });
    }

    let label_boxes = place_labels(&label_requests);
    for (request, &(centre, _, _)) in label_requests.iter().zip(&label_boxes) {
        if let Some(edge) = edges.get_mut(request.edge) {
            edge.label_at = Some(frame.point(centre));
        }
    }

    let mut nodes: Vec<NodeBox> = (0..real)
        .map(|vertex| {
            let corner = frame.point(Flow {
                along: node_start(vertex),
                across: across[vertex] - across_size[vertex] / 2.0,
            });
            let (width, height) = sizes[vertex];
            NodeBox {
                node: prepared.nodes[vertex],
                layer: layered.layer_of[vertex],
                x: corner.x,
                y: corner.y,
                width,
                height,
            }
        })
        .collect();

    // Everything drawn, so that loops and labels past the outer layers stay inside the view.
    let mut low = Point {
        x: f64::INFINITY,
        y: f64::INFINITY,
    };
    let mut high = Point {
        x: f64::NEG_INFINITY,
        y: f64::NEG_INFINITY,
    };
    let mut include = |point: Point| {
        low.x = low.x.min(point.x);
        low.y = low.y.min(point.y);
        high.x = high.x.max(point.x);
        high.y = high.y.max(point.y);
    };
    for node in &nodes {
        include(Point {
            x: node.x,
            y: node.y,
        });
        include(Point {
            x: node.x + node.width,
            y: node.y + node.height,
        });
    }
    for edge in &edges {
        include(edge.start);
        for segment in &edge.segments {
            match *segment {
                Segment::Line { to } => include(to),
                Segment::Cubic {
                    control1,
                    control2,
                    to,
                } => {
                    include(control1);
                    include(control2);
                    include(to);
                }
            }
        }
    }
    for &(centre, along_extent, across_extent) in &label_boxes {
        for (along_sign, across_sign) in [(-1.0, -1.0), (1.0, 1.0)] {
            include(frame.point(Flow {
                along: centre.along + along_sign * along_extent / 2.0,
                across: centre.across + across_sign * across_extent / 2.0,
            }));
        }
    }
    if !low.x.is_finite() {
        low = Point { x: 0.0, y: 0.0 };
        high = low;
    }
    let shift = |point: &mut Point| {
        point.x += MARGIN - low.x;
        point.y += MARGIN - low.y;
    };
    for node in &mut nodes {
        node.x += MARGIN - low.x;
        node.y += MARGIN - low.y;
    }
    for edge in &mut edges {
        shift(&mut edge.start);
        if let Some(label_at) = &mut edge.label_at {
            shift(label_at);
        }
        for segment in &mut edge.segments {
            match segment {
                Segment::Line { to } => shift(to),
                Segment::Cubic {
                    control1,
                    control2,
                    to,
                } => {
                    shift(control1);
                    shift(control2);
                    shift(to);
                }
            }
        }
    }

    Layout {
        direction: options.direction,
        width: (high.x - low.x + 2.0 * MARGIN).ceil(),
        height: (high.y - low.y + 2.0 * MARGIN).ceil(),
        nodes,
        edges,
        layer_count: layered.layer_count,
        crossings: ordering.crossings,
    }
}

/// Where an edge's label may go, best first.
struct LabelRequest {
    /// Index into the layout's edges.
    edge: usize,
    along_extent: f64,
    across_extent: f64,
    candidates: Vec<Flow>,
}

/// Gives each label, in order, its first candidate clear of the labels already placed, or the
/// candidate overlapping them least. Returns centre and extents per request.
fn place_labels(requests: &[LabelRequest]) -> Vec<(Flow, f64, f64)> {
    const CLEARANCE: f64 = 2.0;
    let mut placed: Vec<(Flow, f64, f64)> = Vec::with_capacity(requests.len());
    for request in requests {
        let overlap = |centre: Flow| -> f64 {
            placed
                .iter()
                .map(|&(other, along_extent, across_extent)| {
                    let along = (request.along_extent + along_extent) / 2.0 + CLEARANCE
                        - (centre.along - other.along).abs();
                    let across = (request.across_extent + across_extent) / 2.0 + CLEARANCE
                        - (centre.across - other.across).abs();
                    along.max(0.0) * across.max(0.0)
                })
                .sum()
        };
        let mut best: Option<(f64, Flow)> = None;
        for &candidate in &request.candidates {
            let area = overlap(candidate);
            if best.is_none_or(|(least, _)| area < least) {
                best = Some((area, candidate));
            }
            if area <= 0.0 {
                break;
            }
        }
        let centre = best.map_or(
            Flow {
                along: 0.0,
                across: 0.0,
            },
            |(_, centre)| centre,
        );
        placed.push((centre, request.along_extent, request.across_extent));
    }
    placed
}

/// The point at `t` on the step from `a` to `b` as [`segment`] draws it.
fn along_curve(a: Flow, b: Flow, t: f64) -> Flow {
    let middle = (a.along + b.along) / 2.0;
    let u = 1.0 - t;
    let blend = |p0: f64, p1: f64, p2: f64, p3: f64| {
        u * u * u * p0 + 3.0 * u * u * t * p1 + 3.0 * u * t * t * p2 + t * t * t * p3
    };
    Flow {
        along: blend(a.along, middle, middle, b.along),
        across: blend(a.across, a.across, b.across, b.across),
    }
}

/// A straight step stays a line; a step that changes lane is an S-curve whose ends are tangent
/// to the flow, so consecutive pieces join smoothly.
fn segment(frame: &Frame, from: Flow, to: Flow) -> Segment {
    if (from.across - to.across).abs() < EPSILON {
        return Segment::Line {
            to: frame.point(to),
        };
    }
    let middle = (from.along + to.along) / 2.0;
    Segment::Cubic {
        control1: frame.point(Flow {
            along: middle,
            across: from.across,
        }),
        control2: frame.point(Flow {
            along: middle,
            across: to.across,
        }),
        to: frame.point(to),
    }
}
