//! Quay's webhook templates (`util/jsontemplate.py`): a JSON document whose strings may hold
//! `${path}` expressions over the event's payload. A string that is exactly one expression
//! becomes the value found (JSON `null` when none); an expression inside a longer string is
//! replaced by the value's text (`(none)` when missing, a list joined with `,`).
//!
//! Paths are the JSONPath subset Quay's templates use: an optional `$`, then field names
//! separated by `.`, each optionally indexed with `[n]` or `[*]`.

use serde_json::Value;

/// The most expressions one template may hold.
const MAX_EXPRESSIONS: usize = 256;

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    parsed: Value,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    All,
}

impl Template {
    /// Parses a template and checks every expression (Quay applies it to `{}` to validate).
    pub fn parse(text: &str) -> Result<Template, String> {
        let parsed: Value =
            serde_json::from_str(text).map_err(|e| format!("Could not parse template: {e}"))?;
        let mut count = 0;
        check(&parsed, &mut count)?;
        Ok(Template { parsed })
    }

    pub fn apply(&self, data: &Value) -> Value {
        apply(&self.parsed, data)
    }
}

fn check(value: &Value, count: &mut usize) -> Result<(), String> {
    match value {
        Value::String(s) => check_string(s, count),
        Value::Object(map) => {
            for (k, v) in map {
                check_string(k, count)?;
                check(v, count)?;
            }
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(|v| check(v, count)),
        _ => Ok(()),
    }
}

fn check_string(s: &str, count: &mut usize) -> Result<(), String> {
    for expr in expressions(s) {
        *count += 1;
        if *count > MAX_EXPRESSIONS {
            return Err(format!(
                "Template has more than {MAX_EXPRESSIONS} expressions"
            ));
        }
        parse_path(expr)?;
    }
    Ok(())
}

/// The `${...}` expressions of a string, in order.
fn expressions(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        let start = rest.find("${")?;
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        rest = &after[end + 1..];
        Some(&after[..end])
    })
}

fn parse_path(expr: &str) -> Result<Vec<Step>, String> {
    let bad = |why: &str| Err(format!("For expression `{expr}`: {why}"));
    let expr_t = expr.trim();
    if expr_t.is_empty() {
        return Err("Empty expression found".into());
    }
    let body = match expr_t.strip_prefix('$') {
        Some(rest) => rest.strip_prefix('.').unwrap_or(rest),
        None => expr_t,
    };
    let mut steps = Vec::new();
    if body.is_empty() {
        return Ok(steps);
    }
    for part in body.split('.') {
        let (name, mut indexes) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        if name.is_empty() && indexes.is_empty() {
            return bad("empty path segment");
        }
        if !name.is_empty() {
            if !name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            {
                return bad(&format!("unexpected characters in `{name}`"));
            }
            steps.push(Step::Field(name.to_owned()));
        }
        while !indexes.is_empty() {
            let Some(close) = indexes.find(']') else {
                return bad("unclosed `[`");
            };
            let inner = indexes[1..close].trim();
            steps.push(if inner == "*" {
                Step::All
            } else {
                match inner.parse::<usize>() {
                    Ok(i) => Step::Index(i),
                    Err(_) => return bad(&format!("`[{inner}]` is not an index")),
                }
            });
            indexes = &indexes[close + 1..];
            if !indexes.is_empty() && !indexes.starts_with('[') {
                return bad("unexpected characters after `]`");
            }
        }
    }
    Ok(steps)
}

/// The values a path finds (several through `[*]`).
fn find<'a>(steps: &[Step], data: &'a Value) -> Vec<&'a Value> {
    let mut found = vec![data];
    for step in steps {
        found = found
            .into_iter()
            .flat_map(|v| -> Vec<&Value> {
                match (step, v) {
                    (Step::Field(f), Value::Object(m)) => m.get(f).into_iter().collect(),
                    (Step::Index(i), Value::Array(a)) => a.get(*i).into_iter().collect(),
                    (Step::All, Value::Array(a)) => a.iter().collect(),
                    _ => Vec::new(),
                }
            })
            .collect();
    }
    found
}

fn lookup(expr: &str, data: &Value) -> Option<Value> {
    let steps = parse_path(expr).ok()?;
    let found = find(&steps, data);
    match found.len() {
        0 => None,
        1 => Some(found[0].clone()),
        _ => Some(Value::Array(found.into_iter().cloned().collect())),
    }
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Array(items) if items.len() > 1 => {
            items.iter().map(text).collect::<Vec<_>>().join(",")
        }
        other => other.to_string(),
    }
}

fn process_string(s: &str, data: &Value) -> Value {
    if let Some(inner) = s.strip_prefix("${").and_then(|r| r.strip_suffix('}'))
        && !inner.contains('}')
    {
        return lookup(inner, data).unwrap_or(Value::Null);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        out.push_str(&rest[..start]);
        match lookup(&after[..end], data) {
            Some(v) => out.push_str(&text(&v)),
            None => out.push_str("(none)"),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Value::String(out)
}

fn apply(template: &Value, data: &Value) -> Value {
    match template {
        Value::String(s) => process_string(s, data),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (text(&process_string(k, data)), apply(v, data)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| apply(v, data)).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn applies_as_quay_does() {
        let t = Template::parse(
            r#"{"text": "pushed ${updated_tags} to ${$.repository} by ${nobody}",
                "tags": "${updated_tags}", "first": "${updated_tags[0]}", "n": 3}"#,
        )
        .unwrap();
        let data = json!({"repository": "acme/web", "updated_tags": ["a", "b"]});
        assert_eq!(
            t.apply(&data),
            json!({"text": "pushed a,b to acme/web by (none)", "tags": ["a", "b"], "first": "a", "n": 3})
        );
    }

    #[test]
    fn refuses_what_quay_refuses() {
        assert!(
            Template::parse("{")
                .unwrap_err()
                .starts_with("Could not parse template")
        );
        assert_eq!(
            Template::parse(r#"{"a": "${}"}"#).unwrap_err(),
            "Empty expression found"
        );
        assert!(Template::parse(r#"{"a": "${a b}"}"#).is_err());
        assert!(Template::parse(r#"{"a": "${a[x]}"}"#).is_err());
    }
}
