//! SpaceONE's query language over plugins, evaluated on their JSON form: `filter` and
//! `filter_or` (`{k|key, v|value, o|operator}`), `keyword`, `sort`, `page {start, limit}`,
//! `only`, `count_only`; and the statistics query: `aggregate` stages (`unwind`, `group` with
//! `keys` and `fields`, `count`, `sort`, `skip`, `limit`) or `distinct`. Matching follows
//! SpaceONE's MongoDB semantics: a list field matches when one of its items does, `contain` is
//! a case-insensitive substring. Every count in a query is bounded.

use std::cmp::Ordering;

use chrono::DateTime;
use serde_json::{Map, Value, json};

use super::error::SpaceError;

/// The most conditions in `filter` plus `filter_or`.
const MAX_CONDITIONS: usize = 50;
/// The most values an `in`-style condition lists.
const MAX_VALUES: usize = 1_000;
/// The most aggregation stages, group keys or group fields.
const MAX_STAGES: usize = 20;
/// The largest `page.start` and `page.limit`.
const MAX_PAGE: u64 = 1_000_000;
/// The longest key path.
const MAX_KEY_CHARS: usize = 255;

fn invalid(message: impl Into<String>) -> SpaceError {
    SpaceError::invalid(message)
}

/// `query` as an object (`null` reads as `{}`).
fn object(query: &Value, what: &str) -> Result<Map<String, Value>, SpaceError> {
    match query {
        Value::Null => Ok(Map::new()),
        Value::Object(m) => Ok(m.clone()),
        _ => Err(invalid(format!("{what} must be an object"))),
    }
}

/// The first of `names` present in `m`.
fn field<'a>(m: &'a Map<String, Value>, names: &[&str]) -> Option<&'a Value> {
    names
        .iter()
        .find_map(|n| m.get(*n))
        .filter(|v| !v.is_null())
}

fn key_of(m: &Map<String, Value>, names: &[&str], what: &str) -> Result<String, SpaceError> {
    match field(m, names) {
        Some(Value::String(k)) if !k.is_empty() && k.chars().count() <= MAX_KEY_CHARS => {
            Ok(k.clone())
        }
        _ => Err(invalid(format!(
            "{what} needs a key ({}) of 1 to {MAX_KEY_CHARS} characters",
            names.join(" or ")
        ))),
    }
}

/// The value at a dotted path of `doc`; through a list, the list of each item's values.
pub fn lookup(doc: &Value, path: &str) -> Value {
    let mut current = doc.clone();
    for part in path.split('.') {
        current = match current {
            Value::Object(mut m) => m.remove(part).unwrap_or(Value::Null),
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| lookup(i, part))
                    .filter(|v| !v.is_null())
                    .collect(),
            ),
            _ => Value::Null,
        };
    }
    current
}

/// Orders JSON values: null, booleans, numbers, strings, then the rest by their text.
fn compare(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Null => 0,
            Value::Bool(_) => 1,
            Value::Number(_) => 2,
            Value::String(_) => 3,
            _ => 4,
        }
    }
    match (a, b) {
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&y.as_f64().unwrap_or(0.0)),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => rank(a)
            .cmp(&rank(b))
            .then_with(|| a.to_string().cmp(&b.to_string())),
    }
}

/// The values a condition tests: a list's items, or the value itself.
fn candidates(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_lowercase()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn time(v: &Value) -> Option<i64> {
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp_micros())
}

/// A parsed condition.
struct Condition {
    key: String,
    operator: String,
    value: Value,
}

