//! Compile bombs: small components whose compile would take GBs or minutes,
//! built here so the tests can show each is refused before it compiles.
//! Each is a component wrapping core modules, like a flow.

use wasm_encoder::{
    CodeSection, Component, ConstExpr, DataSection, Function, FunctionSection, Instruction,
    MemorySection, MemoryType, Module, ModuleSection, NestedComponentSection, RefType,
    TableSection, TableType, TypeSection,
};

/// One bomb: its name (the file's stem) and bytes.
pub struct Bomb {
    pub name: &'static str,
    pub bytes: Vec<u8>,
}

impl Bomb {
    fn new(name: &'static str, bytes: Vec<u8>) -> Self {
        Bomb { name, bytes }
    }
}

fn component_of(modules: &[Module]) -> Vec<u8> {
    let mut component = Component::new();
    for module in modules {
        component.section(&ModuleSection(module));
    }
    component.finish()
}

/// A module of `functions` functions `() -> ()`, each built by `body`.
fn module_of(functions: u32, body: impl Fn() -> Function) -> Module {
    let mut types = TypeSection::new();
    types.ty().function([], []);
    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    let f = body();
    for _ in 0..functions {
        funcs.function(0);
        code.function(&f);
    }
    let mut module = Module::new();
    module.section(&types).section(&funcs).section(&code);
    module
}

fn empty_body() -> Function {
    let mut f = Function::new([]);
    f.instruction(&Instruction::End);
    f
}

/// `functions` functions each declaring `locals` i64 locals: the tester's
/// 115 KB pack (Winch zero-fills each local in unrolled code).
pub fn many_locals(functions: u32, locals: u32) -> Vec<u8> {
    component_of(&[module_of(functions, || {
        let mut f = Function::new([(locals, wasm_encoder::ValType::I64)]);
        f.instruction(&Instruction::End);
        f
    })])
}

/// A million empty functions in 4 MB.
pub fn empty_functions(functions: u32) -> Vec<u8> {
    component_of(&[module_of(functions, empty_body)])
}

/// One function with `depth` blocks open at once.
pub fn deep_blocks(depth: u32) -> Vec<u8> {
    component_of(&[module_of(1, || {
        let mut f = Function::new([]);
        for _ in 0..depth {
            f.instruction(&Instruction::Block(wasm_encoder::BlockType::Empty));
        }
        for _ in 0..depth {
            f.instruction(&Instruction::End);
        }
        f.instruction(&Instruction::End);
        f
    })])
}

/// A table of `elements` funcrefs.
pub fn huge_table(elements: u64) -> Vec<u8> {
    let mut tables = TableSection::new();
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        table64: false,
        minimum: elements,
        maximum: None,
        shared: false,
    });
    let mut module = Module::new();
    module.section(&tables);
    component_of(&[module])
}

/// A memory with `segments` active data segments of `bytes` each.
pub fn data_segments(segments: u32, bytes: usize) -> Vec<u8> {
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut data = DataSection::new();
    let chunk = vec![0xa5u8; bytes];
    for _ in 0..segments {
        data.active(0, &ConstExpr::i32_const(0), chunk.iter().copied());
    }
    let mut module = Module::new();
    module.section(&memories).section(&data);
    component_of(&[module])
}

/// `count` core modules side by side, each with a function.
pub fn many_modules(count: u32) -> Vec<u8> {
    let modules: Vec<Module> = (0..count).map(|_| module_of(1, empty_body)).collect();
    component_of(&modules)
}

/// Components nested `depth` deep, the innermost holding a module.
pub fn nested_components(depth: u32) -> Vec<u8> {
    let mut inner = Component::new();
    inner.section(&ModuleSection(&module_of(1, empty_body)));
    for _ in 0..depth {
        let mut outer = Component::new();
        outer.section(&NestedComponentSection(&inner));
        inner = outer;
    }
    inner.finish()
}

/// Every variant at the size that took `host inspect` to GBs or would
/// have (BENCHMARKS.md, "Compile bounds").
pub fn all() -> Vec<Bomb> {
    vec![
        Bomb::new("many-locals", many_locals(15_000, 40_000)),
        Bomb::new("empty-functions", empty_functions(1_000_000)),
        Bomb::new("deep-blocks", deep_blocks(500_000)),
        Bomb::new("huge-table", huge_table(100_000_000)),
        Bomb::new("data-segments", data_segments(1_000_000, 1)),
        Bomb::new("many-modules", many_modules(1_000)),
        Bomb::new("nested-components", nested_components(1_000)),
    ]
}

/// Packs just within the shape check's bounds (what the compile child's
/// own bounds are left to hold), and 100 MiB of data (too large to build
/// in every test run): for scripts/compile-bounds.sh.
pub fn for_measuring() -> Vec<Bomb> {
    vec![
        Bomb::new("data-bytes", data_segments(100, 1 << 20)),
        Bomb::new("edge-locals", many_locals(100, 10_000)),
        Bomb::new("edge-functions", empty_functions(50_000)),
        Bomb::new("edge-blocks", deep_blocks(10_000)),
    ]
}
