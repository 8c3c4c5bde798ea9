//! Reads only the JSON nodes that a set of selectors names, in one pass over
//! the event, for the JSON patterns of
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html>.
//!
//! Building a full `serde_json::Value` for every event allocates every key
//! and string of a 1-3 KB CloudTrail record, while the CIS filters look at
//! seven of them. Instead, the selectors of all filters are merged into a
//! trie, and a serde visitor walks the event once: it descends only into keys
//! and indexes of the trie, skips everything else without allocating, and
//! borrows strings from the event when they contain no escapes. The whole
//! event is still checked to be valid JSON; an event that is not a JSON object
//! yields `None`, and JSON patterns then do not match.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::ast::{PathStep, Selector};

/// The value a selector designates in one event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node<'a> {
    /// The path is absent.
    Missing,
    /// JSON `null`.
    Null,
    /// JSON `true` / `false`.
    Bool(bool),
    /// A JSON number.
    Num(f64),
    /// A JSON string.
    Str(Cow<'a, str>),
    /// An object or an array: never matches a comparison.
    Compound,
}

impl Node<'_> {
    /// The node as an extracted value (`TestMetricFilter`'s `extractedValues`);
    /// `None` for absent paths, objects and arrays.
    pub(crate) fn to_text(&self) -> Option<String> {
        match self {
            Node::Missing | Node::Compound => None,
            Node::Null => Some("null".to_owned()),
            Node::Bool(b) => Some(b.to_string()),
            Node::Num(n) => Some(n.to_string()),
            Node::Str(s) => Some(s.to_string()),
        }
    }
}

/// The merged selectors of one or more patterns.
#[derive(Debug, Default, Clone)]
pub(crate) struct PathTrie {
    root: TrieNode,
    n_slots: usize,
}

#[derive(Debug, Default, Clone)]
struct TrieNode {
    /// The slot filled with this node's value, if a selector ends here.
    slot: Option<usize>,
    keys: Vec<(Box<str>, TrieNode)>,
    indexes: Vec<(usize, TrieNode)>,
    /// Slots of this node and all nodes below it.
    subtree_slots: Vec<usize>,
}

impl PathTrie {
    /// Builds the trie; selector `i` fills slot `i`.
    pub(crate) fn build(selectors: &[Selector]) -> Self {
        let mut root = TrieNode::default();
        for (slot, selector) in selectors.iter().enumerate() {
            let mut node = &mut root;
            for step in &selector.0 {
                node = match step {
                    PathStep::Key(key) => {
                        let pos = match node.keys.iter().position(|(k, _)| **k == **key) {
                            Some(pos) => pos,
                            None => {
                                node.keys.push((key.as_str().into(), TrieNode::default()));
                                node.keys.len() - 1
                            }
                        };
                        &mut node.keys[pos].1
                    }
                    PathStep::Index(index) => {
                        let pos = match node.indexes.iter().position(|(i, _)| i == index) {
                            Some(pos) => pos,
                            None => {
                                node.indexes.push((*index, TrieNode::default()));
                                node.indexes.len() - 1
                            }
                        };
                        &mut node.indexes[pos].1
                    }
                };
            }
            node.slot = Some(slot);
        }
        root.fill_subtree_slots();
        PathTrie { root, n_slots: selectors.len() }
    }

    /// Reads the selected nodes of `message`, or `None` if it is not a JSON
    /// object.
    pub(crate) fn extract<'a>(&self, message: &'a str) -> Option<Vec<Node<'a>>> {
        // Cheap rejection of the common non-JSON event.
        if !message.trim_start().starts_with('{') {
            return None;
        }
        let mut out = vec![Node::Missing; self.n_slots];
        let mut de = serde_json::Deserializer::from_str(message);
        de.deserialize_map(NodeVisitor { node: &self.root, out: &mut out }).ok()?;
        de.end().ok()?;
        Some(out)
    }
}

impl TrieNode {
    fn fill_subtree_slots(&mut self) {
        let mut res: Vec<usize> = self.slot.into_iter().collect();
        for (_, child) in &mut self.keys {
            child.fill_subtree_slots();
            res.extend_from_slice(&child.subtree_slots);
        }
        for (_, child) in &mut self.indexes {
            child.fill_subtree_slots();
            res.extend_from_slice(&child.subtree_slots);
        }
        self.subtree_slots = res;
    }

    fn key(&self, key: &str) -> Option<&TrieNode> {
        self.keys.iter().find(|(k, _)| **k == *key).map(|(_, c)| c)
    }

    fn index(&self, index: usize) -> Option<&TrieNode> {
        self.indexes.iter().find(|(i, _)| *i == index).map(|(_, c)| c)
    }
}

