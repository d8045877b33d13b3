//! The cumulative sums behind custom ranges: kept by the fold through
//! back-dated changes and atoms crossing k both ways, they equal what a
//! rebuild gives, and every range read from them equals its atoms' sums.

use std::collections::{BTreeMap, BTreeSet};

use consumact_api::service::observatory::cumulative;
use consumact_api::service::observatory::rollup::{self, COUNT_COLUMNS, Delta};
use entities::trust_rating::Dimension;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::TransactionTrait;
use uuid::Uuid;

use super::*;

const K: i64 = 3;

/// An atom's sums, in the producer totals' order (`atoms`, `members`, the
/// counts), keyed by producer and period.
type Atoms = BTreeMap<(Uuid, String), Vec<i64>>;

/// The active periods, and the cumulative rows by producer and period.
type Kept = (Vec<String>, Atoms);

/// Every released atom (k members or more), as a total counts it.
async fn released_atoms(db: &sea_orm::DatabaseConnection) -> Atoms {
    let columns: Vec<String> = std::iter::once("members")
        .chain(COUNT_COLUMNS)
        .map(str::to_owned)
        .collect();
    stored_rows(
        db,
        "obs_atom",
        &["producer_id", "period_start"],
        1,
        &columns,
    )
    .await
    .into_iter()
    .filter(|(_, values)| values[0] >= K)
    .map(|(key, values)| {
        let mut sums = vec![1];
        sums.extend(values);
        ((key[0].parse().unwrap(), key[1].clone()), sums)
    })
    .collect()
}

/// The cumulative rows the atoms call for, computed here on their own:
/// for every period holding a released atom, each producer's running sums
/// from its first released atom on.
fn expected_rows(atoms: &Atoms) -> Kept {
    let periods: BTreeSet<String> = atoms.keys().map(|(_, period)| period.clone()).collect();
    let producers: BTreeSet<Uuid> = atoms.keys().map(|(producer, _)| *producer).collect();
    let mut rows = BTreeMap::new();
    for producer in producers {
        let mut running = vec![0; 2 + COUNT_COLUMNS.len()];
        for period in &periods {
            if let Some(atom) = atoms.get(&(producer, period.clone())) {
                for (sum, value) in running.iter_mut().zip(atom) {
                    *sum += value;
                }
            }
            if running[0] > 0 {
                rows.insert((producer, period.clone()), running.clone());
            }
        }
    }
    (periods.into_iter().collect(), rows)
}

async fn kept_rows(db: &sea_orm::DatabaseConnection) -> Kept {
    let (periods, rows) = cumulative_rows(db).await;
    let rows = rows
        .into_iter()
        .map(|(key, values)| ((key[0].parse().unwrap(), key[1].clone()), values))
        .collect();
    (periods, rows)
}

fn month(m: u32, day: u32) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    chrono::Utc
        .with_ymd_and_hms(2025, m, day, 12, 0, 0)
        .unwrap()
}

