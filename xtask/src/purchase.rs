//! The checkout-and-payment bench: buyers, each on its own keep-alive connection, place a
//! checkout, open its payment and confirm it on the dev provider's page, one purchase after
//! another. It reports purchases per second and the latency of the whole purchase for one
//! payer and for 16 in three populations side by side: no inviter, each bound to a sharer of
//! its own, all bound to one sharer (every sharer an agent, so each payment posts a reward);
//! with the payment write tries a guard refused, per purchase, and the D1 round trips each
//! step costs, both read from the Worker's own counters. The confirmation step (the
//! provider's notification) is timed apart.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tandem_domain::api::dev::Stats;
use tokio::io::BufReader;
use tokio::net::TcpStream;

use crate::Result;
use crate::load::{Answer, Figures, MEASURE, WARM_UP, exchange};

/// The SKU the bench buys for delivery; the bench first gives its warehouse plenty of stock.
pub const SKU: &str = "p-0101-05";
pub const SUPPLIER: &str = "sup-huafang";
pub const SUPPLIER_STAFF: &str = "13900000011";
/// The designated product the sharer buys to become an agent, and its supplier's staff.
const GIFT: &str = "p-0208-01";
const GIFT_STAFF: &str = "13900000012";

/// A keep-alive connection with a session cookie (or an anonymous visitor's id).
pub struct Client {
    address: String,
    stream: BufReader<TcpStream>,
    cookie: Option<String>,
    pub visitor: Option<String>,
}

impl Client {
    pub fn address(&self) -> &str {
        &self.address
    }

    pub async fn connect(address: &str) -> Result<Self> {
        let stream = TcpStream::connect(address).await.map_err(|e| format!("{address}: {e}"))?;
        let _ = stream.set_nodelay(true);
        Ok(Self { address: address.to_owned(), stream: BufReader::new(stream), cookie: None, visitor: None })
    }

