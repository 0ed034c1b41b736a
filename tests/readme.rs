//! README stays true: every setting the binary reads is in its
//! configuration table, and the table names no setting the binary lacks.

use clap::CommandFactory;
use meteobot::config::Args;

#[test]
fn the_configuration_table_lists_exactly_the_settings() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let section = readme
        .split("\n## Configuration\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("README has a Configuration section");
    let table: Vec<&str> = section
        .lines()
        .filter_map(|line| {
            line.strip_prefix("| `")?
                .split_once('`')
                .map(|(name, _)| name)
        })
        .filter(|name| name.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .collect();
    let settings: Vec<String> = Args::command()
        .get_arguments()
        .filter_map(|arg| arg.get_env().map(|env| env.to_string_lossy().into_owned()))
        .collect();
    for name in &settings {
        assert!(
            table.contains(&name.as_str()),
            "README's configuration table lacks {name}"
        );
    }
    for name in &table {
        assert!(
            settings.iter().any(|s| s == name),
            "README's table names {name}, which meteobot does not read"
        );
    }
}
