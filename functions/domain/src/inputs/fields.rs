//! Typed access to parsed YAML/JSON documents that keeps track of where each value came from,
//! so that every validation error names the file and the dotted field path.
//!
//! Messages describe types, never echo values, unless a caller formats an allowed-value list
//! itself: these accessors also read credentials, whose values must not reach any output.

use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The JSON-ish name of a value's type, for error messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

/// Python truthiness, which the reference tools use to decide what "unset" means.
pub(crate) fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(o)) => !o.is_empty(),
    }
}

/// Joins a field path and a key.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// How deeply flow collections (`[...]`, `{...}`) may nest: real documents use a few levels,
/// and the YAML parser takes quadratic time on deep ones.
pub const MAX_FLOW_DEPTH: usize = 64;

/// The deepest nesting of flow brackets outside quoted scalars and comments.
fn flow_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut previous = '\n';
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            _ if comment => comment = c != '\n',
            (Some('"'), '\\') => {
                chars.next();
            }
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') if !previous.is_alphanumeric() => quote = Some(c),
            (None, '#') if previous.is_whitespace() => comment = true,
            (None, '[' | '{') => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
        previous = c;
    }
    deepest
}

/// Parses YAML (or JSON, when the file name ends in `.json`) into a JSON value. YAML merge
/// keys (`<<: *anchor`) are applied, as PyYAML does; a UTF-8 byte order mark is skipped, as
/// PyYAML does. A document larger than [`crate::inputs::tree::MAX_METADATA_BYTES`] or nested
/// deeper than [`MAX_FLOW_DEPTH`] is refused before it is parsed. Messages say what is wrong
/// (a duplicate key names the key, several documents say so) and where, never a value.
pub(crate) fn parse_document(file: &str, bytes: &[u8]) -> Result<Value> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let limit = crate::inputs::tree::MAX_METADATA_BYTES;
    if bytes.len() as u64 > limit {
        return Err(Error::Layout {
            file: file.to_string(),
            problem: format!("is larger than {limit} bytes; not a metadata document"),
        });
    }
    let format = if file.ends_with(".json") {
        "JSON"
    } else {
        "YAML"
    };
    let syntax = |message: String| Error::Syntax {
        file: file.to_string(),
        format,
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        syntax(format!(
            "not UTF-8 text (byte {} is not)",
            e.valid_up_to() + 1
        ))
    })?;
    if flow_depth(text) > MAX_FLOW_DEPTH {
        return Err(syntax(format!(
            "collections nested deeper than {MAX_FLOW_DEPTH} levels"
        )));
    }
    if format == "JSON" {
        return serde_json::from_str(text).map_err(|e| {
            syntax(format!(
                "{} at line {} column {}",
                json_problem(&e),
                e.line(),
                e.column()
            ))
        });
    }
    let mut yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(text).map_err(|e| syntax(yaml_message(&e)))?;
    yaml.apply_merge().map_err(|e| syntax(yaml_message(&e)))?;
    serde_json::to_value(yaml).map_err(|e| syntax(e.to_string()))
}

/// What serde_json found wrong, in words that quote no value.
fn json_problem(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Eof => "the document ends early",
        serde_json::error::Category::Syntax => "not well-formed",
        _ => "an unreadable value",
    }
}

/// The YAML parser's own words (they name keys and positions, not values), with the
/// several-documents case said plainly.
fn yaml_message(e: &serde_yaml_ng::Error) -> String {
    let text = crate::error::one_line(&e.to_string());
    if text.contains("more than one document") {
        return "several YAML documents (---) in one file; one is expected".to_string();
    }
    match e.location() {
        Some(loc) if !text.contains(" at line ") => {
            format!("{text} at line {} column {}", loc.line(), loc.column())
        }
        _ => text,
    }
}

/// A mapping inside a document, with its file and path.
#[derive(Clone, Copy)]
pub(crate) struct Obj<'a> {
    file: &'a str,
    path: &'a str,
    map: &'a Map<String, Value>,
}

