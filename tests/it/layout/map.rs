//! CONTRIBUTING.md's layout map names every crate of the workspace and, in that crate's part of
//! the map, each of its top-level modules (`mod x;` in its `lib.rs` or `main.rs`, outside tests)
//! as `x.rs` or `x/`: a crate or module added without its line fails here.

use std::collections::BTreeSet;

use super::workspace;

/// The workspace members, as `Cargo.toml` lists them (`crates/oauth`, `tests`, ...).
fn members(manifest: &str) -> Vec<String> {
    let start = manifest.find("members = [").expect("a members list");
    let list = &manifest[start..start + manifest[start..].find(']').expect("its end")];
    list.split('"')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

/// The top-level modules a crate root declares, test-only ones left out.
fn top_modules(root: &str) -> BTreeSet<String> {
    let lines: Vec<&str> = root.lines().collect();
    let mut found = BTreeSet::new();
    for (i, line) in lines.iter().enumerate() {
        let decl = line.strip_prefix("pub ").unwrap_or(line);
        let Some(name) = decl.strip_prefix("mod ").and_then(|m| m.strip_suffix(';')) else {
            continue;
        };
        let test_only = i > 0 && lines[i - 1].starts_with("#[cfg(test)]");
        if !test_only {
            found.insert(name.to_owned());
        }
    }
    found
}

/// The lines of the map that describe the entry `path` (`crates/oauth`): its own line and every
/// line below it, up to the next entry at its depth or above.
fn part<'a>(map: &'a str, path: &str) -> Option<Vec<&'a str>> {
    let mut depth = 0;
    let mut found: Option<(usize, Vec<&str>)> = None;
    let names: Vec<&str> = path.split('/').collect();
    for line in map.lines() {
        let indent = line.len() - line.trim_start().len();
        let first = line.split_whitespace().next().unwrap_or_default();
        if let Some((at, part)) = found.as_mut() {
            if !first.is_empty() && indent <= *at && first.ends_with('/') {
                break;
            }
            part.push(line);
            continue;
        }
        // The entries for `a/b` are `a/` at depth 0, then `b/` indented under it.
        if indent == depth * 2 && first == format!("{}/", names[depth]) {
            depth += 1;
            if depth == names.len() {
                found = Some((indent, vec![line]));
            }
        }
    }
    found.map(|(_, p)| p)
}

/// What the map misses: crates, and modules within their crate's part.
fn missing(map: &str, crates: &[(String, BTreeSet<String>)]) -> Vec<String> {
    let mut out = Vec::new();
    for (path, modules) in crates {
        let Some(part) = part(map, path) else {
            out.push(format!("crate {path}"));
            continue;
        };
        let text = part.join("\n");
        let named = |m: &str| {
            [format!("{m}.rs"), format!("{m}/")].iter().any(|w| {
                text.match_indices(w.as_str())
                    .any(|(i, _)| !text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
            })
        };
        out.extend(
            modules
                .iter()
                .filter(|m| !named(m))
                .map(|m| format!("module {m} of {path}")),
        );
    }
    out
}

#[test]
fn the_layout_map_names_every_crate_and_its_top_level_modules() {
    let root = workspace();
    let contributing = std::fs::read_to_string(root.join("CONTRIBUTING.md")).unwrap();
    let begin = contributing
        .find("layout-map begin")
        .expect("the map's begin marker");
    let end = contributing
        .find("<!-- layout-map end")
        .expect("the map's end marker");
    let map = &contributing[begin..end];
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let members = members(&manifest);
    assert!(members.len() >= 9, "{members:?}");
    let crates: Vec<(String, BTreeSet<String>)> = members
        .iter()
        .map(|m| {
            let mut modules = BTreeSet::new();
            for file in ["src/lib.rs", "src/main.rs"] {
                if let Ok(text) = std::fs::read_to_string(root.join(m).join(file)) {
                    modules.extend(top_modules(&text));
                }
            }
            (m.clone(), modules)
        })
        .collect();
    let missing = missing(map, &crates);
    assert!(
        missing.is_empty(),
        "CONTRIBUTING.md's layout map misses:\n{}",
        missing.join("\n")
    );
}

#[test]
fn the_map_check_finds_a_missing_crate_and_a_missing_module() {
    let map = "crates/   libs\n  a/      one: src/x.rs, src/y/ (mod.rs)\n    src/z.rs  zed\n  b/      two\nfunctions/\n  c/      three: z.rs\n";
    let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    let crates = vec![
        ("crates/a".to_owned(), set(&["x", "y", "z", "w", "s"])),
        ("crates/b".to_owned(), set(&[])),
        ("crates/d".to_owned(), set(&[])),
        ("functions/c".to_owned(), set(&["z", "x"])),
    ];
    assert_eq!(
        missing(map, &crates),
        [
            "module s of crates/a",
            "module w of crates/a",
            "crate crates/d",
            "module x of functions/c"
        ]
    );
    assert_eq!(
        top_modules("pub mod a;\nmod b;\n#[cfg(test)]\nmod tests;\n// mod c;\n"),
        set(&["a", "b"])
    );
    assert_eq!(
        members("members = [\n  \"crates/a\",\n  \"tests\",\n]"),
        ["crates/a", "tests"]
    );
}
