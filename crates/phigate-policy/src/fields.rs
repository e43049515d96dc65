//! Field sets: which JSON fields a rule allows, and projection onto them.

use std::collections::BTreeMap;

use serde_json::Value;

/// A set of allowed field paths, as a tree (`name.family` allows only `family` inside `name`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum FieldTree {
    /// Nothing below this point is allowed (an empty set).
    #[default]
    Nothing,
    /// Everything below this point is allowed (`*`, or a path that ends here).
    All,
    /// Only these children.
    Some(BTreeMap<String, FieldTree>),
}

impl FieldTree {
    /// Builds a tree from dotted paths; `*` alone means everything.
    pub fn from_paths<'a>(paths: impl IntoIterator<Item = &'a str>) -> Self {
        let mut tree = Self::Nothing;
        for p in paths {
            tree.insert(p);
        }
        tree
    }

    fn insert(&mut self, path: &str) {
        if matches!(self, Self::All) {
            return;
        }
        if path == "*" {
            *self = Self::All;
            return;
        }
        let (head, rest) = match path.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (path, None),
        };
        if matches!(self, Self::Nothing) {
            *self = Self::Some(BTreeMap::new());
        }
        if let Self::Some(children) = self {
            let child = children.entry(head.to_owned()).or_default();
            match rest {
                Some(r) => child.insert(r),
                None => *child = Self::All,
            }
        }
    }

    /// The union of two sets.
    pub fn union(&mut self, other: &FieldTree) {
        match (&mut *self, other) {
            (_, Self::Nothing) | (Self::All, _) => {}
            (_, Self::All) => *self = Self::All,
            (Self::Nothing, o) => *self = o.clone(),
            (Self::Some(mine), Self::Some(theirs)) => {
                for (k, v) in theirs {
                    mine.entry(k.clone()).or_default().union(v);
                }
            }
        }
    }

    /// Whether a top-level field (or a part of it) is allowed.
    pub fn allows_top(&self, field: &str) -> bool {
        match self {
            Self::Nothing => false,
            Self::All => true,
            Self::Some(children) => children.contains_key(field),
        }
    }

    /// Keeps only allowed fields. Arrays are projected element by element;
    /// a scalar where the tree expects an object is removed.
    pub fn project(&self, value: &Value) -> Option<Value> {
        match self {
            Self::Nothing => None,
            Self::All => Some(value.clone()),
            Self::Some(children) => match value {
                Value::Object(map) => Some(Value::Object(
                    map.iter()
                        .filter_map(|(k, v)| children.get(k).and_then(|t| t.project(v)).map(|v| (k.clone(), v)))
                        .collect(),
                )),
                Value::Array(items) => Some(Value::Array(items.iter().filter_map(|v| self.project(v)).collect())),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_paths_and_arrays() {
        let t = FieldTree::from_paths(["id", "name.family", "telecom"]);
        let v = json!({"id":"p1","name":[{"family":"Doe","given":["Jane"]}],"telecom":[{"value":"555"}],"ssn":"x"});
        assert_eq!(t.project(&v).unwrap(), json!({"id":"p1","name":[{"family":"Doe"}],"telecom":[{"value":"555"}]}));
    }

    #[test]
    fn union_and_star() {
        let mut a = FieldTree::from_paths(["name.family"]);
        a.union(&FieldTree::from_paths(["name", "id"]));
        assert_eq!(a, FieldTree::from_paths(["name", "id"]));
        a.union(&FieldTree::from_paths(["*"]));
        assert_eq!(a, FieldTree::All);
        assert_eq!(FieldTree::Nothing.project(&json!({"a":1})), None);
    }
}