/// Visits one JSON value at a trie node.
struct NodeVisitor<'t, 'o, 'de> {
    node: &'t TrieNode,
    out: &'o mut Vec<Node<'de>>,
}

impl<'de> NodeVisitor<'_, '_, 'de> {
    fn set(&mut self, value: Node<'de>) {
        if let Some(slot) = self.node.slot {
            self.out[slot] = value;
        }
    }
}

impl<'de> DeserializeSeed<'de> for NodeVisitor<'_, '_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeVisitor<'_, '_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(mut self, v: bool) -> Result<(), E> {
        self.set(Node::Bool(v));
        Ok(())
    }

    fn visit_i64<E>(mut self, v: i64) -> Result<(), E> {
        self.set(Node::Num(v as f64));
        Ok(())
    }

    fn visit_u64<E>(mut self, v: u64) -> Result<(), E> {
        self.set(Node::Num(v as f64));
        Ok(())
    }

    fn visit_f64<E>(mut self, v: f64) -> Result<(), E> {
        self.set(Node::Num(v));
        Ok(())
    }

    fn visit_borrowed_str<E>(mut self, v: &'de str) -> Result<(), E> {
        self.set(Node::Str(Cow::Borrowed(v)));
        Ok(())
    }

    fn visit_str<E>(mut self, v: &str) -> Result<(), E> {
        self.set(Node::Str(Cow::Owned(v.to_owned())));
        Ok(())
    }

    fn visit_string<E>(mut self, v: String) -> Result<(), E> {
        self.set(Node::Str(Cow::Owned(v)));
        Ok(())
    }

    fn visit_unit<E>(mut self) -> Result<(), E> {
        self.set(Node::Null);
        Ok(())
    }

    fn visit_none<E>(mut self) -> Result<(), E> {
        self.set(Node::Null);
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        self.set(Node::Compound);
        while let Some(child) = map.next_key_seed(KeySeed { node: self.node })? {
            match child {
                Some(child) => {
                    // A repeated key replaces what an earlier one set, as in
                    // `serde_json::Value`.
                    for &slot in &child.subtree_slots {
                        self.out[slot] = Node::Missing;
                    }
                    map.next_value_seed(NodeVisitor { node: child, out: self.out })?;
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.set(Node::Compound);
        let mut index = 0;
        loop {
            let more = match self.node.index(index) {
                Some(child) => {
                    seq.next_element_seed(NodeVisitor { node: child, out: self.out })?.is_some()
                }
                None => seq.next_element::<IgnoredAny>()?.is_some(),
            };
            if !more {
                return Ok(());
            }
            index += 1;
        }
    }
}

/// Looks an object key up among a trie node's children without allocating.
struct KeySeed<'t> {
    node: &'t TrieNode,
}

impl<'de, 't> DeserializeSeed<'de> for KeySeed<'t> {
    type Value = Option<&'t TrieNode>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de, 't> Visitor<'de> for KeySeed<'t> {
    type Value = Option<&'t TrieNode>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.node.key(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(steps: &[PathStep]) -> Selector {
        Selector(steps.to_vec())
    }

    #[test]
    fn extracts_selected_nodes() {
        let key = |k: &str| PathStep::Key(k.to_owned());
        let trie = PathTrie::build(&[
            sel(&[key("a"), key("b")]),
            sel(&[key("list"), PathStep::Index(1)]),
            sel(&[key("esc")]),
            sel(&[key("obj")]),
            sel(&[key("none")]),
            sel(&[key("n")]),
        ]);
        let msg = r#"{"a":{"b":"x"},"list":[1,{"z":1},3],"esc":"q\"q","obj":{},"n":null}"#;
        let got = trie.extract(msg).unwrap();
        assert_eq!(got[0], Node::Str("x".into()));
        assert_eq!(got[1], Node::Compound);
        assert_eq!(got[2], Node::Str("q\"q".into()));
        assert_eq!(got[3], Node::Compound);
        assert_eq!(got[4], Node::Missing);
        assert_eq!(got[5], Node::Null);
        assert!(trie.extract("[1]").is_none());
        assert!(trie.extract("{\"a\":1} x").is_none());
        assert!(trie.extract("not json").is_none());
    }

    #[test]
    fn repeated_key_replaces_earlier_value() {
        let key = |k: &str| PathStep::Key(k.to_owned());
        let trie = PathTrie::build(&[sel(&[key("a"), key("b")])]);
        let got = trie.extract(r#"{"a":{"b":1},"a":5}"#).unwrap();
        assert_eq!(got[0], Node::Missing);
    }
}
