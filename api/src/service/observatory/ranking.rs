//! Producers' trust: one producer's cells, the ranking (whole, or page by
//! page from the stored totals) and the export's chunks.

use std::collections::HashMap;

use chrono::Utc;
use uuid::Uuid;

use super::{
    Facts, Observatory, ProducerRow, ProducerTrust, RankAfter, RankBy, RankPage, Scope, query,
};
use crate::error::Result;

impl Observatory<'_> {
    /// The cells of every producer in scope, in producer id order.
    async fn producer_cells(&self, scope: &Scope) -> Result<Vec<ProducerTrust>> {
        let producers = query::producers(&self.state.observatory_db, scope, None).await?;
        self.cells_of(scope, producers).await
    }

    /// The next `limit` producers after `after` (by id) with their cells:
    /// the export reads the whole ranking this way, a chunk at a time.
    pub async fn producer_chunk(
        &self,
        scope: &Scope,
        after: Option<Uuid>,
        limit: u64,
    ) -> Result<Vec<ProducerTrust>> {
        let mut scope = scope.clone();
        scope.after = after;
        let producers = query::producers(&self.state.observatory_db, &scope, Some(limit)).await?;
        let Some(last) = producers.last() else {
            return Ok(Vec::new());
        };
        scope.through = Some(last.id);
        self.cells_of(&scope, producers).await
    }

    async fn cells_of(
        &self,
        scope: &Scope,
        producers: Vec<ProducerRow>,
    ) -> Result<Vec<ProducerTrust>> {
        let db = &self.state.observatory_db;
        let (sums, facts) = tokio::try_join!(
            query::sums_by_producer(db, self.k(), scope),
            self.facts_by_producer(scope),
        )?;
        Ok(producers
            .into_iter()
            .map(|producer| {
                let facts = facts.get(&producer.id).copied().unwrap_or_default();
                let cell = self.cell(sums.get(&producer.id), &facts);
                ProducerTrust { producer, cell }
            })
            .collect())
    }

    /// The facts of each producer in scope: kept, over all time or a kept
    /// window; counted from the campaigns and commitments of any other
    /// `from`/`to` range.
    pub(super) async fn facts_by_producer(&self, scope: &Scope) -> Result<HashMap<Uuid, Facts>> {
        let db = &self.state.observatory_db;
        if (scope.from.is_none() && scope.to.is_none() && !scope.released) || scope.window.is_some()
        {
            return query::stored_facts_by_producer(db, scope).await;
        }
        let (from, to) = self.fact_range(scope);
        let (campaigns, commitments) = tokio::try_join!(
            query::campaigns(db, scope, from, to),
            query::commitments(db, scope, from, to),
        )?;
        let campaigns = by_producer(campaigns, |fact| fact.producer);
        let mut commitments = by_producer(commitments, |fact| fact.producer);
        let now = Utc::now();
        let mut out: HashMap<Uuid, Facts> = campaigns
            .iter()
            .map(|(producer, campaigns)| {
                let made = commitments.remove(producer).unwrap_or_default();
                (*producer, Facts::tally(campaigns, &made, now))
            })
            .collect();
        for (producer, made) in commitments {
            out.insert(producer, Facts::tally([], &made, now));
        }
        Ok(out)
    }

    /// One producer's trust, or `None` when there is no such producer.
    pub async fn producer(&self, id: Uuid, mut scope: Scope) -> Result<Option<ProducerTrust>> {
        scope.producer = Some(id);
        Ok(self.producer_cells(&scope).await?.into_iter().next())
    }

    /// Producers in scope, best first. Suppressed producers come last.
    pub async fn ranking(&self, scope: &Scope, by: RankBy) -> Result<Vec<ProducerTrust>> {
        let mut cells = self.producer_cells(scope).await?;
        let key = |trust: &ProducerTrust| -> Option<f64> {
            let metrics = trust.cell.metrics.as_ref()?;
            match by {
                RankBy::TrustIndex => metrics.trust_index,
                RankBy::Signatures => Some(metrics.signatures as f64),
                RankBy::ResponseRate => metrics.responses.response_rate,
            }
        };
        cells.sort_by(|a, b| match (key(a), key(b)) {
            (Some(x), Some(y)) => y.total_cmp(&x).then(a.producer.id.cmp(&b.producer.id)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.producer.id.cmp(&b.producer.id),
        });
        Ok(cells)
    }

    /// Whether the database ranks this ranking page by page: by trust index
    /// or signatures, which the sums alone decide (through the stored totals'
    /// indexes over all time or a kept window, from the range's atoms
    /// otherwise). By response rate, [`Observatory::ranking`] ranks in full.
    pub fn ranks_by_page(by: RankBy) -> bool {
        by != RankBy::ResponseRate
    }

    /// A page of the ranking, in [`Observatory::ranking`]'s order, where
    /// [`Observatory::ranks_by_page`] says so. Over a range that is not a
    /// kept window, the page's facts are counted for its producers alone.
    pub async fn ranking_page(
        &self,
        scope: &Scope,
        by: RankBy,
        after: Option<RankAfter>,
        first: usize,
        with_count: bool,
    ) -> Result<RankPage> {
        let db = &self.state.observatory_db;
        let count = async {
            match with_count {
                true => query::count_producers(db, scope).await,
                false => Ok(0),
            }
        };
        let (total_count, mut ranked) = tokio::try_join!(
            count,
            query::ranked_producers(
                db,
                self.k(),
                scope,
                by,
                self.prior(),
                after,
                first as u64 + 1
            ),
        )?;
        let has_next = ranked.len() > first;
        ranked.truncate(first);
        if query::ranged(scope) {
            let page = Scope {
                ids: Some(ranked.iter().map(|row| row.producer.id).collect()),
                ..scope.clone()
            };
            let facts = self.facts_by_producer(&page).await?;
            for row in &mut ranked {
                row.facts = facts.get(&row.producer.id).copied().unwrap_or_default();
            }
        }
        let rows = ranked
            .into_iter()
            .map(|row| {
                let cell = self.cell(row.sums.as_ref(), &row.facts);
                let trust = ProducerTrust {
                    producer: row.producer,
                    cell,
                };
                (trust, row.after)
            })
            .collect();
        Ok(RankPage {
            rows,
            total_count,
            has_next,
        })
    }
}

fn by_producer<T>(facts: Vec<T>, producer: impl Fn(&T) -> Uuid) -> HashMap<Uuid, Vec<T>> {
    let mut map: HashMap<Uuid, Vec<T>> = HashMap::new();
    for fact in facts {
        map.entry(producer(&fact)).or_default().push(fact);
    }
    map
}
