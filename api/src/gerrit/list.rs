//! `GET /plugins/`: the installed plugins as a map from id to `PluginInfo`, sorted by id; only
//! the enabled ones unless `all`. Options as Gerrit's `ListPlugins` takes them, short or long:
//! `all`/`a`, `n`/`limit`, `S`/`start`, `p`/`prefix` (case-sensitive), `r`/`regex` (implicit
//! `^...$`, case-sensitive), `m`/`match` (substring, case-insensitive); at most one of p/r/m.

use std::collections::BTreeMap;

use annals_projections::queries::gerrit_plugins;
use axum::extract::State;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use regex::{Regex, RegexBuilder};

use super::auth::{Capable, ViewPlugins};
use super::error::GerritError;
use super::reply::{self, PluginInfo};
use crate::state::AppState;

/// The largest `n` or `S`.
pub const MAX_NUMBER: u64 = 1_000_000;
/// The longest `r`, `p` or `m`.
pub const MAX_PATTERN_CHARS: usize = 1000;
/// What a compiled `r` may cost.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// The list options, as documented (each also has its long name: `limit`, `start`, `prefix`,
/// `regex`, `match`; `a` is `all`).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListOptions {
    /// List all plugins including those that are disabled (`all`, `all=true|false|1|0`).
    all: Option<bool>,
    /// Limit the number of plugins to be included in the results (0: no limit).
    #[param(minimum = 0, maximum = 1_000_000)]
    n: Option<u64>,
    /// Skip the given number of plugins from the beginning of the list.
    #[serde(rename = "S")]
    #[param(minimum = 0, maximum = 1_000_000)]
    start: Option<u64>,
    /// Only plugins whose id starts with this prefix (case-sensitive). Not with `m` or `r`.
    p: Option<String>,
    /// Only plugins whose id matches this regular expression, `^` and `$` implicit
    /// (case-sensitive). Not with `m` or `p`.
    r: Option<String>,
    /// Only plugins whose id contains this substring (case-insensitive). Not with `p` or `r`.
    m: Option<String>,
}

/// How the ids are matched.
#[derive(Debug)]
enum Matcher {
    All,
    Prefix(String),
    Regex(Regex),
    Substring(String),
}

impl Matcher {
    fn matches(&self, id: &str) -> bool {
        match self {
            Matcher::All => true,
            Matcher::Prefix(p) => id.starts_with(p.as_str()),
            Matcher::Regex(r) => r.is_match(id),
            Matcher::Substring(m) => id.to_lowercase().contains(m.as_str()),
        }
    }
}

/// The options of one request, checked.
#[derive(Debug)]
pub struct Options {
    all: bool,
    limit: u64,
    skip: u64,
    matcher: Matcher,
}

/// A value echoed in an error, cut short.
fn shown(v: &str) -> String {
    v.chars().take(50).collect()
}

fn boolean(name: &str, value: &str) -> Result<bool, GerritError> {
    match value.to_ascii_lowercase().as_str() {
        "" | "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(GerritError::bad_request(format!(
            "\"{}\" is not a valid value for \"--{name}\"",
            shown(value)
        ))),
    }
}

fn number(name: &str, value: &str) -> Result<u64, GerritError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| *n <= MAX_NUMBER)
        .ok_or_else(|| {
            GerritError::bad_request(format!(
                "\"{}\" is not a valid value for \"--{name}\"",
                shown(value)
            ))
        })
}

/// `r` as Gerrit reads it: anchored at both ends. The expression is compiled alone first, so
/// that one like `a)|(b` cannot escape the anchors.
fn regex(r: &str) -> Result<Regex, GerritError> {
    let build = |pattern: &str| {
        RegexBuilder::new(pattern)
            .size_limit(REGEX_SIZE_LIMIT)
            .dfa_size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| {
                let reason = match e {
                    regex::Error::CompiledTooBig(_) => "too complex".to_owned(),
                    e => e
                        .to_string()
                        .lines()
                        .last()
                        .unwrap_or_default()
                        .trim()
                        .to_owned(),
                };
                GerritError::bad_request(format!("invalid regex {:?}: {reason}", shown(r)))
            })
    };
    build(r)?;
    build(&format!("^(?:{r})$"))
}

