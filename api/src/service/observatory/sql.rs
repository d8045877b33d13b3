//! A small builder for the observatory's hand-written SQL: text plus bound
//! values, with the placeholder syntax of the connected engine.

use sea_orm::{DbBackend, Statement, Value};

pub struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(backend: DbBackend) -> Self {
        Self {
            backend,
            text: String::new(),
            values: Vec::new(),
        }
    }

    /// Appends literal SQL.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.values.push(value.into());
        match self.backend {
            DbBackend::Postgres => {
                self.text.push('$');
                self.text.push_str(&self.values.len().to_string());
            }
            _ => self.text.push('?'),
        }
        self
    }

    /// Appends one row of a multi-row `VALUES` list: `(a, b, …)`, after a
    /// comma unless it is the `first`.
    pub fn push_row(&mut self, first: bool, values: impl IntoIterator<Item = Value>) -> &mut Self {
        self.push(if first { "(" } else { ", (" });
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.bind(value);
        }
        self.push(")")
    }

    pub fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

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
