//! Full-text search over campaigns, communities, producers and products,
//! done by the
//! database: PostgreSQL full-text search (`websearch_to_tsquery` stemmed in
//! each row's language against its stored, accent-folded `tsvector`)
//! and SQLite FTS5 on the embedded default (each word as a prefix, accents
//! folded by the tokenizer). Hidden and unpublished campaigns never match.
//!
//! Each kind is ranked by its own engine; the kinds asked for are merged by
//! score, so scores compare within one answer, not across answers.

use entities::campaign::{CampaignKind, CampaignStatus};
use sea_orm::{ActiveEnum, ConnectionTrait, DbBackend, Statement};
use uuid::Uuid;

use crate::error::{AppError, Result};
use crate::service::validate;
use crate::sql::Sql;

/// Longest query, in characters.
pub const MAX_QUERY: usize = 200;
/// Words of a query beyond this are ignored.
const MAX_WORDS: usize = 12;
/// How deep a client may page into one query's hits.
pub const MAX_DEPTH: usize = 500;

/// Marks around matched words in a snippet (private-use characters, which
/// [`highlight`] turns into `<mark>` once the rest is escaped).
const START: char = '\u{E000}';
const STOP: char = '\u{E001}';

/// What a hit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Campaign,
    Community,
    Producer,
    Product,
}

/// Public filters combined with the query. `kind` and `status` concern
/// campaigns only, `value_tag` campaigns, communities and products (those
/// that confirm it): a kind that cannot satisfy a filter is left out.
#[derive(Default)]
pub struct SearchFilter {
    pub kind: Option<CampaignKind>,
    pub status: Option<CampaignStatus>,
    pub territory: Option<String>,
    pub value_tag: Option<String>,
}

/// One match.
#[derive(Clone, Debug)]
pub struct Hit {
    pub kind: Kind,
    pub id: Uuid,
    /// Relevance: higher is better.
    pub score: f64,
    /// A short extract, HTML-escaped, matches inside `<mark>…</mark>`.
    pub snippet: String,
}

/// The query a client typed, checked: `BAD_USER_INPUT` when it is empty,
/// too long or has no word to look for.
pub fn check_query(query: &str) -> Result<String> {
    let query = query.trim();
    if query.chars().count() > MAX_QUERY {
        return Err(AppError::invalid(
            "query",
            format!("query must be at most {MAX_QUERY} characters"),
        ));
    }
    if words(query).iter().all(|(_, negated)| *negated) {
        return Err(AppError::invalid(
            "query",
            "query must contain at least one word to look for",
        ));
    }
    Ok(query.to_owned())
}

/// Words of a query (letters and digits), each with whether it is excluded
/// (`-word`).
fn words(query: &str) -> Vec<(String, bool)> {
    query
        .split_whitespace()
        .flat_map(|token| {
            let negated = token.starts_with('-');
            token
                .split(|c: char| !c.is_alphanumeric())
                .filter(|word| !word.is_empty())
                .map(move |word| (word.to_lowercase(), negated))
                .collect::<Vec<_>>()
        })
        .take(MAX_WORDS)
        .collect()
}

/// The FTS5 query for `query`: every word as a prefix, all required,
/// `-word` excluded.
fn fts5_query(query: &str) -> String {
    let words = words(query);
    let wanted: Vec<String> = words
        .iter()
        .filter(|(_, negated)| !negated)
        .map(|(word, _)| format!("\"{word}\"*"))
        .collect();
    let mut text = wanted.join(" AND ");
    for (word, _) in words.iter().filter(|(_, negated)| *negated) {
        text.push_str(&format!(" NOT \"{word}\"*"));
    }
    text
}

/// HTML-escapes a snippet and turns the engine's marks into `<mark>`.
fn highlight(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 16);
    let mut open = false;
    for c in raw.chars() {
        match c {
            START if !open => {
                out.push_str("<mark>");
                open = true;
            }
            STOP if open => {
                out.push_str("</mark>");
                open = false;
            }
            START | STOP => {}
            c => crate::text::push_escaped(&mut out, c),
        }
    }
    if open {
        out.push_str("</mark>");
    }
    out
}

