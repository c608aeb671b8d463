//! The read functions the API calls. Each takes the read-model database and answers plain
//! structs; none of them writes.

pub mod access;
pub mod applications;
// Auto-prune policies and what the worker reads.
pub mod autoprune;
pub mod content;
pub mod docr;
pub mod event_subscriptions;
pub mod gerrit_plugins;
pub mod grants;
pub mod log_exports;
pub mod logs;
pub mod messages;
pub mod mirrors;
pub mod namespaces;
pub mod prototypes;
pub mod proxy_cache;
pub mod quotas;
pub mod registries;
pub mod repositories;
// Repository notifications.
pub mod repository_notifications;
pub mod robots;
pub mod service_keys;
pub mod spaceone_plugins;
pub mod stars;
pub mod tags;
pub mod teams;
pub mod tokens;

use crate::sql::{DbResult, ReadDb, Row, SqlValue};

/// The rows of `sql` for each slice of `keys`, `$1` bound to `first` and `{keys}` replaced by
/// the slice's placeholders: sets of digests can be larger than a statement may bind.
pub(crate) async fn query_in(
    db: &dyn ReadDb,
    sql: &str,
    first: SqlValue,
    keys: &[String],
) -> DbResult<Vec<Row>> {
    let mut out = Vec::new();
    for chunk in keys.chunks(500) {
        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
        let mut params = vec![first.clone()];
        params.extend(chunk.iter().map(|k| SqlValue::from(k.as_str())));
        out.extend(
            db.query(&sql.replace("{keys}", &placeholders.join(", ")), params)
                .await?,
        );
    }
    Ok(out)
}

/// The `LIMIT` that fetches one row beyond a page of `n`, to tell whether more follow.
pub(crate) fn limit_past(n: usize) -> i64 {
    n.saturating_add(1).min(i64::MAX as usize) as i64
}

/// The first `n` rows, decoded, and whether more followed (see [`limit_past`]).
pub(crate) fn page_of<T>(
    rows: &[Row],
    n: usize,
    decode: impl Fn(&Row) -> DbResult<T>,
) -> DbResult<(Vec<T>, bool)> {
    let items = rows.iter().take(n).map(decode).collect::<DbResult<_>>()?;
    Ok((items, rows.len() > n))
}
