//! Entity references: `[kind:][namespace/]name`, with defaults taken from the referring entity.

use serde::{Deserialize, Serialize};
use std::fmt;

pub const DEFAULT_NAMESPACE: &str = "default";

/// A fully qualified reference to an entity. Comparison is case-insensitive, as in Backstage:
/// the fields are stored lower-cased and `Display` gives the canonical `kind:namespace/name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(try_from = "String")]
pub struct EntityRef {
    kind: String,
    namespace: String,
    name: String,
}

/// Why a reference could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error("entity reference is empty")]
    Empty,
    #[error("entity reference {0:?} has no kind, and none can be inferred from the field")]
    MissingKind(String),
    #[error("entity reference {0:?} is malformed: {1}")]
    Malformed(String, &'static str),
}

/// Defaults for the parts a reference leaves out: the kind implied by the field it is in
/// (`spec.owner` → Group) and the namespace of the entity that holds it.
#[derive(Clone, Copy, Debug)]
pub struct RefDefaults<'a> {
    pub kind: Option<&'a str>,
    pub namespace: &'a str,
}

impl Default for RefDefaults<'_> {
    fn default() -> Self {
        RefDefaults {
            kind: None,
            namespace: DEFAULT_NAMESPACE,
        }
    }
}

/// Percent-encodes one URL path segment: everything but unreserved characters
/// (`A-Z a-z 0-9 - _ . ~`) is escaped.
pub fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl EntityRef {
    /// The entity's page in the portal, `/catalog/<namespace>/<kind>/<name>`, each segment
    /// percent-encoded: what the portal, search results and documentation links point at.
    pub fn portal_path(&self) -> String {
        format!(
            "/catalog/{}/{}/{}",
            encode_path_segment(self.namespace()),
            encode_path_segment(self.kind()),
            encode_path_segment(self.name())
        )
    }

    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        EntityRef {
            kind: kind.to_ascii_lowercase(),
            namespace: namespace.to_ascii_lowercase(),
            name: name.to_ascii_lowercase(),
        }
    }

    /// Parses `[kind:][namespace/]name`, filling what is missing from `defaults`.
    pub fn parse(input: &str, defaults: RefDefaults<'_>) -> Result<Self, RefError> {
        let input_trimmed = input.trim();
        if input_trimmed.is_empty() {
            return Err(RefError::Empty);
        }
        let (kind, rest) = match input_trimmed.split_once(':') {
            Some((kind, rest)) => (Some(kind), rest),
            None => (None, input_trimmed),
        };
        let (namespace, name) = match rest.split_once('/') {
            Some((namespace, name)) => (Some(namespace), name),
            None => (None, rest),
        };
        if kind == Some("") {
            return Err(RefError::Malformed(
                input.to_string(),
                "empty kind before ':'",
            ));
        }
        if namespace == Some("") {
            return Err(RefError::Malformed(
                input.to_string(),
                "empty namespace before '/'",
            ));
        }
        if name.is_empty() {
            return Err(RefError::Malformed(input.to_string(), "empty name"));
        }
        if name.contains(':') || name.contains('/') {
            return Err(RefError::Malformed(
                input.to_string(),
                "too many ':' or '/' separators",
            ));
        }
        let kind = kind
            .or(defaults.kind)
            .ok_or_else(|| RefError::MissingKind(input.to_string()))?;
        Ok(EntityRef::new(
            kind,
            namespace.unwrap_or(defaults.namespace),
            name,
        ))
    }

    /// Parses a canonical, fully qualified reference (`kind:namespace/name`).
    pub fn parse_full(input: &str) -> Result<Self, RefError> {
        let parsed = Self::parse(input, RefDefaults::default())?;
        if !input.contains('/') {
            return Err(RefError::Malformed(
                input.to_string(),
                "namespace is missing",
            ));
        }
        Ok(parsed)
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }
    pub fn namespace(&self) -> &str {
        &self.namespace
    }
    pub fn name(&self) -> &str {
        &self.name
    }
}

