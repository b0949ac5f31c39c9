//! Catalog rules: which kinds of entity a location may provide, in the shape of Backstage's
//! `catalog.rules` and per-location `rules`.
//!
//! An entity is accepted when a global rule allows its kind (and, if the rule lists
//! `locations`, the file it was read from matches one of them), or a rule of the registered
//! location it was read through allows its kind. Without global rules every kind is allowed:
//! paved's default, where Backstage's is `[Component, API, Location]` (set that in
//! `catalog.rules` for the same behaviour). The generated Location entity of a registered
//! location is always accepted.

use crate::location::LocationSpec;
use globset::{Glob, GlobMatcher};
use std::collections::HashMap;

/// One rule: kinds allowed, optionally only from some locations.
#[derive(Clone, Debug)]
pub struct CatalogRule {
    /// Lower-cased kinds.
    allow: Vec<String>,
    /// `None` = from anywhere.
    locations: Option<Vec<RuleLocation>>,
}

/// Where a rule applies: files or repositories of a type, one exactly or by glob pattern.
#[derive(Clone, Debug)]
pub struct RuleLocation {
    /// `file` or `url`; `None` = either.
    kind: Option<String>,
    exact: Option<String>,
    pattern: Option<GlobMatcher>,
}

impl CatalogRule {
    /// A rule allowing `kinds` (any case) from anywhere.
    pub fn allow(kinds: impl IntoIterator<Item = impl AsRef<str>>) -> Self {
        CatalogRule {
            allow: kinds
                .into_iter()
                .map(|k| k.as_ref().to_ascii_lowercase())
                .collect(),
            locations: None,
        }
    }

    /// Restricts the rule to entities read from `locations`.
    pub fn from_locations(mut self, locations: Vec<RuleLocation>) -> Self {
        self.locations = Some(locations);
        self
    }

    fn allows(&self, kind: &str, source_kind: &str, source_target: &str) -> bool {
        self.allow.iter().any(|k| k.eq_ignore_ascii_case(kind))
            && self.locations.as_ref().is_none_or(|locations| {
                locations
                    .iter()
                    .any(|l| l.matches(source_kind, source_target))
            })
    }
}

impl RuleLocation {
    /// `kind` is `file` or `url` (or `None`); `exact` a whole target, `pattern` a glob over
    /// targets (`*` does not cross `/`, `**` does). Fails on a bad pattern, with the reason.
    pub fn new(
        kind: Option<&str>,
        exact: Option<&str>,
        pattern: Option<&str>,
    ) -> Result<Self, String> {
        let pattern = pattern
            .map(|p| {
                Glob::new(p)
                    .map(|g| g.compile_matcher())
                    .map_err(|e| format!("bad pattern {p:?}: {e}"))
            })
            .transpose()?;
        Ok(RuleLocation {
            kind: kind.map(str::to_ascii_lowercase),
            exact: exact.map(str::to_string),
            pattern,
        })
    }

    fn matches(&self, source_kind: &str, source_target: &str) -> bool {
        self.kind.as_deref().is_none_or(|k| k == source_kind)
            && self.exact.as_deref().is_none_or(|e| e == source_target)
            && self
                .pattern
                .as_ref()
                .is_none_or(|p| p.is_match(source_target))
    }
}

/// Every rule the catalog enforces.
#[derive(Clone, Debug, Default)]
pub struct CatalogRules {
    /// `None` = no `catalog.rules` configured: every kind allowed.
    global: Option<Vec<CatalogRule>>,
    /// Rules of configured locations, by `(type, target)`.
    per_location: HashMap<(String, String), Vec<CatalogRule>>,
}

impl CatalogRules {
    /// Every kind from everywhere.
    pub fn allow_all() -> Self {
        CatalogRules::default()
    }

    /// Only what `rules` allow (plus what locations add with [`Self::with_location_rules`]).
    pub fn global(rules: Vec<CatalogRule>) -> Self {
        CatalogRules {
            global: Some(rules),
            per_location: HashMap::new(),
        }
    }

    /// Adds the rules of a registered location: they apply to everything read through it.
    pub fn with_location_rules(mut self, location: &LocationSpec, rules: Vec<CatalogRule>) -> Self {
        self.per_location
            .entry((location.kind.clone(), location.target.clone()))
            .or_default()
            .extend(rules);
        self
    }

    /// Whether an entity of `kind`, read from `source` (`file:/path` or `url:…`) through the
    /// registered location `root`, may enter the catalog.
    pub fn allows(&self, kind: &str, root: &LocationSpec, source: &str) -> bool {
        let Some(global) = &self.global else {
            return true;
        };
        let (source_kind, source_target) = source.split_once(':').unwrap_or(("", source));
        global
            .iter()
            .any(|r| r.allows(kind, source_kind, source_target))
            || self
                .per_location
                .get(&(root.kind.clone(), root.target.clone()))
                .is_some_and(|rules| {
                    rules
                        .iter()
                        .any(|r| r.allows(kind, source_kind, source_target))
                })
    }

    /// Whether anything is restricted at all (for logs and the portal's preview).
    pub fn restricts(&self) -> bool {
        self.global.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(target: &str) -> LocationSpec {
        LocationSpec::new("file", target)
    }

    #[test]
    fn without_global_rules_everything_is_allowed() {
        let rules = CatalogRules::allow_all();
        assert!(rules.allows("Group", &spec("/c/all.yaml"), "file:/c/all.yaml"));
    }

    #[test]
    fn global_rules_allow_kinds_case_insensitively_and_location_rules_add_to_them() {
        let users = spec("/org/users.yaml");
        let rules =
            CatalogRules::global(vec![CatalogRule::allow(["Component", "API", "Location"])])
                .with_location_rules(&users, vec![CatalogRule::allow(["User", "Group"])]);
        assert!(rules.allows("component", &spec("/a.yaml"), "file:/a.yaml"));
        assert!(!rules.allows("Group", &spec("/a.yaml"), "file:/a.yaml"));
        assert!(rules.allows("Group", &users, "file:/org/users.yaml"));
        assert!(
            rules.allows("Group", &users, "file:/org/nested/more-users.yaml"),
            "location rules cover everything read through that location"
        );
        assert!(!rules.allows("Template", &users, "file:/org/users.yaml"));
    }

    #[test]
    fn rules_with_locations_match_the_source_exactly_or_by_pattern() {
        let rules = CatalogRules::global(vec![
            CatalogRule::allow(["Component"]),
            CatalogRule::allow(["Group"]).from_locations(vec![
                RuleLocation::new(
                    Some("url"),
                    Some("https://git.example/org/people.git"),
                    None,
                )
                .unwrap(),
                RuleLocation::new(Some("file"), None, Some("/srv/teams/**/team.yaml")).unwrap(),
            ]),
        ]);
        let root = spec("/srv");
        assert!(rules.allows("Group", &root, "url:https://git.example/org/people.git"));
        assert!(!rules.allows("Group", &root, "url:https://git.example/org/other.git"));
        assert!(rules.allows("Group", &root, "file:/srv/teams/a/b/team.yaml"));
        assert!(!rules.allows("Group", &root, "file:/srv/teams/a/other.yaml"));
        assert!(
            !rules.allows("Group", &root, "url:/srv/teams/a/team.yaml"),
            "type must match"
        );
    }

    #[test]
    fn a_bad_pattern_is_reported() {
        let error = RuleLocation::new(None, None, Some("a[")).unwrap_err();
        assert!(error.contains("a["), "{error}");
    }
}