    pub async fn call(&mut self, method: &str, path: &str, body: Option<&Value>, key: Option<&str>) -> Result<Answer> {
        let body = body.map(Value::to_string).unwrap_or_default();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
            self.address,
            body.len()
        );
        if let Some(cookie) = &self.cookie {
            request.push_str(&format!("Cookie: {cookie}\r\n"));
        }
        if let Some(key) = key {
            request.push_str(&format!("Idempotency-Key: {key}\r\n"));
        }
        if let Some(visitor) = &self.visitor {
            request.push_str(&format!("X-Tandem-Visitor: {visitor}\r\n"));
        }
        request.push_str("\r\n");
        request.push_str(&body);
        exchange(&mut self.stream, request.as_bytes()).await.map_err(|()| format!("{method} {path}: no answer"))
    }

    /// A call that must answer `status`; its JSON body.
    pub async fn expect(
        &mut self,
        status: u16,
        method: &str,
        path: &str,
        body: Option<&Value>,
        key: Option<&str>,
    ) -> Result<Value> {
        let answer = self.call(method, path, body, key).await?;
        let text = String::from_utf8_lossy(&answer.body).into_owned();
        if answer.status != status {
            return Err(format!("{method} {path}: {} {text}", answer.status));
        }
        serde_json::from_str(&text).map_err(|e| format!("{method} {path}: {e}: {text}"))
    }

    pub async fn sign_in(&mut self, phone: &str) -> Result {
        self.expect(200, "POST", "/api/auth/code", Some(&json!({"phone": phone})), None).await?;
        let outbox = self.expect(200, "GET", &format!("/api/dev/otp?phone={phone}"), None, None).await?;
        let code = outbox["code"].as_str().ok_or("no code in the outbox")?.to_owned();
        let answer = self.call("POST", "/api/auth/session", Some(&json!({"phone": phone, "code": code})), None).await?;
        if answer.status != 200 {
            return Err(format!("sign-in of {phone}: {}", answer.status));
        }
        self.cookie = answer.cookie;
        Ok(())
    }

    /// One purchase of `sku`: checkout, payment, confirmation; how long the confirmation took.
    async fn purchase(&mut self, key: &str, sku: &str) -> Result<Duration> {
        self.purchase_orders(key, sku).await.map(|(took, _)| took)
    }

    /// One purchase of `sku`: how long the confirmation took, and the orders it paid.
    pub async fn purchase_orders(&mut self, key: &str, sku: &str) -> Result<(Duration, Vec<String>)> {
        let body = json!({
            "store_id": "s-jingan",
            "lines": [{"sku_id": sku, "quantity": 1, "fulfilment": "delivery"}],
            "address": {"name": "压测", "phone": "13800138000", "region": "上海市 静安区", "detail": "南京西路 1 号"},
        });
        let placed = self.expect(201, "POST", "/api/orders", Some(&body), Some(key)).await?;
        let checkout = placed["checkout"]["id"].as_str().ok_or("no checkout id")?.to_owned();
        let opened = self.expect(201, "POST", &format!("/api/checkouts/{checkout}/payments"), None, None).await?;
        let payment = opened["payment"]["id"].as_str().ok_or("no payment id")?.to_owned();
        let sent = Instant::now();
        let confirmed = self.expect(200, "POST", &format!("/api/payments/{payment}/confirm"), None, None).await?;
        if confirmed["result"] != "paid" {
            return Err(format!("payment {payment}: {confirmed}"));
        }
        let took = sent.elapsed();
        let orders = placed["checkout"]["orders"].as_array().ok_or("no orders")?;
        Ok((took, orders.iter().filter_map(|o| o["id"].as_str().map(str::to_owned)).collect()))
    }

    /// The same person on a new connection of `address` (after the Worker restarted).
    pub async fn reconnect(&self, address: &str) -> Result<Self> {
        let mut client = Self::connect(address).await?;
        client.cookie.clone_from(&self.cookie);
        Ok(client)
    }

    /// Opens the invite link of `code` signed in: bound to its sharer (the answer is the app's
    /// page with the inviter's preview).
    async fn bind_to(&mut self, code: &str) -> Result {
        let answer = self.call("GET", &format!("/i/{code}"), None, None).await?;
        if answer.status == 200 { Ok(()) } else { Err(format!("invite link: {}", answer.status)) }
    }

    /// The Worker's own counters (`GET /api/dev/stats`), read as the API's type.
    async fn stats(&mut self) -> Result<Stats> {
        let stats = self.expect(200, "GET", "/api/dev/stats", None, None).await?;
        serde_json::from_value(stats).map_err(|e| format!("GET /api/dev/stats: {e}"))
    }

    pub async fn round_trips(&mut self) -> Result<u64> {
        Ok(self.stats().await?.d1_round_trips)
    }

    /// Payments applied and payment tries refused by a guard, counted by the Worker.
    async fn tries(&mut self) -> Result<(u64, u64)> {
        let stats = self.stats().await?;
        Ok((stats.payments_applied, stats.payment_tries_refused))
    }
}

/// Whom the buyers of a population are bound to.
#[derive(Clone, Copy, PartialEq)]
enum Inviter {
    Nobody,
    /// Each buyer to a sharer of its own.
    Own,
    /// All to the same sharer.
    One,
}

