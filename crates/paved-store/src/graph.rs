//! The relations one apply writes, held in memory so that stitching a first ingestion reads
//! them from here instead of querying the relations table once per chunk (on SQLite those
//! lookups were the largest read of a 100k ingestion). Refs and types are interned: an edge
//! costs 12 bytes, a distinct ref one shared string.

use foldhash::HashMap;
use std::sync::Arc;

/// Most edges held: past this the graph is given up (its memory freed) and stitching reads
/// the relations table, so a huge ingestion does not hold its relations twice.
const MAX_EDGES: usize = 4_000_000;

/// Relation rows `(source, type, target)` as written, interned.
#[derive(Default)]
pub(crate) struct RelationGraph {
    ids: HashMap<Arc<str>, u32>,
    names: Vec<Arc<str>>,
    /// `(source, type, target)`, sorted by [`RelationGraph::seal`].
    edges: Vec<[u32; 3]>,
    /// Once sealed: the edges of the name numbered `n` are `edges[starts[n]..starts[n + 1]]`.
    starts: Vec<u32>,
    sealed: bool,
}

impl RelationGraph {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
        let name: Arc<str> = Arc::from(name);
        self.names.push(name.clone());
        self.ids.insert(name, id);
        id
    }

    /// Records written relation rows. Returns `false` (and the caller drops the graph) once
    /// it holds more than [`MAX_EDGES`].
    pub(crate) fn add<'a>(
        &mut self,
        relations: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> bool {
        for (source, relation_type, target) in relations {
            let edge = [
                self.intern(source),
                self.intern(relation_type),
                self.intern(target),
            ];
            self.edges.push(edge);
        }
        self.sealed = false;
        self.edges.len() <= MAX_EDGES && self.names.len() < u32::MAX as usize
    }

    /// Sorts the edges by source, for [`RelationGraph::relations_of`].
    pub(crate) fn seal(&mut self) {
        self.edges.sort_unstable();
        self.edges.dedup();
        self.edges.shrink_to_fit();
        self.starts = vec![0; self.names.len() + 1];
        for edge in &self.edges {
            self.starts[edge[0] as usize + 1] += 1;
        }
        for n in 1..self.starts.len() {
            self.starts[n] += self.starts[n - 1];
        }
        self.sealed = true;
    }

    /// `(type, target)` of every relation whose source is `source`. Empty before
    /// [`RelationGraph::seal`].
    pub(crate) fn relations_of(&self, source: &str) -> impl Iterator<Item = (&str, &str)> {
        let edges: &[[u32; 3]] = match self.ids.get(source) {
            Some(&id) if self.sealed => {
                let id = id as usize;
                &self.edges[self.starts[id] as usize..self.starts[id + 1] as usize]
            }
            _ => &[],
        };
        edges
            .iter()
            .map(|e| (&*self.names[e[1] as usize], &*self.names[e[2] as usize]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relations_are_found_by_source_without_duplicates() {
        let mut graph = RelationGraph::default();
        assert!(graph.add([
            ("component:default/a", "ownedBy", "group:default/t"),
            ("group:default/t", "ownerOf", "component:default/a"),
            ("component:default/a", "dependsOn", "component:default/b"),
        ]));
        assert!(graph.add([("component:default/a", "ownedBy", "group:default/t")]));
        assert_eq!(graph.relations_of("component:default/a").count(), 0);
        graph.seal();
        let of_a: Vec<_> = graph.relations_of("component:default/a").collect();
        assert_eq!(
            of_a,
            vec![
                ("ownedBy", "group:default/t"),
                ("dependsOn", "component:default/b")
            ]
        );
        let of_t: Vec<_> = graph.relations_of("group:default/t").collect();
        assert_eq!(of_t, vec![("ownerOf", "component:default/a")]);
        assert_eq!(graph.relations_of("component:default/b").count(), 0);
        assert_eq!(graph.relations_of("component:default/none").count(), 0);
    }
}
