//! The crash test of `cargo xtask test`: a Worker on a state folder of its own takes a purchase
//! load, is killed in the middle of it (SIGKILL to wrangler and workerd, no shutdown), and is
//! started again on the same state. Then nothing may be half-written: every order a client saw
//! as paid is still paid with exactly one payment transaction, every ledger transaction
//! balances (so the ledger sums to zero), the stock held equals the holds of unpaid orders, a
//! paid checkout has exactly one successful payment and only paid orders; and the restarted
//! Worker shows each buyer its paid orders and takes the next purchase.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::Result;
use crate::purchase::{Client, SKU, SUPPLIER, SUPPLIER_STAFF};
use crate::server::{Profile, Server, prepare_database};
use crate::setup::Tools;

const BUYERS: usize = 8;
/// The kill comes once this many orders were seen paid (every buyer is then mid-purchase),
/// or after [`AT_THE_LATEST`].
const PAID_BEFORE_KILL: usize = 40;
const AT_THE_LATEST: Duration = Duration::from_secs(20);

/// Each check is a query of the rows that break an invariant: none may come back.
const CHECKS: [(&str, &str); 6] = [
    (
        "every ledger transaction balances",
        "SELECT transaction_id, sum(debit_fen) - sum(credit_fen) AS off FROM ledger_entries
         GROUP BY transaction_id HAVING off != 0",
    ),
    (
        "the stock held equals the holds of unpaid orders",
        "SELECT s.location_id, s.sku_id, s.reserved, coalesce(h.held, 0) AS held FROM stock s
         LEFT JOIN (SELECT l.location_id, l.sku_id, sum(l.quantity) AS held
                    FROM order_lines l JOIN orders o ON o.id = l.order_id
                    WHERE o.state = 'awaiting_payment' GROUP BY l.location_id, l.sku_id) h
           ON h.location_id = s.location_id AND h.sku_id = s.sku_id
         WHERE s.reserved != coalesce(h.held, 0)",
    ),
    (
        "a paid order has exactly one payment transaction, an unpaid one none",
        "SELECT o.id, o.paid_at, (SELECT count(*) FROM ledger_transactions t
                                  WHERE t.order_id = o.id AND t.kind = 'payment') AS payments
         FROM orders o WHERE payments != (o.paid_at IS NOT NULL)",
    ),
    (
        "a checkout is paid exactly when one payment succeeded, and then all its orders are",
        "SELECT c.id, c.state FROM checkouts c
         WHERE (c.state = 'paid') != ((SELECT count(*) FROM payments p
                                       WHERE p.checkout_id = c.id AND p.status = 'succeeded') = 1)
            OR (c.state = 'paid' AND EXISTS (SELECT 1 FROM orders o WHERE o.checkout_id = c.id AND o.paid_at IS NULL))",
    ),
    (
        "every checkout has its orders and every order its lines",
        "SELECT c.id FROM checkouts c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.checkout_id = c.id)
         UNION ALL SELECT o.id FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)",
    ),
    (
        "a paid order's total reached the platform's clearing once",
        "SELECT o.id FROM orders o WHERE o.paid_at IS NOT NULL AND o.total_fen != (
             SELECT coalesce(sum(e.debit_fen), 0) FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
             WHERE t.order_id = o.id AND t.kind = 'payment' AND e.account LIKE 'clearing:%')",
    ),
];

pub fn run(tools: &Tools) -> Result {
    let state = Server::state_of("crash");
    let _ = std::fs::remove_dir_all(&state);
    prepare_database(tools, &state)?;
    let server = Server::start(tools, "crash", &state, Profile::Development)?;
    let address = server.base_url().trim_start_matches("http://").to_owned();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let (buyers, seen) = runtime.block_on(load_until_killed(&address, server))?;
    eprintln!("xtask: crash: killed the Worker after {} paid orders", seen.len());
    if seen.is_empty() {
        return Err("crash: no purchase was paid before the kill".to_owned());
    }
    check_state(tools, &state, &seen)?;
    let restarted = Server::start(tools, "crash", &state, Profile::Development)?;
    let address = restarted.base_url().trim_start_matches("http://").to_owned();
    runtime.block_on(after_restart(&address, &buyers, &seen))?;
    drop(restarted);
    check_state(tools, &state, &seen)?;
    eprintln!("xtask: crash: nothing half-written; the restarted Worker took the next purchase");
    Ok(())
}

