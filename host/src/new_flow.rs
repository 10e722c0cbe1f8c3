//! `host new-flow NAME`: writes a flow that builds with one command from
//! the templates in `host/templates/`, embedded in the binary so it works
//! from anywhere: a Rust crate (`cargo build --release`, `templates/flow/`)
//! or, with `--lang python`, a Python flow (`./build.sh`,
//! `templates/flow-py/`, on guest-sdk-py and componentize-py).

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};

const CARGO_TOML: &str = include_str!("../templates/flow/Cargo.toml.tmpl");
const LIB_RS: &str = include_str!("../templates/flow/src/lib.rs.tmpl");
const CARGO_CONFIG: &str = include_str!("../templates/flow/cargo/config.toml");
const GITIGNORE: &str = include_str!("../templates/flow/gitignore");

const PY_APP: &str = include_str!("../templates/flow-py/app.py.tmpl");
const PY_BUILD: &str = include_str!("../templates/flow-py/build.sh.tmpl");
const PY_README: &str = include_str!("../templates/flow-py/README.md.tmpl");
const PY_TEST: &str = include_str!("../templates/flow-py/test_app.py.tmpl");
const PY_GITIGNORE: &str = include_str!("../templates/flow-py/gitignore");

/// The `memory-mib` the Python template states. A Python flow carries its
/// interpreter, so it states its need rather than rely on the host's 64 MiB
/// default. Measured: the template's component starts at 12.6 MiB and its
/// whole show (on the etcd cluster) completes within a 13 MiB limit; 32 MiB
/// is that with room for what an author adds.
pub const PY_TEMPLATE_MEMORY_MIB: u32 = 32;

/// The language a flow is written in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// A crate on guest-sdk, built with `cargo build --release`.
    #[default]
    Rust,
    /// An `app.py` on guest-sdk-py, built with `./build.sh`.
    Python,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct NewFlow {
    pub name: String,
    /// The flow is created as `dir/NAME`.
    pub dir: PathBuf,
    /// The SDK to build on, by path: the guest-sdk crate (Rust) or the
    /// guest-sdk-py directory (Python).
    pub sdk: PathBuf,
    /// Glob of the Compose services the flow may kill.
    pub services: String,
    pub lang: Lang,
}

