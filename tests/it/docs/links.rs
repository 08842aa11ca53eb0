//! Every relative link in the docs points at a file, and a heading, inside the repository.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use tollgate_tests::repo::{backticked, doc_files, read, root};

/// Lines outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .filter(|l| {
            if l.trim_start().starts_with("```") {
                fenced = !fenced;
                return false;
            }
            !fenced
        })
        .collect()
}

/// Inline code spans removed, so a `[x](y)` shown as code is no link.
fn without_code_spans(line: &str) -> String {
    line.split('`').step_by(2).collect()
}

/// The targets of the inline links `[text](target)` in `text`.
fn link_targets(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose(text) {
        let line = without_code_spans(line);
        for after in line.split("](").skip(1) {
            if let Some(end) = after.find(')') {
                out.push(after[..end].trim().to_owned());
            }
        }
    }
    out
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for line in prose(text) {
        let Some(h) = line.strip_prefix('#') else {
            continue;
        };
        let base = slug(h.trim_start_matches('#'));
        let mut name = base.clone();
        let mut n = 0;
        while !seen.insert(name.clone()) {
            n += 1;
            name = format!("{base}-{n}");
        }
    }
    seen
}

/// `dir/target` with `.` and `..` resolved lexically; None if it climbs above the root.
fn resolve(dir: &Path, target: &str) -> Option<PathBuf> {
    let mut parts: Vec<String> = dir
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    for c in Path::new(target).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::ParentDir => {
                parts.pop()?;
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(parts.iter().collect())
}

fn check_link(file: &str, target: &str) -> Result<(), String> {
    if target.starts_with("https://") {
        return Ok(()); // a public reference
    }
    if target.contains("://") || target.starts_with("mailto:") {
        return Err(format!(
            "{file}: `{target}`: only https:// links may leave the repository"
        ));
    }
    let (path, anchor) = target
        .split_once('#')
        .map_or((target, None), |(p, a)| (p, Some(a)));
    let dir = Path::new(file).parent().unwrap_or(Path::new(""));
    let rel = if path.is_empty() {
        PathBuf::from(file)
    } else {
        resolve(dir, path)
            .ok_or_else(|| format!("{file}: `{target}` points outside the repository"))?
    };
    let full = root().join(&rel);
    if !full.exists() {
        return Err(format!(
            "{file}: `{target}`: {} does not exist",
            rel.display()
        ));
    }
    if let Some(a) = anchor {
        let is_md = rel.extension().is_some_and(|x| x == "md");
        if !is_md || !anchors(&read(&rel.to_string_lossy())).contains(a) {
            return Err(format!(
                "{file}: `{target}`: no heading #{a} in {}",
                rel.display()
            ));
        }
    }
    Ok(())
}

#[test]
fn every_relative_link_points_at_an_existing_file_inside_the_repository() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in doc_files() {
        for target in link_targets(&read(&file)) {
            checked += 1;
            if let Err(e) = check_link(&file, &target) {
                problems.push(e);
            }
        }
    }
    assert!(
        checked >= 20,
        "only {checked} links found: is the extractor broken?"
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_link_checker_refuses_what_it_must() {
    assert!(check_link("README.md", "../shared/DESIGN.md").is_err());
    assert!(check_link("docs/deploy.md", "../../etc/passwd").is_err());
    assert!(check_link("docs/deploy.md", "/etc/passwd").is_err());
    assert!(check_link("README.md", "docs/no-such-page.md").is_err());
    assert!(check_link("README.md", "docs/deploy.md#no-such-heading").is_err());
    assert!(check_link("README.md", "http://example.com/").is_err());
    assert!(check_link("README.md", "docs/deploy.md#tear-down").is_ok());
    assert!(check_link("docs/deploy.md", "../CONTRIBUTING.md#performance").is_ok());
    assert_eq!(
        slug("2. A signing key, in Secrets Manager"),
        "2-a-signing-key-in-secrets-manager"
    );
    assert_eq!(
        slug("The admin CLI (`tollgate-admin`)"),
        "the-admin-cli-tollgate-admin"
    );
}

#[test]
fn the_readme_stays_short() {
    let lines = read("README.md").lines().count();
    assert!(
        lines <= 200,
        "README.md has {lines} lines; move detail into docs/"
    );
}

/// The repository paths a doc cites in code spans (`tests/it/refresh/grant.rs`, `measure/`),
/// each with the function it names after `::`, if any; a span `::name` names another function
/// of the file cited last on its line.
fn cited(text: &str) -> Vec<(String, Option<String>)> {
    const TOPS: [&str; 9] = [
        "crates/",
        "functions/",
        "tools/",
        "tests/",
        "scripts/",
        "measure/",
        "fuzz/",
        "docs/",
        "dev/",
    ];
    // What make writes (`make fuzz` its corpus and last run, and cargo-fuzz under `.tools`):
    // absent from a fresh clone until then, so never required to exist.
    const GENERATED: [&str; 2] = ["fuzz/target", "fuzz/.tools"];
    let mut out = Vec::new();
    for line in text.lines() {
        let mut last: Option<String> = None;
        for span in backticked(line) {
            let (path, name) = match span.split_once("::") {
                Some((p, n)) => (p.to_owned(), Some(n.to_owned())),
                None => (span.clone(), None),
            };
            let plain = |s: &str| {
                s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c))
            };
            let is_name = |n: &Option<String>| {
                n.as_deref().is_none_or(|n| {
                    n.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                })
            };
            if path.is_empty() && name.is_some() && is_name(&name) {
                if let Some(file) = &last {
                    out.push((file.clone(), name));
                }
            } else if TOPS.iter().any(|t| path.starts_with(t))
                && !GENERATED.iter().any(|g| path.starts_with(g))
                && plain(&path)
                && is_name(&name)
            {
                last = Some(path.clone());
                out.push((path, name));
            }
        }
    }
    out
}

