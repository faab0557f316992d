//! `lanyard-token`: prints an access token exchanged from a personal access token.
//! All the logic is in the library (`lanyard_exchange_client::run`), where tests drive it.

use std::io::Write;
use std::process::ExitCode;

use lanyard_exchange_client::SystemClock;

fn main() -> ExitCode {
    // One request at a time: a current-thread runtime is all this needs.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "lanyard-token: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let argv: Vec<_> = std::env::args_os().collect();
    let code = runtime.block_on(lanyard_exchange_client::run(
        argv,
        &|name| std::env::var_os(name),
        &SystemClock,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    ));
    ExitCode::from(code)
}
