//! Folds runs of the same single-row `INSERT ... VALUES (...)` into multi-row inserts, so a page
//! of events costs a few statements instead of one per row. Applies to inserts without
//! `ON CONFLICT` or with `ON CONFLICT ... DO NOTHING` only: a multi-row `DO UPDATE` may not touch
//! one row twice, while the single-row statements it replaces could.
//!
//! In a run of the same pure overwrite ([`Stmt::overwrite`]) only the last statement of each row
//! is kept: nothing runs between them, each sets only its parameters, so the earlier ones' effect
//! is entirely replaced (a repository renamed or re-described many times in one page is written
//! once).
//!
//! Row-local statements ([`Stmt::on_row`]) on different rows commute, so each run of them is
//! regrouped in layers (`in_layers`): a page that creates rows and then updates them
//! becomes one run of creates, which folds, and one run of updates.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

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
    /// As [`Stmt::overwrites`], for a statement passed through as it was (0 for a fold).
    pub overwrites: usize,
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

/// A row's key (a statement's leading parameters), compared and hashed exactly; reals by
/// their bits.
#[derive(PartialEq)]
struct Key<'a>(&'a [SqlValue]);

impl Eq for Key<'_> {}

impl Hash for Key<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        for value in self.0 {
            hash_value(value, state);
        }
    }
}

fn hash_value<H: Hasher>(value: &SqlValue, state: &mut H) {
    match value {
        SqlValue::Null => 0u8.hash(state),
        SqlValue::Int(v) => (1u8, v).hash(state),
        SqlValue::Real(v) => (2u8, v.to_bits()).hash(state),
        SqlValue::Text(v) => (3u8, v).hash(state),
        SqlValue::Bytes(v) => (4u8, v).hash(state),
    }
}

/// `stmts` without the overwrites a later one of the same run replaces.
fn last_overwrites(stmts: Vec<Stmt>) -> Vec<Stmt> {
    if stmts.iter().all(|s| s.overwrites == 0) {
        return stmts;
    }
    let mut out: Vec<Stmt> = Vec::with_capacity(stmts.len());
    let mut stmts = stmts.into_iter().peekable();
    while let Some(first) = stmts.next() {
        if first.overwrites == 0 {
            out.push(first);
            continue;
        }
        let mut run = vec![first];
        while let Some(next) =
            stmts.next_if(|s| std::ptr::eq(s.sql, run[0].sql) && s.overwrites == run[0].overwrites)
        {
            run.push(next);
        }
        // Rows of one run are distinct once only each one's last is kept, and statements of
        // different rows commute: the last of each row, in the run's order, has the effect.
        let mut seen = std::collections::HashSet::with_capacity(run.len());
        let keep: Vec<bool> = run
            .iter()
            .rev()
            .map(|s| seen.insert(Key(s.params.get(..s.overwrites).unwrap_or(&s.params))))
            .collect();
        drop(seen);
        out.extend(
            run.into_iter()
                .zip(keep.into_iter().rev())
                .filter_map(|(stmt, keep)| keep.then_some(stmt)),
        );
    }
    out
}

/// The table a statement writes (`INSERT INTO t`, `UPDATE t`, `DELETE FROM t`), if it says
/// plainly.
fn table_of(sql: &str) -> Option<&str> {
    let mut words = sql.split_ascii_whitespace();
    let verb = words.next()?;
    let table = if verb.eq_ignore_ascii_case("INSERT") {
        words.next().filter(|w| w.eq_ignore_ascii_case("INTO"))?;
        words.next()?
    } else if verb.eq_ignore_ascii_case("UPDATE") {
        words.next()?
    } else if verb.eq_ignore_ascii_case("DELETE") {
        words.next().filter(|w| w.eq_ignore_ascii_case("FROM"))?;
        words.next()?
    } else {
        return None;
    };
    // `t (a, b)` or `t(a, b)`.
    let table = table.split('(').next()?;
    (!table.is_empty()).then_some(table)
}

/// Which row a row-local statement ([`Stmt::row`]) is on, as a hash of its table and key.
/// Two rows that hash alike are only kept in order when they need not be: safe.
fn row_of(stmt: &Stmt) -> Option<u64> {
    if stmt.row == 0 {
        return None;
    }
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    table_of(stmt.sql)?.hash(&mut hasher);
    Key(stmt.params.get(..stmt.row)?).hash(&mut hasher);
    Some(hasher.finish())
}

