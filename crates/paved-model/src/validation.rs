//! Entity validation: Backstage's envelope and field-format rules, and the spec rules of the
//! built-in kinds, reported as diagnostics with dotted field paths.
//!
//! The rules follow Backstage's catalog-model: the entity envelope schema, the
//! `NoForeignRootFieldsEntityPolicy`, the `FieldFormatEntityPolicy` validators
//! (`KubernetesValidatorFunctions` and `makeValidator`) and the kind schemas in
//! `src/schema/kinds/*.schema.json` (Template: scaffolder-common's `Template.v1beta3`).
//! Validation can run before `$text`/`$json`/`$yaml` placeholders are resolved (offline
//! linting), so a placeholder object stands in for the value it will become.

use crate::diagnostic::Diagnostic;
use serde_json::{Map, Value};
use std::fmt;

/// Root fields Backstage accepts (`NoForeignRootFieldsEntityPolicy`).
const ROOT_FIELDS: [&str; 6] = [
    "apiVersion",
    "kind",
    "metadata",
    "spec",
    "relations",
    "status",
];

const MAX_NAME_LENGTH: usize = 63;
const MAX_DNS_SUBDOMAIN_LENGTH: usize = 253;

/// Validates one entity document and returns every problem found (empty when valid).
/// Diagnostics carry the dotted field path; callers add file and position from a source map.
pub fn validate_entity(value: &Value) -> Vec<Diagnostic> {
    let mut checker = Checker::default();
    let Some(root) = value.as_object() else {
        checker.error(
            "",
            format!(
                "an entity must be a map with apiVersion, kind and metadata, found {}",
                describe(value)
            ),
        );
        return checker.diagnostics;
    };

    for key in root.keys() {
        if !ROOT_FIELDS.contains(&key.as_str()) {
            checker.error(
                key,
                format!(
                    "unknown top-level field {}; only apiVersion, kind, metadata, spec, relations and status are allowed",
                    quoted(key)
                ),
            );
        }
    }

    let api_version = checker.envelope_string(
        root,
        "apiVersion",
        is_valid_api_version,
        "expected [prefix/]version such as backstage.io/v1alpha1",
    );
    let kind = checker.envelope_string(
        root,
        "kind",
        is_valid_kind,
        "expected a letter followed by letters and digits, at most 63 characters",
    );

    match root.get("metadata") {
        None => checker.error("metadata", "metadata is required"),
        Some(Value::Object(metadata)) => checker.metadata(metadata),
        Some(other) => checker.error(
            "metadata",
            format!("metadata must be a map, found {}", describe(other)),
        ),
    }

    let spec = match root.get("spec") {
        None => None,
        Some(Value::Object(spec)) => Some(spec),
        Some(other) => {
            checker.error(
                "spec",
                format!("spec must be a map, found {}", describe(other)),
            );
            // The kind rules would only repeat this problem.
            return checker.finish(value);
        }
    };
    if let Some(relations) = root.get("relations")
        && !relations.is_array()
    {
        checker.error(
            "relations",
            format!("relations must be a list, found {}", describe(relations)),
        );
    }
    if let Some(status) = root.get("status")
        && !status.is_object()
    {
        checker.error(
            "status",
            format!("status must be a map, found {}", describe(status)),
        );
    }

    if let (Some(api_version), Some(kind)) = (api_version, kind) {
        checker.kind_rules(api_version, kind, spec);
    }
    checker.finish(value)
}

/// Backstage's entity name rule (`KubernetesValidatorFunctions.isValidObjectName`): 1–63
/// characters from `[A-Za-z0-9-_.]`, starting and ending with a letter or digit.
pub fn is_valid_entity_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            bytes.len() <= MAX_NAME_LENGTH
                && first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// A namespace is a DNS label: `^[a-z0-9]+(-[a-z0-9]+)*$`, at most 63 characters.
pub fn is_valid_namespace(value: &str) -> bool {
    is_valid_dns_label(value)
}

/// Backstage's tag rule: `^[a-z0-9:+#]+(-[a-z0-9:+#]+)*$`, at most 63 characters.
pub fn is_valid_tag(value: &str) -> bool {
    value.len() <= MAX_NAME_LENGTH
        && single_dash_separated(value, |b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b':' | b'+' | b'#')
        })
}

/// A DNS label (RFC 1123): `^[a-z0-9]+(-[a-z0-9]+)*$`, at most 63 characters.
pub fn is_valid_dns_label(value: &str) -> bool {
    value.len() <= MAX_NAME_LENGTH
        && single_dash_separated(value, |b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A DNS subdomain: at most 253 characters of dot-separated DNS labels.
pub fn is_valid_dns_subdomain(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_DNS_SUBDOMAIN_LENGTH
        && value.split('.').all(is_valid_dns_label)
}

/// Label and annotation keys: `[prefix/]name`, the prefix a DNS subdomain, the name an entity
/// name.
pub fn is_valid_label_key(value: &str) -> bool {
    is_valid_prefixed(value, is_valid_entity_name)
}

/// Label values: empty, or an entity name.
pub fn is_valid_label_value(value: &str) -> bool {
    value.is_empty() || is_valid_entity_name(value)
}

/// `apiVersion`: `[prefix/]version`, the prefix a DNS subdomain, the version 1–63 letters and
/// digits.
pub fn is_valid_api_version(value: &str) -> bool {
    is_valid_prefixed(value, |version| {
        !version.is_empty()
            && version.len() <= MAX_NAME_LENGTH
            && version.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// `kind`: a letter followed by letters and digits, at most 63 characters.
pub fn is_valid_kind(value: &str) -> bool {
    let bytes = value.as_bytes();
    match bytes.first() {
        Some(first) => {
            bytes.len() <= MAX_NAME_LENGTH
                && first.is_ascii_alphabetic()
                && bytes.iter().all(u8::is_ascii_alphanumeric)
        }
        None => false,
    }
}

/// `name` or `prefix/name`; more than one `/` is invalid.
fn is_valid_prefixed(value: &str, is_valid_name: impl Fn(&str) -> bool) -> bool {
    let mut parts = value.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(name), None, None) => is_valid_name(name),
        (Some(prefix), Some(name), None) => is_valid_dns_subdomain(prefix) && is_valid_name(name),
        _ => false,
    }
}

/// `^[c]+(-[c]+)*$` for a character class `c`: non-empty runs joined by single dashes.
fn single_dash_separated(value: &str, in_class: impl Fn(u8) -> bool) -> bool {
    !value.is_empty()
        && value
            .split('-')
            .all(|run| !run.is_empty() && run.bytes().all(&in_class))
}

/// The kinds Backstage validates itself, and the apiVersions each accepts.
struct BuiltinKind {
    kind: &'static str,
    api_versions: &'static [&'static str],
    spec_required: bool,
    fields: &'static [(&'static str, Rule)],
}

