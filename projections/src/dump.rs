//! A complete, ordered dump of every read-model table, to compare a rebuilt generation with the
//! live one.

use std::sync::Arc;

use crate::projector::Projector;
use crate::sql::{DbResult, ReadDb, Row};

/// Every row of every projector's tables, each table in a total order.
pub async fn dump(
    db: &dyn ReadDb,
    projectors: &[Arc<dyn Projector>],
) -> DbResult<Vec<(String, Vec<Row>)>> {
    let mut tables = Vec::new();
    for projector in projectors {
        for (table, order) in projector.tables() {
            // Table and column names come from the projectors' own constants, never from input.
            let rows = db
                .query(&format!("SELECT * FROM {table} ORDER BY {order}"), vec![])
                .await?;
            tables.push((table.to_string(), rows));
        }
    }
    Ok(tables)
}