/// Owned path storage so that `Obj` can borrow it; children build their paths on demand.
pub(crate) struct Located<'a> {
    file: &'a str,
    path: String,
    value: &'a Value,
}

impl<'a> Located<'a> {
    /// A value at a path of a file.
    pub(crate) fn new(file: &'a str, path: impl Into<String>, value: &'a Value) -> Self {
        Located {
            file,
            path: path.into(),
            value,
        }
    }

    /// The value as a mapping, or an error naming its path.
    pub(crate) fn obj(&self) -> Result<Obj<'_>> {
        match self.value {
            Value::Object(map) => Ok(Obj {
                file: self.file,
                path: &self.path,
                map,
            }),
            other => Err(self.error(format!("expected a mapping, got {}", type_name(other)))),
        }
    }

    /// The value as a list of located elements.
    pub(crate) fn list(&self) -> Result<Vec<Located<'a>>> {
        match self.value {
            Value::Array(items) => Ok(items
                .iter()
                .enumerate()
                .map(|(i, v)| Located::new(self.file, format!("{}[{i}]", self.path), v))
                .collect()),
            other => Err(self.error(format!("expected a list, got {}", type_name(other)))),
        }
    }

    /// The value itself.
    pub(crate) fn value(&self) -> &'a Value {
        self.value
    }

    /// An error about this value.
    pub(crate) fn error(&self, problem: impl Into<String>) -> Error {
        let field = if self.path.is_empty() {
            "(document)".to_string()
        } else {
            self.path.clone()
        };
        Error::invalid(self.file, field, problem)
    }
}