impl Condition {
    fn parse(raw: &Value) -> Result<Self, SpaceError> {
        let m = object(raw, "a filter condition")?;
        let key = key_of(&m, &["k", "key"], "a filter condition")?;
        let operator = match field(&m, &["o", "operator"]) {
            None => "eq".to_owned(),
            Some(Value::String(o)) => o.clone(),
            Some(_) => return Err(invalid("a filter operator must be a string")),
        };
        let value = field(&m, &["v", "value"]).cloned().unwrap_or(Value::Null);
        let listed = matches!(
            operator.as_str(),
            "in" | "not_in" | "contain_in" | "not_contain_in"
        );
        match (&value, listed) {
            (Value::Array(items), true) if items.len() <= MAX_VALUES => {}
            (_, true) => {
                return Err(invalid(format!(
                    "The value of '{operator} operator' must be a list type of at most {MAX_VALUES} values. (key = {key})"
                )));
            }
            _ => {}
        }
        let known = [
            "eq",
            "not",
            "lt",
            "lte",
            "gt",
            "gte",
            "in",
            "not_in",
            "contain",
            "not_contain",
            "contain_in",
            "not_contain_in",
            "exists",
            "datetime_lt",
            "datetime_lte",
            "datetime_gt",
            "datetime_gte",
        ];
        if !known.contains(&operator.as_str()) {
            return Err(invalid(format!(
                "Filter operator is not supported. (operator = {})",
                operator.chars().take(32).collect::<String>()
            )));
        }
        if operator.starts_with("datetime_") && time(&value).is_none() {
            return Err(invalid(format!(
                "The value of '{operator} operator' must be an ISO 8601 time. (key = {key})"
            )));
        }
        Ok(Condition {
            key,
            operator,
            value,
        })
    }

    fn matches(&self, doc: &Value) -> bool {
        let found = lookup(doc, &self.key);
        let values = candidates(&found);
        let any = |f: &dyn Fn(&Value) -> bool| values.iter().any(|v| f(v));
        let list = || self.value.as_array().cloned().unwrap_or_default();
        let contains = |v: &Value, needle: &Value| match (text(v), text(needle)) {
            (Some(h), Some(n)) => h.contains(&n),
            _ => false,
        };
        let ordered = |want: &[Ordering]| {
            any(&|v| {
                std::mem::discriminant(v) == std::mem::discriminant(&self.value)
                    && want.contains(&compare(v, &self.value))
            })
        };
        let timed = |want: &[Ordering]| {
            let limit = time(&self.value);
            any(&|v| match (time(v), limit) {
                (Some(t), Some(l)) => want.contains(&t.cmp(&l)),
                _ => false,
            })
        };
        match self.operator.as_str() {
            "eq" => found == self.value || any(&|v| *v == self.value),
            "not" => !(found == self.value || any(&|v| *v == self.value)),
            "lt" => ordered(&[Ordering::Less]),
            "lte" => ordered(&[Ordering::Less, Ordering::Equal]),
            "gt" => ordered(&[Ordering::Greater]),
            "gte" => ordered(&[Ordering::Greater, Ordering::Equal]),
            "in" => any(&|v| list().contains(v)),
            "not_in" => !any(&|v| list().contains(v)),
            "contain" => any(&|v| contains(v, &self.value)),
            "not_contain" => !any(&|v| contains(v, &self.value)),
            "contain_in" => any(&|v| list().iter().any(|n| contains(v, n))),
            "not_contain_in" => !any(&|v| list().iter().any(|n| contains(v, n))),
            "exists" => found.is_null() != self.value.as_bool().unwrap_or(true),
            "datetime_lt" => timed(&[Ordering::Less]),
            "datetime_lte" => timed(&[Ordering::Less, Ordering::Equal]),
            "datetime_gt" => timed(&[Ordering::Greater]),
            "datetime_gte" => timed(&[Ordering::Greater, Ordering::Equal]),
            _ => false,
        }
    }
}

fn conditions(q: &Map<String, Value>, name: &str) -> Result<Vec<Condition>, SpaceError> {
    match q.get(name) {
        None | Some(Value::Null) => Ok(vec![]),
        Some(Value::Array(items)) if items.len() <= MAX_CONDITIONS => {
            items.iter().map(Condition::parse).collect()
        }
        Some(_) => Err(invalid(format!(
            "{name} must be a list of at most {MAX_CONDITIONS} conditions"
        ))),
    }
}

/// The documents `filter` (all must hold), `filter_or` (one must) and `keyword` keep.
fn select(
    docs: Vec<Value>,
    q: &Map<String, Value>,
    keyword_keys: &[&str],
) -> Result<Vec<Value>, SpaceError> {
    let all = conditions(q, "filter")?;
    let any = conditions(q, "filter_or")?;
    if all.len() + any.len() > MAX_CONDITIONS {
        return Err(invalid(format!(
            "a query has at most {MAX_CONDITIONS} conditions"
        )));
    }
    let keyword = match q.get("keyword") {
        None | Some(Value::Null) => None,
        Some(Value::String(k)) if k.chars().count() <= MAX_KEY_CHARS => Some(k.to_lowercase()),
        Some(_) => return Err(invalid("keyword must be a short string")),
    };
    Ok(docs
        .into_iter()
        .filter(|d| all.iter().all(|c| c.matches(d)))
        .filter(|d| any.is_empty() || any.iter().any(|c| c.matches(d)))
        .filter(|d| {
            keyword.as_ref().is_none_or(|k| {
                keyword_keys
                    .iter()
                    .any(|key| text(&lookup(d, key)).is_some_and(|t| t.contains(k)))
            })
        })
        .collect())
}