#[derive(Clone, Copy)]
enum Rule {
    String {
        required: bool,
    },
    StringList {
        required: bool,
    },
    Map {
        required: bool,
    },
    /// Group and User `profile`: a map whose known fields are non-empty strings.
    Profile,
    /// API `definition`: required unless the API describes `remotes` (mcp-server,
    /// ai-model-server and similar types).
    ApiDefinition,
    /// API `remotes`: a non-empty list of `{type, url}`.
    ApiRemotes,
    /// Template `parameters`: a map, or a list of maps.
    TemplateParameters,
    /// Template `steps`: a list of maps with an `action`.
    TemplateSteps,
    /// Template `output`: a map; `links` a list of maps.
    TemplateOutput,
}

const V1: &[&str] = &["backstage.io/v1alpha1", "backstage.io/v1beta1"];
const REQUIRED_STRING: Rule = Rule::String { required: true };
const OPTIONAL_STRING: Rule = Rule::String { required: false };
const OPTIONAL_LIST: Rule = Rule::StringList { required: false };

const BUILTIN_KINDS: &[BuiltinKind] = &[
    BuiltinKind {
        kind: "Component",
        api_versions: V1,
        spec_required: true,
        fields: &[
            ("type", REQUIRED_STRING),
            ("lifecycle", REQUIRED_STRING),
            ("owner", REQUIRED_STRING),
            ("system", OPTIONAL_STRING),
            ("subcomponentOf", OPTIONAL_STRING),
            ("providesApis", OPTIONAL_LIST),
            ("consumesApis", OPTIONAL_LIST),
            ("dependsOn", OPTIONAL_LIST),
            ("dependencyOf", OPTIONAL_LIST),
        ],
    },
    BuiltinKind {
        kind: "API",
        api_versions: V1,
        spec_required: true,
        fields: &[
            ("type", REQUIRED_STRING),
            ("lifecycle", REQUIRED_STRING),
            ("owner", REQUIRED_STRING),
            ("system", OPTIONAL_STRING),
            ("definition", Rule::ApiDefinition),
            ("remotes", Rule::ApiRemotes),
        ],
    },
    BuiltinKind {
        kind: "Resource",
        api_versions: V1,
        spec_required: true,
        fields: &[
            ("type", REQUIRED_STRING),
            ("owner", REQUIRED_STRING),
            ("system", OPTIONAL_STRING),
            ("dependsOn", OPTIONAL_LIST),
            ("dependencyOf", OPTIONAL_LIST),
        ],
    },
    BuiltinKind {
        kind: "System",
        api_versions: V1,
        spec_required: true,
        fields: &[
            ("owner", REQUIRED_STRING),
            ("domain", OPTIONAL_STRING),
            ("type", OPTIONAL_STRING),
        ],
    },
    BuiltinKind {
        kind: "Domain",
        api_versions: V1,
        spec_required: true,
        fields: &[
            ("owner", REQUIRED_STRING),
            ("subdomainOf", OPTIONAL_STRING),
            ("type", OPTIONAL_STRING),
        ],
    },
    BuiltinKind {
        kind: "Group",
        api_versions: V1,
        spec_required: true,
        fields: &[
            ("type", REQUIRED_STRING),
            ("profile", Rule::Profile),
            ("parent", OPTIONAL_STRING),
            ("children", Rule::StringList { required: true }),
            ("members", OPTIONAL_LIST),
        ],
    },
    BuiltinKind {
        kind: "User",
        api_versions: V1,
        spec_required: true,
        fields: &[
            ("profile", Rule::Profile),
            ("memberOf", Rule::StringList { required: true }),
        ],
    },
    BuiltinKind {
        kind: "Location",
        api_versions: V1,
        spec_required: true,
        fields: &[
            ("type", OPTIONAL_STRING),
            ("target", OPTIONAL_STRING),
            ("targets", OPTIONAL_LIST),
        ],
    },
    BuiltinKind {
        // Backstage's Environment schema accepts only v1alpha1 and does not require `spec`.
        kind: "Environment",
        api_versions: &["backstage.io/v1alpha1"],
        spec_required: false,
        fields: &[("lifecycle", REQUIRED_STRING)],
    },
    BuiltinKind {
        kind: "Template",
        api_versions: &["scaffolder.backstage.io/v1beta3"],
        spec_required: true,
        fields: &[
            ("type", REQUIRED_STRING),
            ("owner", OPTIONAL_STRING),
            ("parameters", Rule::TemplateParameters),
            ("steps", Rule::TemplateSteps),
            ("output", Rule::TemplateOutput),
        ],
    },
];

/// Profile fields Backstage types as non-empty strings (Group and User schemas).
const PROFILE_STRING_FIELDS: [&str; 10] = [
    "displayName",
    "email",
    "picture",
    "pronouns",
    "jobTitle",
    "startDateISO",
    "manager",
    "timezoneISO",
    "location",
    "directMessageURL",
];

