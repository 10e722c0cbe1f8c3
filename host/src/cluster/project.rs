//! Which compose project the presenter means: `--project` (the CLI falls
//! back to `COMPOSE_PROJECT_NAME`), else the compose file's top-level
//! `name:`, else the compose file's directory name, normalised the way
//! Compose does it.

use std::path::Path;

pub fn resolve(explicit: Option<&str>, compose_file: &Path) -> anyhow::Result<String> {
    if let Some(name) = explicit.filter(|name| !name.trim().is_empty()) {
        return checked(name, "--project");
    }
    let text = std::fs::read_to_string(compose_file).map_err(|e| {
        anyhow::anyhow!(
            "no --project given and cannot read {}: {e} (pass --project NAME or run from the compose file's directory)",
            compose_file.display()
        )
    })?;
    if let Some(name) = top_level_name(&text) {
        return checked(&name, "the compose file's name:");
    }
    let dir = std::fs::canonicalize(compose_file)?
        .parent()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    checked(&normalise(&dir), "the compose file's directory name")
}

/// A stack name as `docker stack deploy` accepts it: the name prefixes the
/// stack's services, networks and volumes, so it is refused rather than
/// normalised into another stack's name.
pub fn stack_name(name: &str) -> anyhow::Result<String> {
    let valid = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    if !valid {
        anyhow::bail!(
            "'{}' is not a stack name: use letters, digits, '_', '-' or '.' (at most 63), starting with a letter or digit",
            crate::sanitize::display_line(name)
        );
    }
    Ok(name.to_string())
}

fn checked(name: &str, from: &str) -> anyhow::Result<String> {
    let normalised = normalise(name);
    if normalised.is_empty() {
        anyhow::bail!(
            "the project name from {from} ('{name}') is empty once normalised; pass --project NAME"
        );
    }
    Ok(normalised)
}

/// Compose lower-cases the name and keeps `a-z 0-9 _ -`.
fn normalise(name: &str) -> String {
    name.trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect()
}

/// The top-level `name:` key of a compose file, without a YAML parser: it is
/// a single unindented scalar line in every compose file that has it.
fn top_level_name(text: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix("name:")?;
        let value = value.split(" #").next()?.trim().trim_matches(['"', '\'']);
        (!value.is_empty()).then(|| value.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_like_compose_does() {
        assert_eq!(normalise("My Demo.Cluster"), "mydemocluster");
        assert_eq!(normalise("tikv_demo-1"), "tikv_demo-1");
    }

    #[test]
    fn top_level_name_is_read_but_nested_names_are_not() {
        let file = "services:\n  x:\n    name: nested\nname: \"chaos\" # the project\n";
        assert_eq!(top_level_name(file).as_deref(), Some("chaos"));
        assert_eq!(top_level_name("services:\n  name: x\n"), None);
    }

    #[test]
    fn stack_names_are_taken_as_given_or_refused() {
        assert_eq!(stack_name("demo-etcd").unwrap(), "demo-etcd");
        assert_eq!(stack_name("Etcd_1.x").unwrap(), "Etcd_1.x");
        for bad in ["", "-x", "a b", "a/b", "ü", &"a".repeat(64)] {
            assert!(stack_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn explicit_project_wins_and_empty_is_refused() {
        assert_eq!(
            resolve(Some("Etcd"), Path::new("/nonexistent")).unwrap(),
            "etcd"
        );
        assert!(resolve(Some("!!"), Path::new("/nonexistent")).is_err());
    }
}
