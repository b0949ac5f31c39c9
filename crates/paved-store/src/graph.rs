//! The relations one apply writes, held in memory so that stitching a first ingestion reads
//! them from here instead of querying the relations table once per chunk (on SQLite those
//! lookups were the largest read of a 100k ingestion).
//!
//! Held while the write phase's parse batches are in memory, so it is laid out for size:
//! every distinct ref or type is stored once in one string, found through a table of
//! numbers; an edge is three numbers, kept in blocks of exactly the size each write added
//! (no slack from a growing vector). [`RelationGraph::seal`] turns the blocks into
//! `(type, target)` pairs grouped by source.

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use std::hash::BuildHasher;

/// Most edges held: past this the graph is given up (its memory freed) and stitching reads
/// the relations table, so a huge ingestion does not hold its relations twice.
const MAX_EDGES: usize = 4_000_000;

/// Distinct names, numbered in the order first seen, stored end to end in one string.
#[derive(Default)]
struct Names {
    text: String,
    /// Name `n` is `text[ends[n - 1]..ends[n]]` (from 0 for the first).
    ends: Vec<u32>,
    ids: HashTable<u32>,
    hasher: FixedState,
}

impl Names {
    fn get(&self, id: u32) -> &str {
        name_of(&self.text, &self.ends, id)
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn find(&self, name: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(name);
        self.ids
            .find(hash, |&id| name_of(&self.text, &self.ends, id) == name)
            .copied()
    }

    /// The number of `name`, given one if it is new; `None` once the numbers or the text's
    /// offsets would not fit in 32 bits.
    fn intern(&mut self, name: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(name);
        if let Some(&id) = self
            .ids
            .find(hash, |&id| name_of(&self.text, &self.ends, id) == name)
        {
            return Some(id);
        }
        let id = u32::try_from(self.ends.len()).ok()?;
        let end = u32::try_from(self.text.len() + name.len()).ok()?;
        self.text.push_str(name);
        self.ends.push(end);
        // The closure borrows the fields beside `ids`, which grows.
        self.ids.insert_unique(hash, id, |&id| {
            self.hasher.hash_one(name_of(&self.text, &self.ends, id))
        });
        Some(id)
    }

    fn shrink_to_fit(&mut self) {
        self.text.shrink_to_fit();
        self.ends.shrink_to_fit();
        self.ids
            .shrink_to_fit(|&id| self.hasher.hash_one(name_of(&self.text, &self.ends, id)));
    }
}

fn name_of<'a>(text: &'a str, ends: &[u32], id: u32) -> &'a str {
    let id = id as usize;
    let start = if id == 0 { 0 } else { ends[id - 1] as usize };
    &text[start..ends[id] as usize]
}

/// Relation rows `(source, type, target)` as written, before [`RelationGraph::seal`].
#[derive(Default)]
pub(crate) struct RelationGraph {
    names: Names,
    /// `(source, type, target)`, one block per [`RelationGraph::add`].
    blocks: Vec<Box<[[u32; 3]]>>,
    edges: usize,
}