#[tokio::test]
async fn cumulative_sums_follow_back_dated_changes_and_atoms_crossing_k_and_answer_ranges_as_atoms_do()
 {
    let app = spawn(&["--observatory-k", "3"]).await;
    let admin = app.admin_token().await;
    let (organiser, _) = app.register("organiser").await;
    let mut producers = Vec::new();
    for (name, sector) in [
        ("Acme Foods", "food"),
        ("Borealis", "food"),
        ("Cedar Mills", "food"),
        ("Dune Dairy", "dairy"),
    ] {
        let id = producer(&app, &organiser, name, sector, "FR").await;
        producers.push(id.parse::<Uuid>().unwrap());
    }
    let db = Database::connect(app.database_url.as_str()).await.unwrap();
    let members: Vec<Uuid> = (0..4).map(|_| Uuid::new_v4()).collect();
    let mut rng = StdRng::seed_from_u64(7);
    // Each member's signatures per producer and month, so that only a
    // signature given is withdrawn.
    let mut signed: BTreeMap<(usize, u32, usize), i64> = BTreeMap::new();
    let mut crossed_down = 0;
    for batch in 0..100 {
        let mut changes = Vec::new();
        for _ in 0..rng.random_range(1..8) {
            let (producer, m, member) = (
                rng.random_range(0..producers.len()),
                rng.random_range(1..=6),
                rng.random_range(0..members.len()),
            );
            let at = month(m, 1 + rng.random_range(0..27));
            let count = signed.entry((producer, m, member)).or_default();
            let delta = if rng.random_bool(0.1) {
                Delta::rating(Dimension::Quality, None, rng.random_range(1..=5))
            } else if *count > 0 && rng.random_bool(0.45) {
                *count -= 1;
                Delta::signature(-1)
            } else {
                *count += 1;
                Delta::signature(1)
            };
            changes.push((producers[producer], at, members[member], delta));
        }
        let before = released_atoms(&db).await;
        let txn = db.begin().await.unwrap();
        rollup::apply_many(&txn, rule(3), &changes).await.unwrap();
        txn.commit().await.unwrap();
        let atoms = released_atoms(&db).await;
        crossed_down += before.keys().filter(|key| !atoms.contains_key(key)).count();
        assert_eq!(
            kept_rows(&db).await,
            expected_rows(&atoms),
            "after batch {batch}: {changes:?}"
        );
    }
    assert!(crossed_down > 0, "no atom crossed k downwards");
    let atoms = released_atoms(&db).await;
    let periods: BTreeSet<&String> = atoms.keys().map(|(_, period)| period).collect();
    assert!(periods.len() >= 4, "{periods:?}");
    // A rebuild from the atoms gives the same rows.
    let kept = cumulative_rows(&db).await;
    let txn = db.begin().await.unwrap();
    cumulative::rebuild(&txn, 3).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(cumulative_rows(&db).await, kept);

    // Ranges read through the API: each producer's signatures and members
    // over the range are its released atoms' there.
    let ranges = [
        ("2025-02-10T00:00:00Z", "2025-05-01T00:00:00Z"),
        ("2025-01-01T00:00:00Z", "2025-03-15T08:00:00Z"),
        ("2025-03-01T00:00:00Z", "2025-03-02T00:00:00Z"),
        ("2025-04-20T00:00:00Z", "2031-01-01T00:00:00Z"),
        ("2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z"),
        ("2025-07-01T00:00:00Z", "2026-01-01T00:00:00Z"),
        ("2020-01-01T00:00:00Z", "2030-01-01T00:00:00Z"),
    ];
    let mut left_out = 0;
    for (from, to) in ranges {
        let first = format!("{}01", &from[..8]);
        // An atom counts when its period starts before `to` (the day after
        // it, unless it is midnight).
        let end = match &to[10..] {
            "T00:00:00Z" => to[..10].to_owned(),
            _ => {
                let day = chrono::NaiveDate::parse_from_str(&to[..10], "%Y-%m-%d").unwrap();
                (day + chrono::Days::new(1)).to_string()
            }
        };
        let mut expected: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for ((producer, period), sums) in &atoms {
            if *period >= first && *period < end {
                let entry = expected.entry(producer.to_string()).or_default();
                entry.0 += sums[1];
                entry.1 += sums[2];
            }
        }
        // The same with a sector, which leaves Dune Dairy out.
        let dairy = producers[3].to_string();
        let food: BTreeMap<String, (i64, i64)> = expected
            .iter()
            .filter(|(id, _)| **id != dairy)
            .map(|(id, figures)| (id.clone(), *figures))
            .collect();
        left_out += expected.len() - food.len();
        for (order, sector, expected) in [
            ("SIGNATURES", None, &expected),
            ("TRUST_INDEX", None, &expected),
            ("SIGNATURES", Some("food"), &food),
            ("TRUST_INDEX", Some("food"), &food),
        ] {
            let ranking = observatory(
                &app,
                Some(&admin),
                "query($f: ObservatoryFilter, $o: RankingOrder!) { observatory { ranking(first: 10, orderBy: $o, filter: $f) { edges { node { producer { id } suppressed memberCount metrics { signatures } } } } } }",
                json!({ "f": { "from": from, "to": to, "sector": sector }, "o": order }),
            )
            .await["ranking"]["edges"]
                .clone();
            let mut read: BTreeMap<String, (i64, i64)> = BTreeMap::new();
            let mut signatures = Vec::new();
            for edge in ranking.as_array().unwrap() {
                let node = &edge["node"];
                if node["suppressed"] == false {
                    let figures = (
                        node["memberCount"].as_i64().unwrap(),
                        node["metrics"]["signatures"].as_i64().unwrap(),
                    );
                    signatures.push(figures.1);
                    read.insert(node["producer"]["id"].as_str().unwrap().to_owned(), figures);
                }
            }
            assert_eq!(&read, expected, "{from} to {to} by {order} in {sector:?}");
            if order == "SIGNATURES" {
                assert!(
                    signatures.windows(2).all(|pair| pair[0] >= pair[1]),
                    "{from} to {to}: {signatures:?}"
                );
            }
        }
        // One producer over the same range reads the same.
        let acme = producers[0].to_string();
        let one = observatory(
            &app,
            Some(&admin),
            "query($id: ID!, $f: ObservatoryFilter) { observatory { producer(id: $id, filter: $f) { suppressed memberCount metrics { signatures } } } }",
            json!({ "id": acme, "f": { "from": from, "to": to } }),
        )
        .await["producer"]
            .clone();
        match expected.get(&acme) {
            Some((members, signatures)) => {
                assert_eq!(one["memberCount"], *members, "{from} to {to}: {one}");
                assert_eq!(one["metrics"]["signatures"], *signatures, "{from} to {to}");
            }
            None => assert_eq!(one["suppressed"], true, "{from} to {to}: {one}"),
        }
    }
    assert!(left_out > 0, "Dune Dairy was in no range");
}
