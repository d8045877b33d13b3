//! `consumact seed`: the rollups it counts, its batches, and the indexes
//! it sets aside and builds again.

use super::*;

#[tokio::test]
async fn the_seed_counts_the_rollups_as_a_rebuild_from_its_rows_does() {
    use consumact_api::seed;
    use consumact_api::service::observatory::rollup;
    for grain in ["month", "day"] {
        let app = spawn(&["--observatory-k", "2", "--observatory-grain", grain]).await;
        let db = Database::connect(app.database_url.as_str()).await.unwrap();
        let config = consumact_api::config::Config::from_args([
            "consumact",
            "--observatory-k",
            "2",
            "--observatory-grain",
            grain,
        ])
        .unwrap();
        let mut args = seed::SeedArgs {
            signatures: 5_000,
            ratings: 2_000,
            producers: 12,
            members: 300,
            campaigns_per_producer: 3,
            communities: 4,
            months: 3,
            seed: 5,
            products: 0,
            index_builds: 2,
        };
        // A fresh database: the seed counts the atoms and contributors as it
        // writes the rows.
        let report = seed::run(&db, &config, &args).await.unwrap();
        let seeded = every_rollup_row(&db).await;
        assert_eq!(seeded.0.len() as u64, report.atoms, "{grain}");
        // Members who signed two campaigns of a producer in a period, or
        // rated it on several dimensions, weigh more than one.
        assert!(seeded.1.iter().any(|(_, weight)| weight[0] > 1), "{grain}");
        let rule = rollup::AtomRule::of(&config);
        let rebuilt = rollup::rebuild(&db, rule).await.unwrap();
        assert_eq!(rebuilt.atoms, report.atoms, "{grain}");
        assert_eq!(rebuilt.contributors as usize, seeded.1.len(), "{grain}");
        assert_same_rollups(&seeded, &every_rollup_row(&db).await, grain);
        // A second data set beside the first is rebuilt from all the rows.
        args.seed = 6;
        let second = seed::run(&db, &config, &args).await.unwrap();
        let both = every_rollup_row(&db).await;
        assert_eq!(both.0.len() as u64, second.atoms, "{grain}");
        assert!(second.atoms > report.atoms, "{grain}: {}", second.atoms);
        rollup::rebuild(&db, rule).await.unwrap();
        assert_same_rollups(&both, &every_rollup_row(&db).await, grain);
    }
}

#[tokio::test]
async fn a_seed_whose_rows_fill_their_batches_exactly_writes_them_all() {
    use consumact_api::seed;
    let app = spawn(&["--observatory-k", "2"]).await;
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    let config =
        consumact_api::config::Config::from_args(["consumact", "--observatory-k", "2"]).unwrap();
    // The last batch of signatures is then empty, which the bulk writers
    // must take as nothing to write.
    let signatures = seed::BULK_BATCH as u64;
    let args = seed::SeedArgs {
        signatures,
        ratings: 400,
        producers: 20,
        members: 20_000,
        campaigns_per_producer: 2,
        communities: 2,
        months: 2,
        seed: 9,
        products: 0,
        index_builds: 2,
    };
    let report = seed::run(&db, &config, &args).await.unwrap();
    assert_eq!(report.signatures, signatures);
    let stored: i64 = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) FROM signature",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index(0)
        .unwrap();
    assert_eq!(stored as u64, signatures);
}

#[tokio::test]
async fn a_seed_builds_again_every_index_and_key_it_set_aside() {
    use consumact_api::seed;
    let app = spawn(&["--observatory-k", "2"]).await;
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    let config =
        consumact_api::config::Config::from_args(["consumact", "--observatory-k", "2"]).unwrap();
    let before = index_and_key_definitions(&db).await;
    assert!(
        before
            .iter()
            .any(|definition| definition.contains("uq_signature_campaign_member")),
        "{before:#?}"
    );
    // More builders than some tables have indexes: keys, indexes and
    // foreign keys of one table wait for each other.
    let args = seed::SeedArgs {
        signatures: 3_000,
        ratings: 600,
        producers: 6,
        members: 200,
        campaigns_per_producer: 2,
        communities: 2,
        months: 2,
        seed: 13,
        products: 0,
        index_builds: 3,
    };
    seed::run(&db, &config, &args).await.unwrap();
    let same = |after: &[String]| {
        let missing: Vec<&String> = before.iter().filter(|d| !after.contains(d)).collect();
        let added: Vec<&String> = after.iter().filter(|d| !before.contains(d)).collect();
        assert!(
            missing.is_empty() && added.is_empty(),
            "missing {missing:#?}, added {added:#?}"
        );
    };
    same(&index_and_key_definitions(&db).await);
    // The same data set again is refused before anything is set aside.
    let again = seed::run(&db, &config, &args).await.unwrap_err();
    assert_eq!(again.code(), "CONFLICT", "{again:?}");
    assert!(again.message().contains("--seed 13"), "{}", again.message());
    same(&index_and_key_definitions(&db).await);
}

/// An index whose columns only repeat the leading columns of another (same
/// table, same method, neither partial, the first not unique) costs every
/// write and every bulk load's rebuild, and serves no query the other does
/// not.
#[tokio::test]
async fn no_index_only_repeats_the_leading_columns_of_another() {
    let app = spawn(&[]).await;
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    // (table, index, method, unique, partial, columns): indexes on
    // expressions left out.
    let sql = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            "SELECT t.relname::text, c.relname::text, am.amname::text, x.indisunique, x.indpred IS NOT NULL, \
               (SELECT string_agg(a.attname::text, ',' ORDER BY k.ord) \
                FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord) \
                JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum) \
             FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid \
             JOIN pg_class t ON t.oid = x.indrelid JOIN pg_am am ON am.oid = c.relam \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             WHERE n.nspname = current_schema() AND x.indexprs IS NULL"
        }
        _ => {
            "SELECT m.name, l.name, 'btree', l.\"unique\" = 1, l.partial = 1, \
               (SELECT group_concat(i.name, ',') FROM \
                 (SELECT name FROM pragma_index_info(l.name) ORDER BY seqno) i) \
             FROM sqlite_master m JOIN pragma_index_list(m.name) l \
             WHERE m.type = 'table' AND NOT EXISTS \
               (SELECT 1 FROM pragma_index_info(l.name) e WHERE e.name IS NULL)"
        }
    };
    let indexes: Vec<(String, String, String, bool, bool, Vec<String>)> = db
        .query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .iter()
        .map(|row| {
            let columns: String = row.try_get_by_index(5).unwrap();
            (
                row.try_get_by_index(0).unwrap(),
                row.try_get_by_index(1).unwrap(),
                row.try_get_by_index(2).unwrap(),
                row.try_get_by_index(3).unwrap(),
                row.try_get_by_index(4).unwrap(),
                columns.split(',').map(str::to_owned).collect(),
            )
        })
        .collect();
    assert!(
        indexes
            .iter()
            .any(|index| index.1 == "idx_signature_member_status"),
        "{indexes:#?}"
    );
    let mut repeated = Vec::new();
    for (table, name, method, unique, partial, columns) in &indexes {
        if *unique || *partial {
            continue;
        }
        for (other_table, other, other_method, _, other_partial, other_columns) in &indexes {
            if other != name
                && other_table == table
                && other_method == method
                && !other_partial
                && other_columns.starts_with(columns)
            {
                repeated.push(format!(
                    "{name} ({columns:?}) repeats {other} ({other_columns:?})"
                ));
            }
        }
    }
    assert!(repeated.is_empty(), "{repeated:#?}");
}
