//! `switchboard` binary: parse the command line and hand over to the server library.

use clap::Parser;
use std::process::ExitCode;
use std::time::Duration;

/// mimalloc rather than glibc's malloc: under load (the branding host, issue 23) allocation and
/// free were a sixth of the server's CPU, spread over the runtime's threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// After `run` returns, how long blocking work still running (a template render, a file read)
/// may hold up the exit: the runtime does not wait for it longer.
const BLOCKING_EXIT_WAIT: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    let cli = server::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(server::cli::run(cli));
    runtime.shutdown_timeout(BLOCKING_EXIT_WAIT);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
