//! The admin CLI and the docs agree (issue 21): every command is in `tollgate-admin --help`'s
//! summary and in docs/admin.md, the commands that write audit lines are the same in the code,
//! the help and admin.md, and a client command quoted in the docs names its client with `--id`.

use std::collections::BTreeSet;

use super::{doc_files, read, root, sections};

/// `tollgate-admin --help`, from the built binary.
fn help() -> String {
    let bin = std::env::var("TOLLGATE_ADMIN_BIN").unwrap_or_else(|_| {
        panic!("TOLLGATE_ADMIN_BIN is not set: this test reads the built tollgate-admin's help; run it with `make test`")
    });
    let out = std::process::Command::new(bin)
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The subcommands clap lists under `Commands:`, with `lockout`'s as `lockout show` and
/// `lockout clear` (read from `tollgate-admin lockout --help`).
fn commands(help: &str) -> BTreeSet<String> {
    let block = help.split("Commands:").nth(1).expect("a Commands: section");
    let mut names = BTreeSet::new();
    for line in block.lines().skip(1) {
        if !line.starts_with("  ") {
            break;
        }
        let name = line.split_whitespace().next().unwrap().to_owned();
        if name != "help" {
            names.insert(name);
        }
    }
    assert!(names.remove("lockout"), "no lockout command: {help}");
    names.extend(["lockout show".to_owned(), "lockout clear".to_owned()]);
    names
}

/// The summary's groups (`Clients:`, `Sessions:`, ..., `Audited:`) and the names in each.
fn summary(help: &str) -> Vec<(String, Vec<String>)> {
    let start = help.find("\nClients:").expect("a Clients: summary");
    let end = help[start..]
        .find("\nExamples:")
        .expect("an Examples: section")
        + start;
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for line in help[start..end].lines().filter(|l| !l.trim().is_empty()) {
        let rest = match line.split_once(':') {
            Some((group, rest)) if !line.starts_with(' ') => {
                groups.push((group.to_owned(), Vec::new()));
                rest
            }
            _ => line,
        };
        let names = rest.split('(').next().unwrap_or_default();
        let last = &mut groups.last_mut().expect("a group").1;
        last.extend(
            names
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
        );
    }
    groups
}

fn backticked_commands(text: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    super::backticked(text)
        .into_iter()
        .filter(|c| known.contains(c))
        .collect()
}

#[test]
fn every_admin_command_is_in_the_help_summary_and_in_admin_md() {
    let help = help();
    let all = commands(&help);
    let summarised: BTreeSet<String> = summary(&help)
        .into_iter()
        .filter(|(g, _)| g != "Audited")
        .flat_map(|(_, names)| names)
        .collect();
    assert_eq!(summarised, all, "tollgate-admin --help's summary");
    let admin = read("docs/admin.md");
    let table: BTreeSet<String> = super::table_rows(&admin)
        .iter()
        .flat_map(|row| super::backticked(&row[0]))
        .map(|c| {
            c.split(' ')
                .take_while(|w| !w.starts_with("FILE"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|c| all.contains(c))
        .collect();
    assert_eq!(table, all, "docs/admin.md's command table");
}

/// The actions the CLI's code writes `admin_change` lines for, as the commands that write them.
fn audited_in_code() -> BTreeSet<String> {
    let mut files = Vec::new();
    super::rust_files(&root().join("tools/admin/src"), &mut files);
    let mut actions = BTreeSet::new();
    for f in files
        .iter()
        .filter(|f| !f.to_string_lossy().contains("tests"))
    {
        let text = std::fs::read_to_string(f).unwrap();
        for call in ["record(", "record_as(actor, ", "change(&client, &update, "] {
            for (i, _) in text.match_indices(call) {
                let rest = &text[i + call.len()..];
                if let Some(lit) = rest.trim_start().strip_prefix('"') {
                    actions.insert(lit.split('"').next().unwrap().to_owned());
                }
            }
        }
        // set_enabled picks its action from two literals.
        for a in ["enable_client", "disable_client"] {
            if text.contains(&format!("\"{a}\"")) {
                actions.insert(a.to_owned());
            }
        }
    }
    actions
        .into_iter()
        .map(|a| match a.as_str() {
            "import_client" => "import-clients".to_owned(),
            "clear_lockout" => "lockout clear".to_owned(),
            other => other.replace('_', "-"),
        })
        .collect()
}

#[test]
fn the_audited_commands_are_the_same_in_the_code_the_help_and_admin_md() {
    let help = help();
    let all = commands(&help);
    let mut in_code = audited_in_code();
    // revoke-sessions writes its own event, session_revoked.
    in_code.insert("revoke-sessions".to_owned());
    assert!(in_code.is_subset(&all), "{in_code:?} not all commands");
    let in_help: BTreeSet<String> = summary(&help)
        .into_iter()
        .filter(|(g, _)| g == "Audited")
        .flat_map(|(_, names)| names)
        .collect();
    assert_eq!(in_help, in_code, "tollgate-admin --help's Audited: line");
    let admin = read("docs/admin.md");
    let in_doc: BTreeSet<String> = sections(&admin, "audited commands")
        .iter()
        .flat_map(|s| backticked_commands(s, &all))
        .collect();
    assert_eq!(in_doc, in_code, "docs/admin.md's audited commands");
}

/// The commands that act on one client, which must be told which with `--id`.
const CLIENT_COMMANDS: [&str; 7] = [
    "update-client",
    "show-client",
    "disable-client",
    "enable-client",
    "delete-client",
    "rotate-client-secret",
    "retire-client-secret",
];

/// What the docs quote as commands: inline code spans outside fenced blocks, and each line
/// inside them.
fn quoted_commands(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut prose = String::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            out.push(line.to_owned());
        } else {
            prose.push_str(line);
            prose.push('\n');
        }
    }
    out.extend(super::backticked(&prose));
    out
}

/// A client command quoted with arguments names its client with `--id` (`update-client ID
/// --rate-limit N` is refused by the CLI); naming only the command, or it with one flag to
/// point at that flag, is fine.
#[test]
fn client_commands_quoted_in_the_docs_name_their_client_with_id() {
    let mut wrong = Vec::new();
    for file in doc_files() {
        for quoted in quoted_commands(&read(&file)) {
            let words: Vec<&str> = quoted.split_whitespace().collect();
            for (i, w) in words.iter().enumerate() {
                if !CLIENT_COMMANDS.contains(w) {
                    continue;
                }
                let args: Vec<&str> = words[i + 1..]
                    .iter()
                    .take_while(|a| !["\\", "#", "&&", "|", ";"].contains(a))
                    .copied()
                    .collect();
                let positional = args.first().is_some_and(|a| !a.starts_with("--"));
                let unnamed = args.len() > 1 && !args.contains(&"--id");
                if positional || unnamed {
                    wrong.push(format!("{file}: `{}`", quoted.trim()));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "client commands without --id:\n{}",
        wrong.join("\n")
    );
}