/// `[(key, descending)]` of a `sort`: `{key, desc}`, a list of them, or `{keys: [...]}`.
fn sort_keys(sort: &Value) -> Result<Vec<(String, bool)>, SpaceError> {
    let one = |v: &Value| -> Result<(String, bool), SpaceError> {
        let m = object(v, "a sort key")?;
        let key = key_of(&m, &["key", "k"], "a sort key")?;
        let desc = field(&m, &["desc"])
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Ok((key, desc))
    };
    match sort {
        Value::Null => Ok(vec![]),
        Value::Array(items) if items.len() <= MAX_STAGES => items.iter().map(one).collect(),
        Value::Object(m) if m.contains_key("keys") => sort_keys(&m["keys"]),
        Value::Object(_) => Ok(vec![one(sort)?]),
        _ => Err(invalid(format!(
            "sort must be a key or a list of at most {MAX_STAGES} keys"
        ))),
    }
}

fn sort(docs: &mut [Value], keys: &[(String, bool)]) {
    docs.sort_by(|a, b| {
        keys.iter()
            .map(|(k, desc)| {
                let o = compare(&lookup(a, k), &lookup(b, k));
                if *desc { o.reverse() } else { o }
            })
            .find(|o| *o != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
    });
}

fn number(v: Option<&Value>, what: &str, max: u64) -> Result<Option<u64>, SpaceError> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => match v
            .as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        {
            Some(n) if n <= max => Ok(Some(n)),
            _ => Err(invalid(format!(
                "{what} must be a whole number from 0 to {max}"
            ))),
        },
    }
}

/// The page `{start (from 1), limit (0: all)}` of `docs`.
fn page(docs: Vec<Value>, page: Option<&Value>) -> Result<Vec<Value>, SpaceError> {
    let Some(p) = page.filter(|p| !p.is_null()) else {
        return Ok(docs);
    };
    let p = object(p, "page")?;
    let start = number(p.get("start"), "page.start", MAX_PAGE)?
        .unwrap_or(1)
        .max(1);
    let limit = number(p.get("limit"), "page.limit", MAX_PAGE)?.unwrap_or(0);
    let rest = docs.into_iter().skip((start - 1) as usize);
    Ok(if limit == 0 {
        rest.collect()
    } else {
        rest.take(limit as usize).collect()
    })
}

