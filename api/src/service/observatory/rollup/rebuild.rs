//! Rebuilding the rollups from the source tables: every atom and
//! contributor, then what sits above the atoms (totals, windows, period
//! sums, cumulative sums, groups, producers' facts), at start-up when the
//! grain, k or the facts' version changed, and after a bulk load.

use super::*;

/// What a rebuild did.
#[derive(Clone, Copy, Debug, Default)]
pub struct Rebuilt {
    pub atoms: u64,
    pub contributors: u64,
}

/// Recomputes every atom from signatures, ratings and pledges, at the
/// grain, then every producer's total of released atoms, and records the
/// grain and k. One transaction: the write path waits for it (PostgreSQL
/// takes the rollup tables' lock first), so no change made meanwhile is
/// lost or counted twice.
pub async fn rebuild(db: &DatabaseConnection, rule: AtomRule) -> Result<Rebuilt> {
    let grain = rule.grain;
    let backend = db.get_database_backend();
    let txn = begin_rebuild(db).await?;
    // A write first: on SQLite it takes the write lock at once.
    txn.execute_unprepared("DELETE FROM obs_contributor")
        .await?;
    txn.execute_unprepared("DELETE FROM obs_atom").await?;
    // Queued writes are in the source rows read below: their atoms' part
    // is counted here, their campaigns' part stays for the folder.
    crate::service::fold::queue::strip_rollups(&txn).await?;
    set_aside_contributor_keys(&txn).await?;
    let signed = period_start(backend, grain, "s.created_at");
    let rated = period_start(backend, grain, "r.created_at");
    let pledged = period_start(backend, grain, "p.created_at");
    let contributors = txn
        .execute_unprepared(&format!(
            "INSERT INTO obs_contributor (producer_id, period_start, member_id, weight) \
             SELECT producer_id, period_start, member_id, COUNT(*) FROM ( \
               SELECT s.producer_id, {signed} AS period_start, s.member_id \
                 FROM signature s \
                 WHERE s.member_id IS NOT NULL AND s.status = 'COUNTED' \
               UNION ALL SELECT r.producer_id, {rated}, r.member_id \
                 FROM trust_rating r WHERE r.member_id IS NOT NULL \
               UNION ALL SELECT p.producer_id, {pledged}, p.member_id \
                 FROM pledge p \
                 WHERE p.member_id IS NOT NULL AND p.status <> 'WITHDRAWN' \
             ) contributions GROUP BY producer_id, period_start, member_id"
        ))
        .await?
        .rows_affected();
    restore_contributor_keys(&txn).await?;
    let dimension = |name: &str, value: &str| {
        format!("CASE WHEN r.dimension = '{name}' THEN {value} ELSE 0 END")
    };
    let kind =
        |name: &str, value: &str| format!("CASE WHEN p.kind = '{name}' THEN {value} ELSE 0 END");
    let dimensions = ["TRANSPARENCY", "FAIRNESS", "COMMITMENT_KEEPING", "QUALITY"];
    let kinds = ["BUY", "AVOID", "SWITCH", "REDUCE"];
    let rating_counts: Vec<String> = dimensions.iter().map(|d| dimension(d, "1")).collect();
    let rating_scores: Vec<String> = dimensions.iter().map(|d| dimension(d, "r.score")).collect();
    let pledge_counts: Vec<String> = kinds.iter().map(|k| kind(k, "1")).collect();
    let zeros = |n: usize| vec!["0"; n].join(", ");
    let sums = COUNT_COLUMNS
        .iter()
        .map(|column| format!("SUM({column})"))
        .collect::<Vec<_>>()
        .join(", ");
    let atoms = txn
        .execute_unprepared(&format!(
            "INSERT INTO obs_atom (producer_id, period_start, members, {columns}) \
             SELECT producer_id, period_start, 0, {sums} FROM ( \
               SELECT s.producer_id, {signed} AS period_start, 1 AS signatures, \
                      0 AS ratings_transparency, 0 AS ratings_fairness, 0 AS ratings_commitment_keeping, 0 AS ratings_quality, \
                      0 AS score_transparency, 0 AS score_fairness, 0 AS score_commitment_keeping, 0 AS score_quality, \
                      0 AS pledges_buy, 0 AS pledges_avoid, 0 AS pledges_switch, 0 AS pledges_reduce, 0 AS pledged_cents \
                 FROM signature s WHERE s.status = 'COUNTED' \
               UNION ALL SELECT r.producer_id, {rated}, 0, {rating_counts}, {rating_scores}, {four_zeros}, 0 \
                 FROM trust_rating r \
               UNION ALL SELECT p.producer_id, {pledged}, 0, {eight_zeros}, {pledge_counts}, COALESCE(p.monthly_amount_cents, 0) \
                 FROM pledge p WHERE p.status <> 'WITHDRAWN' \
             ) facts GROUP BY producer_id, period_start",
            columns = COUNT_COLUMNS.join(", "),
            rating_counts = rating_counts.join(", "),
            rating_scores = rating_scores.join(", "),
            pledge_counts = pledge_counts.join(", "),
            four_zeros = zeros(4),
            eight_zeros = zeros(8),
        ))
        .await?
        .rows_affected();
    // One pass over the contributors, joined (a subquery per atom took
    // seconds at a million contributors).
    txn.execute_unprepared(
        "UPDATE obs_atom SET members = c.members FROM (SELECT producer_id, period_start, \
         COUNT(*) AS members FROM obs_contributor GROUP BY producer_id, period_start) c \
         WHERE c.producer_id = obs_atom.producer_id AND c.period_start = obs_atom.period_start",
    )
    .await?;
    rebuild_above_atoms_in(&txn, rule).await?;
    txn.commit().await?;
    Ok(Rebuilt {
        atoms,
        contributors,
    })
}

