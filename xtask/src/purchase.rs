//! The checkout-and-payment bench: buyers, each on its own keep-alive connection, place a
//! checkout, open its payment and confirm it on the dev provider's page, one purchase after
//! another. It reports purchases per second and the latency of the whole purchase with 1 and
//! 16 buyers, and the D1 round trips each step costs, read from the Worker's own counter.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::BufReader;
use tokio::net::TcpStream;

use crate::Result;
use crate::load::{Answer, Figures, MEASURE, WARM_UP, exchange};

/// The SKU the bench buys for delivery; the bench first gives its warehouse plenty of stock.
const SKU: &str = "p-0101-05";
const SUPPLIER: &str = "sup-huafang";
const SUPPLIER_STAFF: &str = "13900000011";

/// A keep-alive connection with a session cookie.
struct Client {
    address: String,
    stream: BufReader<TcpStream>,
    cookie: Option<String>,
}

impl Client {
    async fn connect(address: &str) -> Result<Self> {
        let stream = TcpStream::connect(address).await.map_err(|e| format!("{address}: {e}"))?;
        let _ = stream.set_nodelay(true);
        Ok(Self { address: address.to_owned(), stream: BufReader::new(stream), cookie: None })
    }

    async fn call(&mut self, method: &str, path: &str, body: Option<&Value>, key: Option<&str>) -> Result<Answer> {
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
        request.push_str("\r\n");
        request.push_str(&body);
        exchange(&mut self.stream, request.as_bytes()).await.map_err(|()| format!("{method} {path}: no answer"))
    }

    /// A call that must answer `status`; its JSON body.
    async fn expect(
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

    async fn sign_in(&mut self, phone: &str) -> Result {
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

    /// One purchase: checkout, payment, confirmation.
    async fn purchase(&mut self, key: &str) -> Result {
        let body = json!({
            "store_id": "s-jingan",
            "lines": [{"sku_id": SKU, "quantity": 1, "fulfilment": "delivery"}],
            "address": {"name": "压测", "phone": "13800138000", "region": "上海市 静安区", "detail": "南京西路 1 号"},
        });
        let placed = self.expect(201, "POST", "/api/orders", Some(&body), Some(key)).await?;
        let checkout = placed["checkout"]["id"].as_str().ok_or("no checkout id")?.to_owned();
        let opened = self.expect(201, "POST", &format!("/api/checkouts/{checkout}/payments"), None, None).await?;
        let payment = opened["payment"]["id"].as_str().ok_or("no payment id")?.to_owned();
        let confirmed = self.expect(200, "POST", &format!("/api/payments/{payment}/confirm"), None, None).await?;
        if confirmed["result"] != "paid" {
            return Err(format!("payment {payment}: {confirmed}"));
        }
        Ok(())
    }

    async fn round_trips(&mut self) -> Result<u64> {
        let stats = self.expect(200, "GET", "/api/dev/stats", None, None).await?;
        stats["d1_round_trips"].as_u64().ok_or_else(|| "no counter".to_owned())
    }
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

    // Round trips per step, counted by the Worker while nothing else runs.
    let mut buyer = Client::connect(address).await?;
    buyer.sign_in("13500000000").await?;
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
    println!(
        "\nD1 round trips: checkout {}, create payment {}, confirm + notification {} (per purchase {})",
        after_checkout - before,
        after_payment - after_checkout,
        after_confirm - after_payment,
        after_confirm - before
    );

    println!(
        "\nPurchases (checkout + payment + confirmation, {} s after {} s warm-up)",
        MEASURE.as_secs(),
        WARM_UP.as_secs()
    );
    println!("{:<8} {:>10} {:>9} {:>9} {:>7}", "buyers", "orders/s", "p50 ms", "p99 ms", "errors");
    for buyers in [1usize, 16] {
        let mut signed_in = Vec::new();
        for index in 0..buyers {
            let mut client = Client::connect(address).await?;
            client.sign_in(&format!("135{buyers:02}{index:06}")).await?;
            signed_in.push(client);
        }
        let start = Instant::now();
        let tasks: Vec<_> = signed_in
            .into_iter()
            .enumerate()
            .map(|(index, mut client)| {
                tokio::spawn(async move {
                    let (mut latencies, mut errors, mut n) = (Vec::<Duration>::new(), 0usize, 0u64);
                    while start.elapsed() < WARM_UP + MEASURE {
                        n += 1;
                        let sent = Instant::now();
                        let outcome = client.purchase(&format!("bench-{buyers}-{index}-{n}")).await;
                        let in_window = sent.duration_since(start) >= WARM_UP && start.elapsed() <= WARM_UP + MEASURE;
                        match outcome {
                            Ok(()) if in_window => latencies.push(sent.elapsed()),
                            Ok(()) => {}
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
                    (latencies, errors)
                })
            })
            .collect();
        let (mut latencies, mut errors) = (Vec::new(), 0);
        for task in tasks {
            let (client_latencies, client_errors) = task.await.map_err(|e| e.to_string())?;
            latencies.extend(client_latencies);
            errors += client_errors;
        }
        let figures = Figures::from(latencies, errors).ok_or("no purchase succeeded")?;
        println!(
            "{buyers:<8} {:>10.1} {:>9.2} {:>9.2} {:>7}",
            figures.requests_per_second, figures.p50_ms, figures.p99_ms, figures.errors
        );
    }
    Ok(())
}
