//! On-disk cache of compiled flows, so a presenter's second start skips
//! Cranelift entirely.
//!
//! An entry is keyed by the sha256 of the wasm bytes and by the engine's
//! compatibility hash (wasmtime version, compiler settings, CPU features), so
//! a rebuilt flow or an upgraded host never reuses a stale artifact.
//! Deserializing native code is only safe for code this host compiled itself:
//! the cache directory is created private (0700), entries are written
//! atomically (temp file + rename, never a torn file), and an entry not owned
//! by the current user is ignored and recompiled.

use sha2::{Digest, Sha256};
use std::fs;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};
use wasmtime::Engine;
use wasmtime::component::Component;

/// Entries kept; older ones are removed when a new one is written.
const MAX_ENTRIES: usize = 64;
const EXTENSION: &str = "cwasm";

/// Where compiled flows are kept.
#[derive(Debug, Clone)]
pub struct ModuleCache {
    dir: PathBuf,
}

/// How a component was obtained; logged and reported by benches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Deserialized from a previous compile.
    Hit,
    /// Compiled now and stored for next time.
    Compiled,
    /// Compiled now; storing it failed (logged), the flow still runs.
    CompiledNotStored,
}

impl ModuleCache {
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        ModuleCache { dir: dir.into() }
    }

    /// `$CHAOS_DEMO_CACHE_DIR`, else `$XDG_CACHE_HOME/chaos-demo/compiled`,
    /// else `~/.cache/chaos-demo/compiled`. An empty `CHAOS_DEMO_CACHE_DIR`
    /// turns the cache off.
    pub fn default_location() -> Option<Self> {
        if let Some(dir) = std::env::var_os("CHAOS_DEMO_CACHE_DIR") {
            return (!dir.is_empty()).then(|| Self::at(dir));
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
        Some(Self::at(base.join("chaos-demo").join("compiled")))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The entry a component of `wasm` compiled by `engine` is stored under.
    pub fn entry_path(&self, engine: &Engine, wasm: &[u8]) -> PathBuf {
        let digest = Sha256::digest(wasm);
        let mut compat = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut compat);
        let name = format!("{digest:x}-{:016x}.{EXTENSION}", compat.finish());
        self.dir.join(name)
    }

    /// The compiled component for `wasm`, from the cache when possible.
    /// Compile errors are returned as they are; cache trouble never is.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        wasm: &[u8],
    ) -> wasmtime::Result<(Component, Outcome)> {
        let entry = self.entry_path(engine, wasm);
        if let Some(component) = self.read(engine, &entry) {
            return Ok((component, Outcome::Hit));
        }
        let component = Component::new(engine, wasm)?;
        let outcome = match self.store(&component, &entry) {
            Ok(()) => Outcome::Compiled,
            Err(e) => {
                tracing::warn!(
                    "cannot cache the compiled flow in {}: {e}",
                    self.dir.display()
                );
                Outcome::CompiledNotStored
            }
        };
        Ok((component, outcome))
    }

    fn read(&self, engine: &Engine, entry: &Path) -> Option<Component> {
        let meta = fs::metadata(entry).ok()?;
        // SAFETY (why the owner check): deserialize trusts its input to be
        // wasmtime's own output; only files this user wrote are taken.
        if meta.uid() != unsafe { libc::getuid() } {
            tracing::warn!("ignoring {}: not owned by this user", entry.display());
            return None;
        }
        // SAFETY: the file was written by `store` below from
        // `Component::serialize` of this same engine configuration (the
        // name carries the compatibility hash, and wasmtime re-checks it),
        // and it only ever appears by an atomic rename.
        match unsafe { Component::deserialize_file(engine, entry) } {
            Ok(component) => Some(component),
            Err(e) => {
                tracing::warn!("recompiling: cached {} is unusable: {e}", entry.display());
                let _ = fs::remove_file(entry);
                None
            }
        }
    }

    fn store(&self, component: &Component, entry: &Path) -> anyhow::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)?;
        let bytes = component.serialize().map_err(anyhow::Error::from)?;
        let mut temp = tempfile_in(&self.dir)?;
        temp.1.write_all(&bytes)?;
        temp.1.sync_all()?;
        fs::rename(&temp.0, entry)?;
        self.prune();
        Ok(())
    }

    /// Keeps the newest [`MAX_ENTRIES`] entries.
    fn prune(&self) {
        let Ok(read) = fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = read
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == EXTENSION))
            .filter_map(|p| Some((fs::metadata(&p).ok()?.modified().ok()?, p)))
            .collect();
        if entries.len() <= MAX_ENTRIES {
            return;
        }
        entries.sort();
        for (_, path) in &entries[..entries.len() - MAX_ENTRIES] {
            let _ = fs::remove_file(path);
        }
    }
}

/// A uniquely named, private file in `dir`.
fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, fs::File)> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    Ok((path, file))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest component there is.
    const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

    fn engine() -> Engine {
        Engine::default()
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "chaos-demo-cache-test-{name}-{}",
            std::process::id()
        ));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn second_load_is_a_hit_and_a_changed_flow_is_not() {
        let dir = temp_dir("hit");
        let cache = ModuleCache::at(&dir);
        let engine = engine();
        let (_, first) = cache.load_or_compile(&engine, EMPTY_COMPONENT).unwrap();
        assert_eq!(first, Outcome::Compiled);
        let (_, second) = cache.load_or_compile(&engine, EMPTY_COMPONENT).unwrap();
        assert_eq!(second, Outcome::Hit);
        let mode = fs::metadata(&dir).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o700, "the cache directory is private");

        // The same component with a custom section is different bytes.
        let mut changed = EMPTY_COMPONENT.to_vec();
        changed.extend_from_slice(b"\x00\x04\x01x\x00\x00");
        assert_ne!(
            cache.entry_path(&engine, &changed),
            cache.entry_path(&engine, EMPTY_COMPONENT)
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_corrupt_entry_is_recompiled_and_replaced() {
        let dir = temp_dir("corrupt");
        let cache = ModuleCache::at(&dir);
        let engine = engine();
        cache.load_or_compile(&engine, EMPTY_COMPONENT).unwrap();
        let entry = cache.entry_path(&engine, EMPTY_COMPONENT);
        fs::write(&entry, b"definitely not an ELF file").unwrap();
        let (_, outcome) = cache.load_or_compile(&engine, EMPTY_COMPONENT).unwrap();
        assert_eq!(outcome, Outcome::Compiled);
        let (_, outcome) = cache.load_or_compile(&engine, EMPTY_COMPONENT).unwrap();
        assert_eq!(outcome, Outcome::Hit);
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_engine_with_other_settings_uses_another_entry() {
        let cache = ModuleCache::at("/nonexistent");
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(true);
        let other = Engine::new(&config).unwrap();
        assert_ne!(
            cache.entry_path(&engine(), EMPTY_COMPONENT),
            cache.entry_path(&other, EMPTY_COMPONENT)
        );
    }

    #[test]
    fn an_unwritable_cache_still_compiles() {
        let cache = ModuleCache::at("/proc/no-such-dir/cache");
        let (_, outcome) = cache.load_or_compile(&engine(), EMPTY_COMPONENT).unwrap();
        assert_eq!(outcome, Outcome::CompiledNotStored);
    }
}
