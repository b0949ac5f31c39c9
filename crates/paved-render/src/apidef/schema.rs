//! JSON Schema as OpenAPI and AsyncAPI use it, rendered as nested HTML trees, and the local
//! `$ref` resolution both formats share.
//!
//! A tree follows local references (with a guard against cycles), merges `allOf` parts into
//! one property list, shows `oneOf`/`anyOf` as alternatives and walks arrays down to their
//! items. It stops at a depth and an entry count; where it stops it names the referenced
//! schema and links to its entry in the schemas section.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::{Html, Ids, Warnings, compact_value, describe_json_type};

/// Bytes of the page the operations (or channels) may fill; the schemas section gets the rest.
const UNITS_BYTES: usize = 3 * 1024 * 1024;
/// Rough size of one rendered schema entry.
const ENTRY_BYTES: usize = 300;
/// Rough size of an operation without its schema trees.
const UNIT_OVERHEAD_BYTES: usize = 1500;

/// How much of each schema tree fits when `units` operations (or channels) with about
/// `trees_per_unit` trees each share the page: entries per tree and depth. When even a few
/// entries do not fit, trees show their type line only (depth 0) and the schemas section
/// carries the detail.
pub(crate) fn tree_budget(
    units: usize,
    trees_per_unit: usize,
    full_depth: usize,
) -> (usize, usize) {
    let per_unit = UNITS_BYTES / units.max(1);
    let entries =
        per_unit.saturating_sub(UNIT_OVERHEAD_BYTES) / (ENTRY_BYTES * trees_per_unit.max(1));
    if entries < 6 {
        (1, 0)
    } else {
        (entries.min(400), full_depth)
    }
}

/// Entries per schema in the schemas section, sharing what is left of the page.
fn section_entries(remaining_bytes: usize, schemas: usize) -> usize {
    (remaining_bytes / schemas.max(1) / ENTRY_BYTES).clamp(5, 400)
}

/// Longest chain of `$ref` → `$ref` followed before giving up.
const MAX_REF_HOPS: usize = 16;
/// Enum values listed before "… and N more".
const MAX_ENUM_VALUES: usize = 40;
/// Alternatives (`oneOf`/`anyOf` entries) expanded per schema.
const MAX_VARIANTS: usize = 40;

/// Resolves a local reference (`#/components/schemas/Pet`) against the document.
pub(crate) fn resolve_pointer<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let fragment = reference.strip_prefix('#')?;
    let decoded = percent_decode(fragment);
    if decoded.is_empty() {
        return Some(root);
    }
    root.pointer(&decoded)
}

