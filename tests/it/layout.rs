//! The size rules of the code layout (docs/decisions.md, "Code layout"): no source file under
//! `crates/`, `functions/` or `tools/` over 400 lines and no function over 60, outside tests. Unit-test
//! modules (`#[cfg(test)] mod tests { .. }`), test files (`tests.rs`, `*_tests.rs`, `tests/`
//! folders, benches) and modules compiled only for tests (`#[cfg(test)]` or
//! `#[cfg(any(test, ..))]` before `mod name;`) do not count.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

mod cycles;
mod map;

const MAX_FILE_LINES: usize = 400;
const MAX_FN_LINES: usize = 60;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !matches!(name.as_str(), "target" | "tests" | "benches" | "fuzz") {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

/// The files that `file` declares as modules compiled only for tests.
fn test_only_children(file: &Path, text: &str) -> Vec<PathBuf> {
    let name = file.file_name().unwrap().to_string_lossy();
    let base = if matches!(name.as_ref(), "mod.rs" | "lib.rs" | "main.rs") {
        file.parent().unwrap().to_path_buf()
    } else {
        file.with_extension("")
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for pair in lines.windows(2) {
        let (attr, decl) = (pair[0].trim(), pair[1].trim());
        let test_cfg = attr.starts_with("#[cfg(test)]") || attr.starts_with("#[cfg(any(test");
        let module = decl
            .strip_prefix("pub ")
            .unwrap_or(decl)
            .strip_prefix("mod ")
            .and_then(|m| m.strip_suffix(';'));
        if let (true, Some(m)) = (test_cfg, module) {
            out.push(base.join(format!("{m}.rs")));
            out.push(base.join(m).join("mod.rs"));
        }
    }
    out
}

/// Whether `file` is compiled only for tests: a test-only module itself, or any file below it (the
/// `testkit` module's folder).
fn is_test_only(file: &Path, test_only: &HashSet<PathBuf>) -> bool {
    test_only.iter().any(|t| {
        let below = if t.file_name().is_some_and(|n| n == "mod.rs") {
            t.parent().map(Path::to_path_buf)
        } else {
            Some(t.with_extension(""))
        };
        file == t || below.is_some_and(|dir| file.starts_with(dir))
    })
}

/// The lines of `text` that count: without inline `#[cfg(test)] mod x { .. }` blocks.
fn counted_lines(text: &str) -> Vec<&str> {
    let lines: Vec<&str> = text.lines().collect();
    let mut kept = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let inline_test_module = lines[i].starts_with("#[cfg(test)]")
            && lines.get(i + 1).is_some_and(|l| {
                let l = l.strip_prefix("pub ").unwrap_or(l);
                l.starts_with("mod ") && l.ends_with('{')
            });
        if inline_test_module {
            i += 2;
            while i < lines.len() && lines[i] != "}" {
                i += 1;
            }
            i += 1;
            continue;
        }
        kept.push(lines[i]);
        i += 1;
    }
    kept
}

/// `(line index, length)` of every function with a body, read from rustfmt's layout: the body
/// ends at the first line that closes a brace at the signature's indentation.
fn functions(lines: &[&str]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let mut rest = line.trim_start();
        for prefix in [
            "pub(crate) ",
            "pub(super) ",
            "pub ",
            "async ",
            "const ",
            "unsafe ",
        ] {
            rest = rest.strip_prefix(prefix).unwrap_or(rest);
        }
        rest = rest.strip_prefix("async ").unwrap_or(rest);
        if !rest.starts_with("fn ") {
            continue;
        }
        if line.trim_end().ends_with(';') {
            continue; // a declaration without a body
        }
        let close = " ".repeat(indent) + "}";
        let end = lines[i..].iter().position(|l| {
            l.starts_with(&close)
                && l[close.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| " ;),".contains(c))
        });
        if let Some(end) = end {
            found.push((i, end + 1));
        }
    }
    found
}

/// Every breach of the rules in `file`'s `text`.
fn breaches(file: &str, text: &str) -> Vec<String> {
    let lines = counted_lines(text);
    let mut out = Vec::new();
    if lines.len() > MAX_FILE_LINES {
        out.push(format!("{file}: {} lines", lines.len()));
    }
    for (at, len) in functions(&lines) {
        if len > MAX_FN_LINES {
            out.push(format!(
                "{file}:{}: `{}` is {len} lines",
                at + 1,
                lines[at].trim()
            ));
        }
    }
    out
}

#[test]
fn no_source_file_over_400_lines_nor_function_over_60_outside_tests() {
    let root = workspace();
    let mut files = Vec::new();
    for top in ["crates", "functions", "tools"] {
        rust_files(&root.join(top), &mut files);
    }
    assert!(files.len() > 50, "found only {} files", files.len());
    let mut test_only = HashSet::new();
    for f in &files {
        test_only.extend(test_only_children(f, &std::fs::read_to_string(f).unwrap()));
    }
    let mut found = Vec::new();
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy();
        if name == "tests.rs" || name.ends_with("_tests.rs") || is_test_only(f, &test_only) {
            continue;
        }
        let shown = f.strip_prefix(&root).unwrap().display().to_string();
        found.extend(breaches(&shown, &std::fs::read_to_string(f).unwrap()));
    }
    assert!(found.is_empty(), "split these:\n{}", found.join("\n"));
}

#[test]
fn the_rules_catch_a_long_function_and_a_long_file_but_not_test_modules() {
    let body = |n: usize| "    let x = 1;\n".repeat(n);
    let long_fn = format!("pub async fn f() {{\n{}}}\n", body(59));
    assert_eq!(
        breaches("x.rs", &long_fn),
        ["x.rs:1: `pub async fn f() {` is 61 lines"]
    );
    let ok_fn = format!("fn f() {{\n{}}}\n", body(58));
    assert!(breaches("x.rs", &ok_fn).is_empty());
    let method = format!(
        "impl X {{\n    pub(crate) fn g(\n        &self,\n    ) -> u8 {{\n{}    }}\n}}\n",
        body(58)
    );
    assert_eq!(breaches("x.rs", &method).len(), 1, "{method}");
    let long_file = "// a\n".repeat(401);
    assert_eq!(breaches("x.rs", &long_file), ["x.rs: 401 lines"]);
    let tested = format!(
        "fn f() {{}}\n#[cfg(test)]\nmod tests {{\n    fn t() {{\n{}    }}\n{}}}\n",
        body(70),
        "// a\n".repeat(400)
    );
    assert!(breaches("x.rs", &tested).is_empty());
    let declared = "#[cfg(any(test, feature = \"testkit\"))]\npub mod contract;\n";
    assert_eq!(
        test_only_children(Path::new("/w/store/mod.rs"), declared)[0],
        Path::new("/w/store/contract.rs")
    );
    let kit = test_only_children(
        Path::new("/w/src/lib.rs"),
        "#[cfg(any(test, feature = \"testkit\"))]\npub mod testkit;\n",
    );
    let kit: HashSet<PathBuf> = kit.into_iter().collect();
    assert!(is_test_only(Path::new("/w/src/testkit/contract.rs"), &kit));
    assert!(is_test_only(Path::new("/w/src/testkit/mod.rs"), &kit));
    assert!(!is_test_only(Path::new("/w/src/testkits.rs"), &kit));
    assert!(!is_test_only(Path::new("/w/src/store/mod.rs"), &kit));
}
