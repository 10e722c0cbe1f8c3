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

use super::compile::{ChildCompiler, CompileFailure, deserialize_own, private_file_in};
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
/// The most the entries may take together; the oldest go first. About
/// twenty Python flows (the largest shipped ones, 46 MB compiled).
pub const MAX_TOTAL_BYTES: u64 = 1 << 30;
/// The largest entry kept: a compiled flow bigger than this runs but is not
/// stored (a 93 KB pack once compiled to 80 MB; that is for the shape check
/// to refuse, this is the cache's own bound).
pub const MAX_ENTRY_BYTES: u64 = 256 << 20;
/// A temp file this old was left by a host that was killed mid-write.
const STALE_TEMP: std::time::Duration = std::time::Duration::from_secs(3600);
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

    /// `DIR/chaos-demo/compiled` under a user's cache directory (the CLI
    /// passes `$XDG_CACHE_HOME`, else `~/.cache`).
    pub fn under(cache_home: &Path) -> Self {
        Self::at(cache_home.join("chaos-demo").join("compiled"))
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

    /// As [`Self::load_or_compile`], compiling in `child` under its bounds:
    /// its artifact is streamed into a private temp file here, renamed into
    /// place, and loaded from there.
    pub fn load_or_compile_in(
        &self,
        engine: &Engine,
        wasm: &[u8],
        child: &ChildCompiler,
    ) -> Result<(Component, Outcome), CompileFailure> {
        let entry = self.entry_path(engine, wasm);
        if let Some(component) = self.read(engine, &entry) {
            return Ok((component, Outcome::Hit));
        }
        let (temp, mut file) = match self.create_dir().and_then(|()| private_file_in(&self.dir)) {
            Ok(made) => made,
            Err(e) => {
                tracing::warn!(
                    "cannot cache the compiled flow in {}: {e}",
                    self.dir.display()
                );
                let component = super::compile::compile_private(engine, wasm, child)?;
                return Ok((component, Outcome::CompiledNotStored));
            }
        };
        let stored = child.compile_into(wasm, &mut file).map(|()| {
            let size = file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
            if size > MAX_ENTRY_BYTES {
                tracing::warn!(
                    "not caching the compiled flow: {} MiB is over the {} MiB an entry may take",
                    size >> 20,
                    MAX_ENTRY_BYTES >> 20
                );
                return false;
            }
            match file.sync_all().and_then(|()| fs::rename(&temp, &entry)) {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(
                        "cannot cache the compiled flow in {}: {e}",
                        self.dir.display()
                    );
                    false
                }
            }
        });
        drop(file);
        match stored {
            Ok(true) => {
                self.prune();
                let component = deserialize_own(engine, &entry)?;
                Ok((component, Outcome::Compiled))
            }
            Ok(false) => {
                let loaded = deserialize_own(engine, &temp);
                let _ = fs::remove_file(&temp);
                Ok((loaded?, Outcome::CompiledNotStored))
            }
            Err(failure) => {
                let _ = fs::remove_file(&temp);
                Err(failure)
            }
        }
    }

    /// The cached component for `wasm`, if there is a usable one.
    pub fn hit(&self, engine: &Engine, wasm: &[u8]) -> Option<Component> {
        self.read(engine, &self.entry_path(engine, wasm))
    }

    fn create_dir(&self) -> std::io::Result<()> {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
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
        // `Component::serialize`, or by `load_or_compile_in` from the
        // compile child's `Engine::precompile_component` (this binary), of
        // this same engine configuration (the name carries the
        // compatibility hash, and wasmtime re-checks it), and it only ever
        // appears by an atomic rename.
        match unsafe { Component::deserialize_file(engine, entry) } {
            Ok(component) => {
                // Used now: the last to be evicted (eviction goes by age).
                if let Ok(file) = fs::File::open(entry) {
                    let _ = file.set_modified(std::time::SystemTime::now());
                }
                Some(component)
            }
            Err(e) => {
                tracing::warn!("recompiling: cached {} is unusable: {e}", entry.display());
                let _ = fs::remove_file(entry);
                None
            }
        }
    }

    fn store(&self, component: &Component, entry: &Path) -> anyhow::Result<()> {
        self.create_dir()?;
        let bytes = component.serialize().map_err(anyhow::Error::from)?;
        if bytes.len() as u64 > MAX_ENTRY_BYTES {
            anyhow::bail!(
                "{} MiB is over the {} MiB an entry may take",
                bytes.len() >> 20,
                MAX_ENTRY_BYTES >> 20
            );
        }
        let mut temp = private_file_in(&self.dir)?;
        temp.1.write_all(&bytes)?;
        temp.1.sync_all()?;
        fs::rename(&temp.0, entry)?;
        self.prune();
        Ok(())
    }

    /// Keeps the newest entries within [`MAX_ENTRIES`] and
    /// [`MAX_TOTAL_BYTES`], and removes temp files a killed host left.
    fn prune(&self) {
        prune(&self.dir, MAX_ENTRIES, MAX_TOTAL_BYTES);
    }
}