/// Hits `offset..offset + limit` of `query` among `kinds`, best first.
pub async fn search(
    db: &impl ConnectionTrait,
    query: &str,
    kinds: &[Kind],
    filter: &SearchFilter,
    offset: usize,
    limit: usize,
) -> Result<Vec<Hit>> {
    let query = check_query(query)?;
    if let Some(territory) = &filter.territory {
        validate::territory("filter.territory", territory)?;
    }
    if offset + limit > MAX_DEPTH {
        return Err(AppError::invalid(
            "after",
            format!("search pages end after {MAX_DEPTH} hits; refine the query"),
        ));
    }
    let wanted = offset + limit;
    let backend = db.get_database_backend();
    let queries = kinds.iter().filter_map(|&kind| {
        let statement = statement(backend, kind, &query, filter, wanted)?;
        Some(async move {
            let rows = db.query_all_raw(statement).await?;
            rows.into_iter()
                .map(|row| {
                    Ok(Hit {
                        kind,
                        id: row.try_get("", "id")?,
                        score: row.try_get::<f64>("", "score")?,
                        snippet: highlight(&row.try_get::<String>("", "snippet")?),
                    })
                })
                .collect::<Result<Vec<Hit>>>()
        })
    });
    // The kinds are asked for at the same time.
    let mut hits: Vec<Hit> = futures_util::future::try_join_all(queries)
        .await?
        .into_iter()
        .flatten()
        .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| b.id.cmp(&a.id)));
    Ok(hits.into_iter().skip(offset).take(limit).collect())
}

