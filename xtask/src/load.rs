//! A small HTTP/1.1 load generator: `clients` keep-alive connections, each sending one request
//! after another for a fixed time, every latency recorded. It measures the Worker under
//! `wrangler dev` as a shopper's phone would hit it, and `/api/health` beside it shows the
//! runtime's own ceiling on this machine.

use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use crate::Result;

pub const WARM_UP: Duration = Duration::from_secs(1);
pub const MEASURE: Duration = Duration::from_secs(5);

pub struct Figures {
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: usize,
}

impl Figures {
    /// Throughput and percentiles of latencies collected during [`MEASURE`].
    pub fn from(mut latencies: Vec<Duration>, errors: usize) -> Option<Self> {
        if latencies.is_empty() {
            return None;
        }
        latencies.sort_unstable();
        let percentile = |p: f64| {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
            let index = ((latencies.len() as f64 * p).ceil() as usize).clamp(1, latencies.len()) - 1;
            latencies[index].as_secs_f64() * 1000.0
        };
        #[allow(clippy::cast_precision_loss)]
        let requests_per_second = latencies.len() as f64 / MEASURE.as_secs_f64();
        Some(Self { requests_per_second, p50_ms: percentile(0.50), p99_ms: percentile(0.99), errors })
    }
}

pub fn report(base_url: &str) -> Result {
    let address = base_url.trim_start_matches("http://").to_owned();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| e.to_string())?;
    let paths = [("health", "/api/health"), ("shelf", "/api/stores/s-jingan/shelf?limit=20")];
    println!(
        "\nHTTP load against wrangler dev at {base_url} ({} s per run after {} s warm-up)",
        MEASURE.as_secs(),
        WARM_UP.as_secs()
    );
    println!("{:<8} {:>7} {:>10} {:>9} {:>9} {:>7}", "route", "clients", "req/s", "p50 ms", "p99 ms", "errors");
    for clients in [1, 16] {
        let mut results = Vec::new();
        for (name, path) in paths {
            let figures = runtime.block_on(measure(&address, path, clients))?;
            println!(
                "{name:<8} {clients:>7} {:>10.0} {:>9.2} {:>9.2} {:>7}",
                figures.requests_per_second, figures.p50_ms, figures.p99_ms, figures.errors
            );
            results.push(figures);
        }
        println!(
            "         shelf/health throughput ratio with {clients} client(s): {:.2}",
            results[1].requests_per_second / results[0].requests_per_second.max(f64::EPSILON)
        );
    }
    runtime.block_on(crate::purchase::report(&address))?;
    runtime.block_on(crate::flash::report(&address))
}

async fn measure(address: &str, path: &str, clients: usize) -> Result<Figures> {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (address, path) = (address.to_owned(), path.to_owned());
        tasks.push(tokio::spawn(async move { client(&address, &path, start).await }));
    }
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (client_latencies, client_errors) = task.await.map_err(|e| e.to_string())?;
        latencies.extend(client_latencies);
        errors += client_errors;
    }
    Figures::from(latencies, errors).ok_or_else(|| format!("no request to {path} succeeded"))
}

/// One keep-alive client: requests until the measuring window closes, counting only what
/// completes inside it.
async fn client(address: &str, path: &str, start: Instant) -> (Vec<Duration>, usize) {
    let mut latencies = Vec::new();
    let mut errors = 0;
    let mut connection: Option<BufReader<TcpStream>> = None;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: application/json\r\n\r\n");
    while start.elapsed() < WARM_UP + MEASURE {
        if connection.is_none() {
            if let Ok(stream) = TcpStream::connect(address).await {
                let _ = stream.set_nodelay(true);
                connection = Some(BufReader::new(stream));
            } else {
                errors += 1;
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        }
        let Some(stream) = connection.as_mut() else { continue };
        let sent = Instant::now();
        let outcome = exchange(stream, request.as_bytes()).await;
        let elapsed = sent.elapsed();
        let in_window = sent.duration_since(start) >= WARM_UP && start.elapsed() <= WARM_UP + MEASURE;
        match outcome.map(|answer| answer.status) {
            Ok(200) if in_window => latencies.push(elapsed),
            Ok(200) => {}
            Ok(_) | Err(()) => {
                if in_window {
                    errors += 1;
                }
                connection = None;
            }
        }
    }
    (latencies, errors)
}

/// One response: its status, the `name=value` of its first Set-Cookie, and its body.
pub struct Answer {
    pub status: u16,
    pub cookie: Option<String>,
    pub body: Vec<u8>,
}

/// Sends one request and reads the whole response.
pub async fn exchange(stream: &mut BufReader<TcpStream>, request: &[u8]) -> std::result::Result<Answer, ()> {
    stream.get_mut().write_all(request).await.map_err(|_| ())?;
    let mut line = String::new();
    stream.read_line(&mut line).await.map_err(|_| ())?;
    let status: u16 = line.split_whitespace().nth(1).and_then(|s| s.parse().ok()).ok_or(())?;
    let (mut length, mut chunked, mut cookie) = (0usize, false, None);
    loop {
        line.clear();
        stream.read_line(&mut line).await.map_err(|_| ())?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let lower = header.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().map_err(|_| ())?;
        } else if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        } else if lower.starts_with("set-cookie:") && cookie.is_none() {
            cookie = header[11..].split(';').next().map(|pair| pair.trim().to_owned());
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            stream.read_line(&mut line).await.map_err(|_| ())?;
            let size = usize::from_str_radix(line.trim(), 16).map_err(|_| ())?;
            let mut chunk = vec![0; size + 2];
            stream.read_exact(&mut chunk).await.map_err(|_| ())?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body = vec![0; length];
        stream.read_exact(&mut body).await.map_err(|_| ())?;
    }
    Ok(Answer { status, cookie, body })
}
