//! The `portcullis` command: `run`, `check`, `schema` and `version`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// mimalloc: the proxy allocates many small, short-lived buffers per request (header maps,
/// URIs); in profiles of the plain-proxy benchmark glibc's malloc/free took about 6 % of the
/// gateway's CPU, mimalloc about 2.5 %.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Portcullis: a secure API gateway.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about)]
struct Cli {
    /// Log format for the gateway's own logs (the access log is always JSON).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Json, env = "PORTCULLIS_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Pretty,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway.
    Run {
        /// Config file.
        #[arg(short, long, env = "PORTCULLIS_CONFIG")]
        config: PathBuf,
        /// Worker threads. 1 runs everything on one thread with no work-stealing scheduler
        /// (cheapest per request); default: one per CPU (tokio honours TOKIO_WORKER_THREADS).
        #[arg(long, env = "PORTCULLIS_WORKERS")]
        workers: Option<usize>,
    },
    /// Check a config file: exit 0 when it compiles, 1 with every error otherwise.
    Check {
        /// Config file.
        #[arg(short, long)]
        config: PathBuf,
    },
    /// Print the JSON Schema of the config file.
    Schema,
    /// Print the version.
    Version,
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PORTCULLIS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => b.json().flatten_event(true).init(),
        LogFormat::Pretty => b.init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!("portcullis {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::Schema => {
            print!("{}", portcullis::config::json_schema());
            ExitCode::SUCCESS
        }
        Command::Check { config } => {
            let registry = portcullis::upstream::state::Registry::default();
            match portcullis::config::load(&config, &registry) {
                Ok(snap) => {
                    println!(
                        "{}: ok ({} listeners, {} routes, {} upstreams)",
                        config.display(),
                        snap.listeners.len(),
                        snap.router.routes().len(),
                        snap.upstreams.len()
                    );
                    ExitCode::SUCCESS
                }
                Err(errors) => {
                    for e in &errors.0 {
                        eprintln!("{e}");
                    }
                    ExitCode::FAILURE
                }
            }
        }
        Command::Run { config, workers } => {
            init_logs(cli.log_format);
            let workers = workers.or_else(|| {
                std::env::var("TOKIO_WORKER_THREADS")
                    .ok()
                    .and_then(|v| v.parse().ok())
            });
            let built = match workers {
                Some(1) => tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build(),
                Some(n) => tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(n.max(1))
                    .enable_all()
                    .build(),
                None => tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build(),
            };
            let rt = match built {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("cannot start the runtime: {e}");
                    return ExitCode::FAILURE;
                }
            };
            match rt.block_on(portcullis::server::run(&config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %format!("{e:#}"), "portcullis failed");
                    eprintln!("portcullis: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
