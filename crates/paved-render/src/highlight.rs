//! Syntax highlighting of source text (YAML, JSON, GraphQL, protobuf) as escaped HTML.
