//! The observatory's SQL fragments (periods, windows) for the builder it
//! shares with search ([`crate::sql::Sql`]).

use sea_orm::DbBackend;

pub use crate::sql::Sql;

/// SQL for the first day (`YYYY-MM-DD`) of the period holding the UTC
/// timestamp `column`, at the given grain.
pub fn period_start(backend: DbBackend, grain: crate::config::Grain, column: &str) -> String {
    use crate::config::Grain;
    match (backend, grain) {
        (DbBackend::Postgres, Grain::Month) => {
            format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-01')")
        }
        (DbBackend::Postgres, Grain::Day) => {
            format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD')")
        }
        // SQLite stores UTC timestamps as ISO 8601 text: the date is the prefix.
        (_, Grain::Month) => format!("(substr({column}, 1, 7) || '-01')"),
        (_, Grain::Day) => format!("substr({column}, 1, 10)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_engine() {
        let mut sql = Sql::new(DbBackend::Postgres);
        sql.push("a = ").bind(1).push(" AND b = ").bind("x");
        assert_eq!(sql.build().sql, "a = $1 AND b = $2");
        let mut sql = Sql::new(DbBackend::Sqlite);
        sql.push("a = ").bind(1).push(" AND b = ").bind("x");
        assert_eq!(sql.build().sql, "a = ? AND b = ?");
    }
}
