//! Layered (Sugiyama-style) layout of entity graphs, rendered as SVG.