/// Removes the oldest entries of `dir` (by modification time: a hit
/// refreshes it) until at most `max_entries` remain taking at most
/// `max_bytes` together; the newest always stays.
fn prune(dir: &Path, max_entries: usize, max_bytes: u64) {
    let Ok(read) = fs::read_dir(dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    let mut entries: Vec<(std::time::SystemTime, u64, PathBuf)> = Vec::new();
    for path in read.filter_map(|e| e.ok()).map(|e| e.path()) {
        let Ok(meta) = fs::symlink_metadata(&path) else {
            continue;
        };
        let Ok(modified) = meta.modified() else {
            continue;
        };
        let is_temp = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(".tmp-"));
        if is_temp {
            if now.duration_since(modified).unwrap_or_default() > STALE_TEMP {
                let _ = fs::remove_file(&path);
            }
        } else if path.extension().is_some_and(|x| x == EXTENSION) {
            entries.push((modified, meta.len(), path));
        }
    }
    // Newest first.
    entries.sort_by_key(|e| std::cmp::Reverse(e.0));
    let mut kept_bytes = 0u64;
    for (i, (_, len, path)) in entries.iter().enumerate() {
        kept_bytes = kept_bytes.saturating_add(*len);
        if i > 0 && (i >= max_entries || kept_bytes > max_bytes) {
            let _ = fs::remove_file(path);
        }
    }
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
    fn the_oldest_entries_go_when_the_total_is_over_its_cap() {
        let dir = temp_dir("evict");
        fs::create_dir_all(&dir).unwrap();
        let base = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
        let write = |name: &str, len: usize, age_rank: u64| {
            let path = dir.join(name);
            fs::write(&path, vec![0u8; len]).unwrap();
            let file = fs::File::options().write(true).open(&path).unwrap();
            file.set_modified(base + std::time::Duration::from_secs(age_rank * 60))
                .unwrap();
            path
        };
        // Oldest first: a, b, c, d (d newest).
        let a = write("a.cwasm", 100, 1);
        let b = write("b.cwasm", 100, 2);
        let c = write("c.cwasm", 100, 3);
        let d = write("d.cwasm", 100, 4);
        let stale_temp = write(".tmp-1-2", 100, 0);
        let not_an_entry = write("notes.txt", 1000, 0);
        let fresh_temp = dir.join(".tmp-3-4");
        fs::write(&fresh_temp, b"being written").unwrap();

        prune(&dir, 64, 250);
        assert!(!a.exists() && !b.exists(), "the oldest went");
        assert!(c.exists() && d.exists(), "the newest 200 bytes stayed");
        assert!(!stale_temp.exists(), "a temp file a killed host left went");
        assert!(fresh_temp.exists(), "a temp file being written stays");
        assert!(
            not_an_entry.exists(),
            "only entries are counted and removed"
        );

        // The newest stays even alone over the cap; the count cap holds too.
        prune(&dir, 64, 50);
        assert!(d.exists() && !c.exists());
        let e = write("e.cwasm", 10, 5);
        prune(&dir, 1, 1 << 20);
        assert!(e.exists() && !d.exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_hit_makes_an_entry_the_newest() {
        let dir = temp_dir("touch");
        let cache = ModuleCache::at(&dir);
        let engine = engine();
        cache.load_or_compile(&engine, EMPTY_COMPONENT).unwrap();
        let entry = cache.entry_path(&engine, EMPTY_COMPONENT);
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        fs::File::options()
            .write(true)
            .open(&entry)
            .unwrap()
            .set_modified(old)
            .unwrap();
        let (_, outcome) = cache.load_or_compile(&engine, EMPTY_COMPONENT).unwrap();
        assert_eq!(outcome, Outcome::Hit);
        let modified = fs::metadata(&entry).unwrap().modified().unwrap();
        assert!(modified > old + std::time::Duration::from_secs(3000));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unwritable_cache_still_compiles() {
        let cache = ModuleCache::at("/proc/no-such-dir/cache");
        let (_, outcome) = cache.load_or_compile(&engine(), EMPTY_COMPONENT).unwrap();
        assert_eq!(outcome, Outcome::CompiledNotStored);
    }
}
