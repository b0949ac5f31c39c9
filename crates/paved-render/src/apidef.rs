//! API definitions (OpenAPI, AsyncAPI, GraphQL, protobuf) rendered as HTML fragments.