impl<'a> Obj<'a> {
    /// The file this mapping comes from.
    pub(crate) fn file(&self) -> &'a str {
        self.file
    }

    /// The path of a key of this mapping.
    pub(crate) fn field(&self, key: &str) -> String {
        join(self.path, key)
    }

    /// An error about one key of this mapping.
    pub(crate) fn error(&self, key: &str, problem: impl Into<String>) -> Error {
        Error::invalid(self.file, self.field(key), problem)
    }

    /// The raw map.
    pub(crate) fn map(&self) -> &'a Map<String, Value> {
        self.map
    }

    /// The value of a key, `None` when absent or null.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    /// A child value with its path.
    pub(crate) fn child(&self, key: &str) -> Option<Located<'a>> {
        self.get(key)
            .map(|v| Located::new(self.file, self.field(key), v))
    }

    /// Rejects keys outside `allowed` (for schemas with `additionalProperties: false`).
    pub(crate) fn deny_unknown(&self, allowed: &[&str]) -> Result<()> {
        match self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            Some(k) => Err(self.error(k, "unknown key")),
            None => Ok(()),
        }
    }

    fn wrong(&self, key: &str, expected: &str, got: &Value) -> Error {
        self.error(key, format!("expected {expected}, got {}", type_name(got)))
    }

    /// A required string.
    pub(crate) fn str_req(&self, key: &str) -> Result<String> {
        self.str_opt(key)?
            .ok_or_else(|| self.error(key, "required string is missing"))
    }

    /// A required, non-empty string.
    pub(crate) fn str_nonempty(&self, key: &str) -> Result<String> {
        let s = self.str_req(key)?;
        if s.is_empty() {
            return Err(self.error(key, "must not be empty"));
        }
        Ok(s)
    }

    /// An optional string (absent or null gives `None`).
    pub(crate) fn str_opt(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(_)) => Err(self.error(
                key,
                "expected string, got number (quote it so it stays text)",
            )),
            Some(other) => Err(self.wrong(key, "string", other)),
        }
    }

    /// An optional string restricted to some values.
    pub(crate) fn enum_opt(&self, key: &str, allowed: &[&str]) -> Result<Option<String>> {
        match self.str_opt(key)? {
            Some(s) if !allowed.contains(&s.as_str()) => {
                Err(self.error(key, format!("'{s}' is not one of: {}", allowed.join(", "))))
            }
            other => Ok(other),
        }
    }

    /// An optional boolean.
    pub(crate) fn bool_opt(&self, key: &str) -> Result<Option<bool>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(other) => Err(self.wrong(key, "boolean", other)),
        }
    }

    /// A required boolean: null counts as missing.
    pub(crate) fn bool_req(&self, key: &str) -> Result<bool> {
        match self.map.get(key) {
            Some(Value::Bool(b)) => Ok(*b),
            None | Some(Value::Null) => Err(self.error(key, "required boolean is missing")),
            Some(other) => Err(self.wrong(key, "boolean", other)),
        }
    }

    /// An optional integer.
    pub(crate) fn int_opt(&self, key: &str) -> Result<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.error(key, "expected integer, got number")),
            Some(other) => Err(self.wrong(key, "integer", other)),
        }
    }

    /// A required integer.
    pub(crate) fn int_req(&self, key: &str) -> Result<i64> {
        self.int_opt(key)?
            .ok_or_else(|| self.error(key, "required integer is missing"))
    }

    /// An optional list of strings.
    pub(crate) fn str_list_opt(&self, key: &str) -> Result<Option<Vec<String>>> {
        let Some(child) = self.child(key) else {
            return Ok(None);
        };
        child
            .list()?
            .iter()
            .map(|item| match item.value() {
                Value::String(s) => Ok(s.clone()),
                other => Err(item.error(format!("expected string, got {}", type_name(other)))),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    /// A required list of strings.
    pub(crate) fn str_list_req(&self, key: &str) -> Result<Vec<String>> {
        self.str_list_opt(key)?
            .ok_or_else(|| self.error(key, "required list is missing"))
    }

    /// An optional mapping of string to string.
    pub(crate) fn str_map_opt(&self, key: &str) -> Result<Option<Vec<(String, String)>>> {
        let Some(child) = self.child(key) else {
            return Ok(None);
        };
        let obj = child.obj()?;
        obj.map()
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                other => Err(obj.wrong(k, "string", other)),
            })
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(file: &str, text: &[u8]) -> String {
        parse_document(file, text).unwrap_err().to_string()
    }

    #[test]
    fn yaml_errors_say_what_is_wrong() {
        assert_eq!(
            parse_document("r.yaml", b"\xef\xbb\xbfapi: v1\n").unwrap(),
            serde_json::json!({"api": "v1"}),
            "a BOM is skipped, as PyYAML does"
        );
        assert_eq!(
            message("r.yaml", b"api: v1\nbuild: {}\nbuild: {}\n"),
            "r.yaml: not valid YAML: duplicate entry with key \"build\" at line 1 column 1"
        );
        assert_eq!(
            message("r.yaml", b"api: v1\n---\napi: v2\n"),
            "r.yaml: not valid YAML: several YAML documents (---) in one file; one is expected"
        );
        let deep = format!("a: {}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert_eq!(
            message("r.yaml", deep.as_bytes()),
            "r.yaml: not valid YAML: collections nested deeper than 64 levels"
        );
        // brackets inside quotes and comments are text
        let quoted = format!("a: \"{}\" # {}\n", "[".repeat(100), "{".repeat(100));
        assert!(parse_document("r.yaml", quoted.as_bytes()).is_ok());
        let big = vec![b'#'; 2 << 20];
        assert_eq!(
            message("r.yaml", &big),
            "r.yaml: is larger than 1048576 bytes; not a metadata document"
        );
        assert_eq!(
            message("r.yaml", b"a: \xff\n"),
            "r.yaml: not valid YAML: not UTF-8 text (byte 4 is not)"
        );
        assert_eq!(
            message("m.json", b"{\"secret\": \"s3cr3t\""),
            "m.json: not valid JSON: the document ends early at line 1 column 19"
        );
    }
}