fn percent_decode(text: &str) -> String {
    if !text.contains('%') {
        return text.to_owned();
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(i + 1).and_then(|b| (*b as char).to_digit(16)),
                bytes.get(i + 2).and_then(|b| (*b as char).to_digit(16)),
            )
        {
            out.push((high * 16 + low) as u8);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The name a reference is known by: its last pointer segment (`Pet` for
/// `#/components/schemas/Pet`), or the file name for a reference to a whole file.
pub(crate) fn ref_name(reference: &str) -> String {
    let fragment = match reference.split_once('#') {
        Some((_, fragment)) if !fragment.is_empty() => fragment,
        Some((file, _)) => file,
        None => reference,
    };
    let last = fragment
        .rsplit('/')
        .find(|s| !s.is_empty())
        .unwrap_or(fragment);
    percent_decode(&last.replace("~1", "/").replace("~0", "~"))
}

/// Why a reference could not be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefProblem<'a> {
    /// Points into another file or URL; paved does not fetch those.
    External(&'a str),
    /// Points at nothing in this document.
    Missing(&'a str),
    /// Leads back to itself.
    Cycle(&'a str),
    /// `$ref` is not a string.
    Malformed,
}

impl RefProblem<'_> {
    pub(crate) fn describe(&self) -> String {
        match self {
            RefProblem::External(r) => format!("external reference {r} is not fetched"),
            RefProblem::Missing(r) => format!("reference {r} points to nothing in this document"),
            RefProblem::Cycle(r) => format!("reference {r} leads back to itself"),
            RefProblem::Malformed => "a $ref that is not a string".to_owned(),
        }
    }
}

/// A value after following its `$ref` chain: the target and the references passed through.
#[derive(Debug)]
pub(crate) struct Resolved<'a> {
    pub value: &'a Value,
    pub refs: Vec<&'a str>,
    pub problem: Option<RefProblem<'a>>,
}

/// Follows `$ref`s from `value`. References for which `active` is true are already being
/// expanded (a cycle if met again). On a problem `value` is the last object reached.
pub(crate) fn follow<'a>(
    root: &'a Value,
    value: &'a Value,
    active: &dyn Fn(&str) -> bool,
) -> Resolved<'a> {
    let mut current = value;
    let mut refs: Vec<&'a str> = Vec::new();
    for _ in 0..MAX_REF_HOPS {
        let Some(reference) = current.get("$ref") else {
            return Resolved {
                value: current,
                refs,
                problem: None,
            };
        };
        let problem = match reference.as_str() {
            None => RefProblem::Malformed,
            Some(r) if !r.starts_with('#') => RefProblem::External(r),
            Some(r) if active(r) || refs.contains(&r) => RefProblem::Cycle(r),
            Some(r) => match resolve_pointer(root, r) {
                Some(target) => {
                    refs.push(r);
                    current = target;
                    continue;
                }
                None => RefProblem::Missing(r),
            },
        };
        return Resolved {
            value: current,
            refs,
            problem: Some(problem),
        };
    }
    let last = refs.last().copied().unwrap_or("$ref");
    Resolved {
        value: current,
        refs,
        problem: Some(RefProblem::Cycle(last)),
    }
}

/// Whether a schema has anything to show below its line (properties, items, alternatives).
fn may_have_children(schema: &Value) -> bool {
    let Some(object) = schema.as_object() else {
        return false;
    };
    [
        "properties",
        "additionalProperties",
        "oneOf",
        "anyOf",
        "allOf",
    ]
    .iter()
    .any(|key| {
        object
            .get(*key)
            .is_some_and(|v| v.is_object() || v.is_array())
    })
}

fn is_array_schema(schema: &Value) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == "array",
        Some(Value::Array(types)) => types.iter().any(|t| t == "array"),
        _ => schema.get("items").is_some() && schema.get("properties").is_none(),
    }
}

#[derive(Default)]
struct ObjectView<'a> {
    props: Vec<(&'a str, &'a Value)>,
    /// Names in `props`, so merging allOf parts stays linear in the property count.
    seen: HashSet<&'a str>,
    required: HashSet<&'a str>,
    additional: Option<&'a Value>,
    combinators: Vec<(&'static str, &'a [Value])>,
    notes: Vec<String>,
}

impl ObjectView<'_> {
    fn is_empty(&self) -> bool {
        self.props.is_empty()
            && self.additional.is_none()
            && self.combinators.is_empty()
            && self.notes.is_empty()
    }
}

/// Renders schemas of one document. Create one per document: it knows where each named schema
/// lives in the schemas section and counts what was cut.
pub(crate) struct Schemas<'a> {
    root: &'a Value,
    /// Reference string (`#/components/schemas/Pet`) → element id of its definition.
    links: HashMap<String, String>,
    /// Entries one tree may show.
    pub nodes_per_tree: usize,
    nodes_left: usize,
    stack: Vec<&'a str>,
    /// The named schema whose own definition is being rendered.
    own_ref: Option<String>,
    /// Set when some tree stopped at its depth cap.
    pub depth_cut: bool,
    /// Set when some tree stopped at its entry cap (or the page's size cap).
    pub node_cut: bool,
}

impl<'a> Schemas<'a> {
    pub(crate) fn new(root: &'a Value, links: HashMap<String, String>) -> Self {
        Schemas {
            root,
            links,
            nodes_per_tree: 300,
            nodes_left: 0,
            stack: Vec::new(),
            own_ref: None,
            depth_cut: false,
            node_cut: false,
        }
    }

