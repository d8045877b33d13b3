//! The differentially private release's accuracy and speed.
//!
//! Accuracy, in process, with the release's own budget, noise and
//! publication rule on a synthetic year: `DP_PRODUCERS` producers (default
//! 20 000) share `DP_SIGNATURES` distinct signers' signatures (default
//! 10 000 000) over `DP_MONTHS` months (default 12), by a Zipf law of
//! popularity; a quarter of each month's signers also rate each dimension,
//! around the producer's own quality (normal, mean 3.2, sd 0.6). It prints
//! the median relative error of released producer-month signature counts
//! for cells of at least 100 signers, Kendall's τ of the released top-100
//! trust ranking against the exact one, and how long the noise took.
//!
//! Speed against a database: with `DATABASE_URL` set (a seeded database
//! you may spend budget on: the release is real and frozen), it also
//! releases the latest closed month not released yet and prints how long
//! that took, reading the rows, bounding, noising and writing.
//!
//! ```sh
//! cargo bench --bench dp_release
//! DATABASE_URL=postgres://postgres@127.0.0.1:5432/consumact_bench cargo bench --bench dp_release
//! ```
//!
//! Budget settings come from the environment as for the server
//! (`CONSUMACT_DP_RHO`, `CONSUMACT_DP_MAX_PRODUCERS`, …).

use std::time::Instant;