/// What was written, for the message to the author.
#[derive(Debug)]
pub struct Generated {
    pub root: PathBuf,
    /// The `.wasm` file the build command produces, relative to `root`.
    pub wasm: PathBuf,
    /// The one command that builds it, run in `root`.
    pub build: &'static str,
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

/// The SDK for `lang` in the source tree this host was built from, if it is
/// still there. Elsewhere the author passes `--sdk`.
pub fn default_sdk_for(lang: Lang) -> Option<PathBuf> {
    match lang {
        Lang::Rust => default_sdk(),
        Lang::Python => {
            let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../guest-sdk-py");
            sdk.join("build.sh")
                .is_file()
                .then(|| sdk.canonicalize().ok())
                .flatten()
        }
    }
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
        .replace("{{memory_mib}}", &PY_TEMPLATE_MEMORY_MIB.to_string())
}

/// Writes `files` under `root`, which must not exist yet.
fn write_files(root: &Path, files: &[(&str, String)]) -> Result<()> {
    if root.exists() {
        bail!(
            "{} already exists; pick another name or --dir",
            root.display()
        );
    }
    for (path, text) in files {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

pub fn generate(new: &NewFlow) -> Result<Generated> {
    validate_name(&new.name)?;
    validate_services(&new.services)?;
    match new.lang {
        Lang::Rust => generate_rust(new),
        Lang::Python => generate_python(new),
    }
}

fn generate_rust(new: &NewFlow) -> Result<Generated> {
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
    let files = [
        ("Cargo.toml", render(CARGO_TOML, new, sdk_text)),
        ("src/lib.rs", render(LIB_RS, new, sdk_text)),
        (".cargo/config.toml", CARGO_CONFIG.to_string()),
        (".gitignore", GITIGNORE.to_string()),
    ];
    write_files(&root, &files)?;
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
        build: "cargo build --release",
        root,
    })
}

/// A Python flow: `app.py` on guest-sdk-py, and a `build.sh` that runs the
/// SDK's build (componentize-py) into `NAME.wasm`.
fn generate_python(new: &NewFlow) -> Result<Generated> {
    let sdk = new.sdk.canonicalize().with_context(|| {
        format!(
            "guest-sdk-py not found at {} (pass --sdk PATH to a guest-sdk-py checkout)",
            new.sdk.display()
        )
    })?;
    if !sdk.join("build.sh").is_file() || !sdk.join("guest_sdk/__init__.py").is_file() {
        bail!(
            "{} is not guest-sdk-py (no build.sh and guest_sdk/); with --lang python, --sdk must point at guest-sdk-py",
            sdk.display()
        );
    }
    let sdk_text = sdk
        .to_str()
        .with_context(|| format!("the guest-sdk-py path {} is not UTF-8", sdk.display()))?;
    // Written inside double quotes into a shell script and a Python string.
    if sdk_text.contains(['"', '\\', '$', '`', '\n']) {
        bail!("the guest-sdk-py path {sdk_text} cannot be written into build.sh");
    }
    let root = new.dir.join(&new.name);
    let files = [
        ("app.py", render(PY_APP, new, sdk_text)),
        ("build.sh", render(PY_BUILD, new, sdk_text)),
        ("README.md", render(PY_README, new, sdk_text)),
        ("test_app.py", render(PY_TEST, new, sdk_text)),
        (".gitignore", PY_GITIGNORE.to_string()),
    ];
    write_files(&root, &files)?;
    make_executable(&root.join("build.sh"))?;
    Ok(Generated {
        wasm: PathBuf::from(format!("{}.wasm", new.name)),
        build: "./build.sh",
        root,
    })
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<()> {
    Ok(())
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
            lang: Lang::Rust,
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
            lang: Lang::Rust,
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

    #[test]
    fn the_python_template_is_filled_in_everywhere() {
        let new = NewFlow {
            name: "my-flow".into(),
            dir: PathBuf::new(),
            sdk: PathBuf::new(),
            services: "etcd*".into(),
            lang: Lang::Python,
        };
        let app = render(PY_APP, &new, "/sdk-py");
        let build = render(PY_BUILD, &new, "/sdk-py");
        let test = render(PY_TEST, &new, "/sdk-py");
        assert!(app.contains("SERVICES = \"etcd*\""));
        assert!(app.contains("FlowInfo(\"my-flow\", \"0.1.0\")"));
        assert!(app.contains(&format!(".memory_mib({PY_TEMPLATE_MEMORY_MIB})")));
        assert!(app.contains("export_flow(Demo)"));
        assert!(build.contains("exec \"/sdk-py/build.sh\" . my-flow.wasm"));
        assert!(test.contains("sys.path.insert(0, \"/sdk-py\")"));
        for text in [&app, &build, &test, &render(PY_README, &new, "/sdk-py")] {
            assert!(!text.contains("{{"), "{text}");
        }
    }

    #[test]
    fn a_python_flow_is_an_app_and_its_build_script() {
        let dir = std::env::temp_dir().join(format!("new-flow-py-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sdk = default_sdk_for(Lang::Python).expect("tests run from the checkout");
        let new = NewFlow {
            name: "demo".into(),
            dir: dir.clone(),
            sdk,
            services: "db*".into(),
            lang: Lang::Python,
        };
        let generated = generate(&new).unwrap();
        assert_eq!(generated.wasm, PathBuf::from("demo.wasm"));
        assert_eq!(generated.build, "./build.sh");
        for file in [
            "app.py",
            "build.sh",
            "README.md",
            "test_app.py",
            ".gitignore",
        ] {
            assert!(generated.root.join(file).is_file(), "{file} missing");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(generated.root.join("build.sh"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o111, 0o111, "build.sh is executable");
        }
        let err = generate(&new).unwrap_err().to_string();
        assert!(err.contains("already exists"), "{err}");
        // The Rust SDK is not a Python one.
        let wrong = NewFlow {
            name: "other".into(),
            sdk: default_sdk().unwrap(),
            ..new
        };
        let err = generate(&wrong).unwrap_err().to_string();
        assert!(err.contains("is not guest-sdk-py"), "{err}");
        std::fs::remove_dir_all(dir).ok();
    }
}