// Written part by part rather than through `write!`: relations format refs millions of
// times in an ingestion (docs/PERFORMANCE.md).
impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.parts()
            .into_iter()
            .try_for_each(|part| f.write_str(part))
    }
}

impl EntityRef {
    /// The pieces of the canonical `kind:namespace/name`, in order.
    fn parts(&self) -> [&str; 5] {
        [&self.kind, ":", &self.namespace, "/", &self.name]
    }

    /// The canonical `kind:namespace/name` in a string of the right size (what `to_string`
    /// gives, without growing the string part by part).
    pub fn to_ref_string(&self) -> String {
        let parts = self.parts();
        let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        parts.into_iter().for_each(|part| out.push_str(part));
        out
    }
}

/// Serialized as its canonical string, written straight to the serializer (no copy of the
/// ref, no intermediate string for JSON text).
impl Serialize for EntityRef {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // Refs of valid entities fit the buffer (names and namespaces are at most 63
        // characters); a longer one is formatted.
        let mut buffer = [0u8; 256];
        let parts = self.parts();
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if len > buffer.len() {
            return serializer.collect_str(self);
        }
        let mut at = 0;
        for part in parts {
            buffer[at..at + part.len()].copy_from_slice(part.as_bytes());
            at += part.len();
        }
        // Text joined from text is text; the fallback only spares an `unsafe` or a panic.
        match std::str::from_utf8(&buffer[..len]) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => serializer.collect_str(self),
        }
    }
}

impl From<EntityRef> for String {
    fn from(r: EntityRef) -> String {
        r.to_ref_string()
    }
}

impl TryFrom<String> for EntityRef {
    type Error = RefError;
    fn try_from(s: String) -> Result<Self, RefError> {
        EntityRef::parse_full(&s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ref_serializes_and_prints_as_its_canonical_string() {
        let r = EntityRef::new("Component", "Default", "Web-App");
        assert_eq!(r.to_string(), "component:default/web-app");
        assert_eq!(r.to_ref_string(), r.to_string());
        assert_eq!(String::from(r.clone()), r.to_string());
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            "\"component:default/web-app\""
        );
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!("component:default/web-app")
        );
        let back: EntityRef = serde_json::from_str("\"component:default/web-app\"").unwrap();
        assert_eq!(back, r);
        let long = EntityRef::new("component", "default", &"x".repeat(300));
        assert_eq!(serde_json::to_string(&long).unwrap(), format!("\"{long}\""));
    }

    fn parse(s: &str, kind: Option<&str>, ns: &str) -> Result<String, RefError> {
        EntityRef::parse(
            s,
            RefDefaults {
                kind,
                namespace: ns,
            },
        )
        .map(|r| r.to_string())
    }

    #[test]
    fn defaults_fill_missing_parts() {
        assert_eq!(
            parse("team-a", Some("Group"), "default").unwrap(),
            "group:default/team-a"
        );
        assert_eq!(
            parse("user:guest", Some("Group"), "ops").unwrap(),
            "user:ops/guest"
        );
        assert_eq!(
            parse("default/team-a", Some("Group"), "alt").unwrap(),
            "group:default/team-a"
        );
        assert_eq!(
            parse("Component:Prod/Web", None, "x").unwrap(),
            "component:prod/web"
        );
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(parse("", None, "default"), Err(RefError::Empty));
        assert!(matches!(
            parse("team-a", None, "default"),
            Err(RefError::MissingKind(_))
        ));
        assert!(matches!(
            parse(":x", Some("a"), "d"),
            Err(RefError::Malformed(..))
        ));
        assert!(matches!(
            parse("a:b/c/d", None, "d"),
            Err(RefError::Malformed(..))
        ));
        assert!(EntityRef::parse_full("component:web").is_err());
    }
}
