//! The flash-sale bench: hundreds of signed-in buyers, each on its own connection, ask at the
//! same moment to check out one unit of a SKU with 50 in stock, once with the row on flash sale
//! (its stock gate, a Durable Object, admits the checkouts) and once without (D1's `stock`
//! CHECK alone). It reports the checkouts held (never more than the stock), how long the rush
//! took to answer, the winners' and the losers' latency, and the D1 round trips per buyer
//! counted by the Worker; then, the SKU sold out, 16 of those buyers keep asking (each time under
//! a new key) for a few seconds, as shoppers do after a sale ends: refusals per second, their
//! latency and their D1 round trips.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Barrier;

use crate::Result;
use crate::load::Figures;
use crate::purchase::{Client, SUPPLIER, SUPPLIER_STAFF};

const BUYERS: usize = 300;
const UNITS: i64 = 50;
/// Buyers who keep asking after the SKU sold out, and for how long.
const KEEP_ASKING: usize = 16;
const AFTER: Duration = Duration::from_secs(3);

pub async fn report(address: &str) -> Result {
    let mut staff = Client::connect(address).await?;
    staff.sign_in(SUPPLIER_STAFF).await?;
    // Keys of their own on each run, so a run against a Worker that saw one before is not answered
    // with the earlier run's kept answers.
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
    println!("\nFlash sale: {BUYERS} buyers at once for {UNITS} units (one checkout each)");
    println!(
        "{:<14} {:>6} {:>9} {:>11} {:>11} {:>11} {:>11} {:>11}",
        "path", "held", "rush ms", "won p50", "won p99", "lost p50", "lost p99", "D1 trips/buyer"
    );
    let mut after_rows = Vec::new();
    for (round, (name, sku, flash_sale)) in
        [("stock gate", "p-0101-11", true), ("D1 only", "p-0101-12", false), ("stock gate", "p-0101-10", true)]
            .into_iter()
            .enumerate()
    {
        let stock = json!({"sku_id": sku, "on_hand": UNITS, "flash_sale": flash_sale});
        staff.expect(200, "PUT", &format!("/api/supplier/{SUPPLIER}/stock"), Some(&stock), None).await?;
        let buyers = signed_in(address, round, BUYERS).await?;
        let trips_before = staff.round_trips().await?;
        let barrier = std::sync::Arc::new(Barrier::new(BUYERS + 1));
        let tasks: Vec<_> = buyers
            .into_iter()
            .enumerate()
            .map(|(index, mut buyer)| {
                let (barrier, key) = (barrier.clone(), format!("flash-{run}-{index}"));
                let body = json!({"store_id": "s-jingan", "lines": [{"sku_id": sku, "quantity": 1, "fulfilment": "delivery"}],
                                  "address": {"name": "秒杀", "phone": "13800138000", "region": "上海市", "detail": "一号"}});
                tokio::spawn(async move {
                    barrier.wait().await;
                    let sent = Instant::now();
                    let answer = buyer.call("POST", "/api/orders", Some(&body), Some(&key)).await;
                    (answer.map(|a| a.status), sent.elapsed())
                })
            })
            .collect();
        barrier.wait().await;
        let rush = Instant::now();
        let (mut won, mut lost, mut errors) = (Vec::<Duration>::new(), Vec::<Duration>::new(), 0usize);
        for task in tasks {
            match task.await.map_err(|e| e.to_string())? {
                (Ok(201), took) => won.push(took),
                (Ok(409), took) => lost.push(took),
                (other, _) => {
                    errors += 1;
                    eprintln!("bench: flash sale answered {other:?}");
                }
            }
        }
        let rush_ms = rush.elapsed().as_secs_f64() * 1000.0;
        let trips = staff.round_trips().await? - trips_before;
        let held = won.len();
        if held > usize::try_from(UNITS).unwrap_or(0) || errors > 0 {
            return Err(format!("flash sale on {name}: {held} held of {UNITS}, {errors} errors"));
        }
        let won = Figures::from(won, 0).ok_or("nobody won the flash sale")?;
        let lost = Figures::from(lost, 0).ok_or("nobody lost the flash sale")?;
        #[allow(clippy::cast_precision_loss)]
        let per_buyer = trips as f64 / BUYERS as f64;
        println!(
            "{name:<14} {held:>6} {rush_ms:>9.0} {:>11.1} {:>11.1} {:>11.1} {:>11.1} {per_buyer:>11.2}",
            won.p50_ms, won.p99_ms, lost.p50_ms, lost.p99_ms
        );
        let again = signed_in(address, round, KEEP_ASKING).await?;
        let trips_before = staff.round_trips().await?;
        let (refused, count) = keep_asking(again, sku, run).await?;
        let trips = staff.round_trips().await? - trips_before;
        #[allow(clippy::cast_precision_loss)]
        let per_refusal = trips as f64 / count.max(1) as f64;
        after_rows.push((name, refused, per_refusal));
    }
    println!("\nSold out: {KEEP_ASKING} buyers keep asking for {} s, a new key each time", AFTER.as_secs());
    println!("{:<14} {:>11} {:>11} {:>11} {:>16}", "path", "refused/s", "p50 ms", "p99 ms", "D1 trips/refusal");
    for (name, refused, per_refusal) in after_rows {
        println!(
            "{name:<14} {:>11.1} {:>11.2} {:>11.2} {per_refusal:>16.2}",
            refused.requests_per_second, refused.p50_ms, refused.p99_ms
        );
    }
    Ok(())
}

/// The first `count` buyers of `round`, each signed in on a connection of its own.
async fn signed_in(address: &str, round: usize, count: usize) -> Result<Vec<Client>> {
    let mut buyers = Vec::with_capacity(count);
    for index in 0..count {
        let mut buyer = Client::connect(address).await?;
        buyer.sign_in(&format!("133{round:02}{index:06}")).await?;
        buyers.push(buyer);
    }
    Ok(buyers)
}

/// The signed-in `buyers` ask for `sku` again and again for [`AFTER`], each time under a new
/// key; every answer must be a refusal. Their figures (the rate over [`AFTER`]), and how many
/// refusals there were.
async fn keep_asking(buyers: Vec<Client>, sku: &str, run: u128) -> Result<(Figures, usize)> {
    let tasks: Vec<_> = buyers
        .into_iter()
        .enumerate()
        .map(|(index, mut buyer)| {
            let sku = sku.to_owned();
            tokio::spawn(async move {
                let body = json!({"store_id": "s-jingan", "lines": [{"sku_id": sku, "quantity": 1, "fulfilment": "delivery"}],
                                  "address": {"name": "秒杀", "phone": "13800138000", "region": "上海市", "detail": "一号"}});
                let (start, mut latencies) = (Instant::now(), Vec::new());
                while start.elapsed() < AFTER {
                    let key = format!("again-{run}-{index}-{}", latencies.len());
                    let sent = Instant::now();
                    let answer = buyer.call("POST", "/api/orders", Some(&body), Some(&key)).await?;
                    if answer.status != 409 {
                        return Err(format!("a sold-out flash sale answered {}", answer.status));
                    }
                    latencies.push(sent.elapsed());
                }
                Ok::<_, String>(latencies)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.map_err(|e| e.to_string())??);
    }
    let count = latencies.len();
    #[allow(clippy::cast_precision_loss)]
    let rate = count as f64 / AFTER.as_secs_f64();
    let figures = Figures::from(latencies, 0).ok_or("nobody asked after the sale")?;
    Ok((Figures { requests_per_second: rate, ..figures }, count))
}
