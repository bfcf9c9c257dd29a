//! `maximus-trace`: the command-line companion of the maximus-trace library.
//!
//! `maximus-trace doctor` reads the configuration the library would read (the same
//! environment variables), checks each link between the application and Jaeger, sends one
//! test trace and, given `--jaeger-ui`, asks Jaeger whether it arrived.

mod args;
mod doctor;
mod http;
mod logs;

use std::process::ExitCode;

fn main() -> ExitCode {
    let command = match args::parse(std::env::args().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("maximus-trace: {message}\n\n{}", args::USAGE);
            return ExitCode::from(args::EXIT_USAGE);
        }
    };
    match command {
        args::Command::Help => {
            println!("{}", args::USAGE);
            ExitCode::SUCCESS
        }
        args::Command::Version => {
            println!("maximus-trace {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        args::Command::Doctor(options) => {
            logs::install();
            ExitCode::from(doctor::run(&options).exit_code())
        }
    }
}
