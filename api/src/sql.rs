//! Hand-written SQL with bound values, in the placeholder syntax of the
//! connected engine (`$1` on PostgreSQL, `?` on SQLite): for the statements
//! sea-query does not express well (the observatory's sums, full-text
//! search across kinds). Values are always bound, never spliced in.

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

    /// Appends `open`, what `body` appends, then `close`; nothing at all
    /// when `body` appends nothing (a bound value always appends its
    /// placeholder, so nothing bound is left behind).
    pub fn wrap(&mut self, open: &str, body: impl FnOnce(&mut Self), close: &str) -> &mut Self {
        let start = self.text.len();
        self.text.push_str(open);
        let inner = self.text.len();
        body(self);
        if self.text.len() == inner {
            self.text.truncate(start);
        } else {
            self.text.push_str(close);
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

    /// `column` names `territory` or, for a country, one of its
    /// subdivisions: `(column = 'FR' OR column LIKE 'FR-%')`, without the
    /// `LIKE` for a subdivision.
    pub fn territory(&mut self, column: &str, territory: &str) -> &mut Self {
        self.push("(")
            .push(column)
            .push(" = ")
            .bind(territory.to_owned());
        if !territory.contains('-') {
            self.push(" OR ")
                .push(column)
                .push(" LIKE ")
                .bind(format!("{territory}-%"));
        }
        self.push(")")
    }

    pub fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_follow_the_engine() {
        let mut pg = Sql::new(DbBackend::Postgres);
        pg.push("a = ").bind(1).push(" AND ").territory("t", "FR");
        assert_eq!(pg.text, "a = $1 AND (t = $2 OR t LIKE $3)");
        let mut lite = Sql::new(DbBackend::Sqlite);
        lite.push("a = ")
            .bind(1)
            .push(" AND ")
            .territory("t", "FR-ARA");
        assert_eq!(lite.text, "a = ? AND (t = ?)");
    }

    #[test]
    fn a_wrap_around_nothing_leaves_nothing() {
        let mut sql = Sql::new(DbBackend::Postgres);
        sql.push("WHERE x = ").bind(1);
        sql.wrap(" AND y IN (SELECT", |_| {}, ")");
        assert_eq!(sql.text, "WHERE x = $1");
        sql.wrap(
            " AND y IN (SELECT z WHERE 1 = 1",
            |sql| {
                sql.push(" AND z = ").bind(2);
            },
            ")",
        );
        assert_eq!(
            sql.text,
            "WHERE x = $1 AND y IN (SELECT z WHERE 1 = 1 AND z = $2)"
        );
        assert_eq!(sql.values.len(), 2);
    }
}