    fn follow(&self, value: &'a Value) -> Resolved<'a> {
        let active = |r: &str| self.stack.contains(&r) || self.own_ref.as_deref() == Some(r);
        follow(self.root, value, &active)
    }

    /// A whole tree for `schema`: `<div class="schema">…</div>`, at most `max_depth` levels.
    pub(crate) fn tree(&mut self, out: &mut Html, schema: &'a Value, max_depth: usize) {
        self.tree_inside(out, schema, max_depth, None);
    }

    /// The tree of a named schema in the schemas section: references back to `own_ref` are
    /// shown as recursion instead of being expanded again.
    pub(crate) fn definition_tree(
        &mut self,
        out: &mut Html,
        schema: &'a Value,
        own_ref: &str,
        max_depth: usize,
    ) {
        self.tree_inside(out, schema, max_depth, Some(own_ref));
    }

    fn tree_inside(
        &mut self,
        out: &mut Html,
        schema: &'a Value,
        max_depth: usize,
        own_ref: Option<&str>,
    ) {
        self.nodes_left = self.nodes_per_tree;
        self.stack.clear();
        self.own_ref = own_ref.map(str::to_owned);
        out.raw("<div class=\"schema\"><ul class=\"schema-tree\">");
        self.node(out, None, schema, false, 0, max_depth);
        out.raw("</ul></div>");
        self.stack.clear();
        self.own_ref = None;
    }

    /// One entry: its line (name, type, format, markers), description, facts and children.
    /// Returns false when nothing was written because a cap was reached.
    fn node(
        &mut self,
        out: &mut Html,
        name: Option<&str>,
        schema: &'a Value,
        required: bool,
        depth: usize,
        max_depth: usize,
    ) -> bool {
        if self.nodes_left == 0 || out.full() {
            self.node_cut = true;
            return false;
        }
        self.nodes_left -= 1;
        let resolved = self.follow(schema);
        let target = resolved.value;
        out.raw("<li class=\"schema-node\"><div class=\"schema-line\">");
        if let Some(name) = name {
            out.element("span", "schema-name", name);
            out.raw(" ");
        }
        self.label(out, schema);
        if let Some(format) = target.get("format").and_then(Value::as_str) {
            out.raw(" ");
            out.element("span", "schema-format", format);
        }
        if required {
            out.raw(" <span class=\"schema-required\">required</span>");
        }
        for (key, flag) in [
            ("deprecated", "deprecated"),
            ("readOnly", "read-only"),
            ("writeOnly", "write-only"),
            ("nullable", "nullable"),
        ] {
            let set = |v: &Value| v.get(key).and_then(Value::as_bool) == Some(true);
            if set(schema) || set(target) {
                out.raw(" <span class=\"schema-flag\">");
                out.raw(flag);
                out.raw("</span>");
            }
        }
        out.raw("</div>");
        let description = schema
            .get("description")
            .and_then(Value::as_str)
            .or_else(|| target.get("description").and_then(Value::as_str));
        if let Some(description) = description {
            out.description("schema-description", description);
        }
        facts(out, target);
        match resolved.problem {
            Some(problem) => {
                out.raw("<ul class=\"schema-children\"><li class=\"schema-note\">");
                match problem {
                    RefProblem::Cycle(r) => {
                        out.text(&ref_name(r));
                        out.text(" is recursive: not expanded again here.");
                    }
                    RefProblem::External(r) => {
                        out.text("Defined outside this document: ");
                        out.element("code", "", r);
                    }
                    other => out.text(&other.describe()),
                }
                out.raw("</li></ul>");
            }
            None => {
                let base = self.stack.len();
                self.stack.extend(resolved.refs.iter().copied());
                self.children(out, target, depth + 1, max_depth);
                self.stack.truncate(base);
            }
        }
        out.raw("</li>");
        true
    }

    fn children(&mut self, out: &mut Html, schema: &'a Value, depth: usize, max_depth: usize) {
        let base = self.stack.len();
        let mut target = schema;
        let mut notes = Vec::new();
        // Arrays show their items' structure directly under them.
        for _ in 0..8 {
            if !is_array_schema(target) {
                break;
            }
            let Some(items) = target.get("items").filter(|items| items.is_object()) else {
                break;
            };
            let resolved = self.follow(items);
            match resolved.problem {
                Some(RefProblem::Cycle(r)) => {
                    notes.push(format!(
                        "{} is recursive: not expanded again here.",
                        ref_name(r)
                    ));
                    break;
                }
                Some(RefProblem::External(r)) => {
                    notes.push(format!("Items are defined outside this document: {r}"));
                    break;
                }
                Some(problem) => {
                    notes.push(problem.describe());
                    break;
                }
                None => {
                    self.stack.extend(resolved.refs.iter().copied());
                    target = resolved.value;
                }
            }
        }
        if notes.is_empty() && !may_have_children(target) {
            self.stack.truncate(base);
            return;
        }
        if depth > max_depth {
            out.raw("<ul class=\"schema-children\">");
            self.depth_cut = true;
            out.raw("<li class=\"schema-note schema-cut\">");
            let named = self.stack.last().copied();
            match named.and_then(|r| self.links.get(r).map(|id| (r, id.clone()))) {
                Some((r, id)) => {
                    out.text("Deeper levels are not shown here; see ");
                    out.raw("<a class=\"schema-ref\" href=\"#");
                    out.text(&id);
                    out.raw("\">");
                    out.text(&ref_name(r));
                    out.raw("</a>.");
                }
                None => out.text("Deeper levels are not shown."),
            }
            out.raw("</li></ul>");
            self.stack.truncate(base);
            return;
        }
        let mut view = ObjectView::default();
        if notes.is_empty() {
            // One more than can be shown, so that "more" is still noticed.
            let limit = self.nodes_left.saturating_add(1);
            self.collect(target, &mut view, &mut Vec::new(), limit);
        }
        view.notes.extend(notes);
        if view.is_empty() {
            self.stack.truncate(base);
            return;
        }
        out.raw("<ul class=\"schema-children\">");
        for note in &view.notes {
            out.element("li", "schema-note", note);
        }
        let mut more = false;
        for (name, prop) in &view.props {
            let required = view.required.contains(*name);
            if !self.node(out, Some(name), prop, required, depth, max_depth) {
                more = true;
                break;
            }
        }
        if !more && let Some(additional) = view.additional {
            more = !self.node(
                out,
                Some("additional properties"),
                additional,
                false,
                depth,
                max_depth,
            );
        }
        for (label, variants) in &view.combinators {
            if more {
                break;
            }
            out.raw("<li class=\"schema-variants\"><span class=\"schema-combinator\">");
            out.raw(label);
            out.raw("</span><ol class=\"schema-variant-list\">");
            for variant in variants.iter().take(MAX_VARIANTS) {
                if !self.node(out, None, variant, false, depth, max_depth) {
                    more = true;
                    break;
                }
            }
            out.raw("</ol></li>");
            if variants.len() > MAX_VARIANTS {
                more = true;
            }
        }
        if more {
            self.node_cut = true;
            out.raw("<li class=\"schema-note schema-cut\">More entries are not shown.</li>");
        }
        out.raw("</ul>");
        self.stack.truncate(base);
    }

    /// Gathers properties, merging `allOf` parts. The parts' references are not ancestors of
    /// the merged properties, so they stay off the stack; `merged` only stops a part from
    /// being merged twice (allOf chains that loop).
    fn collect(
        &mut self,
        schema: &'a Value,
        view: &mut ObjectView<'a>,
        merged: &mut Vec<&'a str>,
        limit: usize,
    ) {
        let Some(object) = schema.as_object() else {
            return;
        };
        if let Some(Value::Object(props)) = object.get("properties") {
            for (name, prop) in props {
                if view.props.len() >= limit {
                    break;
                }
                if view.seen.insert(name.as_str()) {
                    view.props.push((name.as_str(), prop));
                }
            }
        }
        if let Some(Value::Array(required)) = object.get("required") {
            view.required
                .extend(required.iter().filter_map(Value::as_str));
        }
        if view.additional.is_none()
            && let Some(additional @ Value::Object(_)) = object.get("additionalProperties")
        {
            view.additional = Some(additional);
        }
        for (key, label) in [("oneOf", "one of"), ("anyOf", "any of")] {
            if let Some(Value::Array(variants)) = object.get(key)
                && !variants.is_empty()
            {
                view.combinators.push((label, variants.as_slice()));
            }
        }
        if let Some(Value::Array(parts)) = object.get("allOf") {
            if merged.len() >= 32 {
                view.notes
                    .push("allOf nests too deeply to merge further.".to_owned());
                return;
            }
            for part in parts.iter().take(MAX_VARIANTS) {
                let resolved = self.follow(part);
                if resolved.refs.iter().any(|r| merged.contains(r)) {
                    continue;
                }
                match resolved.problem {
                    Some(RefProblem::Cycle(r)) => view.notes.push(format!(
                        "{} is recursive: not expanded again here.",
                        ref_name(r)
                    )),
                    Some(problem) => view
                        .notes
                        .push(format!("Part of allOf: {}", problem.describe())),
                    None => {
                        merged.extend(resolved.refs.iter().copied());
                        // Inline parts have no reference; count them so depth stays bounded.
                        merged.push("");
                        self.collect(resolved.value, view, merged, limit);
                    }
                }
            }
        }
    }

    /// A one-line type: `string`, `array of Pet` (linked), `one of Cat | Dog`, `map of string`.
    pub(crate) fn label(&self, out: &mut Html, schema: &Value) {
        out.raw("<span class=\"schema-type\">");
        self.label_at(out, schema, 0);
        out.raw("</span>");
    }

    fn label_at(&self, out: &mut Html, schema: &Value, level: usize) {
        if level > 3 {
            out.text("…");
            return;
        }
        let object = match schema {
            Value::Object(object) => object,
            Value::Bool(true) => return out.text("any"),
            Value::Bool(false) => return out.text("nothing"),
            _ => {
                out.raw("<span class=\"schema-invalid\">not a schema</span>");
                return;
            }
        };
        if let Some(reference) = object.get("$ref") {
            match reference.as_str() {
                Some(r) => self.ref_link(out, r),
                None => out.raw("<span class=\"schema-invalid\">bad $ref</span>"),
            }
            return;
        }
        let items = object.get("items");
        match object.get("type") {
            Some(Value::String(t)) if t == "array" => self.array_label(out, items, level),
            Some(Value::String(t)) if t == "object" => match object.get("additionalProperties") {
                Some(additional @ Value::Object(_)) if object.get("properties").is_none() => {
                    out.text("map of ");
                    self.label_at(out, additional, level + 1);
                }
                _ => self.combinator_or(out, object, "object", level),
            },
            Some(Value::String(t)) => out.text(t),
            Some(Value::Array(types)) => {
                let names: Vec<String> = types
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                if names.iter().any(|t| t == "array") && items.is_some() {
                    self.array_label(out, items, level);
                    for t in names.iter().filter(|t| *t != "array") {
                        out.text(" | ");
                        out.text(t);
                    }
                } else if names.is_empty() {
                    out.text("any");
                } else {
                    out.text(&names.join(" | "));
                }
            }
            Some(_) => out.raw("<span class=\"schema-invalid\">bad type</span>"),
            None => {
                let fallback = if object.get("properties").is_some()
                    || object.get("additionalProperties").is_some()
                {
                    "object"
                } else if items.is_some() {
                    return self.array_label(out, items, level);
                } else if object.get("enum").is_some() {
                    "enum"
                } else if object.get("const").is_some() {
                    "constant"
                } else {
                    "any"
                };
                self.combinator_or(out, object, fallback, level);
            }
        }
    }

    fn array_label(&self, out: &mut Html, items: Option<&Value>, level: usize) {
        match items {
            Some(items) if items.is_object() => {
                out.text("array of ");
                self.label_at(out, items, level + 1);
            }
            _ => out.text("array"),
        }
    }

    /// `one of A | B`, `all of A & B` when the schema combines others, else `fallback`.
    fn combinator_or(
        &self,
        out: &mut Html,
        object: &serde_json::Map<String, Value>,
        fallback: &str,
        level: usize,
    ) {
        for (key, lead, separator) in [
            ("oneOf", "one of ", " | "),
            ("anyOf", "any of ", " | "),
            ("allOf", "all of ", " & "),
        ] {
            let Some(Value::Array(variants)) = object.get(key) else {
                continue;
            };
            if variants.is_empty() {
                continue;
            }
            if key == "allOf" && variants.len() == 1 {
                self.label_at(out, &variants[0], level + 1);
                return;
            }
            out.text(lead);
            for (i, variant) in variants.iter().take(6).enumerate() {
                if i > 0 {
                    out.text(separator);
                }
                self.label_at(out, variant, level + 1);
            }
            if variants.len() > 6 {
                out.text(separator);
                out.text("…");
            }
            return;
        }
        out.text(fallback);
    }

    fn ref_link(&self, out: &mut Html, reference: &str) {
        let name = ref_name(reference);
        if let Some(id) = self.links.get(reference) {
            out.raw("<a class=\"schema-ref\" href=\"#");
            out.text(id);
            out.raw("\">");
            out.text(&name);
            out.raw("</a>");
        } else if reference.starts_with('#') {
            out.element("span", "schema-ref", &name);
        } else {
            out.raw("<span class=\"schema-ref schema-ref-external\" title=\"");
            out.text(reference);
            out.raw("\">");
            out.text(&name);
            out.raw("</span>");
        }
    }
}

/// A schema with a name in the document (`components.schemas`, Swagger `definitions`).
pub(crate) struct NamedSchema<'a> {
    pub name: &'a str,
    pub schema: &'a Value,
    /// How local references spell it: `#/components/schemas/Name`.
    pub reference: String,
    /// The element id of its entry in the schemas section.
    pub id: String,
}

