//! `GET /v1/models`.

use serde::{Deserialize, Serialize};

/// The model list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelList {
    /// Always `"list"`.
    pub object: String,
    /// The models, sorted by id.
    pub data: Vec<Model>,
}

impl ModelList {
    /// A list of `models` (sorted by id, duplicates removed).
    pub fn new(mut models: Vec<Model>) -> Self {
        models.sort_by(|a, b| a.id.cmp(&b.id));
        models.dedup_by(|a, b| a.id == b.id);
        Self { object: "list".to_owned(), data: models }
    }
}

/// One model.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    /// The name clients put in `model`.
    pub id: String,
    /// Always `"model"`.
    pub object: String,
    /// Unix seconds (0 when unknown).
    pub created: i64,
    /// Who serves it (`"phigate"` for the gateway's own list).
    pub owned_by: String,
}

impl Model {
    /// A model served through the gateway.
    pub fn new(id: impl Into<String>) -> Self {
        Self { id: id.into(), object: "model".to_owned(), created: 0, owned_by: "phigate".to_owned() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_is_sorted_deduplicated_and_openai_shaped() {
        let l = ModelList::new(vec![Model::new("b"), Model::new("a"), Model::new("b")]);
        let v = serde_json::to_value(&l).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"object":"list","data":[
                {"id":"a","object":"model","created":0,"owned_by":"phigate"},
                {"id":"b","object":"model","created":0,"owned_by":"phigate"}]})
        );
    }
}
