//! Between the protobuf messages of the gRPC service and the family's JSON messages: structs
//! and lists to JSON and back, registry types and states by name, the core query as the JSON
//! query the REST routes take.

use prost_types::value::Kind;
use prost_types::{ListValue, Struct};
use serde_json::{Map, Number, Value, json};

use super::model;
use super::proto::{core, repository as pb};

pub fn to_json(v: &prost_types::Value) -> Value {
    match &v.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::NumberValue(n)) => Number::from_f64(*n).map_or(Value::Null, |n| {
            // Whole numbers stay integers, as a JSON client wrote them.
            match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => json!(f as i64),
                _ => Value::Number(n),
            }
        }),
        Some(Kind::StringValue(s)) => Value::String(s.clone()),
        Some(Kind::BoolValue(b)) => Value::Bool(*b),
        Some(Kind::StructValue(s)) => struct_to_json(s),
        Some(Kind::ListValue(l)) => list_to_json(l),
    }
}

pub fn struct_to_json(s: &Struct) -> Value {
    Value::Object(
        s.fields
            .iter()
            .map(|(k, v)| (k.clone(), to_json(v)))
            .collect::<Map<_, _>>(),
    )
}

pub fn list_to_json(l: &ListValue) -> Value {
    Value::Array(l.values.iter().map(to_json).collect())
}

pub fn from_json(v: &Value) -> prost_types::Value {
    let kind = match v {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(*b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => Kind::StringValue(s.clone()),
        Value::Array(items) => Kind::ListValue(ListValue {
            values: items.iter().map(from_json).collect(),
        }),
        Value::Object(_) => Kind::StructValue(struct_from_json(v)),
    };
    prost_types::Value { kind: Some(kind) }
}

/// An object as a `Struct` (anything else as an empty one).
pub fn struct_from_json(v: &Value) -> Struct {
    Struct {
        fields: v
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), from_json(v))).collect())
            .unwrap_or_default(),
    }
}

fn list_from_json(v: &Value) -> ListValue {
    ListValue {
        values: v
            .as_array()
            .map(|a| a.iter().map(from_json).collect())
            .unwrap_or_default(),
    }
}

