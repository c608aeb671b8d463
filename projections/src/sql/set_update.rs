//! PostgreSQL only: a run of one overwrite (`UPDATE t SET c = $2 WHERE id = $1`, see
//! [`Stmt::overwrites`](super::Stmt::overwrites)) on distinct rows becomes one set-based
//! statement, `UPDATE t SET c = annals_v.p2 FROM unnest($1::text[], $2::text[]) AS
//! annals_v(p1, p2) WHERE id = annals_v.p1`, with each parameter sent as an array: a page that
//! re-describes a thousand repositories costs one statement instead of a thousand.
//!
//! The rows of such a run are distinct (`coalesce` keeps only the last overwrite of each row in
//! a run), which a joined `UPDATE` needs: it would update a row matched twice only once.

use tokio_postgres::types::Type;

use super::coalesce::Batched;

/// Runs shorter than this stay single statements.
pub const MIN_RUN: usize = 2;
/// Rows per set-based statement.
pub const MAX_ROWS: usize = 4096;

/// The alias of the unnested parameters; unlikely to be a column name.
const ALIAS: &str = "annals_v";

/// The runs of one overwrite text in `stmts`, as index ranges: runs of [`MIN_RUN`] or more, cut
/// at [`MAX_ROWS`].
pub fn runs(stmts: &[Batched]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    while start < stmts.len() {
        let first = &stmts[start];
        let mut end = start + 1;
        if first.overwrites > 0 {
            while end < stmts.len()
                && end - start < MAX_ROWS
                && stmts[end].overwrites == first.overwrites
                && stmts[end].sql == first.sql
                && stmts[end].params.len() == first.params.len()
            {
                end += 1;
            }
            if end - start >= MIN_RUN {
                runs.push(start..end);
            }
        }
        start = end;
    }
    runs
}

/// Where the first `keyword` (upper case) of `sql` outside parentheses and string literals
/// starts.
fn top_level(sql: &str, keyword: &[u8]) -> Option<usize> {
    let bytes = sql.as_bytes();
    let (mut depth, mut in_string) = (0usize, false);
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'\'' => in_string = !in_string,
            b'(' if !in_string => depth += 1,
            b')' if !in_string => depth = depth.saturating_sub(1),
            _ if !in_string && depth == 0 && b.eq_ignore_ascii_case(&keyword[0]) => {
                let word = bytes.get(i..i + keyword.len())?;
                let before = i.checked_sub(1).map(|j| bytes[j]);
                let after = bytes.get(i + keyword.len()).copied();
                let boundary =
                    |c: Option<u8>| !c.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_');
                if word.eq_ignore_ascii_case(keyword) && boundary(before) && boundary(after) {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The set-based form of the single-row overwrite `sql`, whose parameters PostgreSQL typed as
/// `types`; `None` when the statement is not a plain `UPDATE ... SET ... WHERE ...` or a type
/// has no array form to spell.
pub fn set_based(sql: &str, types: &[Type]) -> Option<String> {
    let trimmed = sql.trim_start();
    if !trimmed.get(..6)?.eq_ignore_ascii_case("UPDATE") || trimmed.contains(';') {
        return None;
    }
    let at = top_level(sql, b"WHERE")?;
    // An UPDATE with a FROM of its own is left alone.
    if top_level(&sql[..at], b"FROM").is_some() {
        return None;
    }
    let mut arrays = Vec::with_capacity(types.len());
    for (i, ty) in types.iter().enumerate() {
        // Built-in scalar types only: their names need no quoting or schema.
        if ty.schema() != "pg_catalog" || !ty.name().bytes().all(|b| b.is_ascii_alphanumeric()) {
            return None;
        }
        arrays.push(format!("${}::{}[]", i + 1, ty.name()));
    }
    let columns: Vec<String> = (1..=types.len()).map(|i| format!("p{i}")).collect();
    let mut out = String::with_capacity(sql.len() * 2);
    replace_params(&sql[..at], &mut out);
    out.push_str(&format!(
        "FROM unnest({}) AS {ALIAS}({}) ",
        arrays.join(", "),
        columns.join(", ")
    ));
    replace_params(&sql[at..], &mut out);
    Some(out)
}

/// `text` with every `$n` outside string literals read from the unnested row instead.
fn replace_params(text: &str, out: &mut String) {
    let mut chars = text.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if c == '\'' {
            in_string = !in_string;
        }
        if c == '$' && !in_string && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push_str(ALIAS);
            out.push_str(".p");
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                out.push(d);
            }
        } else {
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::SqlValue;
    use std::borrow::Cow;

    #[test]
    fn an_overwrite_becomes_an_update_from_unnested_arrays() {
        let sql = "UPDATE repositories SET description = $2, last_modified = $3 WHERE id = $1";
        assert_eq!(
            set_based(sql, &[Type::TEXT, Type::TEXT, Type::INT8]).unwrap(),
            "UPDATE repositories SET description = annals_v.p2, last_modified = annals_v.p3 \
             FROM unnest($1::text[], $2::text[], $3::int8[]) AS annals_v(p1, p2, p3) \
             WHERE id = annals_v.p1"
        );
        // Literals and nested WHEREs are left alone; $10 is one parameter.
        let nested = "UPDATE t SET a = (SELECT x FROM u WHERE u.k = $2), b = '$1 where' WHERE k = $1 AND c = $10";
        let types = vec![Type::INT8; 10];
        let out = set_based(nested, &types).unwrap();
        assert!(out.starts_with(
            "UPDATE t SET a = (SELECT x FROM u WHERE u.k = annals_v.p2), b = '$1 where' FROM unnest($1::int8[]"
        ), "{out}");
        assert!(
            out.ends_with("WHERE k = annals_v.p1 AND c = annals_v.p10"),
            "{out}"
        );
        assert_eq!(
            set_based("INSERT INTO t (a) VALUES ($1)", &[Type::INT8]),
            None
        );
        assert_eq!(set_based("UPDATE t SET a = $1", &[Type::INT8]), None);
        assert_eq!(set_based("UPDATE t SET nowhere = $1", &[Type::INT8]), None);
        assert_eq!(
            set_based("UPDATE t SET a = u.a FROM u WHERE t.k = $1", &[Type::INT8]),
            None
        );
    }

    #[test]
    fn runs_are_consecutive_overwrites_of_one_text() {
        let b = |sql: &'static str, overwrites| Batched {
            sql: Cow::Borrowed(sql),
            params: vec![SqlValue::Int(1), SqlValue::Int(2)],
            overwrites,
        };
        let (a, c) = (
            "UPDATE t SET a = $2 WHERE k = $1",
            "UPDATE t SET c = $2 WHERE k = $1",
        );
        let stmts = vec![
            b(a, 1),
            b(a, 1),
            b(a, 1),
            b(c, 1),
            b(a, 1),
            b(a, 0),
            b(a, 0),
            b(c, 1),
            b(c, 1),
        ];
        assert_eq!(runs(&stmts), vec![0..3, 7..9]);
    }
}
