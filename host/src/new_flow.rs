//! `host new-flow NAME`: writes a flow crate that builds with one command
//! (`cargo build --release`) from the template in `host/templates/flow/`,
//! embedded in the binary so it works from anywhere.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

const CARGO_TOML: &str = include_str!("../templates/flow/Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("../templates/flow/src/lib.rs.tmpl");
const CARGO_CONFIG: &str = include_str!("../templates/flow/cargo/config.toml");
const GITIGNORE: &str = include_str!("../templates/flow/gitignore");

/// What to generate.
#[derive(Debug, Clone)]
pub struct NewFlow {
    pub name: String,
    /// The crate is created as `dir/NAME`.
    pub dir: PathBuf,
    /// The guest-sdk crate to depend on (by path).
    pub sdk: PathBuf,
    /// Glob of the Compose services the flow may kill.
    pub services: String,
}

/// What was written, for the message to the author.
#[derive(Debug)]
pub struct Generated {
    pub root: PathBuf,
    /// The `.wasm` file `cargo build --release` produces, relative to `root`.
    pub wasm: PathBuf,
}

/// The guest-sdk of the source tree this host was built from, if it is still
/// there (running from a checkout). Elsewhere the author passes `--sdk`.
pub fn default_sdk() -> Option<PathBuf> {
    let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk");
    sdk.join("Cargo.toml")
        .is_file()
        .then(|| sdk.canonicalize().ok())
        .flatten()
}

/// A crate name cargo accepts and a wasm file name without surprises.
pub fn validate_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_ok =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
    if !starts_well || !rest_ok || name.len() > 64 {
        bail!(
            "invalid flow name '{name}': use a lowercase letter, then lowercase letters, digits, '-' or '_' (at most 64)"
        );
    }
    Ok(())
}

fn validate_services(glob: &str) -> Result<()> {
    if glob.is_empty()
        || !glob
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.*?".contains(c))
    {
        bail!(
            "invalid --services '{glob}': a glob over service names, e.g. 'db*' (letters, digits, - _ . * ?)"
        );
    }
    Ok(())
}

fn render(template: &str, new: &NewFlow, sdk: &str) -> String {
    template
        .replace("{{name}}", &new.name)
        .replace("{{lib}}", &new.name.replace('-', "_"))
        .replace("{{services}}", &new.services)
        .replace("{{sdk}}", sdk)
}

pub fn generate(new: &NewFlow) -> Result<Generated> {
    validate_name(&new.name)?;
    validate_services(&new.services)?;
    let sdk = new.sdk.canonicalize().with_context(|| {
        format!(
            "guest-sdk not found at {} (pass --sdk PATH to a guest-sdk checkout)",
            new.sdk.display()
        )
    })?;
    if !sdk.join("Cargo.toml").is_file() {
        bail!(
            "{} is not a crate (no Cargo.toml); --sdk must point at guest-sdk",
            sdk.display()
        );
    }
    let sdk_text = sdk
        .to_str()
        .with_context(|| format!("the guest-sdk path {} is not UTF-8", sdk.display()))?;
    if sdk_text.contains('"') || sdk_text.contains('\\') {
        bail!("the guest-sdk path {sdk_text} cannot be written into Cargo.toml");
    }
    let root = new.dir.join(&new.name);
    if root.exists() {
        bail!(
            "{} already exists; pick another name or --dir",
            root.display()
        );
    }
    let files = [
        ("Cargo.toml", render(CARGO_TOML, new, sdk_text)),
        ("src/lib.rs", render(LIB_RS, new, sdk_text)),
        (".cargo/config.toml", CARGO_CONFIG.to_string()),
        (".gitignore", GITIGNORE.to_string()),
    ];
    for (path, text) in &files {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    // The SDK's own lock file pins the versions the SDK is tested with, and
    // lets the first build work without fetching the registry index.
    if let Some(lock) = sdk.parent().map(|p| p.join("Cargo.lock"))
        && lock.is_file()
    {
        std::fs::copy(&lock, root.join("Cargo.lock"))
            .with_context(|| format!("cannot copy {}", lock.display()))?;
    }
    Ok(Generated {
        wasm: PathBuf::from(format!(
            "target/wasm32-wasip2/release/{}.wasm",
            new.name.replace('-', "_")
        )),
        root,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_globs_are_checked_before_anything_is_written() {
        for ok in ["demo", "my-flow", "a1_b"] {
            validate_name(ok).unwrap();
        }
        for bad in ["", "My", "1x", "a b", "../x", "a/b", "é"] {
            let err = validate_name(bad).unwrap_err().to_string();
            assert!(err.contains("invalid flow name"), "{bad}: {err}");
        }
        validate_services("tikv*").unwrap();
        assert!(validate_services("a\"b").is_err());
        assert!(validate_services("").is_err());
    }

    #[test]
    fn the_template_is_filled_in_everywhere() {
        let new = NewFlow {
            name: "my-flow".into(),
            dir: PathBuf::new(),
            sdk: PathBuf::new(),
            services: "db*".into(),
        };
        let toml = render(CARGO_TOML, &new, "/sdk");
        let lib = render(LIB_RS, &new, "/sdk");
        assert!(toml.contains("name = \"my-flow\""));
        assert!(toml.contains("name = \"my_flow\""));
        assert!(toml.contains("path = \"/sdk\""));
        assert!(lib.contains("const SERVICES: &str = \"db*\";"));
        assert!(lib.contains("my_flow.wasm"));
        assert!(!toml.contains("{{") && !lib.contains("{{"));
    }

    #[test]
    fn generating_refuses_to_overwrite_and_writes_a_crate() {
        let dir = std::env::temp_dir().join(format!("new-flow-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sdk = default_sdk().expect("tests run from the checkout");
        let new = NewFlow {
            name: "demo".into(),
            dir: dir.clone(),
            sdk,
            services: "db*".into(),
        };
        let generated = generate(&new).unwrap();
        for file in [
            "Cargo.toml",
            "src/lib.rs",
            ".cargo/config.toml",
            "Cargo.lock",
        ] {
            assert!(generated.root.join(file).is_file(), "{file} missing");
        }
        let err = generate(&new).unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        let missing = NewFlow {
            name: "other".into(),
            sdk: dir.join("nope"),
            ..new
        };
        let err = generate(&missing).unwrap_err().to_string();
        assert!(err.contains("guest-sdk not found"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }
}
