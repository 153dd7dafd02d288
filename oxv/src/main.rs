//! The `oxv` binary: everything lives in the library (`oxv::cli::main`).
fn main() {
    std::process::exit(oxv::cli::main(std::env::args_os()));
}
