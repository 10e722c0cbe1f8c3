//! Compiling a flow in a child process, under a memory cap and a deadline.
//!
//! A pack is compiled before the presenter has agreed to anything (the
//! consent screen shows what `describe` returned) and by `host inspect`,
//! whose whole point is looking at a stranger's pack. So compiling is as
//! hostile as running: after the shape check (`shape_check.rs`), the
//! compile itself runs in a re-exec of this binary (`host __compile`) whose
//! data segment is capped (`RLIMIT_DATA`), whose CPU time is capped
//! (`RLIMIT_CPU`), which is killed at a wall-clock deadline, on the parent's
//! death (`PR_SET_PDEATHSIG`) and when the parent gives up on it, and whose
//! output is cut off past a size. The child writes `Engine::precompile_component`
//! bytes to its stdout; the parent streams them into a private file and
//! loads that with `Component::deserialize_file`.

use super::Compiler;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};
use wasmtime::{Config, Engine};

/// The hidden subcommand the child runs.
pub const SUBCOMMAND: &str = "__compile";

/// The engine configuration, the same in the parent (which loads the
/// artifact) and the child (which makes it): wasmtime refuses an artifact
/// from another configuration, and the cache key carries its hash.
pub fn engine_config(compiler: Compiler) -> Config {
    let mut config = Config::new();
    config.epoch_interruption(true);
    config.wasm_component_model(true);
    compiler.configure(&mut config);
    config
}

/// What compiling one pack may take.
#[derive(Debug, Clone)]
pub struct CompileLimits {
    /// The child's data segment (`RLIMIT_DATA`: heap and private mappings).
    pub memory_bytes: u64,
    /// Wall-clock time before the child is killed.
    pub deadline: Duration,
    /// CPU seconds of all the child's threads (`RLIMIT_CPU`): the deadline
    /// on every core, so it only ends a child whose parent stopped watching
    /// (the deadline comes first otherwise).
    pub cpu_seconds: u64,
    /// Size of the compiled artifact.
    pub output_bytes: u64,
}

impl Default for CompileLimits {
    /// Measured on the 18 MB Python flow (BENCHMARKS.md, "Compile bounds"):
    /// it compiles with Winch in ~370 MB peak RSS, 4–7 s on a loaded 2-core
    /// machine (Cranelift: ~440 MB, 13–17 s) and to 46 MB of output.
    fn default() -> Self {
        let deadline = Duration::from_secs(DEFAULT_COMPILE_SECONDS);
        CompileLimits {
            memory_bytes: DEFAULT_COMPILE_MEMORY_MIB << 20,
            deadline,
            cpu_seconds: cpu_for(deadline),
            output_bytes: 512 << 20,
        }
    }
}

/// The compile child's default memory cap and deadline (the CLI's defaults
/// for `--compile-memory-mib` and `--compile-seconds`).
pub const DEFAULT_COMPILE_MEMORY_MIB: u64 = 2 << 10;
pub const DEFAULT_COMPILE_SECONDS: u64 = 60;

impl CompileLimits {
    /// The defaults with the presenter's memory cap and deadline, for a
    /// trusted flow that needs more (and for the tests, which need less).
    pub fn with(memory_mib: u64, seconds: u64) -> Self {
        let deadline = Duration::from_secs(seconds.max(1));
        CompileLimits {
            memory_bytes: memory_mib.max(1).saturating_mul(1 << 20),
            deadline,
            cpu_seconds: cpu_for(deadline),
            ..CompileLimits::default()
        }
    }
}

fn cpu_for(deadline: Duration) -> u64 {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get().max(2));
    deadline
        .as_secs()
        .saturating_add(1)
        .saturating_mul(cores as u64)
}

/// Why a compile gave no artifact.
#[derive(Debug)]
pub enum CompileFailure {
    /// The bytes are not a valid component (wasmtime's first line).
    Invalid(String),
    /// The compile went over a bound: one sentence naming it and its figure.
    Bound(String),
    /// The child could not be run or its output not kept.
    Trouble(String),
}

/// Runs `host __compile` for each pack.
#[derive(Debug, Clone)]
pub struct ChildCompiler {
    exe: PathBuf,
    compiler: Compiler,
    limits: CompileLimits,
}

