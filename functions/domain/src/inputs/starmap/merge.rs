//! starmap-client's `dict_merge`: how entity, mapping and destination `meta` combine.

use serde_json::{Map, Value};

use crate::inputs::fields::truthy;

/// Merges `lower` over `upper` exactly as starmap-client's `dict_merge(upper, lower)`:
/// nested mappings merge recursively, a lower-level value replaces an upper one (even when
/// falsy), except that a falsy lower value (`null`, `{}`) never replaces an upper mapping.
/// Key order is Python's `a | b`: upper keys first, then keys new in `lower`.
pub fn dict_merge(upper: &Map<String, Value>, lower: &Map<String, Value>) -> Map<String, Value> {
    let mut lower = lower.clone();
    for (key, value) in upper {
        let Value::Object(upper_map) = value else {
            continue;
        };
        let below = lower.get(key);
        let merged = match below {
            Some(Value::Object(lower_map)) if truthy(below) => dict_merge(upper_map, lower_map),
            _ if !truthy(below) => dict_merge(upper_map, &Map::new()),
            _ => continue,
        };
        lower.insert(key.clone(), Value::Object(merged));
    }
    let mut out = upper.clone();
    for (key, value) in lower {
        out.insert(key, value);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn lower_level_wins_and_nested_mappings_combine() {
        let upper =
            obj(json!({"public_image": true, "release": {"product": "RHEL", "type": "ga"}}));
        let lower =
            obj(json!({"public_image": false, "release": {"type": "beta", "variant": "BaseOS"}}));
        assert_eq!(
            Value::Object(dict_merge(&upper, &lower)),
            json!({"public_image": false, "release": {"product": "RHEL", "type": "beta", "variant": "BaseOS"}})
        );
    }

    #[test]
    fn falsy_lower_value_never_replaces_an_upper_mapping() {
        let upper = obj(json!({"release": {"product": "RHEL"}, "accounts": ["1"]}));
        let lower = obj(json!({"release": null, "accounts": []}));
        assert_eq!(
            Value::Object(dict_merge(&upper, &lower)),
            json!({"release": {"product": "RHEL"}, "accounts": []})
        );
        let lower = obj(json!({"release": {}}));
        assert_eq!(
            Value::Object(dict_merge(&upper, &lower)),
            json!({"release": {"product": "RHEL"}, "accounts": ["1"]})
        );
    }

    #[test]
    fn key_order_is_upper_then_new_lower_keys() {
        let upper = obj(json!({"b": 1, "a": 2}));
        let lower = obj(json!({"c": 3, "a": 4}));
        let keys: Vec<_> = dict_merge(&upper, &lower).keys().cloned().collect();
        assert_eq!(keys, ["b", "a", "c"]);
    }
}
