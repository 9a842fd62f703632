//! Random and hostile scripts never panic; they return a result or an error.

use crate::common::*;
use gatehouse_mappings::{DryRunRequest, Limits, MappingEngine, MappingKind};
use serde_json::json;

/// Small deterministic generator (xorshift64*), so failures are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next() % items.len() as u64) as usize]
    }
}

const TOKENS: &[&str] = &[
    "info",
    "groups",
    "properties",
    "group",
    "user",
    ".",
    "[",
    "]",
    "(",
    ")",
    "{",
    "}",
    "#{",
    ",",
    ";",
    ":",
    "=",
    "==",
    "+",
    "-",
    "*",
    "/",
    "%",
    "**",
    "<<",
    "!",
    "&&",
    "||",
    "??",
    "?.",
    "let",
    "const",
    "fn",
    "if",
    "else",
    "while",
    "loop",
    "for",
    "in",
    "return",
    "throw",
    "try",
    "catch",
    "break",
    "|x|",
    "x",
    "0",
    "1",
    "-1",
    "9223372036854775807",
    "1e308",
    "\"s\"",
    "'c'",
    "`t${1}`",
    "()",
    "true",
    "len",
    "split",
    "pad",
    "regex_match",
    "regex_replace",
    "get_path",
    "list_pluck",
    "list_where",
    "list_flatten",
    "deny",
    "log",
    "slugify",
    "Fn",
    "call",
    "curry",
    "this",
    "switch",
    "=>",
    "_",
    "import",
    "eval",
    "\n",
    "..",
    "..=",
];

#[test]
fn random_token_soup_never_panics() {
    let limits = Limits {
        timeout_ms: 50,
        max_operations: 20_000,
        ..Limits::default()
    };
    let engine = MappingEngine::new(limits).unwrap();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut compiled = 0;
    for _ in 0..3_000 {
        let len = 1 + rng.next() % 24;
        let script: Vec<&str> = (0..len).map(|_| rng.pick(TOKENS)).collect();
        let script = script.join(" ");
        if engine.compile_check("fuzz", &script).is_ok() {
            compiled += 1;
        }
        let _ = eval_script(&engine, &script);
        let _ = run_group(
            &engine,
            &[("fuzz", &script)],
            graph_group(SG_RETAIL, "x", true, &[]),
        );
    }
    assert!(compiled > 0, "some random scripts should compile and run");
}

#[test]
fn random_bytes_never_panic() {
    let engine = MappingEngine::default();
    let mut rng = Rng(42);
    for _ in 0..1_000 {
        let len = (rng.next() % 64) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| (rng.next() & 0xff) as u8).collect();
        let script = String::from_utf8_lossy(&bytes);
        let _ = engine.compile_check("bytes", &script);
        let _ = eval_script(&engine, &script);
    }
}

/// How a dry run ended: its outcome (`mapped`, `skipped`, `denied`) or its error kind.
fn ending(output: &gatehouse_mappings::DryRunOutput) -> String {
    let value = serde_json::to_value(output).unwrap();
    let ending = if output.successful {
        &value["outcome"]
    } else {
        &value["error"]["kind"]
    };
    ending.as_str().unwrap_or("?").to_owned()
}

/// Hostile or odd scripts end as expected, on a user and on a group mapping: each with its own
/// error kind, or harmlessly (nothing mapped), never with a panic or an engine failure.
#[test]
fn hostile_scripts_return_errors() {
    let engine = MappingEngine::new(Limits {
        timeout_ms: 100,
        ..Limits::default()
    })
    .unwrap();
    // (script, ending as a user mapping and as a group mapping on an empty context, ending at a
    // login with Adele's context: `ok` or the error kind; her Graph group objects are not ids)
    for (script, user, group, login) in [
        (
            "let a = [1, 2]; let f = || a; a.filter(|x| a.len() > 0)",
            "runtime",
            "runtime",
            "runtime",
        ),
        ("let m = #{}; let f = || m; m.x = m; m", "type", "type", "type"),
        (
            "let x = 9223372036854775807; x + 1",
            "runtime",
            "runtime",
            "runtime",
        ),
        (
            "let x = -9223372036854775807 - 1; x / -1",
            "runtime",
            "runtime",
            "runtime",
        ),
        (
            "[1, 2].get_path(\"99999999999999999999\")",
            "mapped",
            "skipped",
            "ok",
        ),
        ("\"abc\".sub_string(-5, 100)", "type", "type", "type"),
        ("\"x\".pad(-1, \"y\")", "mapped", "skipped", "ok"),
        ("let s = \"é\"; s[10]", "runtime", "runtime", "runtime"),
        ("fn f(x) { f } f(1)", "syntax", "syntax", "syntax"),
        (
            "let f = |x| x; f.curry(1).curry(2).call()",
            "runtime",
            "runtime",
            "runtime",
        ),
        ("[].list_flatten().list_flatten()", "mapped", "skipped", "ok"),
        ("#{ groups: groups }", "mapped", "runtime", "type"),
        ("#{ attributes: #{ r: 1..5 } }", "type", "type", "type"),
        ("#{ attributes: #{ t: timestamp() } }", "type", "type", "type"),
        ("#{ attributes: #{ b: blob(3) } }", "type", "type", "type"),
        ("#{ attributes: #{ n: 0.0 / 0.0 } }", "type", "type", "type"),
        ("switch 1 { 1 => deny(\"d\"), _ => () }", "denied", "denied", "ok"),
        ("\u{0}\u{feff}#{}", "syntax", "syntax", "syntax"),
    ] {
        let run = |kind| {
            engine.dry_run(
                "hostile",
                script,
                &DryRunRequest {
                    context: json!({}),
                    kind,
                },
            )
        };
        let as_user = run(MappingKind::User);
        let as_group = run(MappingKind::Group);
        assert_eq!(
            (ending(&as_user), ending(&as_group)),
            (user.to_owned(), group.to_owned()),
            "{script}: {as_user:?} / {as_group:?}"
        );
        for output in [&as_user, &as_group] {
            if let Some(error) = &output.error {
                assert!(!error.message.contains("internal error"), "{script}: {error:?}");
            }
        }
        // The login path, with a real context.
        let at_login = match eval_script(&engine, script).result {
            Ok(_) => "ok".to_owned(),
            Err(error) => serde_json::to_value(error.kind)
                .unwrap()
                .as_str()
                .unwrap_or("?")
                .to_owned(),
        };
        assert_eq!(at_login, login, "{script}");
    }
}

#[test]
fn garbage_contexts_are_rejected_cleanly() {
    let engine = MappingEngine::default();
    for context in [
        json!(1),
        json!("x"),
        json!([]),
        json!({"info": 5}),
        json!({"groups": [1]}),
        json!({"properties": {"groups": 3}}),
    ] {
        let output = engine.dry_run(
            "m",
            "#{}",
            &DryRunRequest {
                context,
                kind: MappingKind::User,
            },
        );
        assert!(!output.successful);
        assert_eq!(
            output.error.unwrap().kind,
            gatehouse_mappings::ErrorKind::InvalidContext
        );
    }
}
