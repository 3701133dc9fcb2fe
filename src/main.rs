fn main() -> std::process::ExitCode {
    omega::cli::main()
}
