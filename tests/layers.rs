//! `scripts/check-layers.sh` (the layer rule CI enforces) against small source trees: it must
//! find a back-edge however it is written, and stay quiet about comments, strings and imports
//! that run downwards.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Writes `files` (path under src/, contents) and runs the check on them: (passed, stdout).
fn check(files: &[(&str, &str)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    for (path, text) in files {
        let path = src.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/check-layers.sh");
    let out = Command::new("bash").arg(script).arg(&src).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "the check itself failed: {stdout}{stderr}"
    );
    (out.status.success(), stdout)
}

/// The reported back-edges, one `file:line: from → to` per line.
fn edges(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter(|l| l.contains(" → ") && !l.starts_with("check-layers"))
        .map(|l| l.split(" (").next().unwrap())
        .collect()
}

#[test]
fn imports_that_run_downwards_pass() {
    let (ok, out) = check(&[
        ("lib.rs", "pub mod cli;\nuse crate::cli::main;\n"),
        ("cli/mod.rs", "use crate::{http, chain::x, domain};\n"),
        (
            "http/routes.rs",
            "use crate::{\n    chain::{a, b},\n    engine,\n};\nfn f() { crate::domain::job::g(); }\n",
        ),
        (
            "domain/job.rs",
            "//! Not crate::cli: a comment.\n/* nor crate::http */\nuse crate::domain::x;\n\
             const S: &str = \"crate::cli::run\";\nconst R: &str = r#\"crate::{cli}\"#;\n\
             const Q: char = '\"'; fn g<'a>(x: &'a str) -> &'a str { x }\n",
        ),
        ("persistence.rs", "use crate::domain;\n"),
    ]);
    assert!(ok, "{out}");
    assert!(edges(&out).is_empty(), "{out}");
}

#[test]
fn every_form_of_back_edge_fails_with_its_place() {
    let (ok, out) = check(&[
        (
            "domain/world.rs",
            "use crate::domain::x;\nuse crate::config::Config;\n",
        ),
        (
            "http/routes.rs",
            "use crate::{\n    domain::x,\n    cli::{a, b},\n};\n",
        ),
        (
            "engine/mod.rs",
            "fn f() {\n    let s = \"//\";\n    let x = crate :: http::thing();\n}\n",
        ),
        ("persistence.rs", "pub use crate::{engine, domain};\n"),
        ("config/mod.rs", "fn g() -> crate::chain::X { todo() }\n"),
    ]);
    assert!(!ok, "back-edges pass: {out}");
    assert_eq!(
        edges(&out),
        [
            "config/mod.rs:1: config → chain",
            "domain/world.rs:2: domain → config",
            "engine/mod.rs:3: engine → http",
            "http/routes.rs:1: http → cli",
            "persistence.rs:1: persistence → engine",
        ],
        "{out}"
    );
}

#[test]
fn the_check_runs_on_this_repository() {
    // Not whether it passes (back-edges are being removed elsewhere), only that it reads this
    // tree: it names no file outside the layers.
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let script = src.parent().unwrap().join("scripts/check-layers.sh");
    let out = Command::new("bash").arg(script).arg(&src).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{stdout}");
    for line in edges(&stdout) {
        let layer = line.split('/').next().unwrap();
        assert!(
            [
                "domain",
                "persistence",
                "config",
                "engine",
                "chain",
                "http",
                "cli"
            ]
            .contains(&layer),
            "{line}"
        );
    }
}
