//! The shape of a pack, checked before anything compiles it.
//!
//! Compiling is as hostile as running: the compiler's memory and time grow
//! with what the bytes declare, not with their size. Four bytes declare
//! 40 000 locals, which Winch zero-fills in unrolled code (hundreds of KB of
//! machine code per function); 4 MB hold a million empty functions, each with
//! its own trampolines and metadata. So before a byte reaches wasmtime, the
//! component and every core module nested in it are walked with `wasmparser`
//! (reading, not validating: wasmtime validates when it compiles) and every
//! figure the compiler's cost grows with is held to a bound. The bounds sit
//! far above the shipped flows, the 18 MB Python ones included (the room is
//! in BENCHMARKS.md, "Compile bounds"); the compile itself runs in a child
//! process under a memory cap and a deadline (`compile.rs`), for what no
//! figure here foresees.

use std::fmt;
use wasmparser::{ElementItems, Encoding, Operator, Parser, Payload};

/// The most a flow may declare, figure by figure.
#[derive(Debug, Clone)]
pub struct ShapeLimits {
    /// Size of the .wasm file.
    pub file_bytes: u64,
    /// Core modules, nested at any depth.
    pub modules: u64,
    /// Components nested in the pack, at any depth.
    pub components: u64,
    /// Components within components.
    pub nesting: u64,
    /// Functions defined by one core module.
    pub functions_per_module: u64,
    /// Functions defined by all core modules together.
    pub functions: u64,
    /// Locals one function declares (the sum of its local declarations).
    pub locals_per_function: u64,
    /// Locals all functions declare together.
    pub locals: u64,
    /// Bytes of one function body.
    pub body_bytes: u64,
    /// Bytes of all function bodies together.
    pub code_bytes: u64,
    /// Blocks, loops and ifs open at once in one function.
    pub block_depth: u64,
    /// Elements of one table at start (the runtime allows no more either).
    pub table_elements: u64,
    /// Items of all element segments together.
    pub element_items: u64,
    /// Data segments of all modules together.
    pub data_segments: u64,
    /// Bytes of all data segments together.
    pub data_bytes: u64,
    /// Items of any one other section (types, imports, exports, globals,
    /// instances, aliases, canonical functions...).
    pub section_items: u64,
}

impl Default for ShapeLimits {
    fn default() -> Self {
        ShapeLimits {
            file_bytes: 128 << 20,
            modules: 256,
            components: 256,
            nesting: 16,
            functions_per_module: 50_000,
            functions: 100_000,
            locals_per_function: 10_000,
            locals: 1_000_000,
            body_bytes: 8 << 20,
            code_bytes: 96 << 20,
            block_depth: 10_000,
            table_elements: 100_000,
            element_items: 100_000,
            data_segments: 100_000,
            data_bytes: 96 << 20,
            section_items: 50_000,
        }
    }
}

/// What a pack declares: the largest figure of each kind, for the bounds'
/// room (BENCHMARKS.md) and the tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    pub modules: u64,
    pub components: u64,
    pub nesting: u64,
    pub max_functions_per_module: u64,
    pub functions: u64,
    pub max_locals_per_function: u64,
    pub locals: u64,
    pub max_body_bytes: u64,
    pub code_bytes: u64,
    pub max_block_depth: u64,
    pub max_table_elements: u64,
    pub element_items: u64,
    pub data_segments: u64,
    pub data_bytes: u64,
    pub max_section_items: u64,
}

/// Why a pack was refused before compiling: one sentence naming the figure
/// and its bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(String);

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refusal {}

/// Where in the pack a figure was found, as the refusal says it.
#[derive(Clone, Copy)]
struct Module(u64);

impl fmt::Display for Module {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "core module {}", self.0)
    }
}

fn over(what: fmt::Arguments<'_>, limit: u64, unit: &str) -> Refusal {
    Refusal(format!("{what}; a flow may declare at most {limit}{unit}"))
}