/// A proto3 string: empty means not given.
fn given(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn registry_type_name(t: i32) -> Option<String> {
    pb::PublicRegistryType::try_from(t)
        .ok()
        .map(|t| t.as_str_name().to_owned())
}

pub fn register(
    r: pb::RegisterPluginRequest,
    domain: Option<String>,
) -> model::RegisterPluginRequest {
    model::RegisterPluginRequest {
        name: given(r.name),
        service_type: None,
        resource_type: given(r.resource_type),
        image: given(r.image),
        provider: given(r.provider),
        // Protobuf cannot tell "not given" from the first value; an unknown number is kept
        // as a name the domain refuses.
        registry_type: Some(
            registry_type_name(r.registry_type).unwrap_or_else(|| format!("#{}", r.registry_type)),
        ),
        registry_config: r.registry_config.as_ref().map(struct_to_json),
        capability: r.capability.as_ref().map(struct_to_json),
        template: None,
        docs: r.docs.as_ref().map(struct_to_json),
        labels: r.labels.as_ref().map(list_to_json),
        tags: r.tags.as_ref().map(struct_to_json),
        project_id: None,
        plugin_id: given(r.plugin_id),
        domain_id: domain,
    }
}

pub fn update(r: pb::UpdatePluginRequest, domain: Option<String>) -> model::UpdatePluginRequest {
    model::UpdatePluginRequest {
        plugin_id: given(r.plugin_id),
        name: given(r.name),
        capability: r.capability.as_ref().map(struct_to_json),
        template: None,
        docs: r.docs.as_ref().map(struct_to_json),
        labels: r.labels.as_ref().map(list_to_json),
        tags: r.tags.as_ref().map(struct_to_json),
        domain_id: domain,
    }
}

pub fn plugin_request(
    plugin_id: String,
    repository_id: String,
    domain: Option<String>,
) -> model::PluginRequest {
    model::PluginRequest {
        plugin_id: given(plugin_id),
        domain_id: domain,
        repository_id: given(repository_id),
        only: None,
    }
}

fn filter(f: &core::Filter) -> Value {
    use core::filter::{KeyAlias, OperatorAlias, ValueAlias};
    let key = match &f.key_alias {
        Some(KeyAlias::Key(k) | KeyAlias::K(k)) => Value::String(k.clone()),
        None => Value::Null,
    };
    let value = match &f.value_alias {
        Some(ValueAlias::Value(v) | ValueAlias::V(v)) => to_json(v),
        None => Value::Null,
    };
    let operator = match &f.operator_alias {
        Some(OperatorAlias::Operator(o) | OperatorAlias::O(o)) => Value::String(o.clone()),
        None => Value::Null,
    };
    json!({"k": key, "v": value, "o": operator})
}

/// The core query as the JSON query the REST routes take.
pub fn query(q: &core::Query) -> Value {
    let mut m = Map::new();
    m.insert("filter".into(), q.filter.iter().map(filter).collect());
    m.insert("filter_or".into(), q.filter_or.iter().map(filter).collect());
    m.insert(
        "sort".into(),
        q.sort
            .iter()
            .map(|s| json!({"key": s.key, "desc": s.desc}))
            .collect(),
    );
    if let Some(p) = &q.page {
        m.insert("page".into(), json!({"start": p.start, "limit": p.limit}));
    }
    if q.count_only {
        m.insert("count_only".into(), json!(true));
    }
    if !q.only.is_empty() {
        m.insert("only".into(), json!(q.only));
    }
    if !q.keyword.is_empty() {
        m.insert("keyword".into(), json!(q.keyword));
    }
    Value::Object(m)
}

pub fn plugin_query(q: pb::PluginQuery, domain: Option<String>) -> model::PluginQuery {
    let state = pb::plugin_query::State::try_from(q.state)
        .ok()
        .filter(|s| *s != pb::plugin_query::State::None)
        .map(|s| s.as_str_name().to_owned());
    model::PluginQuery {
        query: q.query.as_ref().map(query),
        plugin_id: given(q.plugin_id),
        name: given(q.name),
        state,
        service_type: None,
        resource_type: given(q.resource_type),
        provider: given(q.provider),
        registry_type: registry_type_name(q.registry_type),
        repository_id: given(q.repository_id),
        domain_id: domain,
    }
}

/// A plugin (as JSON, possibly limited to some fields) as the protobuf message.
pub fn plugin_info(v: &Value) -> pb::PluginInfo {
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let state = match v["state"].as_str() {
        Some("ENABLED") => pb::plugin_info::State::Enabled,
        Some("DISABLED") => pb::plugin_info::State::Disabled,
        _ => pb::plugin_info::State::None,
    };
    let structure = |k: &str| v.get(k).filter(|x| x.is_object()).map(struct_from_json);
    let repo = &v["repository_info"];
    pb::PluginInfo {
        plugin_id: s("plugin_id"),
        name: s("name"),
        state: state as i32,
        resource_type: s("resource_type"),
        image: s("image"),
        provider: s("provider"),
        registry_type: v["registry_type"]
            .as_str()
            .and_then(pb::PublicRegistryType::from_str_name)
            .unwrap_or(pb::PublicRegistryType::NoneRegistryType) as i32,
        registry_url: s("registry_url"),
        registry_config: structure("registry_config"),
        capability: structure("capability"),
        labels: v.get("labels").filter(|l| l.is_array()).map(list_from_json),
        tags: structure("tags"),
        docs: structure("docs"),
        domain_id: s("domain_id"),
        repository_info: repo.is_object().then(|| pb::RepositoryInfo {
            repository_id: repo["repository_id"].as_str().unwrap_or_default().into(),
            name: repo["name"].as_str().unwrap_or_default().into(),
            repository_type: repo["repository_type"].as_str().unwrap_or_default().into(),
            endpoint: repo["endpoint"].as_str().unwrap_or_default().into(),
        }),
        created_at: s("created_at"),
        updated_at: s("updated_at"),
    }
}

pub fn plugin_info_of(info: &model::PluginInfo) -> pb::PluginInfo {
    plugin_info(&serde_json::to_value(info).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_survives_a_round_trip_through_struct() {
        let v = json!({"a": 1, "b": [true, null, "x", 2.5], "c": {"d": {}}});
        assert_eq!(struct_to_json(&struct_from_json(&v)), v);
    }

    #[test]
    fn the_core_query_becomes_the_rest_query() {
        let q = core::Query {
            filter: vec![core::Filter {
                key_alias: Some(core::filter::KeyAlias::K("state".into())),
                value_alias: Some(core::filter::ValueAlias::V(from_json(&json!("ENABLED")))),
                operator_alias: Some(core::filter::OperatorAlias::Operator("eq".into())),
            }],
            page: Some(core::Page { start: 1, limit: 5 }),
            ..Default::default()
        };
        let j = query(&q);
        assert_eq!(
            j["filter"][0],
            json!({"k": "state", "v": "ENABLED", "o": "eq"})
        );
        assert_eq!(j["page"], json!({"start": 1, "limit": 5}));
    }
}
