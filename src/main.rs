// Functions stay under about 80 lines (clippy.toml); tests and benches are not held to it.
#![warn(clippy::too_many_lines)]

// The cycle allocates and frees many small values (events, messages) across threads; mimalloc
// does that markedly faster than the system allocator (see BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc's option enum (the same index in versions 2 and 3).
/// libmimalloc-sys declares `mi_option_set` but names only some options as constants, and not
/// this one; the test below checks the index against the option's documented default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() -> std::process::ExitCode {
    // The engine's memory use is steady: what it frees after a checkpoint it needs again within
    // the next cycles. By default mimalloc hands freed pages back to the OS after 10 ms, and the
    // kernel then zeroes them again on the next touch (2.4k page faults per 100k-job run instead
    // of 0.3k, 2-3 % of its CPU time). Keeping them costs little peak RSS.
    // SAFETY: sets a plain integer option; mimalloc reads it on its next purge decision.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    // Transparent huge pages stay as the system has them: with mimalloc 2 they cost a 100k-job
    // run 15 MB of peak RSS and save it 4 % of its time, one page fault in fifty (BENCHMARKS.md).
    omega::cli::main()
}

#[cfg(test)]
mod tests {
    /// Index 15 is the purge delay: its default is 10 ms (its neighbours default to 1 and 0),
    /// unless the environment overrides it.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads a plain integer option.
        let delay = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert_eq!(delay, 10);
    }
}
