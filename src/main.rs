fn main() -> std::process::ExitCode {
    envcredit::cli::run()
}
