// The cycle allocates and frees many small values (events, messages) across threads; mimalloc
// does that markedly faster than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

unsafe extern "C" {
    /// mimalloc's run-time option setter (part of the library the allocator links in).
    fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
}

/// `mi_option_purge_delay` in mimalloc 3's option enum.
const MI_OPTION_PURGE_DELAY: std::ffi::c_int = 15;

fn main() -> std::process::ExitCode {
    // The engine's memory use is steady: what it frees after a checkpoint it needs again within
    // the next cycles. By default mimalloc hands freed pages back to the OS after 10 ms, and the
    // kernel then zeroes them again on the next touch (a tenth of the cycle's time in the profile).
    // Keeping them costs nothing: peak RSS stays the same.
    // SAFETY: sets a plain integer option; mimalloc reads it on its next purge decision.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    // Transparent huge pages: every first touch of a 2 MiB region zeroes all of it, though each
    // thread and size class fills little of it. Without them a 100k-job run peaks at 80 MB RSS
    // instead of 130 MB, for the same CPU time (BENCHMARKS.md). mimalloc's own `allow_thp`
    // option is read before `main`, hence the direct call; failing leaves things as they were.
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
    omega::cli::main()
}
