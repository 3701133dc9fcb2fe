// The cycle allocates and frees many small values (events, messages) across threads; mimalloc
// does that markedly faster than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    /// mimalloc's run-time option setter (part of the library the allocator links in).
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in mimalloc's option enum (the same index in versions 2 and 3).
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

fn main() -> std::process::ExitCode {
    // The engine's memory use is steady: what it frees after a checkpoint it needs again within
    // the next cycles. By default mimalloc hands freed pages back to the OS after 10 ms, and the
    // kernel then zeroes them again on the next touch (2.4k page faults per 100k-job run instead
    // of 0.3k, 2-3 % of its CPU time). Keeping them costs little peak RSS.
    // SAFETY: sets a plain integer option; mimalloc reads it on its next purge decision.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    // Transparent huge pages stay as the system has them: with mimalloc 2 they cost a 100k-job
    // run 15 MB of peak RSS and save it 4 % of its time, one page fault in fifty (BENCHMARKS.md).
    omega::cli::main()
}
