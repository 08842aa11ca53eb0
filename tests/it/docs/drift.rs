//! Kinds of drift between the docs and the deployment that came back before (issue 21): a
//! measured timing restated outside docs/performance.md, a `$default` stage inside double quotes
//! (the shell replaces it with nothing), and an API route the operations page does not name.

use std::collections::BTreeSet;

use super::{doc_files, read, sections, template};

/// Paragraphs of every doc but the two whose job is figures: performance.md, where they live,
/// and decisions.md, which records the figures each decision was taken on, dated.
fn paragraphs() -> Vec<(String, String)> {
    doc_files()
        .into_iter()
        .filter(|f| f != "docs/performance.md" && f != "docs/decisions.md")
        .flat_map(|f| {
            let text = read(&f);
            text.split("\n\n")
                .map(|p| (f.clone(), p.to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Whether `p` states a measured time: any figure in microseconds, or one in milliseconds
/// introduced as a measurement (`about`, `median`, `p90`, `p99`, `measured`, `takes`).
fn states_a_timing(p: &str) -> Option<String> {
    let words: Vec<&str> = p.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        let unit = words.get(i + 1).copied().unwrap_or_default();
        let (number, unit) = match w.strip_suffix("µs").or_else(|| w.strip_suffix("ms")) {
            Some(n) if !n.is_empty() => (n, &w[n.len()..]),
            _ => (*w, unit.trim_end_matches([',', ';', ')', '.'])),
        };
        let number = number.trim_start_matches(['(', '~', '≈']);
        let is_number = !number.is_empty()
            && number
                .chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == ',' || c == '–');
        if !is_number || !(unit == "µs" || unit == "ms") {
            continue;
        }
        let before = i.checked_sub(1).map(|j| words[j]).unwrap_or_default();
        let measured = ["about", "median", "p90", "p99", "measured", "takes", "in"];
        if unit == "µs" || measured.contains(&before.trim_start_matches('(')) {
            return Some(words[i.saturating_sub(2)..(i + 2).min(words.len())].join(" "));
        }
    }
    None
}

#[test]
fn timings_are_quoted_from_performance_md_not_restated() {
    let restated: Vec<String> = paragraphs()
        .into_iter()
        .filter_map(|(f, p)| states_a_timing(&p).map(|t| format!("{f}: {t:?}")))
        .collect();
    assert!(
        restated.is_empty(),
        "measured timings outside docs/performance.md (link there instead):\n{}",
        restated.join("\n")
    );
    // The check itself: what it must catch, and what it must let pass (timeouts are settings).
    assert!(states_a_timing("a warm grant takes about 20 ms locally").is_some());
    assert!(states_a_timing("verifies ES256 in about 80 µs").is_some());
    assert!(states_a_timing("(the benchmark measures about 0.1 ms);").is_some());
    assert!(states_a_timing("the connect timeout stays 1000 ms").is_none());
    assert!(states_a_timing("to end 500 ms before the deadline").is_none());
}

/// `"...$default..."` in a shell command loses the stage name: `$default` must be quoted singly.
#[test]
fn no_doc_puts_a_default_stage_inside_double_quotes() {
    let mut wrong = Vec::new();
    for f in doc_files() {
        for line in read(&f).lines() {
            let quoted: Vec<&str> = line.split('"').skip(1).step_by(2).collect();
            if quoted.iter().any(|q| q.contains("$default")) {
                wrong.push(format!("{f}: {line}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Every route of the stack's API, as `METHOD /path`.
fn template_routes() -> BTreeSet<String> {
    let t = template();
    let paths = &t["Resources"]["TokenApi"]["Properties"]["DefinitionBody"]["paths"];
    let paths = paths.as_mapping().expect("TokenApi's DefinitionBody paths");
    let mut routes = BTreeSet::new();
    for (path, methods) in paths {
        let path = path.as_str().unwrap();
        for method in methods.as_mapping().unwrap().keys() {
            let method = method.as_str().unwrap();
            if method != "options" {
                routes.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    routes
}

#[test]
fn operations_md_names_every_route_of_the_api() {
    let doc = read("docs/operations.md");
    let named: BTreeSet<String> = sections(&doc, "api routes")
        .iter()
        .flat_map(|s| super::backticked(s))
        .collect();
    assert_eq!(named, template_routes(), "docs/operations.md's api routes");
}