/// Recomputes what is kept above the atoms (producer totals, facts,
/// groups, windows) from the atoms and contributors already in place, and
/// records the grain and k: the end of a rebuild, on its own for `consumact
/// seed`, which counts the atoms and contributors itself as it generates
/// their rows, at `keeping.grain`.
pub async fn rebuild_above_atoms(db: &DatabaseConnection, rule: AtomRule) -> Result<()> {
    let txn = begin_rebuild(db).await?;
    rebuild_above_atoms_in(&txn, rule).await?;
    txn.commit().await?;
    Ok(())
}

/// A rebuild's transaction, holding every rollup table.
async fn begin_rebuild(db: &DatabaseConnection) -> Result<sea_orm::DatabaseTransaction> {
    let txn = db.begin().await?;
    if db.get_database_backend() == DbBackend::Postgres {
        // No fold pass runs beside a rebuild (it waits for the pass in
        // flight), and no write is queued meanwhile (a writer in flight
        // commits first; the next waits): the queue and the source rows
        // the rebuild reads agree. Then the rollup tables, in the order the
        // folder takes them (contributors, atoms, totals, period facts,
        // facts, groups, windows).
        crate::service::fold::queue::lock(&txn).await?;
        txn.execute_unprepared(
            "LOCK TABLE fold_change, obs_contributor, obs_atom, obs_producer_total, obs_producer_period, \
             obs_producer_fact, obs_group_member, obs_group_total, obs_group_period, \
             obs_window, obs_producer_window, obs_cumulative_period, obs_producer_cumulative \
             IN EXCLUSIVE MODE",
        )
        .await?;
        // The contributors' keys are built again, from millions of rows.
        // (A rebuild's grouping sorts them on the way: given memory to hash
        // instead, it leaves them unsorted and the key takes longer.)
        txn.execute_unprepared(BULK_SORT_MEMORY).await?;
    }
    Ok(txn)
}

/// On PostgreSQL, drops the contributors' primary key and member index:
/// millions of rows go in several times faster without them, built again
/// afterwards ([`restore_contributor_keys`]) in one sorted pass each. In a
/// rebuild's transaction nobody sees the table without them; the seed,
/// which fills a fresh database, sets them aside for its whole load, as it
/// does the other big tables' keys.
pub(crate) async fn set_aside_contributor_keys(conn: &impl ConnectionTrait) -> Result<()> {
    if conn.get_database_backend() == DbBackend::Postgres {
        for statement in [
            "DROP INDEX idx_obs_contributor_member",
            "ALTER TABLE obs_contributor DROP CONSTRAINT obs_contributor_pkey",
        ] {
            conn.execute_unprepared(statement).await?;
        }
    }
    Ok(())
}

/// The statements building again what [`set_aside_contributor_keys`]
/// dropped, on PostgreSQL.
pub(crate) const CONTRIBUTOR_KEYS: [&str; 2] = [
    "ALTER TABLE obs_contributor ADD CONSTRAINT obs_contributor_pkey \
     PRIMARY KEY (producer_id, period_start, member_id)",
    "CREATE INDEX idx_obs_contributor_member ON obs_contributor (member_id)",
];

/// Builds again what [`set_aside_contributor_keys`] dropped.
async fn restore_contributor_keys(conn: &impl ConnectionTrait) -> Result<()> {
    if conn.get_database_backend() == DbBackend::Postgres {
        for statement in CONTRIBUTOR_KEYS {
            conn.execute_unprepared(statement).await?;
        }
    }
    Ok(())
}