/// `parent.key`, written only when a diagnostic needs it: valid entities allocate no paths.
#[derive(Clone, Copy)]
struct Join<'a, P>(P, &'a str);

impl<P: fmt::Display> fmt::Display for Join<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

/// `parent[index]`.
#[derive(Clone, Copy)]
struct Index<P>(P, usize);

impl<P: fmt::Display> fmt::Display for Index<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.0, self.1)
    }
}

#[derive(Default)]
struct Checker {
    diagnostics: Vec<Diagnostic>,
}

impl Checker {
    fn error(&mut self, field: impl fmt::Display, message: impl Into<String>) {
        let field = field.to_string();
        let diagnostic = Diagnostic::error(message);
        self.diagnostics.push(if field.is_empty() {
            diagnostic
        } else {
            diagnostic.with_field(field)
        });
    }

    fn finish(mut self, value: &Value) -> Vec<Diagnostic> {
        // Backstage's search index refuses such entities when stitching; report it up front.
        let conflicts = crate::search::keys_differing_only_in_case(value);
        if !conflicts.is_empty() {
            self.error(
                &conflicts[0],
                format!(
                    "the entity has keys that differ only in letter case: {}",
                    conflicts
                        .iter()
                        .map(|k| quoted(k))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        self.diagnostics
    }

    /// `apiVersion` and `kind`: required non-empty strings in a given format.
    fn envelope_string<'a>(
        &mut self,
        root: &'a Map<String, Value>,
        field: &str,
        is_valid: fn(&str) -> bool,
        expected: &str,
    ) -> Option<&'a str> {
        match root.get(field) {
            None => {
                self.error(field, format!("{field} is required"));
                None
            }
            Some(Value::String(s)) if s.is_empty() => {
                self.error(field, format!("{field} must not be empty"));
                None
            }
            Some(Value::String(s)) => {
                if !is_valid(s) {
                    self.error(
                        field,
                        format!("{field} {} is not valid; {expected}", quoted(s)),
                    );
                }
                Some(s)
            }
            Some(other) => {
                self.error(
                    field,
                    format!("{field} must be a string, found {}", describe(other)),
                );
                None
            }
        }
    }

    fn metadata(&mut self, metadata: &Map<String, Value>) {
        match metadata.get("name") {
            None => self.error("metadata.name", "metadata.name is required"),
            Some(Value::String(name)) => {
                if !is_valid_entity_name(name) {
                    self.error(
                        "metadata.name",
                        format!(
                            "metadata.name {} is not valid; expected 1 to 63 letters, digits and separators [-_.], starting and ending with a letter or digit",
                            quoted(name)
                        ),
                    );
                }
            }
            Some(other) => self.error(
                "metadata.name",
                format!("metadata.name must be a string, found {}", describe(other)),
            ),
        }

        match metadata.get("namespace") {
            None => {}
            Some(Value::String(namespace)) if !is_valid_namespace(namespace) => {
                self.error(
                        "metadata.namespace",
                        format!(
                            "metadata.namespace {} is not valid; expected 1 to 63 lower-case letters and digits, with single dashes between them",
                            quoted(namespace)
                        ),
                    );
            }
            Some(Value::String(_)) => {}
            Some(other) => self.error(
                "metadata.namespace",
                format!(
                    "metadata.namespace must be a string, found {}",
                    describe(other)
                ),
            ),
        }

        for field in ["title", "description"] {
            if let Some(value) = metadata.get(field)
                && !is_string_like(value)
            {
                self.error(
                    format!("metadata.{field}"),
                    format!(
                        "metadata.{field} must be a string, found {}",
                        describe(value)
                    ),
                );
            }
        }
        for field in ["uid", "etag"] {
            match metadata.get(field) {
                None => {}
                Some(Value::String(s)) if !s.is_empty() => {}
                Some(other) => self.error(
                    format!("metadata.{field}"),
                    format!(
                        "metadata.{field} must be a non-empty string, found {}",
                        describe(other)
                    ),
                ),
            }
        }
        if let Some(generation) = metadata.get("generation")
            && generation.as_u64().is_none_or(|g| g < 1)
        {
            self.error(
                "metadata.generation",
                format!(
                    "metadata.generation must be a positive integer, found {}",
                    describe(generation)
                ),
            );
        }

        self.labels(metadata.get("labels"));
        self.annotations(metadata.get("annotations"));
        self.tags(metadata.get("tags"));
        self.links(metadata.get("links"));
    }

    fn labels(&mut self, labels: Option<&Value>) {
        let Some(labels) = labels else { return };
        let Some(labels) = labels.as_object() else {
            self.error(
                "metadata.labels",
                format!("metadata.labels must be a map, found {}", describe(labels)),
            );
            return;
        };
        for (key, value) in labels {
            let field = Join("metadata.labels", key);
            if !is_valid_label_key(key) {
                self.error(
                    field,
                    format!("label key {} is not valid; {KEY_RULE}", quoted(key)),
                );
            }
            match value {
                Value::String(s) if is_valid_label_value(s) => {}
                Value::String(s) => self.error(
                    field,
                    format!(
                        "label value {} is not valid; expected an empty string, or 1 to 63 letters, digits and separators [-_.], starting and ending with a letter or digit",
                        quoted(s)
                    ),
                ),
                other => self.error(field, format!("label values must be strings, found {}", describe(other))),
            }
        }
    }

    fn annotations(&mut self, annotations: Option<&Value>) {
        let Some(annotations) = annotations else {
            return;
        };
        let Some(annotations) = annotations.as_object() else {
            self.error(
                "metadata.annotations",
                format!(
                    "metadata.annotations must be a map, found {}",
                    describe(annotations)
                ),
            );
            return;
        };
        for (key, value) in annotations {
            let field = Join("metadata.annotations", key);
            if !is_valid_label_key(key) {
                self.error(
                    field,
                    format!("annotation key {} is not valid; {KEY_RULE}", quoted(key)),
                );
            }
            if !value.is_string() {
                self.error(
                    field,
                    format!(
                        "annotation values must be strings (quote numbers and booleans), found {}",
                        describe(value)
                    ),
                );
            }
        }
    }

    fn tags(&mut self, tags: Option<&Value>) {
        let Some(tags) = tags else { return };
        let Some(tags) = tags.as_array() else {
            self.error(
                "metadata.tags",
                format!("metadata.tags must be a list, found {}", describe(tags)),
            );
            return;
        };
        for (index, tag) in tags.iter().enumerate() {
            let field = Index("metadata.tags", index);
            match tag {
                Value::String(s) if is_valid_tag(s) => {}
                Value::String(s) => self.error(
                    field,
                    format!(
                        "tag {} is not valid; expected 1 to 63 lower-case letters, digits and [:+#], with single dashes between them",
                        quoted(s)
                    ),
                ),
                other => self.error(field, format!("tags must be strings, found {}", describe(other))),
            }
        }
    }

    fn links(&mut self, links: Option<&Value>) {
        let Some(links) = links else { return };
        let Some(links) = links.as_array() else {
            self.error(
                "metadata.links",
                format!("metadata.links must be a list, found {}", describe(links)),
            );
            return;
        };
        for (index, link) in links.iter().enumerate() {
            let field = Index("metadata.links", index);
            let Some(link) = link.as_object() else {
                self.error(
                    field,
                    format!("a link must be a map with a url, found {}", describe(link)),
                );
                continue;
            };
            self.string_field(link, field, "url", true);
            for optional in ["title", "icon", "type"] {
                self.string_field(link, field, optional, false);
            }
        }
    }

    /// A non-empty string field of `map` at `parent.key`.
    fn string_field(
        &mut self,
        map: &Map<String, Value>,
        parent: impl fmt::Display + Copy,
        key: &str,
        required: bool,
    ) {
        let field = Join(parent, key);
        match map.get(key) {
            None if required => self.error(field, format!("{field} is required")),
            None => {}
            Some(value) => self.non_empty_string(field, value),
        }
    }

    fn non_empty_string(&mut self, field: impl fmt::Display + Copy, value: &Value) {
        match value {
            Value::String(s) if s.is_empty() => {
                self.error(field, format!("{field} must not be empty"))
            }
            value if is_string_like(value) => {}
            other => self.error(
                field,
                format!("{field} must be a string, found {}", describe(other)),
            ),
        }
    }

    fn kind_rules(&mut self, api_version: &str, kind: &str, spec: Option<&Map<String, Value>>) {
        let Some(builtin) = BUILTIN_KINDS
            .iter()
            .find(|b| b.kind.eq_ignore_ascii_case(kind))
        else {
            return;
        };
        if !is_backstage_api_version(api_version) {
            // A kind of the same name under someone else's apiVersion is a custom kind.
            return;
        }
        if builtin.kind != kind {
            self.error(
                "kind",
                format!(
                    "kind {} is not known under {api_version}; kinds are case-sensitive, did you mean {}?",
                    quoted(kind),
                    quoted(builtin.kind)
                ),
            );
            return;
        }
        if !builtin.api_versions.contains(&api_version) {
            self.error(
                "apiVersion",
                format!(
                    "apiVersion {} is not supported for kind {kind}; expected {}",
                    quoted(api_version),
                    builtin.api_versions.join(" or ")
                ),
            );
            return;
        }
        let Some(spec) = spec else {
            if builtin.spec_required {
                self.error("spec", format!("spec is required for kind {kind}"));
            }
            return;
        };
        for (key, rule) in builtin.fields {
            self.spec_field(spec, key, *rule);
        }
    }

    fn spec_field(&mut self, spec: &Map<String, Value>, key: &str, rule: Rule) {
        let field = Join("spec", key);
        let value = spec.get(key);
        match rule {
            Rule::String { required } => self.string_field(spec, "spec", key, required),
            Rule::StringList { required } => match value {
                None if required => self.error(
                    field,
                    format!("{field} is required (it may be an empty list)"),
                ),
                None => {}
                Some(value) => self.string_list(field, value),
            },
            Rule::Map { required } => match value {
                None if required => self.error(field, format!("{field} is required")),
                None => {}
                Some(value) if value.is_object() => {}
                Some(other) => self.error(
                    field,
                    format!("{field} must be a map, found {}", describe(other)),
                ),
            },
            Rule::Profile => {
                self.spec_field(spec, key, Rule::Map { required: false });
                if let Some(Value::Object(profile)) = value {
                    for name in PROFILE_STRING_FIELDS {
                        self.string_field(profile, field, name, false);
                    }
                }
            }
            Rule::ApiDefinition => {
                let has_remotes = spec.contains_key("remotes");
                self.string_field(spec, "spec", key, !has_remotes);
            }
            Rule::ApiRemotes => {
                let remote_type = spec.get("type").and_then(Value::as_str);
                if value.is_none() && matches!(remote_type, Some("mcp-server" | "ai-model-server"))
                {
                    // The type-specific schemas require remotes; the generic one then fails on a
                    // missing definition, which is already reported.
                    return;
                }
                let Some(value) = value else { return };
                let Some(remotes) = value.as_array() else {
                    self.error(
                        field,
                        format!("{field} must be a list, found {}", describe(value)),
                    );
                    return;
                };
                if remotes.is_empty() {
                    self.error(field, format!("{field} must list at least one remote"));
                }
                for (index, remote) in remotes.iter().enumerate() {
                    let item = Index(field, index);
                    match remote.as_object() {
                        Some(remote) => {
                            self.string_field(remote, item, "type", true);
                            self.string_field(remote, item, "url", true);
                        }
                        None => self.error(
                            item,
                            format!(
                                "{item} must be a map with type and url, found {}",
                                describe(remote)
                            ),
                        ),
                    }
                }
            }
            Rule::TemplateParameters => match value {
                None => {}
                Some(Value::Object(_)) => {}
                Some(Value::Array(forms)) => {
                    for (index, form) in forms.iter().enumerate() {
                        if !form.is_object() {
                            let item = Index(field, index);
                            self.error(
                                item,
                                format!(
                                    "{item} must be a map (a JSON schema), found {}",
                                    describe(form)
                                ),
                            );
                        }
                    }
                }
                Some(other) => self.error(
                    field,
                    format!(
                        "{field} must be a map or a list of maps, found {}",
                        describe(other)
                    ),
                ),
            },
            Rule::TemplateSteps => {
                let Some(value) = value else {
                    self.error(field, format!("{field} is required"));
                    return;
                };
                let Some(steps) = value.as_array() else {
                    self.error(
                        field,
                        format!("{field} must be a list, found {}", describe(value)),
                    );
                    return;
                };
                for (index, step) in steps.iter().enumerate() {
                    let item = Index(field, index);
                    let Some(step) = step.as_object() else {
                        self.error(
                            item,
                            format!(
                                "{item} must be a map with an action, found {}",
                                describe(step)
                            ),
                        );
                        continue;
                    };
                    match step.get("action") {
                        None => self.error(
                            format!("{item}.action"),
                            format!("{item}.action is required"),
                        ),
                        Some(action) if is_string_like(action) => {}
                        Some(other) => self.error(
                            format!("{item}.action"),
                            format!("{item}.action must be a string, found {}", describe(other)),
                        ),
                    }
                    for name in ["id", "name"] {
                        if let Some(v) = step.get(name)
                            && !is_string_like(v)
                        {
                            let path = format!("{item}.{name}");
                            self.error(
                                &path,
                                format!("{path} must be a string, found {}", describe(v)),
                            );
                        }
                    }
                    if let Some(input) = step.get("input")
                        && !input.is_object()
                        && !is_placeholder(input)
                    {
                        let path = format!("{item}.input");
                        self.error(
                            &path,
                            format!("{path} must be a map, found {}", describe(input)),
                        );
                    }
                    if let Some(condition) = step.get("if")
                        && !matches!(condition, Value::String(_) | Value::Bool(_))
                    {
                        let path = format!("{item}.if");
                        self.error(
                            &path,
                            format!(
                                "{path} must be a string or a boolean, found {}",
                                describe(condition)
                            ),
                        );
                    }
                }
            }
            Rule::TemplateOutput => {
                let Some(value) = value else { return };
                let Some(output) = value.as_object() else {
                    self.error(
                        field,
                        format!("{field} must be a map, found {}", describe(value)),
                    );
                    return;
                };
                if let Some(links) = output.get("links") {
                    let path = format!("{field}.links");
                    match links.as_array() {
                        Some(links) => {
                            for (index, link) in links.iter().enumerate() {
                                if !link.is_object() {
                                    let item = Index(&path, index);
                                    self.error(
                                        item,
                                        format!("{item} must be a map, found {}", describe(link)),
                                    );
                                }
                            }
                        }
                        None => self.error(
                            &path,
                            format!("{path} must be a list, found {}", describe(links)),
                        ),
                    }
                }
            }
        }
    }

    fn string_list(&mut self, field: impl fmt::Display + Copy, value: &Value) {
        let Some(items) = value.as_array() else {
            if !is_placeholder(value) {
                self.error(
                    field,
                    format!(
                        "{field} must be a list of strings, found {}",
                        describe(value)
                    ),
                );
            }
            return;
        };
        for (index, item) in items.iter().enumerate() {
            self.non_empty_string(Index(field, index), item);
        }
    }
}

const KEY_RULE: &str = "expected [prefix/]name, the prefix a lower-case DNS name such as example.com, the name 1 to 63 letters, digits and separators [-_.], starting and ending with a letter or digit";

/// Backstage's own apiVersions; a built-in kind name under any other is a custom kind.
fn is_backstage_api_version(api_version: &str) -> bool {
    api_version.starts_with("backstage.io/") || api_version.starts_with("scaffolder.backstage.io/")
}

/// A string, or a placeholder (`$text`, `$json`, `$yaml`) that the reader replaces with one.
fn is_string_like(value: &Value) -> bool {
    value.is_string() || is_placeholder(value)
}

/// Backstage's placeholder form: a map with one key starting with `$` (`{$text: ./file}`).
fn is_placeholder(value: &Value) -> bool {
    match value.as_object() {
        Some(map) if map.len() == 1 => map
            .keys()
            .all(|k| matches!(k.as_str(), "$text" | "$json" | "$yaml")),
        _ => false,
    }
}

/// What a value is, in words a YAML author recognises.
fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing (null)".to_string(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string {}", quoted(s)),
        Value::Array(_) => "a list".to_string(),
        Value::Object(_) => "a map".to_string(),
    }
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn component() -> Value {
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "web"},
            "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}
        })
    }

    /// `field: message` lines, to compare whole results at a glance.
    fn report(value: &Value) -> Vec<String> {
        validate_entity(value)
            .into_iter()
            .map(|d| format!("{}: {}", d.field.unwrap_or_default(), d.message))
            .collect()
    }

    fn with(mut base: Value, pointer: &str, value: Value) -> Value {
        let (parent, key) = pointer.rsplit_once('/').expect("pointer has a parent");
        base.pointer_mut(parent)
            .and_then(Value::as_object_mut)
            .expect("parent is a map")
            .insert(key.to_string(), value);
        base
    }

    #[test]
    fn entity_names() {
        let good = [
            "a",
            "web",
            "Web-1",
            "my_service.v2",
            "a--b",
            "a_.b",
            "X9",
            &"a".repeat(63),
        ];
        let bad = [
            "",
            "-a",
            "a-",
            ".a",
            "a_",
            "invalid component",
            "ä",
            "a/b",
            "a:b",
            &"a".repeat(64),
        ];
        for name in good {
            assert!(is_valid_entity_name(name), "{name:?} should be valid");
        }
        for name in bad {
            assert!(!is_valid_entity_name(name), "{name:?} should be invalid");
        }
    }

    #[test]
    fn namespaces() {
        for ns in ["default", "a", "team-a", "a1-b2-c3", &"n".repeat(63)] {
            assert!(is_valid_namespace(ns), "{ns:?} should be valid");
        }
        for ns in [
            "",
            "Default",
            "a--b",
            "-a",
            "a-",
            "a_b",
            "a.b",
            &"n".repeat(64),
        ] {
            assert!(!is_valid_namespace(ns), "{ns:?} should be invalid");
        }
    }

    #[test]
    fn tags() {
        for tag in [
            "go",
            "java",
            "c++",
            "c#",
            "k8s:prod",
            "a-b-c",
            "1",
            &"t".repeat(63),
        ] {
            assert!(is_valid_tag(tag), "{tag:?} should be valid");
        }
        for tag in [
            "",
            "Go",
            "go 1.15.3",
            "go1.15",
            "a--b",
            "-a",
            "a-",
            "a_b",
            &"t".repeat(64),
        ] {
            assert!(!is_valid_tag(tag), "{tag:?} should be invalid");
        }
    }

    #[test]
    fn label_keys_and_values() {
        for key in [
            "goVersion",
            "example.com/custom",
            "backstage.io/kubernetes-id",
            "a.b-c/X_y",
        ] {
            assert!(is_valid_label_key(key), "{key:?} should be valid");
        }
        for key in [
            "",
            "/x",
            "x/",
            "Example.com/x",
            "a/b/c",
            "exa_mple.com/x",
            "-x",
            &format!("{}/x", "a".repeat(254)),
        ] {
            assert!(!is_valid_label_key(key), "{key:?} should be invalid");
        }
        for value in ["", "go1.15.3", "music", "Value_1"] {
            assert!(is_valid_label_value(value), "{value:?} should be valid");
        }
        for value in ["go 1", "-x", "a/b", &"v".repeat(64)] {
            assert!(!is_valid_label_value(value), "{value:?} should be invalid");
        }
    }

    #[test]
    fn api_versions_and_kinds() {
        for v in [
            "backstage.io/v1alpha1",
            "v1",
            "scaffolder.backstage.io/v1beta3",
            "example.com/V2",
        ] {
            assert!(is_valid_api_version(v), "{v:?} should be valid");
        }
        for v in [
            "",
            "backstage.io/",
            "/v1",
            "Backstage.io/v1",
            "a/b/c",
            "example.com/v1-beta",
        ] {
            assert!(!is_valid_api_version(v), "{v:?} should be invalid");
        }
        for k in ["Component", "API", "blueprint", "X1"] {
            assert!(is_valid_kind(k), "{k:?} should be valid");
        }
        for k in ["", "1X", "My-Kind", "my kind"] {
            assert!(!is_valid_kind(k), "{k:?} should be invalid");
        }
    }

    #[test]
    fn a_valid_component_has_no_diagnostics() {
        assert_eq!(report(&component()), Vec::<String>::new());
    }

    #[test]
    fn envelope_problems_are_all_reported() {
        assert_eq!(
            report(&json!("x")),
            [
                ": an entity must be a map with apiVersion, kind and metadata, found the string \"x\""
            ]
        );
        let value = json!({"kind": "", "metadata": {"name": 3, "namespace": "Prod"}, "extra": 1});
        assert_eq!(
            report(&value),
            [
                "extra: unknown top-level field \"extra\"; only apiVersion, kind, metadata, spec, relations and status are allowed",
                "apiVersion: apiVersion is required",
                "kind: kind must not be empty",
                "metadata.name: metadata.name must be a string, found the number 3",
                "metadata.namespace: metadata.namespace \"Prod\" is not valid; expected 1 to 63 lower-case letters and digits, with single dashes between them",
            ]
        );
        assert_eq!(
            report(&json!({"apiVersion": "v1", "kind": "Thing"})),
            ["metadata: metadata is required"]
        );
    }

    #[test]
    fn metadata_fields() {
        let value = with(
            component(),
            "/metadata/labels",
            json!({"goVersion": "go1.15.3", "bad key": "x", "ok": "not ok", "n": 1}),
        );
        let value = with(
            value,
            "/metadata/annotations",
            json!({"example.com/a": "anything at all", "example.com/b": true}),
        );
        let value = with(value, "/metadata/tags", json!(["go", "go 1.15.3", 7]));
        let value = with(
            value,
            "/metadata/links",
            json!([{"url": "https://x", "title": "X", "icon": "dashboard", "type": "docs"}, {"title": "no url"}, "https://y", {"url": ""}]),
        );
        let value = with(value, "/metadata/generation", json!(0));
        let value = with(value, "/metadata/uid", json!(""));
        let value = with(value, "/metadata/title", json!(["t"]));
        assert_eq!(
            report(&value),
            [
                "metadata.title: metadata.title must be a string, found a list",
                "metadata.uid: metadata.uid must be a non-empty string, found the string \"\"",
                "metadata.generation: metadata.generation must be a positive integer, found the number 0",
                "metadata.labels.bad key: label key \"bad key\" is not valid; expected [prefix/]name, the prefix a lower-case DNS name such as example.com, the name 1 to 63 letters, digits and separators [-_.], starting and ending with a letter or digit",
                "metadata.labels.ok: label value \"not ok\" is not valid; expected an empty string, or 1 to 63 letters, digits and separators [-_.], starting and ending with a letter or digit",
                "metadata.labels.n: label values must be strings, found the number 1",
                "metadata.annotations.example.com/b: annotation values must be strings (quote numbers and booleans), found the boolean true",
                "metadata.tags[1]: tag \"go 1.15.3\" is not valid; expected 1 to 63 lower-case letters, digits and [:+#], with single dashes between them",
                "metadata.tags[2]: tags must be strings, found the number 7",
                "metadata.links[1].url: metadata.links[1].url is required",
                "metadata.links[2]: a link must be a map with a url, found the string \"https://y\"",
                "metadata.links[3].url: metadata.links[3].url must not be empty",
            ]
        );
    }

    #[test]
    fn invalid_name_message_names_the_rule() {
        let value = with(component(), "/metadata/name", json!("invalid component"));
        assert_eq!(
            report(&value),
            [
                "metadata.name: metadata.name \"invalid component\" is not valid; expected 1 to 63 letters, digits and separators [-_.], starting and ending with a letter or digit"
            ]
        );
    }

    /// (kind, apiVersion, spec, expected diagnostics)
    fn kind_cases() -> Vec<(&'static str, &'static str, Value, Vec<&'static str>)> {
        vec![
            (
                "Component",
                "backstage.io/v1beta1",
                json!({"type": "service", "lifecycle": "production", "owner": "team-a", "providesApis": ["a"], "dependencyOf": ["resource:db"], "subcomponentOf": "x"}),
                vec![],
            ),
            (
                "Component",
                "backstage.io/v1alpha1",
                json!({"lifecycle": "", "owner": 5, "providesApis": "api-a", "consumesApis": ["ok", ""], "dependsOn": [3]}),
                vec![
                    "spec.type: spec.type is required",
                    "spec.lifecycle: spec.lifecycle must not be empty",
                    "spec.owner: spec.owner must be a string, found the number 5",
                    "spec.providesApis: spec.providesApis must be a list of strings, found the string \"api-a\"",
                    "spec.consumesApis[1]: spec.consumesApis[1] must not be empty",
                    "spec.dependsOn[0]: spec.dependsOn[0] must be a string, found the number 3",
                ],
            ),
            (
                "API",
                "backstage.io/v1alpha1",
                json!({"type": "openapi", "lifecycle": "production", "owner": "a", "definition": {"$text": "./openapi.yaml"}}),
                vec![],
            ),
            (
                "API",
                "backstage.io/v1alpha1",
                json!({"type": "openapi", "lifecycle": "production", "owner": "a"}),
                vec!["spec.definition: spec.definition is required"],
            ),
            (
                "API",
                "backstage.io/v1alpha1",
                json!({"type": "mcp-server", "lifecycle": "experimental", "owner": "a", "remotes": [{"type": "streamable-http", "url": "http://x"}]}),
                vec![],
            ),
            (
                "API",
                "backstage.io/v1alpha1",
                json!({"type": "mcp-server", "lifecycle": "experimental", "owner": "a", "remotes": [{"type": "sse"}, "x"]}),
                vec![
                    "spec.remotes[0].url: spec.remotes[0].url is required",
                    "spec.remotes[1]: spec.remotes[1] must be a map with type and url, found the string \"x\"",
                ],
            ),
            (
                "API",
                "backstage.io/v1alpha1",
                json!({"type": "mcp-server", "lifecycle": "experimental", "owner": "a", "remotes": []}),
                vec!["spec.remotes: spec.remotes must list at least one remote"],
            ),
            (
                "Resource",
                "backstage.io/v1alpha1",
                json!({"type": "database", "owner": "a", "dependencyOf": ["component:web"], "dependsOn": []}),
                vec![],
            ),
            (
                "Resource",
                "backstage.io/v1alpha1",
                json!({"type": "database"}),
                vec!["spec.owner: spec.owner is required"],
            ),
            (
                "System",
                "backstage.io/v1alpha1",
                json!({"owner": "a", "domain": "d"}),
                vec![],
            ),
            (
                "System",
                "backstage.io/v1alpha1",
                json!({"domain": ""}),
                vec![
                    "spec.owner: spec.owner is required",
                    "spec.domain: spec.domain must not be empty",
                ],
            ),
            (
                "Domain",
                "backstage.io/v1alpha1",
                json!({"owner": "a", "subdomainOf": "parent"}),
                vec![],
            ),
            (
                "Domain",
                "backstage.io/v1alpha1",
                json!({"owner": "a", "subdomainOf": ["p"]}),
                vec!["spec.subdomainOf: spec.subdomainOf must be a string, found a list"],
            ),
            (
                "Group",
                "backstage.io/v1alpha1",
                json!({"type": "team", "children": [], "profile": {"email": "a@b"}, "parent": "org", "members": ["u"]}),
                vec![],
            ),
            (
                "Group",
                "backstage.io/v1alpha1",
                json!({"profile": {"displayName": 1}}),
                vec![
                    "spec.type: spec.type is required",
                    "spec.profile.displayName: spec.profile.displayName must be a string, found the number 1",
                    "spec.children: spec.children is required (it may be an empty list)",
                ],
            ),
            (
                "User",
                "backstage.io/v1alpha1",
                json!({"memberOf": ["team-a"], "profile": {"displayName": "A"}}),
                vec![],
            ),
            (
                "User",
                "backstage.io/v1alpha1",
                json!({"memberOf": "team-a"}),
                vec![
                    "spec.memberOf: spec.memberOf must be a list of strings, found the string \"team-a\"",
                ],
            ),
            (
                "Location",
                "backstage.io/v1alpha1",
                json!({"targets": ["./a.yaml"], "type": "url"}),
                vec![],
            ),
            (
                "Location",
                "backstage.io/v1alpha1",
                json!({"target": 1}),
                vec!["spec.target: spec.target must be a string, found the number 1"],
            ),
            (
                "Environment",
                "backstage.io/v1alpha1",
                json!({"lifecycle": "production"}),
                vec![],
            ),
            (
                "Environment",
                "backstage.io/v1alpha1",
                json!({}),
                vec!["spec.lifecycle: spec.lifecycle is required"],
            ),
            (
                "Environment",
                "backstage.io/v1beta1",
                json!({"lifecycle": "x"}),
                vec![
                    "apiVersion: apiVersion \"backstage.io/v1beta1\" is not supported for kind Environment; expected backstage.io/v1alpha1",
                ],
            ),
            (
                "Template",
                "scaffolder.backstage.io/v1beta3",
                json!({"type": "service", "owner": "a", "parameters": [{"properties": {}}], "steps": [{"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton"}, "if": true}], "output": {"links": [{"url": "x"}]}}),
                vec![],
            ),
            (
                "Template",
                "scaffolder.backstage.io/v1beta3",
                json!({"parameters": "x", "steps": [{"name": "no action"}, 1], "output": []}),
                vec![
                    "spec.type: spec.type is required",
                    "spec.parameters: spec.parameters must be a map or a list of maps, found the string \"x\"",
                    "spec.steps[0].action: spec.steps[0].action is required",
                    "spec.steps[1]: spec.steps[1] must be a map with an action, found the number 1",
                    "spec.output: spec.output must be a map, found a list",
                ],
            ),
            (
                "Template",
                "scaffolder.backstage.io/v1beta3",
                json!({"type": "service"}),
                vec!["spec.steps: spec.steps is required"],
            ),
            (
                "Template",
                "backstage.io/v1beta2",
                json!({}),
                vec![
                    "apiVersion: apiVersion \"backstage.io/v1beta2\" is not supported for kind Template; expected scaffolder.backstage.io/v1beta3",
                ],
            ),
            (
                "Component",
                "backstage.io/v2",
                json!({}),
                vec![
                    "apiVersion: apiVersion \"backstage.io/v2\" is not supported for kind Component; expected backstage.io/v1alpha1 or backstage.io/v1beta1",
                ],
            ),
            (
                "component",
                "backstage.io/v1alpha1",
                json!({}),
                vec![
                    "kind: kind \"component\" is not known under backstage.io/v1alpha1; kinds are case-sensitive, did you mean \"Component\"?",
                ],
            ),
            // Custom kinds, and built-in names under another apiVersion, get envelope rules only.
            (
                "Blueprint",
                "backstage.io/v1alpha1",
                json!({"anything": [1, 2]}),
                vec![],
            ),
            (
                "Component",
                "example.com/v1",
                json!({"anything": true}),
                vec![],
            ),
        ]
    }

    #[test]
    fn kind_rules() {
        for (kind, api_version, spec, expected) in kind_cases() {
            let value = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}, "spec": spec});
            assert_eq!(report(&value), expected, "{kind} {api_version} {spec}");
        }
    }

    #[test]
    fn spec_presence() {
        let value = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "x"}});
        assert_eq!(
            report(&value),
            ["spec: spec is required for kind Component"]
        );
        let value = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Environment", "metadata": {"name": "x"}});
        assert_eq!(report(&value), Vec::<String>::new());
        let value = with(component(), "/spec", json!("x"));
        assert_eq!(
            report(&value),
            ["spec: spec must be a map, found the string \"x\""]
        );
    }

    #[test]
    fn keys_differing_only_in_case_are_rejected() {
        let value = with(component(), "/spec/Owner", json!("team-b"));
        assert_eq!(
            report(&value),
            [
                "spec.Owner: the entity has keys that differ only in letter case: \"spec.Owner\", \"spec.owner\""
            ]
        );
    }

    /// Every Backstage example document validates, except the one that is invalid on purpose.
    #[test]
    fn backstage_examples() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/compat/backstage-examples");
        assert!(root.is_dir(), "{} is missing", root.display());
        let mut files = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("examples are readable") {
                let path = entry.expect("dir entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml") {
                    files.push(path);
                }
            }
        }
        files.sort();
        assert!(
            files.len() >= 69,
            "found only {} example files",
            files.len()
        );
        let mut documents = 0;
        for path in &files {
            let text = std::fs::read_to_string(path).expect("example is UTF-8");
            let relative = path
                .strip_prefix(&root)
                .expect("under root")
                .to_string_lossy()
                .to_string();
            for document in split_documents(&text) {
                let value: Value = serde_saphyr::from_str(document).expect("example is YAML");
                // The OpenAPI documents next to the API entities are not entities.
                if value.is_null() || value.get("openapi").is_some() {
                    continue;
                }
                documents += 1;
                let found = report(&value);
                if relative.ends_with("invalid-component.yaml") {
                    assert_eq!(
                        found,
                        [
                            "metadata.name: metadata.name \"invalid component\" is not valid; expected 1 to 63 letters, digits and separators [-_.], starting and ending with a letter or digit",
                            "metadata.tags[1]: tag \"go 1.15.3\" is not valid; expected 1 to 63 lower-case letters, digits and [:+#], with single dashes between them",
                        ]
                    );
                } else {
                    assert_eq!(found, Vec::<String>::new(), "{relative}");
                }
            }
        }
        assert_eq!(documents, 87);
    }

    /// Splits a multi-document YAML stream at `---` lines (enough for these examples).
    fn split_documents(text: &str) -> Vec<&str> {
        let mut documents = Vec::new();
        let mut start = 0;
        let mut offset = 0;
        for line in text.split_inclusive('\n') {
            if line.trim_end() == "---" {
                documents.push(&text[start..offset]);
                start = offset + line.len();
            }
            offset += line.len();
        }
        documents.push(&text[start..]);
        documents
            .into_iter()
            .filter(|d| {
                d.lines()
                    .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
            })
            .collect()
    }
}
