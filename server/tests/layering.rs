//! The layering rule of DESIGN §2 (handlers over flows over storage), checked on the source text.
//! See docs/architecture.md for the picture.
//!
//! Every `crate::…` path (in `use` lines, grouped `use crate::{…}` lists and paths in code) and
//! every `super::…` path that climbs to the crate root is resolved to the module it names. A
//! failure lists each offending `file:line`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::path::{Path, PathBuf};

/// The handler layers: they answer HTTP and may import everything below them.
const HANDLERS: &[&str] = &["api", "web", "provider", "sources", "app", "admin", "scim"];

/// Modules inside handler folders that `state.rs` may name: leaves that import no handler
/// themselves (checked below), so naming them closes no cycle through the route table.
const STATE_MAY_USE: &[&str] = &["web::templates", "provider::keys"];

/// One `crate::a::b…` path found in a file.
struct Found {
    file: String,
    line: usize,
    path: Vec<String>,
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file below `src` (`flows/stages/mod.rs` → `["flows", "stages"]`).
fn module_of(file: &Path) -> Vec<String> {
    let relative = file.strip_prefix(src()).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

fn ident_at(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The path segments after `crate::` at `rest` (stops at the first non-identifier).
fn segments(rest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = rest;
    loop {
        let ident = ident_at(rest);
        if ident.is_empty() {
            break;
        }
        rest = &rest[ident.len()..];
        out.push(ident);
        match rest.strip_prefix("::") {
            Some(next) => rest = next,
            None => break,
        }
    }
    out
}

/// The first-level items of a `{a, b::c, d::{e, f}}` group starting right after its `{`.
fn group_items(text: &str) -> Vec<Vec<String>> {
    let mut items = Vec::new();
    let mut depth = 0;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(segments(text[start..i].trim()));
                break;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(segments(text[start..i].trim()));
                start = i + 1;
            }
            _ => {}
        }
    }
    items.into_iter().filter(|s| !s.is_empty()).collect()
}

/// Every crate path a file names, with its line.
fn crate_paths(file: &Path) -> Vec<Found> {
    let text = fs::read_to_string(file).unwrap();
    let name = file.strip_prefix(src()).unwrap().display().to_string();
    paths_in(&name, &module_of(file), &text)
}

/// Every crate path in `text` (the source of module `module`). Comments, doc links included,
/// import nothing and are skipped.
fn paths_in(name: &str, module: &[String], text: &str) -> Vec<Found> {
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("//") {
                String::new()
            } else {
                l.to_owned()
            }
        })
        .collect();
    let joined = lines.join("\n");
    let line_of = |offset: usize| joined[..offset].matches('\n').count() + 1;
    let mut found = Vec::new();
    for (offset, _) in joined.match_indices("crate::") {
        if joined[..offset].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &joined[offset + "crate::".len()..];
        let paths = match rest.strip_prefix('{') {
            Some(group) => group_items(group),
            None => vec![segments(rest)],
        };
        for path in paths {
            found.push(Found {
                file: name.to_owned(),
                line: line_of(offset),
                path,
            });
        }
    }
    // `super::super::x` climbs out of the module; resolve it against the file's module path.
    for (offset, _) in joined.match_indices("super::") {
        if joined[..offset].ends_with("super::") {
            continue;
        }
        let mut rest = &joined[offset..];
        let mut up = 0;
        while let Some(next) = rest.strip_prefix("super::") {
            up += 1;
            rest = next;
        }
        let Some(base) = module.len().checked_sub(up) else {
            continue;
        };
        let mut path = module[..base].to_vec();
        path.extend(segments(rest));
        found.push(Found {
            file: name.to_owned(),
            line: line_of(offset),
            path,
        });
    }
    found
}

fn files_under(dir: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&src().join(dir), &mut files);
    files.sort();
    files
}

/// `file:line: crate::path` for every path whose first segment is in `forbidden`.
fn violations(found: Vec<Found>, forbidden: &[&str], allowed: &[&str]) -> Vec<String> {
    found
        .into_iter()
        .filter(|f| {
            f.path
                .first()
                .is_some_and(|first| forbidden.contains(&first.as_str()))
        })
        .filter(|f| !allowed.iter().any(|a| f.path.join("::").starts_with(a)))
        .map(|f| format!("server/src/{}:{}: crate::{}", f.file, f.line, f.path.join("::")))
        .collect()
}

fn paths_under(dir: &str) -> Vec<Found> {
    files_under(dir)
        .iter()
        .flat_map(|file| crate_paths(file))
        .collect()
}

fn assert_none(rule: &str, found: Vec<String>) {
    assert!(found.is_empty(), "{rule}:\n  {}", found.join("\n  "));
}

#[test]
fn flows_import_no_handler() {
    assert_none(
        "flows must not import a handler layer or the state (DESIGN §2)",
        violations(paths_under("flows"), &[HANDLERS, &["state"]].concat(), &[]),
    );
}

#[test]
fn storage_imports_no_handler_and_no_flow() {
    let mut forbidden = HANDLERS.to_vec();
    forbidden.extend(["flows", "state"]);
    assert_none(
        "db must import neither a handler layer, the flow engine nor the state (DESIGN §2)",
        violations(paths_under("db"), &forbidden, &[]),
    );
}

#[test]
fn state_imports_no_handler() {
    assert_none(
        "state.rs must not import a handler module",
        violations(crate_paths(&src().join("state.rs")), HANDLERS, STATE_MAY_USE),
    );
    let leaves = STATE_MAY_USE
        .iter()
        .flat_map(|m| crate_paths(&src().join(format!("{}.rs", m.replace("::", "/")))))
        .collect();
    assert_none(
        "a module state.rs uses must itself import no handler module",
        violations(leaves, HANDLERS, &[]),
    );
}

/// The neutral modules every layer uses: importing a handler there would close a cycle.
#[test]
fn neutral_modules_import_no_handler() {
    let mut found = paths_under("http");
    for file in [
        "json", "text", "crypto", "config", "error", "validate", "sessions",
    ] {
        found.extend(crate_paths(&src().join(format!("{file}.rs"))));
    }
    assert_none(
        "a neutral module must not import a handler module",
        violations(found, HANDLERS, &[]),
    );
}

/// The checker itself: it must see every form of import, or the rules above prove nothing.
#[test]
fn the_checker_sees_every_form() {
    let text = "use crate::{db, api::x};\n\
                /// [`crate::web::Templates`] in a doc link imports nothing\n\
                fn f() {\n    crate::sources::g();\n}\n\
                use super::super::provider::y;\n\
                use super::model::Plan;\n";
    let module = ["flows".to_owned(), "stages".to_owned()];
    let found = violations(paths_in("flows/stages/mod.rs", &module, text), HANDLERS, &[]);
    assert_eq!(
        found,
        [
            "server/src/flows/stages/mod.rs:1: crate::api::x",
            "server/src/flows/stages/mod.rs:4: crate::sources::g",
            "server/src/flows/stages/mod.rs:6: crate::provider::y",
        ]
    );
}