/// Walks `bytes` (a component, or a core module) and refuses the first
/// figure over its bound. Malformed bytes are not this check's business:
/// what it cannot read it leaves to wasmtime's validation, which says why.
pub fn check(bytes: &[u8], limits: &ShapeLimits) -> Result<Shape, Refusal> {
    let mut shape = Shape::default();
    if bytes.len() as u64 > limits.file_bytes {
        // The reader stops one byte past the bound: the figure is "over".
        return Err(Refusal(format!(
            "the file is over {} MiB; a flow may be at most that",
            limits.file_bytes >> 20
        )));
    }
    // The kind of each open (nested) parse: components and modules.
    let mut open: Vec<Encoding> = Vec::new();
    // The core module being read, and its defined-function count so far.
    let mut module = Module(0);
    let mut defined_functions = 0u64;
    // The place of the function body being read in its module's code
    // section: what a refusal names ("function body 12 of core module 3").
    let mut body_index = 0u64;
    for payload in Parser::new(0).parse_all(bytes) {
        let Ok(payload) = payload else {
            // wasmtime says what is malformed, and it refuses it.
            return Ok(shape);
        };
        let items = |count: u32, what: &str, shape: &mut Shape| {
            let count = u64::from(count);
            shape.max_section_items = shape.max_section_items.max(count);
            if count > limits.section_items {
                return Err(over(
                    format_args!("a section declares {count} {what}"),
                    limits.section_items,
                    " per section",
                ));
            }
            Ok(())
        };
        match payload {
            Payload::Version { encoding, .. } => {
                match encoding {
                    Encoding::Module => {
                        shape.modules += 1;
                        module = Module(shape.modules);
                        defined_functions = 0;
                        body_index = 0;
                        if shape.modules > limits.modules {
                            return Err(over(
                                format_args!("it holds more than {} core modules", limits.modules),
                                limits.modules,
                                "",
                            ));
                        }
                    }
                    Encoding::Component => {
                        let depth =
                            open.iter().filter(|e| **e == Encoding::Component).count() as u64;
                        if depth > 0 {
                            shape.components += 1;
                        }
                        shape.nesting = shape.nesting.max(depth);
                        if shape.components > limits.components {
                            return Err(over(
                                format_args!("it nests more than {} components", limits.components),
                                limits.components,
                                "",
                            ));
                        }
                        if depth > limits.nesting {
                            return Err(over(
                                format_args!("it nests components {depth} deep"),
                                limits.nesting,
                                " levels",
                            ));
                        }
                    }
                }
                open.push(encoding);
            }
            Payload::End(_) => {
                open.pop();
            }
            Payload::FunctionSection(s) => {
                defined_functions += u64::from(s.count());
                shape.functions += u64::from(s.count());
                shape.max_functions_per_module =
                    shape.max_functions_per_module.max(defined_functions);
                if defined_functions > limits.functions_per_module {
                    return Err(over(
                        format_args!("{module} declares {defined_functions} functions"),
                        limits.functions_per_module,
                        " per module",
                    ));
                }
                if shape.functions > limits.functions {
                    return Err(over(
                        format_args!("its modules declare {} functions", shape.functions),
                        limits.functions,
                        " in all",
                    ));
                }
            }
            Payload::CodeSectionStart { count, .. } => {
                // A code section may claim more bodies than the function
                // section declared; the larger count is what gets compiled.
                let count = u64::from(count);
                if count > limits.functions_per_module {
                    return Err(over(
                        format_args!("{module} holds {count} function bodies"),
                        limits.functions_per_module,
                        " per module",
                    ));
                }
            }
            Payload::CodeSectionEntry(body) => {
                function_body(&body, module, body_index, limits, &mut shape)?;
                body_index += 1;
            }
            Payload::TableSection(s) => {
                items(s.count(), "tables", &mut shape)?;
                for table in s.into_iter().flatten() {
                    let initial = table.ty.initial;
                    shape.max_table_elements = shape.max_table_elements.max(initial);
                    if initial > limits.table_elements {
                        return Err(over(
                            format_args!("{module} declares a table of {initial} elements"),
                            limits.table_elements,
                            " per table",
                        ));
                    }
                }
            }
            Payload::ImportSection(s) => {
                // Imported tables are sized by whoever provides them; a
                // flow's come from its own modules, checked where defined.
                items(s.count(), "imports", &mut shape)?;
            }
            Payload::ElementSection(s) => {
                items(s.count(), "element segments", &mut shape)?;
                for element in s.into_iter().flatten() {
                    let n = match element.items {
                        ElementItems::Functions(f) => f.count(),
                        ElementItems::Expressions(_, e) => e.count(),
                    };
                    shape.element_items += u64::from(n);
                    if shape.element_items > limits.element_items {
                        return Err(over(
                            format_args!("its element segments hold {} items", shape.element_items),
                            limits.element_items,
                            " in all",
                        ));
                    }
                }
            }
            Payload::DataSection(s) => {
                shape.data_segments += u64::from(s.count());
                if shape.data_segments > limits.data_segments {
                    return Err(over(
                        format_args!("it declares {} data segments", shape.data_segments),
                        limits.data_segments,
                        " in all",
                    ));
                }
                for data in s.into_iter().flatten() {
                    shape.data_bytes += data.data.len() as u64;
                }
                if shape.data_bytes > limits.data_bytes {
                    return Err(over(
                        format_args!("its data segments hold {} MiB", shape.data_bytes >> 20),
                        limits.data_bytes >> 20,
                        " MiB in all",
                    ));
                }
            }
            Payload::TypeSection(s) => items(s.count(), "types", &mut shape)?,
            Payload::MemorySection(s) => items(s.count(), "memories", &mut shape)?,
            Payload::TagSection(s) => items(s.count(), "tags", &mut shape)?,
            Payload::GlobalSection(s) => items(s.count(), "globals", &mut shape)?,
            Payload::ExportSection(s) => items(s.count(), "exports", &mut shape)?,
            Payload::InstanceSection(s) => items(s.count(), "core instances", &mut shape)?,
            Payload::CoreTypeSection(s) => items(s.count(), "core types", &mut shape)?,
            Payload::ComponentInstanceSection(s) => items(s.count(), "instances", &mut shape)?,
            Payload::ComponentAliasSection(s) => items(s.count(), "aliases", &mut shape)?,
            Payload::ComponentTypeSection(s) => items(s.count(), "types", &mut shape)?,
            Payload::ComponentCanonicalSection(s) => {
                items(s.count(), "canonical functions", &mut shape)?
            }
            Payload::ComponentImportSection(s) => items(s.count(), "imports", &mut shape)?,
            Payload::ComponentExportSection(s) => items(s.count(), "exports", &mut shape)?,
            _ => {}
        }
    }
    Ok(shape)
}

