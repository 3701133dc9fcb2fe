// The cycle allocates and frees many small values (events, messages) across threads; mimalloc
// does that markedly faster than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    omega::cli::main()
}
