//! Folds runs of the same single-row `INSERT ... VALUES (...)` into multi-row inserts, so a page
//! of events costs a few statements instead of one per row. Applies to inserts without
//! `ON CONFLICT` or with `ON CONFLICT ... DO NOTHING` only: a multi-row `DO UPDATE` may not touch
//! one row twice, while the single-row statements it replaces could.

use std::borrow::Cow;

use super::value::{SqlValue, Stmt};

/// The widest multi-row insert, in rows. Runs are cut into power-of-two chunks so only a few
/// distinct statement texts exist (each is prepared once per connection).
const MAX_ROWS: usize = 256;
/// Stay well under SQLite's and PostgreSQL's parameter limits.
const MAX_PARAMS: usize = 30_000;

/// A statement to run: its text and parameters.
pub struct Batched {
    pub sql: Cow<'static, str>,
    pub params: Vec<SqlValue>,
}

/// `INSERT ... VALUES ` + `(tuple)` + rest, when the statement can be folded.
fn split(sql: &str) -> Option<(&str, &str, &str)> {
    let upper = sql.to_ascii_uppercase();
    if !upper.trim_start().starts_with("INSERT") {
        return None;
    }
    if upper.contains("ON CONFLICT") && !upper.contains("DO NOTHING") {
        return None;
    }
    let values = upper.find("VALUES")?;
    let open = values + sql[values..].find('(')?;
    let mut depth = 0;
    let mut in_string = false;
    for (i, c) in sql[open..].char_indices() {
        match c {
            '\'' => in_string = !in_string,
            '(' if !in_string => depth += 1,
            ')' if !in_string => {
                depth -= 1;
                if depth == 0 {
                    let close = open + i + 1;
                    return Some((&sql[..open], &sql[open..close], &sql[close..]));
                }
            }
            _ => {}
        }
    }
    None
}

/// The tuple with every `$m` (outside string literals) shifted by `offset`.
fn shift(tuple: &str, offset: usize, out: &mut String) {
    let mut chars = tuple.chars().peekable();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if c == '\'' {
            in_string = !in_string;
        }
        if c == '$' && !in_string && chars.peek().is_some_and(char::is_ascii_digit) {
            let mut n = 0usize;
            while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                n = n * 10 + d as usize;
                chars.next();
            }
            out.push('$');
            out.push_str(&(n + offset).to_string());
        } else {
            out.push(c);
        }
    }
}

fn multi_row(prefix: &str, tuple: &str, rest: &str, rows: usize, per_row: usize) -> String {
    let mut sql = String::with_capacity(prefix.len() + rest.len() + rows * (tuple.len() + 8));
    sql.push_str(prefix);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        shift(tuple, row * per_row, &mut sql);
    }
    sql.push_str(rest);
    sql
}

/// The statements to run for `stmts`, in the same order and with the same effect.
pub fn coalesce(stmts: Vec<Stmt>) -> Vec<Batched> {
    let mut out = Vec::new();
    let mut iter = stmts.into_iter().peekable();
    while let Some(first) = iter.next() {
        let per_row = first.params.len();
        let foldable = per_row > 0 && split(first.sql).is_some();
        let mut run = vec![first];
        if foldable {
            while let Some(next) = iter.peek() {
                if std::ptr::eq(next.sql, run[0].sql) && next.params.len() == per_row {
                    run.extend(iter.next());
                } else {
                    break;
                }
            }
        }
        if run.len() == 1 {
            let stmt = run.pop().expect("one statement");
            out.push(Batched {
                sql: Cow::Borrowed(stmt.sql),
                params: stmt.params,
            });
            continue;
        }
        let (prefix, tuple, rest) = split(run[0].sql).expect("checked foldable");
        let widest = MAX_ROWS.min((MAX_PARAMS / per_row).max(1));
        let mut rows = run.into_iter();
        let mut left = rows.len();
        while left > 0 {
            // The largest power of two that fits.
            let chunk = if left >= widest {
                widest
            } else {
                1 << (usize::BITS - 1 - left.leading_zeros())
            };
            let chunk = chunk.min(widest).max(1);
            let mut params = Vec::with_capacity(chunk * per_row);
            for stmt in rows.by_ref().take(chunk) {
                params.extend(stmt.params);
            }
            let sql = if chunk == 1 {
                Cow::Owned(format!("{prefix}{tuple}{rest}"))
            } else {
                Cow::Owned(multi_row(prefix, tuple, rest, chunk, per_row))
            };
            out.push(Batched { sql, params });
            left -= chunk;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const INSERT: &str =
        "INSERT INTO t (a, b, c) VALUES ($1, 'x($1)', $2) ON CONFLICT (a) DO NOTHING";
    const UPSERT: &str =
        "INSERT INTO t (a) VALUES ($1) ON CONFLICT (a) DO UPDATE SET a = excluded.a";

    fn stmt(sql: &'static str, n: i64) -> Stmt {
        Stmt::new(sql, vec![n.into(), (n * 10).into()])
    }

    #[test]
    fn runs_of_one_insert_become_multi_row_inserts_in_power_of_two_chunks() {
        let out = coalesce((0..5).map(|n| stmt(INSERT, n)).collect());
        assert_eq!(out.len(), 2, "4 + 1");
        assert_eq!(
            out[0].sql,
            "INSERT INTO t (a, b, c) VALUES ($1, 'x($1)', $2), ($3, 'x($1)', $4), ($5, 'x($1)', $6), ($7, 'x($1)', $8) ON CONFLICT (a) DO NOTHING"
        );
        assert_eq!(out[0].params.len(), 8);
        assert_eq!(out[0].params[6], SqlValue::Int(3));
        assert_eq!(out[1].params, vec![SqlValue::Int(4), SqlValue::Int(40)]);
    }

    #[test]
    fn order_is_kept_and_upserts_and_updates_are_left_alone() {
        let update: &'static str = "UPDATE t SET b = $2 WHERE a = $1";
        let stmts = vec![
            stmt(INSERT, 1),
            stmt(update, 1),
            stmt(INSERT, 2),
            stmt(INSERT, 3),
            Stmt::new(UPSERT, vec![1i64.into()]),
            Stmt::new(UPSERT, vec![2i64.into()]),
        ];
        let out = coalesce(stmts);
        let sqls: Vec<usize> = out.iter().map(|b| b.params.len()).collect();
        assert_eq!(sqls, [2, 2, 4, 1, 1]);
        assert_eq!(out[1].sql, update);
    }
}