pub async fn report(address: &str) -> Result {
    let mut staff = Client::connect(address).await?;
    staff.sign_in(SUPPLIER_STAFF).await?;
    staff
        .expect(
            200,
            "PUT",
            &format!("/api/supplier/{SUPPLIER}/stock"),
            Some(&json!({"sku_id": SKU, "on_hand": 1_000_000})),
            None,
        )
        .await?;

    let mut gift_staff = Client::connect(address).await?;
    gift_staff.sign_in(GIFT_STAFF).await?;
    let stock = json!({"sku_id": GIFT, "on_hand": 1_000});
    gift_staff.expect(200, "PUT", "/api/supplier/sup-yangguang/stock", Some(&stock), None).await?;
    // The sharer buys the designated product: an agent, paid on its directs' orders.
    let mut sharer = Client::connect(address).await?;
    sharer.sign_in("13499999999").await?;
    sharer.purchase("sharer-gift", GIFT).await?;
    let centre = sharer.expect(200, "GET", "/api/chain/me", None, None).await?;
    if centre["identity"] != "agent" {
        return Err(format!("the bench's sharer is not an agent: {centre}"));
    }
    let code = centre["invite_code"].as_str().ok_or("no invite code")?.to_owned();

    // Round trips per step, counted by the Worker while nothing else runs.
    let mut buyer = Client::connect(address).await?;
    buyer.sign_in("13500000000").await?;
    buyer.bind_to(&code).await?;
    let body = json!({"store_id": "s-jingan", "lines": [{"sku_id": SKU, "quantity": 1, "fulfilment": "delivery"}],
                      "address": {"name": "压测", "phone": "13800138000", "region": "上海市", "detail": "一号"}});
    let before = buyer.round_trips().await?;
    let placed = buyer.expect(201, "POST", "/api/orders", Some(&body), Some("count-1")).await?;
    let after_checkout = buyer.round_trips().await?;
    let checkout = placed["checkout"]["id"].as_str().ok_or("no checkout id")?.to_owned();
    let opened = buyer.expect(201, "POST", &format!("/api/checkouts/{checkout}/payments"), None, None).await?;
    let after_payment = buyer.round_trips().await?;
    let payment = opened["payment"]["id"].as_str().ok_or("no payment id")?.to_owned();
    buyer.expect(200, "POST", &format!("/api/payments/{payment}/confirm"), None, None).await?;
    let after_confirm = buyer.round_trips().await?;
    let rewards =
        sharer.expect(200, "GET", "/api/chain/me", None, None).await?["rewards"].as_array().map_or(0, Vec::len);
    if rewards != 1 {
        return Err(format!("the counted purchase should have posted the sharer's reward: {rewards} rewards"));
    }
    println!(
        "\nD1 round trips: checkout {}, create payment {}, confirm + notification {} (per purchase {})",
        after_checkout - before,
        after_payment - after_checkout,
        after_confirm - after_payment,
        after_confirm - before
    );

    // Sharers of their own, one per buyer of the "own sharer" population: each an agent.
    let mut own_codes = Vec::new();
    for index in 0..16 {
        let mut own = Client::connect(address).await?;
        own.sign_in(&format!("134{index:08}")).await?;
        own.purchase(&format!("own-sharer-gift-{index}"), GIFT).await?;
        let centre = own.expect(200, "GET", "/api/chain/me", None, None).await?;
        own_codes.push(centre["invite_code"].as_str().ok_or("no invite code")?.to_owned());
    }

    println!(
        "\nPurchases (checkout + payment + confirmation, {} s after {} s warm-up each; \
         refused = payment write tries a guard refused, per purchase, counted by the Worker)",
        MEASURE.as_secs(),
        WARM_UP.as_secs()
    );
    println!(
        "{:<22} {:>7} {:>10} {:>9} {:>9} {:>7} {:>9} {:>14} {:>14}",
        "population", "buyers", "orders/s", "p50 ms", "p99 ms", "errors", "refused", "notify p50 ms", "notify p99 ms"
    );
    let inviter_of = |inviter: Inviter, index: usize| match inviter {
        Inviter::Nobody => None,
        Inviter::Own => own_codes.get(index).cloned(),
        Inviter::One => Some(code.clone()),
    };
    // The 16-payer populations run twice, alternating, so a drift of the machine over the run
    // does not favour one; the ratios are of their means.
    let populations = [
        ("no inviter", 1, Inviter::Nobody),
        ("one sharer", 1, Inviter::One),
        ("no inviter", 16, Inviter::Nobody),
        ("each its own sharer", 16, Inviter::Own),
        ("all one sharer", 16, Inviter::One),
        ("no inviter", 16, Inviter::Nobody),
        ("each its own sharer", 16, Inviter::Own),
        ("all one sharer", 16, Inviter::One),
    ];
    let mut single = None;
    let mut sixteen: Vec<(&str, f64)> = Vec::new();
    for (number, &(name, buyers, inviter)) in populations.iter().enumerate() {
        let inviter = |index: usize| inviter_of(inviter, index);
        let mut signed_in = Vec::new();
        for index in 0..buyers {
            let mut client = Client::connect(address).await?;
            client.sign_in(&format!("135{number:02}{index:06}")).await?;
            if let Some(code) = inviter(index) {
                client.bind_to(&code).await?;
            }
            signed_in.push(client);
        }
        let before = sharer.tries().await?;
        let (figures, notify) = run(signed_in, &format!("bench-{number}")).await?;
        let after = sharer.tries().await?;
        let applied = after.0 - before.0;
        #[allow(clippy::cast_precision_loss)]
        let refused = (after.1 - before.1) as f64 / applied.max(1) as f64;
        println!(
            "{name:<22} {buyers:>7} {:>10.1} {:>9.2} {:>9.2} {:>7} {refused:>9.3} {:>14.2} {:>14.2}",
            figures.requests_per_second, figures.p50_ms, figures.p99_ms, figures.errors, notify.p50_ms, notify.p99_ms
        );
        if buyers == 1 && inviter(0).is_none() {
            single = Some(figures.requests_per_second);
        }
        if buyers == 16 {
            sixteen.push((name, figures.requests_per_second));
        }
    }
    let mean = |population: &str| {
        let runs: Vec<f64> = sixteen.iter().filter(|(n, _)| *n == population).map(|(_, r)| *r).collect();
        #[allow(clippy::cast_precision_loss)]
        let mean = runs.iter().sum::<f64>() / runs.len().max(1) as f64;
        mean
    };
    let alone = mean("no inviter");
    println!("\n16 payers, mean of two runs each:");
    for population in ["no inviter", "each its own sharer", "all one sharer"] {
        let rate = mean(population);
        let ratio_single = single.map_or(String::new(), |s| format!(", {:.2}x one payer", rate / s));
        println!("{population:<22} {rate:>7.1} orders/s, {:.2}x no inviter{ratio_single}", rate / alone);
    }
    Ok(())
}