/// `doc` with only the fields at `only`'s paths.
pub fn project(doc: &Value, only: &[String]) -> Value {
    let mut out = Value::Object(Map::new());
    for path in only {
        let v = lookup(doc, path);
        if v.is_null() {
            continue;
        }
        let mut at = &mut out;
        let parts: Vec<&str> = path.split('.').collect();
        for (i, part) in parts.iter().enumerate() {
            let m = match at {
                Value::Object(m) => m,
                _ => break,
            };
            if i + 1 == parts.len() {
                m.insert((*part).to_owned(), v.clone());
                break;
            }
            at = m
                .entry((*part).to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    out
}

/// The `only` list of a query.
pub fn only_of(q: &Value) -> Result<Option<Vec<String>>, SpaceError> {
    match q.get("only") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if items.len() <= MAX_STAGES * 5 => items
            .iter()
            .map(|i| match i {
                Value::String(s) if s.chars().count() <= MAX_KEY_CHARS => Ok(s.clone()),
                _ => Err(invalid("only must list field names")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(invalid("only must be a list of field names")),
    }
}

/// A list query: the page of matching documents and how many match in all.
pub fn list(
    docs: Vec<Value>,
    query: &Value,
    keyword_keys: &[&str],
) -> Result<(Vec<Value>, usize), SpaceError> {
    let q = object(query, "query")?;
    let mut docs = select(docs, &q, keyword_keys)?;
    let total = docs.len();
    if field(&q, &["count_only"]).and_then(Value::as_bool) == Some(true) {
        return Ok((vec![], total));
    }
    sort(
        &mut docs,
        &sort_keys(q.get("sort").unwrap_or(&Value::Null))?,
    );
    let docs = page(docs, q.get("page"))?;
    let docs = match only_of(&Value::Object(q))? {
        Some(only) => docs.iter().map(|d| project(d, &only)).collect(),
        None => docs,
    };
    Ok((docs, total))
}

/// A statistics query: `{results}` (and `total_count` for `distinct`).
pub fn stat(docs: Vec<Value>, query: &Value) -> Result<(Vec<Value>, Option<usize>), SpaceError> {
    let q = object(query, "query")?;
    let docs = select(docs, &q, &[])?;
    if let Some(distinct) = q.get("distinct").filter(|d| !d.is_null()) {
        let key = match distinct {
            Value::String(k) if !k.is_empty() && k.chars().count() <= MAX_KEY_CHARS => k,
            _ => return Err(invalid("distinct must name a field")),
        };
        let mut values: Vec<Value> = Vec::new();
        for d in &docs {
            for v in candidates(&lookup(d, key)) {
                if !v.is_null() && !values.contains(v) {
                    values.push(v.clone());
                }
            }
        }
        values.sort_by(compare);
        let total = values.len();
        return Ok((page(values, q.get("page"))?, Some(total)));
    }
    let stages: Vec<Value> = match q.get("aggregate") {
        None | Some(Value::Null) => {
            return Err(SpaceError::required("query.aggregate"));
        }
        Some(Value::Array(stages)) if stages.len() <= MAX_STAGES => stages.clone(),
        // The older form: one object holding each stage once, applied in this order.
        Some(Value::Object(m)) => ["unwind", "group", "count", "sort", "skip", "limit"]
            .iter()
            .filter_map(|s| m.get(*s).map(|v| json!({ *s: v })))
            .collect(),
        Some(_) => {
            return Err(invalid(format!(
                "aggregate must be a list of at most {MAX_STAGES} stages"
            )));
        }
    };
    let mut rows = docs;
    for stage in &stages {
        rows = apply_stage(rows, stage)?;
    }
    Ok((page(rows, q.get("page"))?, None))
}

fn apply_stage(rows: Vec<Value>, stage: &Value) -> Result<Vec<Value>, SpaceError> {
    let m = object(stage, "an aggregate stage")?;
    let (name, body) = match m.iter().find(|(_, v)| !v.is_null()) {
        Some((k, v)) if m.values().filter(|v| !v.is_null()).count() == 1 => (k.as_str(), v),
        _ => {
            return Err(invalid(
                "an aggregate stage holds exactly one of unwind, group, count, sort, skip, limit",
            ));
        }
    };
    match name {
        "unwind" => {
            let b = object(body, "unwind")?;
            let path = key_of(&b, &["path"], "unwind")?;
            let mut out = Vec::new();
            for row in rows {
                match lookup(&row, &path) {
                    Value::Array(items) => {
                        for item in items {
                            let mut r = row.clone();
                            set(&mut r, &path, item);
                            out.push(r);
                        }
                    }
                    Value::Null => {}
                    _ => out.push(row),
                }
            }
            Ok(out)
        }
        "group" => group(rows, body),
        "count" => {
            let b = object(body, "count")?;
            let name = key_of(&b, &["name", "n"], "count")?;
            Ok(vec![json!({ name: rows.len() })])
        }
        "sort" => {
            let mut rows = rows;
            sort(&mut rows, &sort_keys(body)?);
            Ok(rows)
        }
        "skip" => {
            let n = number(Some(body), "skip", MAX_PAGE)?.unwrap_or(0);
            Ok(rows.into_iter().skip(n as usize).collect())
        }
        "limit" => {
            let n = number(Some(body), "limit", MAX_PAGE)?.unwrap_or(0);
            Ok(rows.into_iter().take(n as usize).collect())
        }
        other => Err(invalid(format!(
            "aggregate stage {} is not supported",
            other.chars().take(32).collect::<String>()
        ))),
    }
}

fn set(doc: &mut Value, path: &str, value: Value) {
    let mut at = doc;
    let parts: Vec<&str> = path.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let Value::Object(m) = at else { return };
        if i + 1 == parts.len() {
            m.insert((*part).to_owned(), value);
            return;
        }
        at = m
            .entry((*part).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

fn group(rows: Vec<Value>, body: &Value) -> Result<Vec<Value>, SpaceError> {
    let b = object(body, "group")?;
    let list = |name: &str| -> Result<Vec<Map<String, Value>>, SpaceError> {
        match b.get(name) {
            None | Some(Value::Null) => Ok(vec![]),
            Some(Value::Array(items)) if items.len() <= MAX_STAGES => items
                .iter()
                .map(|i| object(i, &format!("group.{name}")))
                .collect(),
            Some(_) => Err(invalid(format!(
                "group.{name} must be a list of at most {MAX_STAGES}"
            ))),
        }
    };
    let keys = list("keys")?
        .iter()
        .map(|k| {
            let key = key_of(k, &["key", "k"], "a group key")?;
            let name = key_of(k, &["name", "n"], "a group key").unwrap_or_else(|_| key.clone());
            Ok((key, name))
        })
        .collect::<Result<Vec<_>, SpaceError>>()?;
    let fields = list("fields")?
        .iter()
        .map(|f| {
            let operator = match field(f, &["operator", "o"]) {
                Some(Value::String(o)) => o.clone(),
                _ => return Err(invalid("a group field needs an operator")),
            };
            if !["count", "sum", "min", "max", "avg", "add_to_set", "push"]
                .contains(&operator.as_str())
            {
                return Err(invalid(format!(
                    "group field operator {} is not supported",
                    operator.chars().take(32).collect::<String>()
                )));
            }
            let name = key_of(f, &["name", "n"], "a group field")?;
            let key = if operator == "count" {
                String::new()
            } else {
                key_of(f, &["key", "k"], "a group field")?
            };
            Ok((operator, key, name))
        })
        .collect::<Result<Vec<_>, SpaceError>>()?;
    // Groups in order of first appearance.
    let mut groups: Vec<(Map<String, Value>, Vec<Value>)> = Vec::new();
    for row in rows {
        let mut id = Map::new();
        for (key, name) in &keys {
            id.insert(name.clone(), lookup(&row, key));
        }
        match groups.iter_mut().find(|(g, _)| *g == id) {
            Some((_, members)) => members.push(row),
            None => groups.push((id, vec![row])),
        }
    }
    Ok(groups
        .into_iter()
        .map(|(mut out, members)| {
            for (operator, key, name) in &fields {
                let values: Vec<Value> = members
                    .iter()
                    .map(|m| lookup(m, key))
                    .filter(|v| !v.is_null())
                    .collect();
                let numbers: Vec<f64> = values.iter().filter_map(Value::as_f64).collect();
                let total: f64 = numbers.iter().sum();
                let v = match operator.as_str() {
                    "count" => json!(members.len()),
                    "sum" => json!(total),
                    "avg" if numbers.is_empty() => Value::Null,
                    "avg" => json!(total / numbers.len() as f64),
                    "min" => values
                        .iter()
                        .min_by(|a, b| compare(a, b))
                        .cloned()
                        .unwrap_or(Value::Null),
                    "max" => values
                        .iter()
                        .max_by(|a, b| compare(a, b))
                        .cloned()
                        .unwrap_or(Value::Null),
                    "add_to_set" => {
                        let mut set: Vec<Value> = Vec::new();
                        for v in values {
                            if !set.contains(&v) {
                                set.push(v);
                            }
                        }
                        Value::Array(set)
                    }
                    _ => Value::Array(values),
                };
                out.insert(name.clone(), v);
            }
            Value::Object(out)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs() -> Vec<Value> {
        vec![
            json!({"plugin_id": "p1", "name": "aws-ec2", "provider": "aws", "state": "ENABLED", "labels": ["aws", "ec2"], "n": 3, "created_at": "2026-01-01T00:00:00Z"}),
            json!({"plugin_id": "p2", "name": "aws-s3", "provider": "aws", "state": "DISABLED", "labels": ["aws"], "n": 1, "created_at": "2026-02-01T00:00:00Z"}),
            json!({"plugin_id": "p3", "name": "gcp-vm", "provider": "google", "state": "ENABLED", "labels": [], "n": 2, "created_at": "2026-03-01T00:00:00Z"}),
        ]
    }

    fn ids(docs: &[Value]) -> Vec<&str> {
        docs.iter()
            .map(|d| d["plugin_id"].as_str().unwrap())
            .collect()
    }

    #[test]
    fn filters_follow_spaceone_operators() {
        let q = |f: Value| list(docs(), &json!({"filter": [f]}), &[]).unwrap().0;
        assert_eq!(
            ids(&q(json!({"k": "provider", "v": "aws", "o": "eq"}))),
            ["p1", "p2"]
        );
        assert_eq!(ids(&q(json!({"key": "labels", "value": "ec2"}))), ["p1"]);
        assert_eq!(
            ids(&q(json!({"k": "name", "v": "AWS", "o": "contain"}))),
            ["p1", "p2"]
        );
        assert_eq!(
            ids(&q(json!({"k": "provider", "v": ["google"], "o": "not_in"}))),
            ["p1", "p2"]
        );
        assert_eq!(ids(&q(json!({"k": "n", "v": 2, "o": "gte"}))), ["p1", "p3"]);
        assert_eq!(
            ids(&q(
                json!({"k": "created_at", "v": "2026-01-15T00:00:00Z", "o": "datetime_gt"})
            )),
            ["p2", "p3"]
        );
        assert!(
            list(
                docs(),
                &json!({"filter": [{"k": "n", "v": 1, "o": "in"}]}),
                &[]
            )
            .is_err()
        );
        assert!(list(docs(), &json!({"filter": [{"k": "n", "o": "regex"}]}), &[]).is_err());
        assert!(list(docs(), &json!({"filter": "x"}), &[]).is_err());
        let or = list(
            docs(),
            &json!({"filter_or": [{"k": "plugin_id", "v": "p3"}, {"k": "n", "v": 1}]}),
            &[],
        )
        .unwrap()
        .0;
        assert_eq!(ids(&or), ["p2", "p3"]);
    }

    #[test]
    fn sort_page_only_and_count() {
        let (page1, total) = list(
            docs(),
            &json!({"sort": [{"key": "n", "desc": true}], "page": {"start": 2, "limit": 1}, "only": ["plugin_id"]}),
            &[],
        )
        .unwrap();
        assert_eq!(total, 3);
        assert_eq!(page1, vec![json!({"plugin_id": "p3"})]);
        let (none, total) = list(docs(), &json!({"count_only": true}), &[]).unwrap();
        assert!(none.is_empty());
        assert_eq!(total, 3);
        let (kw, _) = list(docs(), &json!({"keyword": "S3"}), &["name"]).unwrap();
        assert_eq!(ids(&kw), ["p2"]);
        assert!(list(docs(), &json!({"page": {"limit": -1}}), &[]).is_err());
    }

    #[test]
    fn statistics_group_count_and_distinct() {
        let (rows, _) = stat(
            docs(),
            &json!({"aggregate": [
                {"group": {"keys": [{"key": "provider", "name": "provider"}],
                           "fields": [{"operator": "count", "name": "count"}, {"key": "n", "operator": "sum", "name": "total"}]}},
                {"sort": {"key": "count", "desc": true}}
            ]}),
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![
                json!({"provider": "aws", "count": 2, "total": 4.0}),
                json!({"provider": "google", "count": 1, "total": 2.0}),
            ]
        );
        let (rows, _) = stat(
            docs(),
            &json!({"filter": [{"k": "state", "v": "ENABLED"}], "aggregate": [{"count": {"name": "n"}}]}),
        )
        .unwrap();
        assert_eq!(rows, vec![json!({"n": 2})]);
        let (rows, total) = stat(docs(), &json!({"distinct": "labels"})).unwrap();
        assert_eq!(rows, vec![json!("aws"), json!("ec2")]);
        assert_eq!(total, Some(2));
        let (rows, _) = stat(
            docs(),
            &json!({"aggregate": {"unwind": {"path": "labels"}, "group": {"keys": [{"k": "labels", "n": "label"}], "fields": [{"o": "count", "n": "c"}]}}}),
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![
                json!({"label": "aws", "c": 2}),
                json!({"label": "ec2", "c": 1})
            ]
        );
        assert!(stat(docs(), &json!({})).is_err());
        assert!(stat(docs(), &json!({"aggregate": [{"lookup": {}}]})).is_err());
    }
}
