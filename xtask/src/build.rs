//! The two release builds: the Leptos app into `app/dist` and the Worker into `worker/build`,
//! both with the size-tuned `wasm-release` profile and wasm-opt from npm binaryen.

use std::path::Path;
use std::process::Command;

use crate::setup::Tools;
use crate::{Result, root, run};

const PROFILE: &str = "wasm-release";

pub fn all(tools: &Tools) -> Result {
    worker(tools)?;
    app(tools)
}

/// worker-build compiles the Worker, runs wasm-bindgen and wasm-opt and bundles the JS shim
/// with esbuild; each of those is pointed at a local copy so nothing is downloaded.
pub fn worker(tools: &Tools) -> Result {
    run(Command::new(&tools.worker_build)
        .args(["--profile", PROFILE])
        .current_dir(root().join("worker"))
        .env("WASM_BINDGEN_BIN", &tools.wasm_bindgen)
        .env("WASM_OPT_BIN", &tools.wasm_opt)
        .env("ESBUILD_BIN", &tools.esbuild))
}

/// The two client bundles: the storefront (`app`, inside the first-load budget) and the desk
/// (`desk`: sign-in, cart, checkout, pay page, orders and the consoles), which index.html loads
/// instead on those paths. They build one after the other: building them together would unify
/// `tandem-app`'s features and give the desk the storefront's start function.
const BUNDLES: [(&str, &str, &str); 2] = [("tandem-app", "tandem_app", "app"), ("tandem-desk", "tandem_desk", "desk")];

pub fn app(tools: &Tools) -> Result {
    let root = root();
    let dist = root.join("app/dist");
    let _ = std::fs::remove_dir_all(&dist);
    let pkg = dist.join("pkg");
    create_dir(&pkg)?;
    let mut fingerprint = Vec::new();
    for (package, artifact, name) in BUNDLES {
        run(Command::new("cargo").args([
            "build",
            "-p",
            package,
            "--target",
            "wasm32-unknown-unknown",
            "--profile",
            PROFILE,
        ]))?;
        let wasm = root.join("target/wasm32-unknown-unknown").join(PROFILE).join(format!("{artifact}.wasm"));
        run(Command::new(&tools.wasm_bindgen)
            .arg(&wasm)
            .args(["--target", "web", "--no-typescript", "--out-name", name, "--out-dir"])
            .arg(&pkg))?;
        let bound = pkg.join(format!("{name}_bg.wasm"));
        run(Command::new(&tools.wasm_opt)
            .arg("-Oz")
            .args(["--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext"])
            .args(["--enable-mutable-globals", "--enable-reference-types", "--enable-multivalue"])
            .arg(&bound)
            .arg("-o")
            .arg(&bound))?;
        for file in [pkg.join(format!("{name}.js")), bound] {
            fingerprint.extend(std::fs::read(&file).map_err(|e| format!("{}: {e}", file.display()))?);
        }
    }

    copy_tree(&root.join("public"), &dist)?;
    let vendor = dist.join("vendor");
    create_dir(&vendor)?;
    copy(
        &root.join("node_modules/@google/model-viewer/dist/model-viewer.min.js"),
        &vendor.join("model-viewer.min.js"),
    )?;
    // Files keep stable names and index.html asks for them with a content hash, so a browser
    // never pairs new JS with an old cached Wasm module.
    for style in ["app.css", "desk.css"] {
        copy(&root.join("styles").join(style), &dist.join(style))?;
        fingerprint.extend(std::fs::read(dist.join(style)).map_err(|e| format!("{style}: {e}"))?);
    }
    let version = format!("{:016x}", fnv1a(&fingerprint));
    let index = std::fs::read_to_string(root.join("app/index.html")).map_err(|e| format!("app/index.html: {e}"))?;
    std::fs::write(dist.join("index.html"), index.replace("{{VERSION}}", &version)).map_err(|e| e.to_string())?;
    Ok(())
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &byte| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3))
}

fn create_dir(path: &Path) -> Result {
    std::fs::create_dir_all(path).map_err(|e| format!("{}: {e}", path.display()))
}

fn copy(from: &Path, to: &Path) -> Result {
    std::fs::copy(from, to).map(|_| ()).map_err(|e| format!("{} → {}: {e}", from.display(), to.display()))
}

fn copy_tree(from: &Path, to: &Path) -> Result {
    create_dir(to)?;
    for entry in std::fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let target = to.join(entry.file_name());
        if entry.file_type().map_err(|e| e.to_string())?.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else {
            copy(&entry.path(), &target)?;
        }
    }
    Ok(())
}