use consumact_api::config::Config;
use consumact_api::service::observatory::release::budget::Budget;
use consumact_api::service::observatory::release::{CellSums, noisy_cell};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// A standard normal draw (Box–Muller), for the synthetic scores only.
fn normal(rng: &mut StdRng) -> f64 {
    let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let v: f64 = rng.random();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// A producer's ratings and scores less one over its cells.
fn totals(cells: impl Iterator<Item = CellSums>) -> (i64, i64) {
    cells.fold((0, 0), |(n, s), c| {
        (
            n + c.ratings.iter().sum::<i64>(),
            s + c.scores.iter().sum::<i64>(),
        )
    })
}

fn trust(prior: (f64, f64), ratings: i64, scores_less_one: i64) -> f64 {
    (prior.1 * prior.0 + 25.0 * scores_less_one as f64) / (prior.1 + ratings as f64)
}

/// Kendall's τ-b of two scorings of the same items.
fn kendall(a: &[f64], b: &[f64]) -> f64 {
    let (mut concordant, mut discordant, mut ties_a, mut ties_b) = (0f64, 0f64, 0f64, 0f64);
    for i in 0..a.len() {
        for j in i + 1..a.len() {
            let x = (a[i] - a[j]).signum();
            let y = (b[i] - b[j]).signum();
            if x == 0.0 {
                ties_a += 1.0;
            }
            if y == 0.0 {
                ties_b += 1.0;
            }
            if x * y > 0.0 {
                concordant += 1.0;
            } else if x * y < 0.0 {
                discordant += 1.0;
            }
        }
    }
    let pairs = (a.len() * (a.len() - 1) / 2) as f64;
    (concordant - discordant) / ((pairs - ties_a) * (pairs - ties_b)).sqrt()
}

#[tokio::main]
async fn main() {
    let producers = setting("DP_PRODUCERS", 20_000) as usize;
    let signatures = setting("DP_SIGNATURES", 10_000_000) as f64;
    let months = setting("DP_MONTHS", 12) as usize;
    let config = Config::from_args(["consumact"]).expect("configuration");
    let budget = Budget::of(&config.privacy);
    let prior = (config.trust_prior_mean, config.trust_prior_weight);
    let mut rng = StdRng::seed_from_u64(setting("DP_SEED", 7));

    let harmonic: f64 = (1..=producers).map(|r| 1.0 / r as f64).sum();
    let quality: Vec<f64> = (0..producers)
        .map(|_| (3.2 + 0.6 * normal(&mut rng)).clamp(1.0, 5.0))
        .collect();
    // Exact cells, producer by month.
    let mut exact = vec![vec![CellSums::default(); months]; producers];
    for (p, cells) in exact.iter_mut().enumerate() {
        let per_month = signatures / harmonic / (p + 1) as f64 / months as f64;
        for cell in cells.iter_mut() {
            let signers = (per_month * (0.8 + 0.4 * rng.random::<f64>())).round() as i64;
            cell.members = signers;
            cell.signatures = signers;
            for d in 0..4 {
                let raters = signers / 4;
                cell.ratings[d] = raters;
                cell.scores[d] = (0..raters)
                    .map(|_| ((quality[p] + normal(&mut rng)).round().clamp(1.0, 5.0) as i64) - 1)
                    .sum();
            }
        }
    }
    println!(
        "synthetic: {producers} producers, {signatures} signers over {months} months ({} producer-months)",
        producers * months
    );
    let mut exact_index: Vec<(usize, f64)> = exact
        .iter()
        .enumerate()
        .map(|(p, cells)| {
            let (n, s) = totals(cells.iter().copied());
            (p, trust(prior, n, s))
        })
        .collect();
    exact_index.sort_by(|a, b| b.1.total_cmp(&a.1));
    let top: Vec<(usize, f64)> = exact_index.iter().copied().take(100).collect();
    // The same among producers with at least 1 000 ratings in the year.
    let rated: Vec<(usize, f64)> = exact_index
        .iter()
        .copied()
        .filter(|(p, _)| totals(exact[*p].iter().copied()).0 >= 1_000)
        .take(100)
        .collect();
    println!(
        "exact top-100 trust index from {:.1} to {:.1}; their ratings from {} to {}",
        top.first().map_or(f64::NAN, |t| t.1),
        top.last().map_or(f64::NAN, |t| t.1),
        top.iter()
            .map(|(p, _)| totals(exact[*p].iter().copied()).0)
            .min()
            .unwrap_or(0),
        top.iter()
            .map(|(p, _)| totals(exact[*p].iter().copied()).0)
            .max()
            .unwrap_or(0),
    );
    println!(
        "| rho per month | producers per member | threshold | median relative error, cells >= 100 signers | unpublished of them | Kendall tau, top-100 trust | the same, producers with >= 1 000 ratings | noise time |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut settings = vec![(budget.rho_num, budget.rho_den, budget.max_producers)];
    for extra in [(5, 10, 2), (2, 1, 2), (8, 1, 1)] {
        if !settings.contains(&extra) {
            settings.push(extra);
        }
    }
    for (rho_num, rho_den, max_producers) in settings {
        let budget = Budget {
            rho_num,
            rho_den,
            max_producers,
            ..budget.clone()
        };
        let threshold = budget.threshold();
        let mut noise_rng = StdRng::seed_from_u64(setting("DP_SEED", 7) + 1);
        let started = Instant::now();
        let released: Vec<Vec<Option<CellSums>>> = exact
            .iter()
            .map(|cells| {
                cells
                    .iter()
                    .map(|cell| noisy_cell(&budget, *cell, threshold, &mut noise_rng))
                    .collect()
            })
            .collect();
        let noise_time = started.elapsed();
        let mut errors: Vec<f64> = Vec::new();
        let mut dropped = 0;
        for (cells, noisy) in exact.iter().zip(&released) {
            for (cell, noisy) in cells.iter().zip(noisy) {
                if cell.signatures >= 100 {
                    match noisy {
                        Some(noisy) => errors.push(
                            (noisy.signatures - cell.signatures).abs() as f64
                                / cell.signatures as f64,
                        ),
                        None => dropped += 1,
                    }
                }
            }
        }
        errors.sort_by(f64::total_cmp);
        let median = errors.get(errors.len() / 2).copied().unwrap_or(f64::NAN);
        let tau_of = |top: &[(usize, f64)]| {
            let released_index: Vec<f64> = top
                .iter()
                .map(|(p, _)| {
                    let (n, s) = totals(released[*p].iter().flatten().copied());
                    trust(prior, n, s)
                })
                .collect();
            let exact_top: Vec<f64> = top.iter().map(|(_, index)| *index).collect();
            kendall(&exact_top, &released_index)
        };
        let (tau, tau_rated) = (tau_of(&top), tau_of(&rated));
        println!(
            "| {} | {} | {} | {:.2} % | {} of {} | {:.3} | {:.3} | {:.2?} |",
            budget.rho(),
            max_producers,
            threshold,
            100.0 * median,
            dropped,
            errors.len() + dropped,
            tau,
            tau_rated,
            noise_time
        );
    }
    println!("(first row: the configured budget; targets: error < 5 %, tau >= 0.9)");

    if std::env::var("DATABASE_URL").is_ok_and(|url| !url.is_empty()) {
        let db = consumact_api::db::connect(&config).await.expect("database");
        let this_month =
            consumact_api::service::observatory::release::month_of(chrono::Utc::now().date_naive());
        let last = consumact_api::service::observatory::release::ledger::last_released(&db)
            .await
            .expect("ledger");
        let month = match last {
            Some(last) => last + chrono::Months::new(1),
            None => this_month - chrono::Months::new(1),
        };
        let started = Instant::now();
        match consumact_api::service::observatory::release::release(&db, None, &config, month).await
        {
            Ok(done) => println!(
                "released {} from the database: {} of {} cells published in {:.2?}",
                done.period,
                done.published,
                done.producers,
                started.elapsed()
            ),
            Err(err) => println!("no release: {}", err.message()),
        }
    }
}
