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
    /// Make and hash API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Print the JSON Schema of the config file.
    Schema,
    /// List the WAF's rules: id, family, paranoia level, score, message (for `waf.exclusions`).
    WafRules,
    /// Print the version.
    Version,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// Print a new random API key (shown once) and the config entry that stores its hash.
    Generate {
        /// Text the key starts with.
        #[arg(long, default_value = "pk_")]
        prefix: String,
        /// File holding the pepper (`identity.api_key_pepper`); or set PORTCULLIS_API_KEY_PEPPER.
        #[arg(long)]
        pepper_file: Option<PathBuf>,
    },
    /// Print the config entry for an existing key, read from standard input.
    Hash {
        /// File holding the pepper; or set PORTCULLIS_API_KEY_PEPPER.
        #[arg(long)]
        pepper_file: Option<PathBuf>,
    },
    /// Print an Argon2id hash (for `basic_auth.password_hash`) of a password read from
    /// standard input (one line), so it never appears in the shell history or process list.
    HashPassword,
}

fn read_pepper(file: Option<&PathBuf>) -> Result<Vec<u8>, String> {
    let pepper = match file {
        Some(f) => std::fs::read_to_string(f)
            .map_err(|e| format!("cannot read {}: {e}", f.display()))?
            .trim_end_matches(['\r', '\n'])
            .as_bytes()
            .to_vec(),
        None => std::env::var("PORTCULLIS_API_KEY_PEPPER")
            .map_err(|_| "give --pepper-file or set PORTCULLIS_API_KEY_PEPPER".to_owned())?
            .into_bytes(),
    };
    if pepper.len() < portcullis::policy::authn::apikey::MIN_PEPPER_LEN {
        return Err(format!(
            "the pepper must be at least {} bytes",
            portcullis::policy::authn::apikey::MIN_PEPPER_LEN
        ));
    }
    Ok(pepper)
}

fn key_entry(pepper: &[u8], key: &str) -> Result<String, String> {
    use portcullis::policy::authn::apikey;
    if !apikey::well_formed(key) {
        return Err(format!(
            "a key is {} to {} printable characters without spaces",
            apikey::MIN_KEY_LEN,
            apikey::MAX_KEY_LEN
        ));
    }
    let prefix = apikey::prefix_of(key).unwrap_or_default();
    let hash = hex::encode(apikey::hash_key(pepper, key));
    Ok(format!("- {{ prefix: \"{prefix}\", hash: \"{hash}\" }}"))
}

fn keys(cmd: KeysCommand) -> Result<(), String> {
    match cmd {
        KeysCommand::Generate {
            prefix,
            pepper_file,
        } => {
            let max = portcullis::policy::authn::apikey::PREFIX_LEN / 2;
            if prefix.len() > max || !prefix.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(format!(
                    "--prefix must be at most {max} printable characters, so the 12-character \
                     lookup prefix of each key stays mostly random"
                ));
            }
            let pepper = read_pepper(pepper_file.as_ref())?;
            let key = portcullis::policy::authn::apikey::generate(&prefix)
                .map_err(|_| "no randomness available".to_owned())?;
            let entry = key_entry(&pepper, &key)?;
            println!("key (shown once; give it to the consumer):\n  {key}");
            println!("config entry (under consumers[].api_keys):\n  {entry}");
            Ok(())
        }
        KeysCommand::HashPassword => {
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the password: {e}"))?;
            let password = line.trim_end_matches(['\r', '\n']);
            if password.chars().count() < 8 {
                return Err("a password needs at least 8 characters".into());
            }
            let hash = portcullis::policy::authn::basic::hash_password(password)?;
            println!("basic_auth: {{ username: \"USERNAME\", password_hash: \"{hash}\" }}");
            Ok(())
        }
        KeysCommand::Hash { pepper_file } => {
            let pepper = read_pepper(pepper_file.as_ref())?;
            let mut line = String::new();
            std::io::stdin()
                .read_line(&mut line)
                .map_err(|e| format!("cannot read the key: {e}"))?;
            println!("{}", key_entry(&pepper, line.trim())?);
            Ok(())
        }
    }
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
        Command::Keys { command } => match keys(command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("portcullis keys: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Schema => {
            print!("{}", portcullis::config::json_schema());
            ExitCode::SUCCESS
        }
        Command::WafRules => {
            println!("id\tfamily\tparanoia\tscore\tmessage");
            for r in portcullis_waf::rule_catalogue() {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    r.id,
                    r.family,
                    r.paranoia,
                    r.severity.score(),
                    r.message
                );
            }
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