/// One function's locals, size and block depth (the operators are read,
/// not validated: a pass at a few hundred MB/s, a few ms for the Python flow).
fn function_body(
    body: &wasmparser::FunctionBody<'_>,
    module: Module,
    index: u64,
    limits: &ShapeLimits,
    shape: &mut Shape,
) -> Result<(), Refusal> {
    let size = body.range().len() as u64;
    shape.max_body_bytes = shape.max_body_bytes.max(size);
    if size > limits.body_bytes {
        return Err(over(
            format_args!(
                "function body {index} of {module} is {} KiB of code",
                size >> 10
            ),
            limits.body_bytes >> 10,
            " KiB per function",
        ));
    }
    shape.code_bytes += size;
    if shape.code_bytes > limits.code_bytes {
        return Err(over(
            format_args!("its functions hold {} MiB of code", shape.code_bytes >> 20),
            limits.code_bytes >> 20,
            " MiB in all",
        ));
    }
    let mut locals = 0u64;
    if let Ok(reader) = body.get_locals_reader() {
        for declared in reader.into_iter().flatten() {
            locals += u64::from(declared.0);
            if locals > limits.locals_per_function {
                return Err(over(
                    format_args!("function body {index} of {module} declares {locals} locals"),
                    limits.locals_per_function,
                    " per function",
                ));
            }
        }
    }
    shape.max_locals_per_function = shape.max_locals_per_function.max(locals);
    shape.locals += locals;
    if shape.locals > limits.locals {
        return Err(over(
            format_args!("its functions declare {} locals", shape.locals),
            limits.locals,
            " in all",
        ));
    }
    let Ok(mut ops) = body.get_operators_reader() else {
        return Ok(());
    };
    let mut depth = 0u64;
    while !ops.eof() {
        match ops.read() {
            Ok(
                Operator::Block { .. }
                | Operator::Loop { .. }
                | Operator::If { .. }
                | Operator::TryTable { .. }
                | Operator::Try { .. },
            ) => {
                depth += 1;
                shape.max_block_depth = shape.max_block_depth.max(depth);
                if depth > limits.block_depth {
                    return Err(over(
                        format_args!("function body {index} of {module} nests blocks {depth} deep"),
                        limits.block_depth,
                        " levels",
                    ));
                }
            }
            Ok(Operator::End) => depth = depth.saturating_sub(1),
            Ok(_) => {}
            // Malformed: wasmtime's validation says so.
            Err(_) => break,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use e2e::bombs;

    fn refusal(bytes: &[u8], limits: &ShapeLimits) -> String {
        check(bytes, limits).unwrap_err().to_string()
    }

    #[test]
    fn each_bomb_is_refused_naming_its_figure_and_bound() {
        let limits = ShapeLimits::default();
        let cases: [(Vec<u8>, &str); 7] = [
            (
                bombs::many_locals(3, 40_000),
                "function body 0 of core module 1 declares 40000 locals; a flow may declare at most 10000 per function",
            ),
            (
                bombs::many_locals(1_000, 9_000),
                "its functions declare 1008000 locals; a flow may declare at most 1000000 in all",
            ),
            (
                bombs::empty_functions(1_000_000),
                "core module 1 declares 1000000 functions; a flow may declare at most 50000 per module",
            ),
            (
                bombs::deep_blocks(20_000),
                "function body 0 of core module 1 nests blocks 10001 deep; a flow may declare at most 10000 levels",
            ),
            (
                bombs::huge_table(100_000_000),
                "core module 1 declares a table of 100000000 elements; a flow may declare at most 100000 per table",
            ),
            (
                bombs::data_segments(200_000, 1),
                "it declares 200000 data segments; a flow may declare at most 100000 in all",
            ),
            (
                bombs::nested_components(40),
                "it nests components 17 deep; a flow may declare at most 16 levels",
            ),
        ];
        for (bytes, says) in cases {
            assert_eq!(refusal(&bytes, &limits), says);
        }
        assert!(
            refusal(&bombs::many_modules(300), &limits)
                .starts_with("it holds more than 256 core modules")
        );
    }

    #[test]
    fn each_bound_is_its_own() {
        let small = ShapeLimits {
            data_bytes: 1 << 20,
            ..ShapeLimits::default()
        };
        assert_eq!(
            refusal(&bombs::data_segments(3, 1 << 20), &small),
            "its data segments hold 3 MiB; a flow may declare at most 1 MiB in all"
        );
        let small = ShapeLimits {
            file_bytes: 1 << 20,
            ..ShapeLimits::default()
        };
        assert!(
            refusal(&bombs::data_segments(2, 1 << 20), &small)
                .starts_with("the file is over 1 MiB")
        );
        let small = ShapeLimits {
            body_bytes: 1 << 10,
            ..ShapeLimits::default()
        };
        assert!(
            refusal(&bombs::deep_blocks(2_000), &small)
                .starts_with("function body 0 of core module 1 is 5 KiB of code; a flow may declare at most 1 KiB per function")
        );
        // Just under every bound: accepted, and the figures are the shape's.
        let shape = check(&bombs::many_locals(10, 10_000), &ShapeLimits::default()).unwrap();
        assert_eq!(shape.max_locals_per_function, 10_000);
        assert_eq!(shape.locals, 100_000);
        assert_eq!(shape.functions, 10);
        assert_eq!(shape.modules, 1);
    }

    #[test]
    fn malformed_bytes_are_left_to_wasmtime() {
        assert!(check(b"\0asm\x0d\0\x01\0\x01\xff\xff", &ShapeLimits::default()).is_ok());
        assert!(check(b"not wasm at all", &ShapeLimits::default()).is_ok());
    }

    /// The shipped flows pass with room; their figures go to BENCHMARKS.md
    /// (`cargo test -p host --lib shape_check -- --nocapture`). Skips what
    /// is not built.
    #[test]
    fn the_shipped_flows_pass_with_room() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let limits = ShapeLimits::default();
        for path in [
            "wasm32-wasip2/release/tikv.wasm",
            "wasm32-wasip2/release/etcd.wasm",
            "python/etcd-py.wasm",
            "python/hostile-py.wasm",
        ] {
            let Ok(bytes) = std::fs::read(target.join(path)) else {
                println!("FIGURE shape {path}: not built, skipped");
                continue;
            };
            let started = std::time::Instant::now();
            let shape = check(&bytes, &limits).unwrap();
            println!(
                "FIGURE shape {path} ({} KB, checked in {} ms): {shape:?}",
                bytes.len() >> 10,
                started.elapsed().as_millis()
            );
            // Wide room: every figure at most a quarter of its bound.
            let room = [
                (shape.modules, limits.modules),
                (shape.components, limits.components),
                (shape.nesting, limits.nesting),
                (shape.max_functions_per_module, limits.functions_per_module),
                (shape.functions, limits.functions),
                (shape.max_locals_per_function, limits.locals_per_function),
                (shape.locals, limits.locals),
                (shape.max_body_bytes, limits.body_bytes),
                (shape.code_bytes, limits.code_bytes),
                (shape.max_block_depth, limits.block_depth),
                (shape.max_table_elements, limits.table_elements),
                (shape.element_items, limits.element_items),
                (shape.data_segments, limits.data_segments),
                (shape.data_bytes, limits.data_bytes),
                (shape.max_section_items, limits.section_items),
            ];
            for (i, (figure, bound)) in room.into_iter().enumerate() {
                assert!(
                    figure * 4 <= bound,
                    "{path}: figure {i}: {figure} of {bound}"
                );
            }
        }
    }
}
