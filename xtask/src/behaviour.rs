//! The business card's bench: behaviour events ingested through the local Worker (batches of
//! 100, events/s) and recommendation latency (p50/p99), each with 1 and 16 clients.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Result;
use crate::load::{Figures, MEASURE, WARM_UP};
use crate::purchase::Client;

/// Visitors who agreed to be recorded, one connection each.
async fn visitors(address: &str, count: usize) -> Result<Vec<Client>> {
    let mut clients = Vec::new();
    for _ in 0..count {
        let mut client = Client::connect(address).await?;
        let consent = json!({"behaviour": true, "personalised": true});
        let answer = client.expect(200, "PUT", "/api/me/consent", Some(&consent), None).await?;
        client.visitor = Some(answer["visitor"].as_str().ok_or("no visitor id")?.to_owned());
        clients.push(client);
    }
    Ok(clients)
}

/// Runs `work` on every client until the window closes; the latencies inside it.
async fn measure<F, Fut>(clients: Vec<Client>, work: F) -> Result<Figures>
where
    F: Fn(Client, usize, u64) -> Fut + Send + Sync + Copy + 'static,
    Fut: std::future::Future<Output = (Client, bool)> + Send,
{
    let start = Instant::now();
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(index, mut client)| {
            tokio::spawn(async move {
                let (mut latencies, mut errors, mut n) = (Vec::<Duration>::new(), 0usize, 0u64);
                while start.elapsed() < WARM_UP + MEASURE {
                    n += 1;
                    let sent = Instant::now();
                    let (back, ok) = work(client, index, n).await;
                    client = back;
                    let in_window = sent.duration_since(start) >= WARM_UP && start.elapsed() <= WARM_UP + MEASURE;
                    match (ok, in_window) {
                        (true, true) => latencies.push(sent.elapsed()),
                        (false, true) => errors += 1,
                        _ => {}
                    }
                }
                (latencies, errors)
            })
        })
        .collect();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    for task in tasks {
        let (l, e) = task.await.map_err(|e| e.to_string())?;
        latencies.extend(l);
        errors += e;
    }
    Figures::from(latencies, errors).ok_or_else(|| "no request succeeded".to_owned())
}

pub async fn report(address: &str) -> Result {
    let mut probe = Client::connect(address).await?;
    let shelf = probe.expect(200, "GET", "/api/stores/s-jingan/shelf?limit=48", None, None).await?;
    let products: Vec<String> = shelf["items"]
        .as_array()
        .ok_or("no shelf")?
        .iter()
        .filter_map(|item| item["product_id"].as_str().map(str::to_owned))
        .collect();
    if products.is_empty() {
        return Err("the bench store's shelf is empty".to_owned());
    }
    let products: &'static [String] = Box::leak(products.into_boxed_slice());

    println!(
        "\nBehaviour events (POST /api/events, batches of 100 new events, {} s after {} s warm-up)",
        MEASURE.as_secs(),
        WARM_UP.as_secs()
    );
    println!("{:<8} {:>10} {:>12} {:>9} {:>9} {:>7}", "clients", "batches/s", "events/s", "p50 ms", "p99 ms", "errors");
    for count in [1usize, 16] {
        let clients = visitors(address, count).await?;
        let figures = measure(clients, move |mut client, index, n| async move {
            let events: Vec<Value> = (0..100)
                .map(|i| {
                    let product = &products[(usize::try_from(n).unwrap_or(0) * 7 + i + index) % products.len()];
                    let kind = if i % 10 == 0 { "cart" } else { "view" };
                    json!({"id": format!("bench-{count}-{index}-{n}-{i}"), "type": kind, "product": product})
                })
                .collect();
            let ok = client.expect(200, "POST", "/api/events", Some(&json!({"events": events})), None).await.is_ok();
            (client, ok)
        })
        .await?;
        println!(
            "{count:<8} {:>10.1} {:>12.0} {:>9.2} {:>9.2} {:>7}",
            figures.requests_per_second,
            figures.requests_per_second * 100.0,
            figures.p50_ms,
            figures.p99_ms,
            figures.errors
        );
    }

    let started = Instant::now();
    let jobs = probe.expect(200, "POST", "/api/dev/jobs", None, None).await?;
    println!(
        "\nRecommender retrained on {} touches over {} items in {:.0} ms (with the other jobs)",
        jobs["recommender"]["touches"],
        jobs["recommender"]["items"],
        started.elapsed().as_secs_f64() * 1000.0
    );
    println!("\nRecommendations (GET /api/recommendations, a visitor with 100+ events, {} s)", MEASURE.as_secs());
    println!("{:<10} {:>8} {:>10} {:>9} {:>9} {:>7}", "placement", "clients", "req/s", "p50 ms", "p99 ms", "errors");
    for (placement, query) in [("for_you", "placement=for_you"), ("goes_with", "placement=goes_with&product=p-0301")] {
        for count in [1usize, 16] {
            let clients = visitors(address, count).await?;
            let mut seeded = Vec::new();
            for (index, mut client) in clients.into_iter().enumerate() {
                let events: Vec<Value> = (0..100)
                    .map(|i| json!({"id": format!("seed-{placement}-{count}-{index}-{i}"), "type": "view", "product": products[i % products.len()]}))
                    .collect();
                client.expect(200, "POST", "/api/events", Some(&json!({"events": events})), None).await?;
                seeded.push(client);
            }
            let path: &'static str =
                Box::leak(format!("/api/recommendations?store=s-jingan&{query}&limit=8").into_boxed_str());
            let figures = measure(seeded, move |mut client, _, _| async move {
                let ok = client.expect(200, "GET", path, None, None).await.is_ok();
                (client, ok)
            })
            .await?;
            println!(
                "{placement:<10} {count:>8} {:>10.1} {:>9.2} {:>9.2} {:>7}",
                figures.requests_per_second, figures.p50_ms, figures.p99_ms, figures.errors
            );
        }
    }
    cards(&mut probe).await?;
    Ok(())
}

/// Opening a card: the card itself (`GET /api/cards/{code}`) and the visit it records (which
/// also attributes the visitor to the clerk), 1 and 16 visitors.
async fn cards(probe: &mut Client) -> Result {
    let address = probe.address().to_owned();
    // The demo clerk's card (the seed derives it from the phone).
    let clerk_card = tandem_domain::card::seeded_code("invite:13900000002", tandem_domain::card::PERSON_CODE_LEN);
    println!("\nCard opens (GET /api/cards/{{code}} then POST …/visits, a clerk's card, {} s)", MEASURE.as_secs());
    println!("{:<8} {:>10} {:>9} {:>9} {:>7}", "clients", "opens/s", "p50 ms", "p99 ms", "errors");
    let card: &'static str = Box::leak(format!("/api/cards/{clerk_card}").into_boxed_str());
    let visit: &'static str = Box::leak(format!("/api/cards/{clerk_card}/visits").into_boxed_str());
    for count in [1usize, 16] {
        let clients = visitors(&address, count).await?;
        let figures = measure(clients, move |mut client, _, _| async move {
            let ok = client.expect(200, "GET", card, None, None).await.is_ok()
                && client.expect(200, "POST", visit, Some(&json!({"kind": "card"})), None).await.is_ok();
            (client, ok)
        })
        .await?;
        println!(
            "{count:<8} {:>10.1} {:>9.2} {:>9.2} {:>7}",
            figures.requests_per_second, figures.p50_ms, figures.p99_ms, figures.errors
        );
    }
    Ok(())
}
