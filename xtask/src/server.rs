//! `wrangler dev` for development, tests and benchmarks: migrations, demo data, start, wait
//! until the Worker answers, stop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::setup::Tools;
use crate::{Result, output, root, run};

/// Applies the D1 migrations to the local database in `state` and loads the demo data when the
/// database has no stores yet.
pub fn prepare_database(tools: &Tools, state: &Path) -> Result {
    run(tools.wrangler().args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"]).arg(state))?;
    let count = output(
        tools
            .wrangler()
            .args([
                "d1",
                "execute",
                "DB",
                "--local",
                "--json",
                "--command",
                "SELECT COUNT(*) AS stores FROM stores",
                "--persist-to",
            ])
            .arg(state),
    )?;
    let parsed: serde_json::Value = serde_json::from_str(&count)
        .map_err(|e| format!("unexpected answer from wrangler d1 execute: {e}: {count}"))?;
    if parsed[0]["results"][0]["stores"].as_i64() != Some(0) {
        eprintln!("xtask: the database already has stores; demo data left as it is");
        return Ok(());
    }
    let demo = root().join("target/demo.sql");
    run(Command::new("cargo")
        .args(["run", "--quiet", "-p", "tandem-cli", "--", "seed", "sql", "--keys"])
        .arg(root().join(".dev.vars"))
        .arg("--out")
        .arg(&demo))?;
    // wrangler prints a JSON result per statement; only a failure is worth showing.
    output(
        tools.wrangler().args(["d1", "execute", "DB", "--local", "--file"]).arg(&demo).arg("--persist-to").arg(state),
    )?;
    eprintln!("xtask: loaded the demo data into {}", state.display());
    Ok(())
}

fn wrangler_dev(tools: &Tools, state: &Path, port: u16) -> Command {
    let mut command = tools.wrangler();
    command.args(["dev", "--local", "--ip", "127.0.0.1", "--port", &port.to_string(), "--persist-to"]).arg(state);
    command
}

/// Which configuration a test Worker runs with.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `.dev.vars` as `cargo xtask dev` uses it: `DEV_MODE`, raised per-address limits.
    Development,
    /// What production sets: the secrets only. No `DEV_MODE`, no dev payment provider, the
    /// default rate limits.
    Production,
}

/// A copy of `wrangler.toml` with absolute paths in a folder of its own, beside a `.dev.vars`
/// holding only the secrets: wrangler reads `.dev.vars` from the configuration's folder.
fn production_config() -> Result<PathBuf> {
    let root = root();
    let folder = root.join("target/production-config");
    std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let absolute = |relative: &str| root.join(relative).display().to_string();
    let config = std::fs::read_to_string(root.join("wrangler.toml"))
        .map_err(|e| format!("wrangler.toml: {e}"))?
        .replace("\"worker/build/index.js\"", &format!("\"{}\"", absolute("worker/build/index.js")))
        .replace("\"app/dist\"", &format!("\"{}\"", absolute("app/dist")))
        .replace("\"worker/migrations\"", &format!("\"{}\"", absolute("worker/migrations")));
    std::fs::write(folder.join("wrangler.toml"), config).map_err(|e| e.to_string())?;
    let vars = std::fs::read_to_string(root.join(".dev.vars")).map_err(|e| format!(".dev.vars: {e}"))?;
    let mut secrets = String::new();
    for line in vars.lines() {
        if ["OTP_KEY=", "LOOKUP_KEY=", "PHONE_ENC_KEY=", "PAYMENT_DEV_KEY="].iter().any(|k| line.starts_with(k)) {
            secrets.push_str(line);
            secrets.push('\n');
        }
    }
    std::fs::write(folder.join(".dev.vars"), secrets).map_err(|e| e.to_string())?;
    Ok(folder.join("wrangler.toml"))
}

/// Serves until interrupted, printing the URL once the Worker answers.
pub fn serve_foreground(tools: &Tools, state: &Path, port: u16) -> Result {
    let mut child = wrangler_dev(tools, state, port).spawn().map_err(|e| format!("wrangler dev: {e}"))?;
    let url = format!("http://127.0.0.1:{port}");
    match wait_until_healthy(port, Duration::from_secs(90)) {
        Ok(()) => eprintln!("\n  Tandem is ready at {url}/  (a store's QR code opens {url}/?store=s-jingan)\n"),
        Err(message) => eprintln!("xtask: {message}"),
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() { Ok(()) } else { Err(format!("wrangler dev exited ({status})")) }
}

/// A `wrangler dev` on a free port with a state folder of its own, stopped (with everything it
/// started) when dropped.
pub struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// A Worker on a new state folder with the migrations and the demo data.
    pub fn start_fresh(tools: &Tools, name: &str, profile: Profile) -> Result<Server> {
        let state = Self::state_of(name);
        let _ = std::fs::remove_dir_all(&state);
        prepare_database(tools, &state)?;
        Self::start(tools, name, &state, profile)
    }

    /// The state folder of a test Worker called `name` in this run.
    pub fn state_of(name: &str) -> PathBuf {
        root().join(format!("target/wrangler-state/{name}-{}", std::process::id()))
    }

    /// A Worker on `state` as it is, on a free port.
    pub fn start(tools: &Tools, name: &str, state: &Path, profile: Profile) -> Result<Server> {
        let port = free_port()?;
        let log_path = root().join(format!("target/wrangler-{name}.log"));
        let log = std::fs::File::create(&log_path).map_err(|e| format!("{}: {e}", log_path.display()))?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let mut command = wrangler_dev(tools, state, port);
        match profile {
            Profile::Production => {
                command.arg("--config").arg(production_config()?);
            }
            // The test Worker's "LLM" is its own development stand-in, so the refinement path
            // and its fallbacks run in the tests; `cargo xtask dev` has no model unless
            // `.dev.vars` names one.
            Profile::Development => {
                command
                    .arg("--var")
                    .arg(format!("LLM_URL:http://127.0.0.1:{port}/api/dev/llm"))
                    .args(["--var", "LLM_API_KEY:development"]);
            }
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            // Its own process group, so stopping it stops workerd too.
            .process_group(0)
            .spawn()
            .map_err(|e| format!("wrangler dev: {e}"))?;
        let server = Server { child, port };
        wait_until_healthy(port, Duration::from_secs(90)).map_err(|e| format!("{e}; see {}", log_path.display()))?;
        eprintln!("xtask: wrangler dev is serving {} (log: {})", server.base_url(), log_path.display());
        Ok(server)
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills wrangler and workerd at once (SIGKILL, no shutdown), as a crash would.
    pub fn kill(mut self) {
        // The group: workerd is wrangler's child.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn wait_until_healthy(port: u16, timeout: Duration) -> Result {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if health_ok(port) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!("the Worker did not answer /api/health on port {port} within {} s", timeout.as_secs()))
}

fn health_ok(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let request = format!("GET /api/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200") && answer.contains("\"ok\"")
}