/// The named schemas under `container`, whose references start with `pointer_prefix`.
pub(crate) fn named_schemas<'a>(
    container: Option<&'a Value>,
    pointer_prefix: &str,
    ids: &mut Ids,
    warnings: &mut Warnings,
) -> Vec<NamedSchema<'a>> {
    match container {
        Some(Value::Object(map)) => map
            .iter()
            .map(|(name, schema)| NamedSchema {
                name,
                schema,
                reference: format!(
                    "{pointer_prefix}{}",
                    name.replace('~', "~0").replace('/', "~1")
                ),
                id: ids.unique("schema", name),
            })
            .collect(),
        Some(other) => {
            warnings.push(format!(
                "The named schemas ({pointer_prefix}) are {}, not a mapping.",
                describe_json_type(other)
            ));
            Vec::new()
        }
        None => Vec::new(),
    }
}

/// Reference → element id, for linking references to the schemas section.
pub(crate) fn schema_links(named: &[NamedSchema]) -> HashMap<String, String> {
    named
        .iter()
        .map(|n| (n.reference.clone(), n.id.clone()))
        .collect()
}

impl<'a> Schemas<'a> {
    /// The schemas section: each named schema as a collapsed `<details>` with its tree.
    pub(crate) fn section(
        &mut self,
        out: &mut Html,
        named: &[NamedSchema<'a>],
        max_depth: usize,
        warnings: &mut Warnings,
    ) {
        if named.is_empty() {
            return;
        }
        let remaining = out.cap.saturating_sub(out.len());
        self.nodes_per_tree = section_entries(remaining, named.len());
        out.raw("<section class=\"apidef-schemas\"><h3 class=\"apidef-group-title\">Schemas</h3>");
        for (shown, entry) in named.iter().enumerate() {
            if out.full() {
                warnings.push(format!(
                    "The schemas section stops after {shown} of {} schemas (size limit).",
                    named.len()
                ));
                break;
            }
            out.raw("<details class=\"schema-definition\" id=\"");
            out.text(&entry.id);
            out.raw("\"><summary><code class=\"schema-title\">");
            out.text(entry.name);
            out.raw("</code> ");
            self.label(out, entry.schema);
            out.raw("</summary>");
            self.definition_tree(out, entry.schema, &entry.reference, max_depth);
            out.raw("</details>");
        }
        out.raw("</section>");
    }

    /// Warnings for the caps trees met, naming the limits. `units` is how many operations (or
    /// channels) shared the page, for the message when trees were reduced to their type line.
    pub(crate) fn report_cuts(
        &self,
        warnings: &mut Warnings,
        depths: &str,
        compact: Option<(usize, &str)>,
    ) {
        if let Some((units, what)) = compact {
            warnings.push(format!(
                "This definition has {units} {what}: their schemas are shown by name only here; the schemas section and the raw view have the detail."
            ));
        } else if self.depth_cut {
            warnings.push(format!(
                "Some schemas nest deeper than shown ({depths}); the raw view has the rest."
            ));
        }
        if self.node_cut {
            warnings.push(format!(
                "Some schemas have more entries than shown (at most {} per schema for a definition this size); the raw view has the rest.",
                self.nodes_per_tree
            ));
        }
    }
}

/// Allowed values, default, example and constraints of a schema, on one line each.
pub(crate) fn facts(out: &mut Html, schema: &Value) {
    let Some(object) = schema.as_object() else {
        return;
    };
    if let Some(Value::Array(values)) = object.get("enum")
        && !values.is_empty()
    {
        out.raw("<div class=\"schema-enum\"><span class=\"schema-fact-label\">values</span>");
        for value in values.iter().take(MAX_ENUM_VALUES) {
            out.raw(" ");
            out.element("code", "schema-enum-value", &compact_value(value, 120));
        }
        if values.len() > MAX_ENUM_VALUES {
            out.raw(" ");
            out.text(&format!("… and {} more", values.len() - MAX_ENUM_VALUES));
        }
        out.raw("</div>");
    }
    const FACTS: &[(&str, &str)] = &[
        ("const", "constant"),
        ("default", "default"),
        ("minimum", "minimum"),
        ("exclusiveMinimum", "exclusive minimum"),
        ("maximum", "maximum"),
        ("exclusiveMaximum", "exclusive maximum"),
        ("multipleOf", "multiple of"),
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("pattern", "pattern"),
        ("minItems", "min items"),
        ("maxItems", "max items"),
        ("uniqueItems", "unique items"),
        ("minProperties", "min properties"),
        ("maxProperties", "max properties"),
        ("example", "example"),
    ];
    let mut opened = false;
    for (key, label) in FACTS {
        let Some(value) = object.get(*key) else {
            continue;
        };
        if !opened {
            out.raw("<div class=\"schema-facts\">");
            opened = true;
        } else {
            out.raw(" ");
        }
        out.raw("<span class=\"schema-fact\"><span class=\"schema-fact-label\">");
        out.raw(label);
        out.raw("</span> ");
        out.element("code", "", &compact_value(value, 200));
        out.raw("</span>");
    }
    if opened {
        out.raw("</div>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use expect_test::expect;
    use serde_json::json;

    #[test]
    fn pointers_names_and_problems() {
        let doc = json!({"components": {"schemas": {"A/B": {"type": "string"}, "L": {"$ref": "#/components/schemas/L"}}}});
        assert_eq!(
            resolve_pointer(&doc, "#/components/schemas/A~1B"),
            Some(&json!({"type": "string"}))
        );
        assert_eq!(
            resolve_pointer(&doc, "#/components/schemas/A%7E1B"),
            Some(&json!({"type": "string"}))
        );
        assert_eq!(ref_name("#/components/schemas/A~1B"), "A/B");
        assert_eq!(ref_name("common.yaml#/Error"), "Error");
        assert_eq!(ref_name("pet.yaml"), "pet.yaml");
        let none = |_: &str| false;
        let (looping, missing, external) = (
            json!({"$ref": "#/components/schemas/L"}),
            json!({"$ref": "#/nope"}),
            json!({"$ref": "x.yaml#/Y"}),
        );
        let looped = follow(&doc, &looping, &none);
        assert_eq!(
            looped.problem,
            Some(RefProblem::Cycle("#/components/schemas/L"))
        );
        assert_eq!(
            follow(&doc, &missing, &none).problem,
            Some(RefProblem::Missing("#/nope"))
        );
        assert_eq!(
            follow(&doc, &external, &none).problem,
            Some(RefProblem::External("x.yaml#/Y"))
        );
    }

    fn render_tree(doc: &Value, schema: &Value, links: &[(&str, &str)]) -> String {
        let links = links
            .iter()
            .map(|(r, id)| (r.to_string(), id.to_string()))
            .collect();
        let mut schemas = Schemas::new(doc, links);
        let mut out = Html::new(1 << 20);
        schemas.tree(&mut out, schema, 8);
        out.finish().replace("<li", "\n<li").replace("<ul", "\n<ul")
    }

    #[test]
    fn tree_resolves_refs_merges_all_of_and_stops_at_recursion() {
        let doc = json!({"components": {"schemas": {
            "Base": {"type": "object", "required": ["id"], "properties": {"id": {"type": "string", "format": "uuid"}}},
            "Node": {"allOf": [
                {"$ref": "#/components/schemas/Base"},
                {"type": "object", "properties": {
                    "kind": {"type": "string", "enum": ["a", "b"], "default": "a"},
                    "children": {"type": "array", "items": {"$ref": "#/components/schemas/Node"}},
                    "meta": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "pick": {"oneOf": [{"type": "string"}, {"$ref": "#/components/schemas/Base"}]}
                }}
            ]}
        }}});
        let html = render_tree(
            &doc,
            &json!({"$ref": "#/components/schemas/Node", "description": "A <node>."}),
            &[("#/components/schemas/Node", "schema-Node")],
        );
        expect![[r##"
            <div class="schema">
            <ul class="schema-tree">
            <li class="schema-node"><div class="schema-line"><span class="schema-type"><a class="schema-ref" href="#schema-Node">Node</a></span></div><div class="schema-description"><p>A &lt;node&gt;.</p></div>
            <ul class="schema-children">
            <li class="schema-node"><div class="schema-line"><span class="schema-name">id</span> <span class="schema-type">string</span> <span class="schema-format">uuid</span> <span class="schema-required">required</span></div></li>
            <li class="schema-node"><div class="schema-line"><span class="schema-name">kind</span> <span class="schema-type">string</span></div><div class="schema-enum"><span class="schema-fact-label">values</span> <code class="schema-enum-value">a</code> <code class="schema-enum-value">b</code></div><div class="schema-facts"><span class="schema-fact"><span class="schema-fact-label">default</span> <code>a</code></span></div></li>
            <li class="schema-node"><div class="schema-line"><span class="schema-name">children</span> <span class="schema-type">array of <a class="schema-ref" href="#schema-Node">Node</a></span></div>
            <ul class="schema-children">
            <li class="schema-note">Node is recursive: not expanded again here.</li></ul></li>
            <li class="schema-node"><div class="schema-line"><span class="schema-name">meta</span> <span class="schema-type">map of integer</span></div>
            <ul class="schema-children">
            <li class="schema-node"><div class="schema-line"><span class="schema-name">additional properties</span> <span class="schema-type">integer</span></div></li></ul></li>
            <li class="schema-node"><div class="schema-line"><span class="schema-name">pick</span> <span class="schema-type">one of string | <span class="schema-ref">Base</span></span></div>
            <ul class="schema-children">
            <li class="schema-variants"><span class="schema-combinator">one of</span><ol class="schema-variant-list">
            <li class="schema-node"><div class="schema-line"><span class="schema-type">string</span></div></li>
            <li class="schema-node"><div class="schema-line"><span class="schema-type"><span class="schema-ref">Base</span></span></div>
            <ul class="schema-children">
            <li class="schema-node"><div class="schema-line"><span class="schema-name">id</span> <span class="schema-type">string</span> <span class="schema-format">uuid</span> <span class="schema-required">required</span></div></li></ul></li></ol></li></ul></li></ul></li></ul></div>"##]]
        .assert_eq(&html);
    }

    #[test]
    fn depth_and_entry_caps_are_reported() {
        // A chain of nested objects 30 levels deep.
        let mut schema = json!({"type": "string"});
        for level in (0..30).rev() {
            schema = json!({"type": "object", "properties": {format!("l{level}"): schema}});
        }
        let doc = json!({});
        let mut schemas = Schemas::new(&doc, HashMap::new());
        let mut out = Html::new(1 << 20);
        schemas.tree(&mut out, &schema, 5);
        let html = out.finish();
        assert!(schemas.depth_cut);
        assert!(html.contains("l4") && !html.contains("l5"), "{html}");
        assert!(html.contains("Deeper levels are not shown."));

        let many: serde_json::Map<String, Value> = (0..500)
            .map(|i| (format!("p{i}"), json!({"type": "integer"})))
            .collect();
        let wide = json!({"type": "object", "properties": many});
        let mut schemas = Schemas::new(&doc, HashMap::new());
        schemas.nodes_per_tree = 50;
        let mut out = Html::new(1 << 20);
        schemas.tree(&mut out, &wide, 5);
        let html = out.finish();
        assert!(schemas.node_cut);
        assert_eq!(html.matches("class=\"schema-node\"").count(), 50);
        assert!(html.contains("More entries are not shown."));
    }

    #[test]
    fn wrong_types_render_as_notes_not_panics() {
        let doc = json!({});
        for schema in [
            json!("x"),
            json!(3),
            json!(null),
            json!({"type": 3, "properties": "x", "items": [], "required": "id", "enum": "a"}),
            json!({"$ref": 3}),
            json!({"allOf": "x", "oneOf": [1, 2]}),
            json!({"type": ["string", "null"], "format": 3}),
        ] {
            let html = render_tree(&doc, &schema, &[]);
            assert!(html.starts_with("<div class=\"schema\">"), "{html}");
        }
        let html = render_tree(&doc, &json!({"type": ["string", "null"]}), &[]);
        assert!(html.contains("string | null"), "{html}");
    }
}