fn check_cited(file: &str, path: &str, name: Option<&str>) -> Result<(), String> {
    let full = root().join(path);
    if !full.exists() {
        return Err(format!("{file}: `{path}` does not exist"));
    }
    let Some(name) = name else { return Ok(()) };
    let text = std::fs::read_to_string(&full).unwrap_or_default();
    let defined = [
        format!("fn {name}("),
        format!("fn {name}<"),
        format!("mod {name}"),
    ];
    if defined.iter().any(|d| text.contains(d.as_str())) {
        Ok(())
    } else {
        Err(format!(
            "{file}: `{path}::{name}`: no such function in {path}"
        ))
    }
}

#[test]
fn every_file_and_test_the_docs_cite_exists() {
    let mut problems = Vec::new();
    let mut checked = 0;
    for file in doc_files() {
        for (path, name) in cited(&read(&file)) {
            checked += 1;
            if let Err(e) = check_cited(&file, &path, name.as_deref()) {
                problems.push(e);
            }
        }
    }
    assert!(
        checked >= 100,
        "only {checked} citations found: is the extractor broken?"
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_citation_checker_reads_continuations_and_refuses_what_it_must() {
    let text =
        "| `tests/it/docs/links.rs::cited`, `::check_cited` | `measure/` `a::b` `tests/it/x*.rs` |";
    let found = cited(text);
    let file = || "tests/it/docs/links.rs".to_owned();
    assert_eq!(
        found,
        [
            (file(), Some("cited".to_owned())),
            (file(), Some("check_cited".to_owned())),
            ("measure/".to_owned(), None),
        ]
    );
    for (path, name) in &found {
        check_cited("x.md", path, name.as_deref()).unwrap();
    }
    assert!(check_cited("x.md", "tests/it/docs/links.rs", Some("no_such_test")).is_err());
    assert!(check_cited("x.md", "tests/it/no_such_file.rs", None).is_err());
}
