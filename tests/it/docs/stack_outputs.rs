//! Every stack output the docs (and the admin CLI's messages) tell an operator to look up is an
//! output of template.yaml: `$(out X)`, a backticked name in a sentence about outputs, a name
//! in the comment of a `sam list stack-outputs` line, or "stack output X" in the CLI's text.

use std::collections::{BTreeMap, BTreeSet};

use super::{is_camel, keys};
use tollgate_tests::repo::{backticked, doc_files, read, root, template};

/// Names that look like output names: capitalised, with a lowercase letter right after.
fn name_like(word: &str) -> bool {
    is_camel(word) && word.chars().nth(1).is_some_and(|c| c.is_ascii_lowercase())
}

fn words(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| name_like(w))
}

/// The sentence at the start of `text`: up to a full stop followed by a space or newline, a
/// blank line, or the end of a table cell.
fn sentence(text: &str) -> &str {
    let end = [". ", ".\n", "\n\n", ":\n", " |"]
        .iter()
        .filter_map(|p| text.find(p))
        .min()
        .unwrap_or(text.len());
    &text[..end]
}

/// The output names `text` asks an operator to look up.
pub(super) fn looked_up_outputs(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for after in text.split("$(out ").skip(1) {
        found.extend(words(after).take(1).map(str::to_owned));
    }
    for (i, _) in text.match_indices("output") {
        let s = sentence(&text[i..]);
        for quoted in backticked(s) {
            found.extend(words(&quoted).map(str::to_owned));
        }
    }
    for after in text.split("stack output ").skip(1) {
        let first = after.trim_start_matches('`');
        found.extend(words(first).take(1).map(str::to_owned));
    }
    for line in text.lines().filter(|l| l.contains("stack-outputs")) {
        if let Some((_, comment)) = line.split_once('#') {
            found.extend(words(comment).map(str::to_owned));
        }
    }
    found
}

#[test]
fn every_output_the_docs_name_is_a_stack_output() {
    let outputs = keys(&template()["Outputs"]);
    let mut sources: Vec<String> = doc_files();
    // Every source file of the admin CLI, in its subfolders too.
    let mut dirs = vec![root().join("tools/admin/src")];
    while let Some(dir) = dirs.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                let rel = path.strip_prefix(root()).unwrap();
                sources.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    assert!(
        sources.iter().any(|s| s.ends_with("clients/settings.rs")),
        "the admin CLI's subfolders are read"
    );
    let mut named: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &sources {
        for name in looked_up_outputs(&read(file)) {
            named.entry(name).or_default().push(file.clone());
        }
    }
    let missing: Vec<_> = named
        .iter()
        .filter(|(n, _)| !outputs.contains(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "named as stack outputs but not in template.yaml's Outputs: {missing:?}"
    );
    // What an operator needs later is named somewhere (and so is checked above).
    for needed in [
        "ClientsTableName",
        "TokensTableName",
        "LockoutsTableName",
        "SigningKeySecretArn",
        "TokenUrl",
        "WhoamiUrl",
    ] {
        assert!(named.contains_key(needed), "{needed}: {named:?}");
    }
}

#[test]
fn the_extraction_finds_each_way_of_naming_an_output() {
    let text = "export A=$(out TokenUrl) B=\"$(out SigningKeySecretArn)\"\n\
                The outputs name the tables\n(`ClientsTableName`, `TokensTableName`). Not `Later`.\n\
                sam list stack-outputs --stack-name t   # LockoutsTableName, WhoamiUrl\n\
                (in AWS, the stack output ClientsTableName).\n\
                the stack output `JwksUrl`\n\
                | `X` | table (output `TokenUrl`) |\n| `Y` | `NotAnOutput` |\n";
    let found: Vec<_> = looked_up_outputs(text).into_iter().collect();
    assert_eq!(
        found,
        [
            "ClientsTableName",
            "JwksUrl",
            "LockoutsTableName",
            "SigningKeySecretArn",
            "TokenUrl",
            "TokensTableName",
            "WhoamiUrl"
        ]
    );
    assert!(looked_up_outputs("Set `UserClaims` to sub. Run $(outside Foo).").is_empty());
}