/// Buyers purchase one after another until the Worker is killed under them; the buyers and the
/// orders each saw as paid (`seen[i]` is buyer `i`'s).
async fn load_until_killed(address: &str, server: Server) -> Result<(Vec<Client>, Vec<(usize, String)>)> {
    let mut staff = Client::connect(address).await?;
    staff.sign_in(SUPPLIER_STAFF).await?;
    let stock = json!({"sku_id": SKU, "on_hand": 100_000});
    staff.expect(200, "PUT", &format!("/api/supplier/{SUPPLIER}/stock"), Some(&stock), None).await?;
    let mut buyers = Vec::new();
    for index in 0..BUYERS {
        let mut buyer = Client::connect(address).await?;
        buyer.sign_in(&format!("1370000{index:04}")).await?;
        buyers.push(buyer);
    }
    let mut loaders = Vec::new();
    for buyer in &buyers {
        loaders.push(buyer.reconnect(address).await?);
    }
    let seen = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    let tasks: Vec<_> = loaders
        .into_iter()
        .enumerate()
        .map(|(index, mut client)| {
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                for n in 0.. {
                    match client.purchase_orders(&format!("crash-{index}-{n}"), SKU).await {
                        Ok((_, orders)) => {
                            let mut seen = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                            seen.extend(orders.into_iter().map(|order| (index, order)));
                        }
                        // The Worker is gone (or refused mid-kill): this buyer stops.
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    while start.elapsed() < AT_THE_LATEST
        && seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len() < PAID_BEFORE_KILL
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    for task in tasks {
        let _ = task.await;
    }
    let seen = seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
    Ok((buyers, seen))
}

/// Runs every check of [`CHECKS`] and the orders seen as paid against the database in `state`.
fn check_state(tools: &Tools, state: &std::path::Path, seen: &[(usize, String)]) -> Result {
    let ids: Vec<&str> = seen.iter().map(|(_, order)| order.as_str()).collect();
    let ids = serde_json::to_string(&ids).map_err(|e| e.to_string())?.replace('\'', "''");
    let seen_paid = format!(
        "SELECT value AS id FROM json_each('{ids}')
         WHERE value NOT IN (SELECT id FROM orders WHERE paid_at IS NOT NULL)"
    );
    let mut broken = Vec::new();
    for (name, sql) in
        CHECKS.iter().map(|&(n, s)| (n, s.to_owned())).chain([("every order seen as paid is paid", seen_paid)])
    {
        let rows = query(tools, state, &sql)?;
        if !rows.is_empty() {
            broken.push(format!("{name}: {}", Value::Array(rows)));
        }
    }
    if broken.is_empty() { Ok(()) } else { Err(format!("crash: {}", broken.join("; "))) }
}

/// The rows of one query against the local D1 in `state`.
fn query(tools: &Tools, state: &std::path::Path, sql: &str) -> Result<Vec<Value>> {
    let text = crate::output(
        tools
            .wrangler()
            .args(["d1", "execute", "DB", "--local", "--json", "--command", sql, "--persist-to"])
            .arg(state),
    )?;
    let parsed: Value = serde_json::from_str(&text).map_err(|e| format!("wrangler d1 execute: {e}: {text}"))?;
    parsed[0]["results"].as_array().cloned().ok_or_else(|| format!("wrangler d1 execute: no results: {text}"))
}

/// After the restart each buyer still sees its paid orders as paid, and buys again.
async fn after_restart(address: &str, buyers: &[Client], seen: &[(usize, String)]) -> Result {
    for (index, buyer) in buyers.iter().enumerate() {
        let mut client = buyer.reconnect(address).await?;
        for (_, order) in seen.iter().filter(|(i, _)| *i == index) {
            let answer = client.expect(200, "GET", &format!("/api/orders/{order}"), None, None).await?;
            if answer["order"]["state"] != "paid" {
                return Err(format!("crash: order {order} was paid before the kill and is not now: {answer}"));
            }
        }
    }
    let mut client = buyers.first().ok_or("no buyer")?.reconnect(address).await?;
    client.purchase_orders("crash-after-restart", SKU).await?;
    Ok(())
}
