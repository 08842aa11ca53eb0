//! No module imports one that imports it back (docs/decisions.md, "Code layout"): within each
//! crate, the files' `crate::`, `super::` and `self::` paths (in `use` items, groups expanded, and
//! inline) are drawn as arrows from file to file, and no arrows may run in a circle. A module
//! declaring or re-exporting its own children (`mod x; pub use x::Y;`) draws no arrow: it
//! contains them. Test code does not count (as for the size rules).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::{counted_lines, is_test_only, rust_files, test_only_children, workspace};

type Module = Vec<String>;

/// The module a file is: its path below `src` (`lib.rs` and `main.rs` are the root, `mod.rs`
/// its folder).
fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Module = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// `use` trees expanded into whole paths: `a::{b, c::{d, e}}` is `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or_default().trim();
        return vec![path.trim_end_matches("::self").to_owned()];
    };
    let prefix = tree[..open].trim_end_matches("::");
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&inner[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&inner[start..]);
    parts
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .flat_map(expand)
        .map(|p| match p.as_str() {
            "self" => prefix.to_owned(),
            _ => format!("{prefix}::{p}"),
        })
        .collect()
}

/// Every `crate::`, `super::` or `self::` path `text` names, as its segments.
fn named_paths(text: &str) -> Vec<Vec<String>> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    let mut inline = String::new();
    let mut item: Option<String> = None;
    for line in code.lines() {
        let trimmed = line.trim_start();
        let starts = ["use ", "pub use ", "pub(crate) use ", "pub(super) use "]
            .iter()
            .find_map(|p| trimmed.strip_prefix(p));
        let text = match (&mut item, starts) {
            (Some(open), _) => {
                open.push_str(line);
                None
            }
            (None, Some(tree)) => {
                item = Some(tree.to_owned());
                None
            }
            (None, None) => Some(line),
        };
        match text {
            Some(line) => {
                inline.push_str(line);
                inline.push('\n');
            }
            None => {
                if let Some(tree) = item.take_if(|t| t.trim_end().ends_with(';')) {
                    paths.extend(expand(tree.trim_end().trim_end_matches(';')));
                }
            }
        }
    }
    for (i, _) in inline.match_indices("::") {
        let before = &inline[..i];
        let word = before
            .rsplit(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
            .next()
            .unwrap_or_default();
        if word.starts_with("crate") || word.starts_with("super") || word.starts_with("self") {
            let tail = &inline[i + 2..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .unwrap_or(tail.len());
            if !word.contains("::") {
                paths.push(format!("{word}::{}", &tail[..end]));
            }
        }
    }
    paths
        .iter()
        .map(|p| {
            p.split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .filter(|p: &Vec<String>| matches!(p[0].as_str(), "crate" | "super" | "self"))
        .collect()
}

/// The module `path`, named from inside `from`, lands in: its longest prefix that is a module.
fn resolve(from: &Module, path: &[String], modules: &BTreeSet<Module>) -> Option<Module> {
    let mut base = match path[0].as_str() {
        "crate" => Vec::new(),
        "self" => from.clone(),
        _ => from.clone(),
    };
    let mut rest = &path[1..];
    if path[0] == "super" {
        base.pop();
        while rest.first().is_some_and(|s| s == "super") {
            base.pop();
            rest = &rest[1..];
        }
    }
    let mut found = modules.contains(&base).then(|| base.clone());
    for seg in rest {
        base.push(seg.clone());
        if modules.contains(&base) {
            found = Some(base.clone());
        }
    }
    found
}

/// The circles among `files` (module, source): each a list of modules that import each other.
pub(super) fn circles(files: &[(Module, String)]) -> Vec<Vec<String>> {
    let modules: BTreeSet<Module> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut arrows: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (from, text) in files {
        for path in named_paths(text) {
            let Some(to) = resolve(from, &path, &modules) else {
                continue;
            };
            // Its own children (or itself) are contained, not imported.
            if !to.starts_with(from) {
                arrows.entry(from.clone()).or_default().insert(to);
            }
        }
    }
    // A circle is a set of modules each reaching every other: one per strongly connected set.
    let reach = |start: &Module| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![start.clone()];
        while let Some(m) = todo.pop() {
            for next in arrows.get(&m).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    todo.push(next.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&Module, BTreeSet<Module>> =
        modules.iter().map(|m| (m, reach(m))).collect();
    let mut circles: BTreeSet<Vec<String>> = BTreeSet::new();
    for m in &modules {
        if !reached[m].contains(m) {
            continue;
        }
        let circle: Vec<String> = modules
            .iter()
            .filter(|o| reached[m].contains(*o) && reached[*o].contains(m))
            .map(|o| format!("crate::{}", o.join("::")))
            .collect();
        circles.insert(circle);
    }
    circles.into_iter().collect()
}

/// Each crate's non-test source files with their modules.
fn crate_sources() -> Vec<(PathBuf, Vec<(Module, String)>)> {
    let root = workspace();
    let mut crates = Vec::new();
    for top in ["crates", "functions", "tools"] {
        for entry in std::fs::read_dir(root.join(top)).unwrap() {
            let src = entry.unwrap().path().join("src");
            if !src.is_dir() {
                continue;
            }
            let mut files = Vec::new();
            rust_files(&src, &mut files);
            let mut test_only = std::collections::HashSet::new();
            for f in &files {
                test_only.extend(test_only_children(f, &std::fs::read_to_string(f).unwrap()));
            }
            let sources = files
                .iter()
                .filter(|f| {
                    let name = f.file_name().unwrap().to_string_lossy();
                    name != "tests.rs"
                        && !name.ends_with("_tests.rs")
                        && !is_test_only(f, &test_only)
                })
                .map(|f| {
                    let text = std::fs::read_to_string(f).unwrap();
                    (module_of(&src, f), counted_lines(&text).join("\n"))
                })
                .collect();
            crates.push((src, sources));
        }
    }
    crates
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let crates = crate_sources();
    assert!(crates.len() >= 7, "found only {} crates", crates.len());
    let mut found = Vec::new();
    for (src, files) in &crates {
        for circle in circles(files) {
            found.push(format!("{}: {}", src.display(), circle.join(" <-> ")));
        }
    }
    assert!(
        found.is_empty(),
        "break these circles:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_finds_a_circle_and_not_a_module_holding_its_children() {
    let m = |p: &str| -> Module {
        p.split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let files = vec![
        (m(""), "pub mod a;\npub mod b;\npub mod store;\n".to_owned()),
        (m("a"), "use crate::b::{self, Thing as T};\n".to_owned()),
        (m("b"), "fn f() { super::a::g() }\n".to_owned()),
        (
            m("store"),
            "mod dynamo;\npub use dynamo::Store;\n".to_owned(),
        ),
        (
            m("store::dynamo"),
            "use super::{Spec, other::X};\n".to_owned(),
        ),
        (
            m("c"),
            "use crate::{store::dynamo::Store, d::E};\n".to_owned(),
        ),
        (m("d"), "// uses crate::c::X only in a comment\n".to_owned()),
    ];
    assert_eq!(
        circles(&files),
        [vec!["crate::a".to_owned(), "crate::b".to_owned()]]
    );
    assert_eq!(
        expand("crate::x::{self, y::{Z, W as V}, u}"),
        [
            "crate::x",
            "crate::x::y::Z",
            "crate::x::y::W",
            "crate::x::u"
        ]
    );
}