/// Reorders each run of row-local statements in layers: a row's first statement in the run is
/// in layer 0, its second in layer 1, and so on; layers run in order, and within a layer the
/// statements of one text run together. Each row keeps its own order, and statements on
/// different rows commute, so the effect is the same; what changes is that a page of
/// "create a row, then update it" becomes all the creates (one multi-row insert) and then all
/// the updates. A statement that is not row-local ends the run and keeps its place.
fn in_layers(stmts: Vec<Stmt>) -> Vec<Stmt> {
    if stmts.iter().all(|s| s.row == 0) {
        return stmts;
    }
    let mut out = Vec::with_capacity(stmts.len());
    // (layer, text group, statement) of the current run.
    let mut run: Vec<(usize, usize, Stmt)> = Vec::new();
    let mut layers: HashMap<u64, usize> = HashMap::new();
    let mut groups: Vec<&'static str> = Vec::new();
    let flush = |run: &mut Vec<(usize, usize, Stmt)>, out: &mut Vec<Stmt>| {
        // Stable: within a layer and a text, the original order.
        run.sort_by_key(|(layer, group, _)| (*layer, *group));
        out.extend(run.drain(..).map(|(_, _, stmt)| stmt));
    };
    for stmt in stmts {
        match row_of(&stmt) {
            Some(row) => {
                let layer = layers.entry(row).or_insert(0);
                let group = match groups.iter().position(|g| std::ptr::eq(*g, stmt.sql)) {
                    Some(group) => group,
                    None => {
                        groups.push(stmt.sql);
                        groups.len() - 1
                    }
                };
                run.push((*layer, group, stmt));
                *layer += 1;
            }
            None => {
                flush(&mut run, &mut out);
                layers.clear();
                groups.clear();
                out.push(stmt);
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

/// The statements to run for `stmts`, in the same order and with the same effect.
pub fn coalesce(stmts: Vec<Stmt>) -> Vec<Batched> {
    let mut out = Vec::new();
    // Folded before the layers too, so a row overwritten many times spans few layers; after,
    // a run may hold one row's overwrites from several layers.
    let mut iter = last_overwrites(in_layers(last_overwrites(stmts)))
        .into_iter()
        .peekable();
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
                overwrites: stmt.overwrites,
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
            out.push(Batched {
                sql,
                params,
                overwrites: 0,
            });
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
    fn only_the_last_overwrite_of_a_row_in_a_run_is_kept() {
        let rename: &'static str = "UPDATE t SET b = $2 WHERE a = $1";
        let other: &'static str = "UPDATE t SET c = $2 WHERE a = $1";
        let o = |sql, a: i64, b: i64| Stmt::overwrite(sql, vec![a.into(), b.into()], 1);
        let out = coalesce(vec![
            o(rename, 1, 10),
            o(rename, 2, 20),
            o(rename, 1, 11),
            o(rename, 1, 12),
            // Another statement ends the run: what follows may not replace what came before.
            o(other, 1, 0),
            o(rename, 1, 13),
            stmt(INSERT, 5),
            o(rename, 2, 21),
        ]);
        let seen: Vec<(&str, Vec<SqlValue>)> = out
            .iter()
            .map(|b| (b.sql.as_ref(), b.params.clone()))
            .collect();
        let p = |a: i64, b: i64| vec![SqlValue::Int(a), SqlValue::Int(b)];
        assert_eq!(
            seen,
            vec![
                (rename, p(2, 20)),
                (rename, p(1, 12)),
                (other, p(1, 0)),
                (rename, p(1, 13)),
                (INSERT, p(5, 50)),
                (rename, p(2, 21)),
            ]
        );
    }

    #[test]
    fn row_local_statements_run_in_layers_and_barriers_keep_their_place() {
        const CREATE: &str = "INSERT INTO t (a, b) VALUES ($1, $2) ON CONFLICT (a) DO NOTHING";
        const DESCRIBE: &str = "UPDATE t SET b = $2 WHERE a = $1";
        const OTHER: &str = "UPDATE u SET b = $2 WHERE a = $1";
        const BARRIER: &str = "UPDATE t SET b = $2 WHERE a > $1";
        let on = |sql, a: i64, b: i64| Stmt::on_row(sql, vec![a.into(), b.into()], 1);
        let out = coalesce(vec![
            on(CREATE, 1, 0),
            on(DESCRIBE, 1, 1),
            on(CREATE, 2, 0),
            on(DESCRIBE, 2, 1),
            // Row 1 of another table is another row.
            on(OTHER, 1, 7),
            on(DESCRIBE, 1, 2),
            Stmt::new(BARRIER, vec![0i64.into(), 9i64.into()]),
            on(DESCRIBE, 3, 3),
            on(CREATE, 3, 0),
        ]);
        let seen: Vec<(&str, Vec<SqlValue>)> = out
            .iter()
            .map(|b| (b.sql.as_ref(), b.params.clone()))
            .collect();
        let p = |values: &[i64]| values.iter().map(|&v| SqlValue::Int(v)).collect::<Vec<_>>();
        let two_creates =
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT (a) DO NOTHING";
        assert_eq!(
            seen,
            vec![
                (two_creates, p(&[1, 0, 2, 0])),
                (OTHER, p(&[1, 7])),
                (DESCRIBE, p(&[1, 1])),
                (DESCRIBE, p(&[2, 1])),
                (DESCRIBE, p(&[1, 2])),
                (BARRIER, p(&[0, 9])),
                (DESCRIBE, p(&[3, 3])),
                (CREATE, p(&[3, 0])),
            ]
        );
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