/// Producer totals, facts, groups, windows and cumulative sums from the
/// atoms, then the grain, k and layout they were kept by.
async fn rebuild_above_atoms_in(txn: &sea_orm::DatabaseTransaction, rule: AtomRule) -> Result<()> {
    let grain = rule.grain;
    if txn.get_database_backend() == DbBackend::Postgres {
        // The groups' periods sum millions of (group, atom) rows into a few
        // hundred: with the default 4 MB the planner sorts them on disk
        // (13 s at 10 M signatures), with this it hashes them in memory (4 s).
        txn.execute_unprepared("SET LOCAL work_mem = '256MB'")
            .await?;
    }
    txn.execute_unprepared("DELETE FROM obs_producer_total")
        .await?;
    // Every producer has a total (zero without a released atom), as the
    // write path keeps it.
    let columns: Vec<&str> = total_columns().collect();
    let released = ["1", "members"]
        .into_iter()
        .chain(COUNT_COLUMNS)
        .zip(&columns)
        .map(|(value, column)| {
            format!(
                "SUM(CASE WHEN members >= {k} THEN {value} ELSE 0 END) AS {column}",
                k = rule.k
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let coalesced = columns
        .iter()
        .map(|column| format!("COALESCE(a.{column}, 0)"))
        .collect::<Vec<_>>()
        .join(", ");
    txn.execute_unprepared(&format!(
        "INSERT INTO obs_producer_total (producer_id, {named}) \
         SELECT p.id, {coalesced} FROM producer p LEFT JOIN \
         (SELECT producer_id, {released} FROM obs_atom GROUP BY producer_id) a \
         ON a.producer_id = p.id",
        named = columns.join(", "),
    ))
    .await?;
    crate::service::observatory::write_facts::rebuild(txn, grain).await?;
    groups::rebuild(txn, rule.k).await?;
    crate::service::observatory::windows::reset(txn, rule.k, Utc::now().date_naive()).await?;
    crate::service::observatory::cumulative::rebuild(txn, rule.k).await?;
    for (key, value) in [
        ("grain", grain.as_str().to_owned()),
        ("k", rule.k.to_string()),
        ("facts", FACTS_VERSION.to_owned()),
    ] {
        set_meta(txn, key, value).await?;
    }
    Ok(())
}

/// Version of the stored facts' and groups' layout (`obs_meta` key `facts`;
/// 1: producer facts, 2: group totals, and a total row for every
/// producer, 3: facts and group sums by period, 4: window totals, 5: the
/// response requests' figures, 6: cumulative sums): rollups
/// kept before them, or by another layout, are rebuilt.
const FACTS_VERSION: &str = "6";

/// Rebuilds the rollups when they were built at another grain or k, before
/// the stored facts, or never.
pub async fn ensure_current(db: &DatabaseConnection, rule: AtomRule) -> Result<Option<Rebuilt>> {
    let stored: Vec<(String, String)> = db
        .query_all_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT key, value FROM obs_meta WHERE key IN ('grain', 'k', 'facts')",
        ))
        .await?
        .iter()
        .filter_map(|row| Some((row.try_get_by_index(0).ok()?, row.try_get_by_index(1).ok()?)))
        .collect();
    let stored_as = |key: &str| {
        stored
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    };
    let k = rule.k.to_string();
    if stored_as("grain") == Some(rule.grain.as_str())
        && stored_as("k") == Some(k.as_str())
        && stored_as("facts") == Some(FACTS_VERSION)
    {
        return Ok(None);
    }
    rebuild(db, rule).await.map(Some)
}

/// Records how the rollups were kept (`obs_meta`).
async fn set_meta(conn: &impl ConnectionTrait, key: &str, value: String) -> Result<()> {
    let mut sql = Sql::new(conn.get_database_backend());
    sql.push("INSERT INTO obs_meta (key, value) VALUES (")
        .bind(key)
        .push(", ")
        .bind(value)
        .push(") ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    conn.execute_raw(sql.build()).await?;
    Ok(())
}

/// Names of the trust-index ranking's indexes: over all time, and over
/// the windows.
const TRUST_INDEX: &str = "idx_obs_producer_total_trust";

const WINDOW_TRUST_INDEX: &str = "idx_obs_producer_window_trust";

/// Makes sure the trust-index rankings have their indexes: indexes on the
/// ranking's own expression, which holds the prior, so they are made again
/// when the prior changed (recorded in `obs_meta`).
pub async fn ensure_trust_index(db: &DatabaseConnection, prior: Prior) -> Result<()> {
    let backend = db.get_database_backend();
    let expression = trust_expression(prior);
    let stored = db
        .query_one_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT value FROM obs_meta WHERE key = 'trust_index'",
        ))
        .await?
        .and_then(|row| row.try_get_by_index::<String>(0).ok());
    // Marked with the indexes' layout, so a server that brings the window
    // index makes it on databases indexed before.
    let marker = format!("windows: {expression}");
    if stored.as_deref() == Some(marker.as_str()) {
        return Ok(());
    }
    let txn = db.begin().await?;
    for index in [TRUST_INDEX, WINDOW_TRUST_INDEX] {
        txn.execute_unprepared(&format!("DROP INDEX IF EXISTS {index}"))
            .await?;
    }
    txn.execute_unprepared(&format!(
        "CREATE INDEX IF NOT EXISTS {TRUST_INDEX} ON obs_producer_total ({expression} DESC, producer_id) \
         WHERE atoms > 0 AND {RATINGS_SUM} > 0"
    ))
    .await?;
    txn.execute_unprepared(&format!(
        "CREATE INDEX IF NOT EXISTS {WINDOW_TRUST_INDEX} ON obs_producer_window \
         (span, {expression} DESC, producer_id) WHERE atoms > 0 AND {RATINGS_SUM} > 0"
    ))
    .await?;
    set_meta(&txn, "trust_index", marker).await?;
    txn.commit().await?;
    Ok(())
}