impl RelationGraph {
    /// Records written relation rows. Returns `false` (and the caller drops the graph) once
    /// it holds more than [`MAX_EDGES`].
    pub(crate) fn add<'a>(
        &mut self,
        relations: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
    ) -> bool {
        let relations = relations.into_iter();
        let mut block = Vec::with_capacity(relations.size_hint().0);
        for (source, relation_type, target) in relations {
            let names = &mut self.names;
            let (Some(source), Some(relation_type), Some(target)) = (
                names.intern(source),
                names.intern(relation_type),
                names.intern(target),
            ) else {
                return false;
            };
            block.push([source, relation_type, target]);
        }
        self.edges += block.len();
        if !block.is_empty() {
            self.blocks.push(block.into_boxed_slice());
        }
        self.edges <= MAX_EDGES
    }

    /// Groups the edges by source (a counting sort that frees each block as it is placed),
    /// without duplicates, for [`SealedGraph::relations_of`].
    pub(crate) fn seal(self) -> SealedGraph {
        let RelationGraph {
            mut names,
            mut blocks,
            edges,
        } = self;
        let mut starts = vec![0u32; names.len() + 1];
        for edge in blocks.iter().flat_map(|b| b.iter()) {
            starts[edge[0] as usize + 1] += 1;
        }
        for n in 1..starts.len() {
            starts[n] += starts[n - 1];
        }
        let mut next = starts.clone();
        let mut pairs = vec![[0u32; 2]; edges];
        while let Some(block) = blocks.pop() {
            for &[source, relation_type, target] in block.iter() {
                let at = &mut next[source as usize];
                pairs[*at as usize] = [relation_type, target];
                *at += 1;
            }
        }
        drop(next);
        // Each source's pairs in (type, target) order, duplicates removed, moved down over
        // the gaps the removed ones leave.
        let mut kept = 0usize;
        for n in 0..names.len() {
            let (from, to) = (starts[n] as usize, starts[n + 1] as usize);
            pairs[from..to].sort_unstable();
            starts[n] = kept as u32;
            for i in from..to {
                if kept == starts[n] as usize || pairs[kept - 1] != pairs[i] {
                    pairs[kept] = pairs[i];
                    kept += 1;
                }
            }
        }
        starts[names.len()] = kept as u32;
        pairs.truncate(kept);
        pairs.shrink_to_fit();
        names.shrink_to_fit();
        SealedGraph {
            names,
            pairs,
            starts,
        }
    }
}

/// The relations of a [`RelationGraph`], by source.
pub(crate) struct SealedGraph {
    names: Names,
    /// `(type, target)`: those of the name numbered `n` are `pairs[starts[n]..starts[n + 1]]`.
    pairs: Vec<[u32; 2]>,
    starts: Vec<u32>,
}

impl SealedGraph {
    /// `(type, target)` of every relation whose source is `source`.
    pub(crate) fn relations_of(&self, source: &str) -> impl Iterator<Item = (&str, &str)> {
        let pairs: &[[u32; 2]] = match self.names.find(source) {
            Some(id) => {
                let id = id as usize;
                &self.pairs[self.starts[id] as usize..self.starts[id + 1] as usize]
            }
            None => &[],
        };
        pairs
            .iter()
            .map(|&[relation_type, target]| (self.names.get(relation_type), self.names.get(target)))
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
        assert!(graph.add([]));
        assert!(graph.add([("group:default/t", "hasMember", "user:default/u")]));
        let graph = graph.seal();
        let of_a: Vec<_> = graph.relations_of("component:default/a").collect();
        assert_eq!(
            of_a,
            vec![
                ("ownedBy", "group:default/t"),
                ("dependsOn", "component:default/b")
            ]
        );
        let of_t: Vec<_> = graph.relations_of("group:default/t").collect();
        assert_eq!(
            of_t,
            vec![
                ("ownerOf", "component:default/a"),
                ("hasMember", "user:default/u")
            ]
        );
        assert_eq!(graph.relations_of("component:default/b").count(), 0);
        assert_eq!(graph.relations_of("user:default/u").count(), 0);
        assert_eq!(graph.relations_of("component:default/none").count(), 0);
    }

    #[test]
    fn an_empty_graph_seals() {
        let graph = RelationGraph::default().seal();
        assert_eq!(graph.relations_of("component:default/a").count(), 0);
    }

    #[test]
    fn many_names_are_found_again() {
        let mut graph = RelationGraph::default();
        let refs: Vec<String> = (0..5000)
            .map(|i| format!("component:default/c{i}"))
            .collect();
        assert!(
            graph.add(
                refs.windows(2)
                    .map(|w| (w[0].as_str(), "dependsOn", w[1].as_str()))
            )
        );
        let graph = graph.seal();
        for w in refs.windows(2) {
            let found: Vec<_> = graph.relations_of(&w[0]).collect();
            assert_eq!(found, vec![("dependsOn", w[1].as_str())]);
        }
    }
}