impl Options {
    /// Reads the query string; unknown options, malformed values and p/r/m together are 400.
    pub fn parse(query: &str) -> Result<Options, GerritError> {
        let mut options = Options {
            all: false,
            limit: 0,
            skip: 0,
            matcher: Matcher::All,
        };
        let (mut prefix, mut pattern, mut substring) = (None, None, None);
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                // `?all` arrives with an empty value, as `?all=` does: both are true.
                "all" | "a" => options.all = boolean("all", &value)?,
                "n" | "limit" => options.limit = number("limit", &value)?,
                "S" | "start" => options.skip = number("start", &value)?,
                "p" | "prefix" => prefix = Some(value.into_owned()),
                "r" | "regex" => pattern = Some(value.into_owned()),
                "m" | "match" => substring = Some(value.into_owned()),
                "pp" | "prettyPrint" => {}
                other => {
                    return Err(GerritError::bad_request(format!(
                        "\"{}\" is not a valid option",
                        shown(other)
                    )));
                }
            }
        }
        let given = [&prefix, &pattern, &substring]
            .iter()
            .filter(|o| o.is_some())
            .count();
        if given > 1 {
            return Err(GerritError::bad_request("specify exactly one of p/m/r"));
        }
        for v in [&prefix, &pattern, &substring].into_iter().flatten() {
            if v.chars().count() > MAX_PATTERN_CHARS {
                return Err(GerritError::bad_request(format!(
                    "a match option is at most {MAX_PATTERN_CHARS} characters"
                )));
            }
        }
        options.matcher = match (prefix, pattern, substring) {
            (Some(p), _, _) => Matcher::Prefix(p),
            (_, Some(r), _) => Matcher::Regex(regex(&r)?),
            (_, _, Some(m)) => Matcher::Substring(m.to_lowercase()),
            _ => Matcher::All,
        };
        Ok(options)
    }
}

/// The plugins the options select, sorted by id.
pub fn select(
    plugins: &[gerrit_plugins::GerritPluginView],
    options: &Options,
) -> BTreeMap<String, PluginInfo> {
    let skip = usize::try_from(options.skip).unwrap_or(usize::MAX);
    let limit = match options.limit {
        0 => usize::MAX,
        n => usize::try_from(n).unwrap_or(usize::MAX),
    };
    plugins
        .iter()
        .filter(|p| options.all || !p.disabled)
        .filter(|p| options.matcher.matches(&p.id))
        .skip(skip)
        .take(limit)
        .map(|p| (p.id.clone(), PluginInfo::from(p)))
        .collect()
}

/// Lists the plugins installed on the Gerrit server.
#[utoipa::path(get, path = "/plugins/", operation_id = "gerrit_list_plugins", tag = "gerrit",
    params(ListOptions),
    responses(
        (status = 200, description = "The plugins, by id, sorted by id (after the `)]}'` line)",
            body = BTreeMap<String, PluginInfo>, content_type = "application/json"),
        (status = 400, description = "An unknown option, a malformed value, a regex that does not compile, or more than one of p/m/r"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    _caller: Capable<ViewPlugins>,
    parts: Parts,
) -> Result<Response, GerritError> {
    let options = Options::parse(parts.uri.query().unwrap_or(""))?;
    let plugins = gerrit_plugins::list(state.db().as_ref(), !options.all).await?;
    let selected = select(&plugins, &options);
    Ok(reply::json(
        StatusCode::OK,
        reply::compact(&parts),
        &selected,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(id: &str, disabled: bool) -> gerrit_plugins::GerritPluginView {
        gerrit_plugins::GerritPluginView {
            id: id.into(),
            version: "1".into(),
            api_version: None,
            jar_digest: String::new(),
            jar_size: 0,
            disabled,
            revision: 1,
        }
    }

    fn ids(query: &str) -> Result<Vec<String>, GerritError> {
        let plugins = [
            plugin("delete-project", false),
            plugin("replication", false),
            plugin("reviewers-by-blame", true),
            plugin("some-other-plugin", false),
            plugin("some-plugin", false),
        ];
        let options = Options::parse(query)?;
        Ok(select(&plugins, &options).into_keys().collect())
    }

    #[test]
    fn options_select_as_gerrit_does() {
        assert_eq!(ids("").unwrap().len(), 4);
        assert_eq!(ids("all").unwrap().len(), 5);
        assert_eq!(ids("a=1").unwrap().len(), 5);
        assert_eq!(ids("all=false").unwrap().len(), 4);
        assert_eq!(ids("all&n=1&S=1").unwrap(), ["replication"]);
        assert_eq!(ids("p=some").unwrap().len(), 2);
        assert_eq!(ids("p=Some").unwrap().len(), 0);
        assert_eq!(
            ids("r=some.*plugin").unwrap(),
            ["some-other-plugin", "some-plugin"]
        );
        assert_eq!(ids("r=some").unwrap().len(), 0, "anchored");
        assert_eq!(ids("r=^some-plugin$").unwrap(), ["some-plugin"]);
        assert_eq!(ids("m=PROJECT").unwrap(), ["delete-project"]);
        assert_eq!(ids("n=0").unwrap().len(), 4, "0 is no limit");
    }

    #[test]
    fn bad_options_are_400() {
        for q in [
            "p=a&r=b",
            "m=a&p=b",
            "r=a&m=b",
            "r=(",
            "r=a)|(b",
            "n=-1",
            "n=99999999999999999999",
            "S=x",
            "all=maybe",
            "bogus=1",
            "r=a{1000}{1000}",
        ] {
            let e = ids(q).unwrap_err();
            assert_eq!(e.status, StatusCode::BAD_REQUEST, "{q}");
        }
        assert_eq!(
            ids("p=a&m=b").unwrap_err().message,
            "specify exactly one of p/m/r"
        );
    }
}
