//! The flash-sale bench: hundreds of signed-in buyers, each on its own connection, ask at the
//! same moment to check out one unit of a SKU with 50 in stock, once with the row on flash sale
//! (its stock gate, a Durable Object, admits the checkouts) and once without (D1's `stock`
//! CHECK alone). It reports the checkouts held (never more than the stock), how long the rush
//! took to answer, the winners' and the losers' latency, and the D1 round trips per buyer
//! counted by the Worker.

use std::time::{Duration, Instant};

use serde_json::json;
use tokio::sync::Barrier;

use crate::Result;
use crate::load::Figures;
use crate::purchase::{Client, SUPPLIER, SUPPLIER_STAFF};

const BUYERS: usize = 300;
const UNITS: i64 = 50;

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
    for (round, (name, sku, flash_sale)) in
        [("stock gate", "p-0101-11", true), ("D1 only", "p-0101-12", false), ("stock gate", "p-0101-10", true)]
            .into_iter()
            .enumerate()
    {
        let stock = json!({"sku_id": sku, "on_hand": UNITS, "flash_sale": flash_sale});
        staff.expect(200, "PUT", &format!("/api/supplier/{SUPPLIER}/stock"), Some(&stock), None).await?;
        let mut buyers = Vec::with_capacity(BUYERS);
        for index in 0..BUYERS {
            let mut buyer = Client::connect(address).await?;
            buyer.sign_in(&format!("133{round:02}{index:06}")).await?;
            buyers.push(buyer);
        }
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
    }
    Ok(())
}