impl ChildCompiler {
    /// Re-executes the running binary, which must be `host` (the hidden
    /// subcommand is dispatched in its `main`). `/proc/self/exe` rather than
    /// its path: the very binary running, even when a rebuild replaced the
    /// file since (another build would make artifacts this engine refuses).
    pub fn current_exe(compiler: Compiler, limits: CompileLimits) -> std::io::Result<Self> {
        let proc_exe = Path::new("/proc/self/exe");
        let exe = if proc_exe.exists() {
            proc_exe.to_path_buf()
        } else {
            std::env::current_exe()?
        };
        Ok(ChildCompiler {
            exe,
            compiler,
            limits,
        })
    }

    /// A given binary with given limits (the tests).
    pub fn with_limits(exe: PathBuf, compiler: Compiler, limits: CompileLimits) -> Self {
        ChildCompiler {
            exe,
            compiler,
            limits,
        }
    }

    pub fn limits(&self) -> &CompileLimits {
        &self.limits
    }

    /// Compiles `wasm` in a child and writes the artifact to `out` (a file
    /// the caller created private). `out`'s length is at most
    /// `output_bytes` when this returns `Ok`.
    pub fn compile_into(&self, wasm: &[u8], out: &mut std::fs::File) -> Result<(), CompileFailure> {
        let mut command = Command::new(&self.exe);
        command
            .arg(SUBCOMMAND)
            .arg(self.compiler.name())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Fewer malloc arenas: less reserved, the same speed on a compile.
            .env("MALLOC_ARENA_MAX", "2");
        let limits = self.limits.clone();
        let parent = std::process::id();
        // SAFETY: between fork and exec only async-signal-safe calls
        // (setrlimit, prctl, getppid, _exit), no allocation.
        unsafe {
            use std::os::unix::process::CommandExt;
            command.pre_exec(move || {
                set_limit(libc::RLIMIT_DATA, limits.memory_bytes)?;
                set_limit(libc::RLIMIT_CPU, limits.cpu_seconds)?;
                // A core dump of a 2 GiB compile is not wanted.
                set_limit(libc::RLIMIT_CORE, 0)?;
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent died before the line above: nobody waits for us.
                if libc::getppid() as u32 != parent {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let child = command.spawn().map_err(|e| {
            CompileFailure::Trouble(format!(
                "cannot start the compiler process {}: {e}",
                self.exe.display()
            ))
        })?;
        let mut child = KillOnDrop(child);
        let stdin = child.0.stdin.take();
        let stdout = child.0.stdout.take();
        let stderr = child.0.stderr.take();
        let cap = self.limits.output_bytes;
        let started = Instant::now();
        let (status, written, said) = std::thread::scope(|scope| {
            // A child that dies early closes the pipe: the write error
            // says nothing the exit status does not.
            scope.spawn(move || {
                if let Some(mut stdin) = stdin {
                    let _ = stdin.write_all(wasm);
                }
            });
            let copier = scope.spawn(move || -> std::io::Result<u64> {
                let Some(stdout) = stdout else {
                    return Ok(0);
                };
                // One byte over the cap tells that it was over; the pipe
                // then closes, and the child's next write fails and ends it.
                std::io::copy(&mut stdout.take(cap + 1), out)
            });
            let talker = scope.spawn(move || {
                let mut said = Vec::new();
                if let Some(stderr) = stderr {
                    let _ = stderr.take(4096).read_to_end(&mut said);
                }
                String::from_utf8_lossy(&said).into_owned()
            });
            let status = wait_until(&mut child.0, started + self.limits.deadline);
            let written = copier
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("the copying thread panicked")));
            let said = talker.join().unwrap_or_default();
            (status, written, said)
        });
        let written = written
            .map_err(|e| CompileFailure::Trouble(format!("cannot write the compiled flow: {e}")))?;
        if written > cap {
            let size = if cap >= 1 << 20 {
                format!("{} MiB", cap >> 20)
            } else {
                format!("{} KiB", cap >> 10)
            };
            return Err(CompileFailure::Bound(format!(
                "its compiled code is over {size}; a flow may compile to at most that"
            )));
        }
        match status {
            Waited::Exited(status) => self.verdict(status, &said, started.elapsed()),
            Waited::TimedOut => Err(CompileFailure::Bound(format!(
                "compiling it took longer than {} s; a flow must compile within that (CHAOS_DEMO_COMPILE_SECONDS raises it for a flow you trust)",
                self.limits.deadline.as_secs()
            ))),
            Waited::Error(e) => Err(CompileFailure::Trouble(format!(
                "cannot wait for the compiler process: {e}"
            ))),
        }
    }

    fn verdict(
        &self,
        status: ExitStatus,
        said: &str,
        took: Duration,
    ) -> Result<(), CompileFailure> {
        use std::os::unix::process::ExitStatusExt;
        let first = said
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string();
        let memory = || {
            CompileFailure::Bound(format!(
                "compiling it needed more than {} MiB of memory; a flow must compile within that (CHAOS_DEMO_COMPILE_MEMORY_MIB raises it for a flow you trust)",
                self.limits.memory_bytes >> 20
            ))
        };
        match (status.code(), status.signal()) {
            (Some(0), _) => Ok(()),
            (Some(INVALID), _) => Err(CompileFailure::Invalid(first)),
            (Some(OUT_OF_MEMORY), _) => Err(memory()),
            // Rust aborts when an allocation fails.
            (_, Some(libc::SIGABRT)) if said.contains("memory allocation") => Err(memory()),
            (_, Some(libc::SIGXCPU)) => Err(CompileFailure::Bound(format!(
                "compiling it used more than {} s of CPU; a flow must compile within that",
                self.limits.cpu_seconds
            ))),
            (_, Some(libc::SIGINT | libc::SIGTERM | libc::SIGHUP)) => {
                Err(CompileFailure::Trouble(format!(
                    "compiling was interrupted after {:.1} s",
                    took.as_secs_f64()
                )))
            }
            (code, signal) => Err(CompileFailure::Trouble(format!(
                "the compiler process failed ({}){}",
                match (code, signal) {
                    (Some(c), _) => format!("exit code {c}"),
                    (_, Some(s)) => format!("signal {s}"),
                    _ => "no status".into(),
                },
                if first.is_empty() {
                    String::new()
                } else {
                    format!(": {first}")
                }
            ))),
        }
    }
}

/// The child's exit code for bytes wasmtime refuses.
const INVALID: i32 = 3;
/// The child's exit code when an allocation failed and said so as an error.
const OUT_OF_MEMORY: i32 = 4;

fn set_limit(resource: libc::__rlimit_resource_t, value: u64) -> std::io::Result<()> {
    let limit = libc::rlimit {
        rlim_cur: value,
        rlim_max: value,
    };
    // SAFETY: a plain syscall on a stack value.
    if unsafe { libc::setrlimit(resource, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// A child that is killed (and reaped) when the parent stops waiting for it,
/// on every path out, a panic's included.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

enum Waited {
    Exited(ExitStatus),
    TimedOut,
    Error(std::io::Error),
}

fn wait_until(child: &mut Child, deadline: Instant) -> Waited {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Waited::Exited(status),
            Ok(None) => {}
            Err(e) => return Waited::Error(e),
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Waited::TimedOut;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// `host __compile COMPILER`: the child. Reads a component on stdin,
/// writes its precompiled artifact to stdout; the exit code says which
/// failure it was, stderr says it in one line.
pub fn child_main(compiler: &str) -> std::process::ExitCode {
    use std::process::ExitCode;
    let Some(compiler) = Compiler::from_name(compiler) else {
        eprintln!("unknown compiler {compiler:?}");
        return ExitCode::FAILURE;
    };
    let mut wasm = Vec::new();
    let limit = super::shape_check::ShapeLimits::default().file_bytes;
    if let Err(e) = std::io::stdin()
        .lock()
        .take(limit + 1)
        .read_to_end(&mut wasm)
    {
        eprintln!("cannot read the component: {e}");
        return ExitCode::FAILURE;
    }
    let engine = match Engine::new(&engine_config(compiler)) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("cannot start the wasm engine: {e}");
            return ExitCode::FAILURE;
        }
    };
    match engine.precompile_component(&wasm) {
        Ok(artifact) => {
            let mut out = std::io::stdout().lock();
            if let Err(e) = out.write_all(&artifact).and_then(|()| out.flush()) {
                eprintln!("cannot write the compiled component: {e}");
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let text = format!("{e:#}");
            eprintln!("{}", text.lines().next().unwrap_or_default());
            // Failing to allocate can be an error (an mmap refused by
            // RLIMIT_DATA) as well as an abort.
            if text.contains("Cannot allocate memory") || text.contains("out of memory") {
                ExitCode::from(OUT_OF_MEMORY as u8)
            } else {
                ExitCode::from(INVALID as u8)
            }
        }
    }
}

/// Reads a pack, refusing one larger than the shape check allows before
/// reading it (a many-GB file would otherwise be read whole).
pub fn read_pack(path: &Path) -> std::io::Result<Vec<u8>> {
    let limit = super::shape_check::ShapeLimits::default().file_bytes;
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    // One byte over is enough for the shape check to refuse it by size.
    file.take(limit + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// A uniquely named, private (0600) new file in `dir`.
pub fn private_file_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)?;
    Ok((path, file))
}

impl Compiler {
    /// The name the child is told (`CHAOS_DEMO_COMPILER`'s values).
    pub fn name(self) -> &'static str {
        match self {
            Compiler::Winch => "winch",
            Compiler::Cranelift => "cranelift",
        }
    }

    pub fn from_name(name: &str) -> Option<Compiler> {
        match name {
            "winch" => Some(Compiler::Winch),
            "cranelift" => Some(Compiler::Cranelift),
            _ => None,
        }
    }
}

/// Without a cache: the child's artifact goes to a private file in the
/// temp directory, is loaded, and the file removed (the mapping stays).
pub fn compile_private(
    engine: &Engine,
    wasm: &[u8],
    child: &ChildCompiler,
) -> Result<wasmtime::component::Component, CompileFailure> {
    let (path, mut file) = private_file_in(&std::env::temp_dir()).map_err(|e| {
        CompileFailure::Trouble(format!(
            "cannot create a file for the compiled flow in {}: {e}",
            std::env::temp_dir().display()
        ))
    })?;
    let loaded = child
        .compile_into(wasm, &mut file)
        .and_then(|()| deserialize_own(engine, &path));
    let _ = std::fs::remove_file(&path);
    loaded
}

/// Loads an artifact the child just wrote into a file this process created.
pub fn deserialize_own(
    engine: &Engine,
    path: &Path,
) -> Result<wasmtime::component::Component, CompileFailure> {
    // SAFETY: the file was created here (O_EXCL, 0600) and filled only
    // with `Engine::precompile_component` output of this same binary and
    // engine configuration; wasmtime re-checks the compatibility hash.
    unsafe { wasmtime::component::Component::deserialize_file(engine, path) }.map_err(|e| {
        CompileFailure::Trouble(format!(
            "cannot load the compiled flow: {}",
            format!("{e:#}").lines().next().unwrap_or_default()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn child(limits: CompileLimits) -> ChildCompiler {
        ChildCompiler::with_limits(e2e::host_bin(), Compiler::Winch, limits)
    }

    fn compile(child: &ChildCompiler, wasm: &[u8]) -> (Result<(), CompileFailure>, u64) {
        let dir = std::env::temp_dir();
        let (path, mut file) = private_file_in(&dir).unwrap();
        let result = child.compile_into(wasm, &mut file);
        let len = std::fs::metadata(&path).unwrap().len();
        std::fs::remove_file(&path).unwrap();
        (result, len)
    }

    #[test]
    fn the_child_compiles_what_the_parent_loads() {
        let wasm = std::fs::read(e2e::flow_wasm("etcd")).unwrap();
        let child = child(CompileLimits::default());
        let (path, mut file) = private_file_in(&std::env::temp_dir()).unwrap();
        child.compile_into(&wasm, &mut file).unwrap();
        let engine = Engine::new(&engine_config(Compiler::Winch)).unwrap();
        let component = deserialize_own(&engine, &path);
        std::fs::remove_file(&path).unwrap();
        assert!(component.is_ok(), "{:?}", component.err());
    }

    #[test]
    fn output_over_its_cap_is_cut_off_and_refused() {
        let wasm = std::fs::read(e2e::flow_wasm("etcd")).unwrap();
        let limits = CompileLimits {
            output_bytes: 4 << 10,
            ..CompileLimits::default()
        };
        let (result, written) = compile(&child(limits), &wasm);
        match result {
            Err(CompileFailure::Bound(why)) => assert_eq!(
                why,
                "its compiled code is over 4 KiB; a flow may compile to at most that"
            ),
            other => panic!("{other:?}"),
        }
        assert!(written <= (4 << 10) + 1, "{written} bytes kept");
    }

    #[test]
    fn bytes_wasmtime_refuses_say_why_in_one_line() {
        let (result, _) = compile(
            &child(CompileLimits::default()),
            b"\0asm\x0d\0\x01\0\x01\xff\xff",
        );
        match result {
            Err(CompileFailure::Invalid(why)) => {
                assert!(!why.is_empty() && !why.contains('\n'), "{why:?}")
            }
            other => panic!("{other:?}"),
        }
    }
}