/// The signed-in `buyers` purchase one after another for [`WARM_UP`] + [`MEASURE`]: the
/// figures of the purchases, and of their confirmations, sent in the measured window.
async fn run(buyers: Vec<Client>, tag: &str) -> Result<(Figures, Figures)> {
    let start = Instant::now();
    let tasks: Vec<_> = buyers
        .into_iter()
        .enumerate()
        .map(|(index, mut client)| {
            let tag = format!("{tag}-{index}");
            tokio::spawn(async move {
                let (mut latencies, mut notify, mut errors, mut n) = (Vec::<Duration>::new(), Vec::new(), 0usize, 0u64);
                while start.elapsed() < WARM_UP + MEASURE {
                    n += 1;
                    let sent = Instant::now();
                    let outcome = client.purchase(&format!("{tag}-{n}"), SKU).await;
                    let in_window = sent.duration_since(start) >= WARM_UP && start.elapsed() <= WARM_UP + MEASURE;
                    match outcome {
                        Ok(confirmation) if in_window => {
                            latencies.push(sent.elapsed());
                            notify.push(confirmation);
                        }
                        Ok(_) => {}
                        Err(error) => {
                            if in_window {
                                errors += 1;
                            }
                            if errors == 1 {
                                eprintln!("bench: {error}");
                            }
                        }
                    }
                }
                (latencies, notify, errors)
            })
        })
        .collect();
    let (mut latencies, mut notify, mut errors) = (Vec::new(), Vec::new(), 0);
    for task in tasks {
        let (client_latencies, client_notify, client_errors) = task.await.map_err(|e| e.to_string())?;
        latencies.extend(client_latencies);
        notify.extend(client_notify);
        errors += client_errors;
    }
    let figures = Figures::from(latencies, errors).ok_or("no purchase succeeded")?;
    let notify = Figures::from(notify, 0).ok_or("no notification timed")?;
    Ok((figures, notify))
}