/// The query for one kind, or `None` when the filter rules that kind out.
fn statement(
    backend: DbBackend,
    kind: Kind,
    query: &str,
    filter: &SearchFilter,
    limit: usize,
) -> Option<Statement> {
    let campaign_only = filter.kind.is_some() || filter.status.is_some();
    match kind {
        Kind::Community | Kind::Producer | Kind::Product if campaign_only => return None,
        Kind::Producer if filter.value_tag.is_some() => return None,
        _ => {}
    }
    let (table, alias) = match kind {
        Kind::Campaign => ("campaign", "c"),
        Kind::Community => ("community", "m"),
        Kind::Producer => ("producer", "p"),
        Kind::Product => ("product", "d"),
    };
    let mut sql = Sql::new(backend);
    if backend == DbBackend::Postgres {
        let (config, text) = match kind {
            Kind::Campaign => (
                "CASE WHEN c.language = 'fr' THEN 'consumact_fr'::regconfig ELSE 'consumact_en'::regconfig END",
                "c.title || '. ' || c.summary || ' ' || left(c.body, 2000)",
            ),
            Kind::Community => (
                "CASE WHEN m.language = 'fr' THEN 'consumact_fr'::regconfig ELSE 'consumact_en'::regconfig END",
                "m.name || '. ' || left(m.description, 2000)",
            ),
            Kind::Producer => (
                "'consumact_simple'::regconfig",
                "p.name || '. ' || left(p.description, 2000)",
            ),
            Kind::Product => ("'consumact_simple'::regconfig", "d.name || ' ' || d.gtin"),
        };
        // Each row is matched and ranked with the query stemmed in its own
        // language: one index scan per language, no cross-language noise.
        // Campaigns' and communities' vectors live in tables of their own
        // (`campaign_search`, `community_search`, alias `s`), so that
        // updating a stored total does not rewrite them.
        let (vectors, matched, condition) = match kind {
            Kind::Producer => ("p", "q.fr".to_owned(), "p.search @@ q.fr".to_owned()),
            Kind::Product => ("d", "q.fr".to_owned(), "d.search @@ q.fr".to_owned()),
            _ => (
                "s",
                "CASE WHEN s.language = 'fr' THEN q.fr ELSE q.en END".to_owned(),
                "((s.language = 'fr' AND s.search @@ q.fr) OR (s.language <> 'fr' AND s.search @@ q.en))"
                    .to_owned(),
            ),
        };
        sql.push("SELECT ").push(alias).push(".id, ts_rank(");
        sql.push(vectors).push(".search, ").push(&matched);
        sql.push(")::float8 AS score, ts_headline(").push(config);
        sql.push(", ")
            .push(text)
            .push(", ")
            .push(&matched)
            .push(", ");
        sql.push(
            "'StartSel=\u{E000}, StopSel=\u{E001}, MinWords=8, MaxWords=24, MaxFragments=1') AS snippet FROM ",
        );
        sql.push(table).push(" ").push(alias);
        if !matches!(kind, Kind::Producer | Kind::Product) {
            sql.push(" JOIN ")
                .push(table)
                .push("_search s ON s.")
                .push(table)
                .push("_id = ")
                .push(alias)
                .push(".id");
        }
        sql.push(", (SELECT ");
        match kind {
            Kind::Producer | Kind::Product => {
                sql.push("websearch_to_tsquery('consumact_simple', ")
                    .bind(query)
                    .push(") AS fr");
            }
            _ => {
                sql.push("websearch_to_tsquery('consumact_fr', ")
                    .bind(query)
                    .push(") AS fr, websearch_to_tsquery('consumact_en', ")
                    .bind(query)
                    .push(") AS en");
            }
        }
        sql.push(") q WHERE ").push(&condition);
    } else {
        let (weights, fts) = match kind {
            Kind::Campaign => ("0.0, 10.0, 4.0, 1.0", "campaign_fts"),
            Kind::Community => ("0.0, 10.0, 3.0", "community_fts"),
            Kind::Producer => ("0.0, 10.0, 4.0, 1.0", "producer_fts"),
            Kind::Product => ("0.0, 10.0, 2.0", "product_fts"),
        };
        sql.push("SELECT ")
            .push(alias)
            .push(".id, -bm25(")
            .push(fts);
        sql.push(", ")
            .push(weights)
            .push(") AS score, snippet(")
            .push(fts);
        sql.push(", -1, char(57344), char(57345), '…', 16) AS snippet FROM ");
        sql.push(fts)
            .push(" JOIN ")
            .push(table)
            .push(" ")
            .push(alias);
        sql.push(" ON ")
            .push(alias)
            .push(".id = ")
            .push(fts)
            .push(".id WHERE ");
        sql.push(fts).push(" MATCH ").bind(fts5_query(query));
    }
    match kind {
        Kind::Campaign => {
            sql.push(
                " AND c.hidden_at IS NULL AND c.status NOT IN ('DRAFT', 'SPONSORING', 'IN_REVIEW')",
            );
            if let Some(kind) = filter.kind {
                sql.push(" AND c.kind = ").bind(kind.to_value());
            }
            if let Some(status) = filter.status {
                sql.push(" AND c.status = ").bind(status.to_value());
            }
            if let Some(territory) = &filter.territory {
                sql.push(" AND ")
                    .territory("c.territory", &territory.to_ascii_uppercase());
            }
            if let Some(tag) = &filter.value_tag {
                sql.push(
                    " AND c.id IN (SELECT t.campaign_id FROM campaign_value_tag t JOIN value_tag v ON v.id = t.value_tag_id WHERE v.slug = ",
                )
                .bind(tag.trim())
                .push(")");
            }
        }
        Kind::Community => {
            if let Some(territory) = &filter.territory {
                sql.push(" AND ")
                    .territory("m.territory", &territory.to_ascii_uppercase());
            }
            if let Some(tag) = &filter.value_tag {
                sql.push(
                    " AND m.id IN (SELECT t.community_id FROM community_value_tag t JOIN value_tag v ON v.id = t.value_tag_id WHERE v.slug = ",
                )
                .bind(tag.trim())
                .push(")");
            }
        }
        Kind::Producer => {
            if let Some(territory) = &filter.territory {
                sql.push(" AND ")
                    .territory("p.territory", &territory.to_ascii_uppercase());
            }
        }
        Kind::Product => {
            // Territories are a JSON list of codes: `"FR` finds FR and its
            // subdivisions (`"FR-ARA"`).
            if let Some(territory) = &filter.territory {
                sql.push(" AND d.territories LIKE ")
                    .bind(format!("%\"{}%", territory.to_ascii_uppercase()));
            }
            if let Some(tag) = &filter.value_tag {
                sql.push(
                    " AND d.id IN (SELECT pv.product_id FROM product_value pv JOIN value_tag v ON v.id = pv.value_tag_id WHERE pv.status = 'YES' AND v.slug = ",
                )
                .bind(tag.trim())
                .push(")");
            }
        }
    }
    sql.push(" ORDER BY score DESC, ")
        .push(alias)
        .push(".id DESC LIMIT ")
        .bind(limit as i64);
    Some(sql.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts5_queries_quote_every_word_as_a_prefix() {
        assert_eq!(
            fts5_query("allergène  étiquetage"),
            "\"allergène\"* AND \"étiquetage\"*"
        );
        assert_eq!(
            fts5_query("palm \"oil\" -biscuit"),
            "\"palm\"* AND \"oil\"* NOT \"biscuit\"*"
        );
        // Quotes, operators and column filters cannot get through.
        assert_eq!(
            fts5_query("title:x OR \"y"),
            "\"title\"* AND \"x\"* AND \"or\"* AND \"y\"*"
        );
    }

    #[test]
    fn queries_need_a_word_and_a_bounded_length() {
        assert!(check_query("  ").is_err());
        assert!(check_query("-only -excluded").is_err());
        assert!(check_query("!!! ???").is_err());
        assert!(check_query(&"a".repeat(MAX_QUERY + 1)).is_err());
        assert_eq!(check_query("  vegan Lyon ").unwrap(), "vegan Lyon");
    }

    #[test]
    fn snippets_are_escaped_and_marked() {
        let raw = format!("<b>Les {START}allergènes{STOP} & {START}x{STOP}");
        assert_eq!(
            highlight(&raw),
            "&lt;b&gt;Les <mark>allergènes</mark> &amp; <mark>x</mark>"
        );
        assert_eq!(highlight(&format!("{START}open")), "<mark>open</mark>");
        assert_eq!(highlight(&format!("{STOP}x{STOP}")), "x");
    }
}
