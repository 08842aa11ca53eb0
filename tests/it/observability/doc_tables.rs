//! docs/audit.md and docs/operations.md#metrics list exactly what the code writes.

use std::collections::BTreeSet;

use tollgate_telemetry::metrics;
use tollgate_tests::repo::{backticked, first_column_names, read, sections, table_rows};

/// A table cell's backticked names outside parentheses (inside them are example values).
fn names_outside_parentheses(cell: &str) -> Vec<String> {
    let mut depth = 0;
    let outside: String = cell
        .chars()
        .filter(|c| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => return depth == 0,
            }
            false
        })
        .collect();
    backticked(&outside)
}

#[test]
fn audit_doc_lists_every_event_with_exactly_its_members() {
    use tollgate_telemetry::audit::{COMMON_FIELDS, SCHEMA};
    let doc = read("docs/audit.md");
    let common = first_column_names(&doc, "audit common");
    let expected: BTreeSet<String> = COMMON_FIELDS.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(common, expected, "docs/audit.md: members every event has");
    let mut documented = Vec::new();
    for s in sections(&doc, "audit events") {
        for row in table_rows(s) {
            let event = backticked(&row[0]).pop().unwrap();
            let fields: BTreeSet<String> = names_outside_parentheses(&row[1]).into_iter().collect();
            documented.push((event, fields));
        }
    }
    let code: Vec<(String, BTreeSet<String>)> = SCHEMA
        .iter()
        .map(|(e, f)| ((*e).to_owned(), f.iter().map(|s| (*s).to_owned()).collect()))
        .collect();
    assert_eq!(documented, code, "docs/audit.md's events and their fields");
}

#[test]
fn operations_doc_lists_every_metric_with_its_unit_and_dimensions() {
    let doc = read("docs/operations.md");
    let mut documented = Vec::new();
    for s in sections(&doc, "metrics") {
        for row in table_rows(s) {
            let name = backticked(&row[0]).pop().unwrap();
            let sets: Vec<Vec<String>> = row[2]
                .split(';')
                .map(|set| set.split(',').map(|d| d.trim().to_owned()).collect())
                .collect();
            documented.push((name, row[1].clone(), sets));
        }
    }
    let code: Vec<(String, String, Vec<Vec<String>>)> = metrics::ALL
        .iter()
        .map(|m| {
            (
                m.name.to_owned(),
                m.unit.as_str().to_owned(),
                m.dimensions
                    .iter()
                    .map(|set| set.iter().map(|d| (*d).to_owned()).collect())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(documented, code, "docs/operations.md#metrics");
}
