//! docs/mappings.md is executable: each recipe's script runs on the doc's sample request and
//! must give the doc's sample response, and every Rhai snippet in the doc compiles.

use gatehouse_mappings::{DryRunRequest, MappingEngine};
use serde_json::Value;

const DOC: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/mappings.md"));

struct Block {
    info: String,
    body: String,
}

/// Fenced code blocks of `text`, with their info string (`rhai`, `json request`, …).
fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut current: Option<Block> = None;
    for line in text.lines() {
        match current.take() {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    current = Some(Block {
                        info: info.trim().to_owned(),
                        body: String::new(),
                    });
                }
            }
            Some(mut block) => {
                if line.trim_end() == "```" {
                    out.push(block);
                } else {
                    block.body.push_str(line);
                    block.body.push('\n');
                    current = Some(block);
                }
            }
        }
    }
    assert!(current.is_none(), "unterminated code block in docs/mappings.md");
    out
}

/// `(title, section text)` for every `### Recipe` section.
fn recipes() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut in_recipe = false;
    let mut in_code = false;
    for line in DOC.lines() {
        if line.starts_with("```") {
            in_code = !in_code;
        }
        if !in_code && line.starts_with('#') && !line.starts_with("####") {
            in_recipe = line.starts_with("### Recipe");
            if in_recipe {
                out.push((line.trim_start_matches('#').trim().to_owned(), String::new()));
            }
            continue;
        }
        if in_recipe && let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    out
}

fn single<'a>(blocks: &'a [Block], info: &str, recipe: &str) -> &'a str {
    let found: Vec<_> = blocks.iter().filter(|b| b.info == info).collect();
    assert_eq!(
        found.len(),
        1,
        "recipe '{recipe}' needs exactly one ```{info} block"
    );
    &found[0].body
}

#[test]
fn recipes_produce_the_documented_output() {
    let engine = MappingEngine::default();
    let recipes = recipes();
    assert!(
        recipes.len() >= 5,
        "expected five recipes, found {}",
        recipes.len()
    );
    for (title, text) in &recipes {
        let blocks = blocks(text);
        let script = single(&blocks, "rhai", title);
        let request: DryRunRequest = serde_json::from_str(single(&blocks, "json request", title))
            .unwrap_or_else(|e| panic!("recipe '{title}': bad request JSON: {e}"));
        let expected: Value = serde_json::from_str(single(&blocks, "json response", title))
            .unwrap_or_else(|e| panic!("recipe '{title}': bad response JSON: {e}"));
        let actual = serde_json::to_value(engine.dry_run(title, script, &request)).unwrap();
        assert_eq!(
            actual, expected,
            "recipe '{title}': documented response differs from the real one"
        );
    }
}

#[test]
fn every_rhai_snippet_compiles() {
    let engine = MappingEngine::default();
    let snippets: Vec<_> = blocks(DOC).into_iter().filter(|b| b.info == "rhai").collect();
    assert!(snippets.len() >= 5);
    for snippet in snippets {
        if let Err(error) = engine.compile_check("doc snippet", &snippet.body) {
            panic!("snippet does not compile: {error}\n{}", snippet.body);
        }
    }
}

#[test]
fn every_json_block_parses() {
    for block in blocks(DOC).into_iter().filter(|b| b.info.starts_with("json")) {
        if let Err(e) = serde_json::from_str::<Value>(&block.body) {
            panic!("invalid JSON in docs/mappings.md ({e}):\n{}", block.body);
        }
    }
}
