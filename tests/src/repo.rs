//! The repository's own files, read by the tests that check them against each other: the
//! template, the docs and their markdown tables (`<!-- docs-drift: NAME begin/end -->` sections).

#![allow(clippy::unwrap_used)] // test code: a panic is the failure report

use std::path::{Path, PathBuf};

/// The repository's root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// A file of the repository, by its path from the root.
pub fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `template.yaml`, parsed.
pub fn template() -> serde_yaml::Value {
    serde_yaml::from_str(&read("template.yaml")).unwrap()
}

/// A template value as YAML text: how the template tests compare intrinsic functions (`!If`,
/// `!Sub`), which `serde_yaml` keeps as tagged values.
pub fn yaml_text(v: &serde_yaml::Value) -> String {
    serde_yaml::to_string(v).unwrap()
}

/// `!Ref X` / `!GetAtt X.Arn` / `!Sub "..."` as `(tag, value)`; `None` for anything else.
pub fn tagged(v: &serde_yaml::Value) -> Option<(String, String)> {
    match v {
        serde_yaml::Value::Tagged(t) => Some((t.tag.to_string(), t.value.as_str()?.to_owned())),
        _ => None,
    }
}

/// README.md, CONTRIBUTING.md and every docs/*.md, as paths relative to the root.
pub fn doc_files() -> Vec<String> {
    let mut files = vec!["README.md".to_owned(), "CONTRIBUTING.md".to_owned()];
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

/// The text between `<!-- docs-drift: NAME begin ... -->` and `<!-- docs-drift: NAME end -->`.
pub fn sections<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
    let (begin, end) = (
        format!("docs-drift: {name} begin"),
        format!("docs-drift: {name} end"),
    );
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(b) = rest.find(&begin) {
        let after = &rest[b..];
        let body = &after[after.find("-->").expect("unclosed marker") + 3..];
        let e = body
            .find(&end)
            .unwrap_or_else(|| panic!("no `{end}` marker"));
        out.push(&body[..e]);
        rest = &body[e..];
    }
    assert!(!out.is_empty(), "no `{begin}` marker");
    out
}

/// The backticked names in the first column of the tables of `text`'s `name` drift sections.
pub fn first_column_names(text: &str, name: &str) -> std::collections::BTreeSet<String> {
    sections(text, name)
        .iter()
        .flat_map(|s| table_rows(s))
        .flat_map(|r| backticked(&r[0]))
        .collect()
}

/// The body rows of the markdown tables in `text`, split into cells.
pub fn table_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut header = true;
    for line in text.lines().map(str::trim) {
        if !line.starts_with('|') {
            header = true;
            continue;
        }
        let cells: Vec<String> = line
            .trim_matches('|')
            .split('|')
            .map(|c| c.trim().to_owned())
            .collect();
        if cells
            .iter()
            .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
        {
            continue;
        }
        if std::mem::replace(&mut header, false) {
            continue;
        }
        rows.push(cells);
    }
    rows
}

/// The code spans of `text` (what stands between backticks).
pub fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}
