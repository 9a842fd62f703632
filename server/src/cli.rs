//! The `gatehouse` command line: `serve`, `migrate`, `check-config`, `token create`,
//! `keys list|rotate`, `mapping test`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, Secret, Settings};
use crate::db::tokens::NewToken;
use crate::db::{self, Db, time, write_tx};
use crate::{app, crypto, telemetry, validate};

#[derive(Debug, Parser)]
#[command(name = "gatehouse", version, about = "Gatehouse identity server", long_about = None)]
struct Cli {
    /// Configuration file (default: ./gatehouse.toml when present). Environment variables
    /// `GATEHOUSE_<KEY>` override it.
    #[arg(long, short, env = "GATEHOUSE_CONFIG", global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: apply migrations, create bootstrap objects, listen for HTTP.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Validate the configuration and print it (secrets masked); exit non-zero if invalid.
    CheckConfig,
    /// Manage admin API tokens.
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// Token signing keys of the OAuth2 provider.
    Keys {
        #[command(subcommand)]
        action: KeysCommand,
    },
    /// Work with property mappings (Rhai scripts).
    Mapping {
        #[command(subcommand)]
        action: MappingCommand,
    },
}

#[derive(Debug, Subcommand)]
enum MappingCommand {
    /// Run a mapping script offline on a context (JSON) and print the result, or the error with
    /// line and column. Exits non-zero when the script fails.
    Test {
        /// The Rhai script.
        file: PathBuf,
        /// A JSON file with the context: `info`, `groups`, `claims`, `source`, `properties`,
        /// `user`, `request` (user mappings) or `group`, `source`, `properties` (group mappings).
        #[arg(long, value_name = "CTX.JSON")]
        context: PathBuf,
        /// Which kind of mapping the script is.
        #[arg(long, value_enum, default_value_t = KindArg::User)]
        kind: KindArg,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum KindArg {
    User,
    Group,
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// List the signing keys: algorithm, kid, and whether each is current, rotated or retired.
    List,
    /// Replace a key with a fresh one of the same algorithm. Providers sign with the new key at
    /// once; the old one stays in JWKS until the tokens it signed have expired.
    Rotate {
        /// The key: its UUID, its kid, or the name of a current key (e.g.
        /// `gatehouse-default-rs256`).
        key: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token for a user and print its key (shown only once).
    Create {
        /// The username the token authenticates as.
        #[arg(long)]
        user: String,
        /// Token identifier (default: `<user>-cli-<random>`).
        #[arg(long)]
        identifier: Option<String>,
        /// Free-text description.
        #[arg(long, default_value = "Created with `gatehouse token create`")]
        description: String,
        /// Days until the token expires.
        #[arg(long, default_value_t = 30, conflicts_with = "no_expiry")]
        expires_in_days: u32,
        /// Create a token that never expires.
        #[arg(long)]
        no_expiry: bool,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match config::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("gatehouse: {e}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::CheckConfig => {
            println!(
                "{}",
                serde_json::to_string_pretty(&settings.masked_summary()).unwrap_or_default()
            );
            eprintln!("gatehouse: configuration is valid");
            ExitCode::SUCCESS
        }
        Command::Serve => report(serve(settings)),
        Command::Migrate => report(migrate(&settings)),
        Command::Token {
            action:
                TokenCommand::Create {
                    user,
                    identifier,
                    description,
                    expires_in_days,
                    no_expiry,
                },
        } => report(create_token(
            &settings,
            &user,
            identifier,
            description,
            (!no_expiry).then_some(expires_in_days),
        )),
        Command::Mapping {
            action: MappingCommand::Test { file, context, kind },
        } => test_mapping(&settings, &file, &context, kind),
        Command::Keys {
            action: KeysCommand::List,
        } => report(list_keys(&settings)),
        Command::Keys {
            action: KeysCommand::Rotate { key },
        } => report(rotate_key(&settings, &key)),
    }
}

fn test_mapping(
    settings: &Settings,
    file: &std::path::Path,
    context: &std::path::Path,
    kind: KindArg,
) -> ExitCode {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
    };
    let (script, context_text) = match (read(file), read(context)) {
        (Ok(script), Ok(context)) => (script, context),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("gatehouse: {e}");
            return ExitCode::from(2);
        }
    };
    let context: serde_json::Value = match serde_json::from_str(&context_text) {
        Ok(value @ serde_json::Value::Object(_)) => value,
        Ok(_) => {
            eprintln!(
                "gatehouse: {}: the context must be a JSON object",
                context.display()
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("gatehouse: {}: not valid JSON: {e}", context.display());
            return ExitCode::from(2);
        }
    };
    let engine = match gatehouse_mappings::MappingEngine::new(settings.mappings.clone()) {
        Ok(engine) => engine,
        Err(e) => {
            eprintln!("gatehouse: {e}");
            return ExitCode::from(2);
        }
    };
    let name = file
        .file_name()
        .map_or_else(|| "mapping".into(), |n| n.to_string_lossy().into_owned());
    let request = gatehouse_mappings::DryRunRequest {
        context,
        kind: match kind {
            KindArg::User => gatehouse_mappings::MappingKind::User,
            KindArg::Group => gatehouse_mappings::MappingKind::Group,
        },
    };
    let output = engine.dry_run(&name, &script, &request);
    println!("{}", serde_json::to_string_pretty(&output).unwrap_or_default());
    if output.successful {
        ExitCode::SUCCESS
    } else {
        if let Some(error) = &output.error {
            let position = match (error.line, error.column) {
                (Some(line), Some(column)) => format!(" at line {line}, column {column}"),
                _ => String::new(),
            };
            eprintln!("gatehouse: {name}{position}: {}", error.message);
        }
        ExitCode::FAILURE
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gatehouse: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(settings: Settings) -> anyhow::Result<()> {
    telemetry::init(&settings);
    let workers = settings.workers;
    actix_web::rt::System::new().block_on(async move {
        let state = app::AppState::initialise(settings)?;
        tracing::debug!(workers, "starting HTTP workers");
        app::serve(state).await?;
        Ok(())
    })
}

fn open_migrated(settings: &Settings) -> anyhow::Result<Db> {
    let db = Db::open(&settings.database, &settings.db)?;
    let mut conn = db.get()?;
    let applied = db::migrations::run_pending(&mut conn.conn)?;
    for name in &applied {
        eprintln!("applied migration {name}");
    }
    Ok(db)
}

/// `gatehouse keys list`.
pub fn list_keys(settings: &Settings) -> anyhow::Result<()> {
    let db = open_migrated(settings)?;
    let mut conn = db.get()?;
    let now = time::now();
    for key in db::signing_keys::all(&mut conn.conn)? {
        let status = match (key.rotated, key.retire_after) {
            (None, _) => "current".to_owned(),
            (Some(_), Some(until)) if until > now => format!("rotated, published until {until}"),
            (Some(_), _) => "retired".to_owned(),
        };
        println!(
            "{}  {}  {}  {}  {status}",
            key.uuid, key.algorithm, key.kid, key.name
        );
    }
    Ok(())
}

/// `gatehouse keys rotate <key>`: prints the new kid.
pub fn rotate_key(settings: &Settings, wanted: &str) -> anyhow::Result<()> {
    let db = open_migrated(settings)?;
    let secret = crypto::resolve_secret_key(
        settings.secret_key.as_ref().map(Secret::expose),
        &settings.data_dir,
    )?;
    let keys = crypto::Keys::from_secret(&secret);
    let mut conn = db.get()?;
    let new = write_tx(&mut conn.conn, |conn| {
        let old = db::signing_keys::all(conn)?
            .into_iter()
            .find(|k| k.uuid == wanted || k.kid == wanted || (k.name == wanted && k.rotated.is_none()))
            .ok_or_else(|| {
                anyhow::anyhow!("no signing key `{wanted}` (give a UUID, kid or current key name)")
            })?;
        let new =
            crate::api::signing_keys::rotate_in_tx(conn, &keys, &old).map_err(|e| anyhow::anyhow!("{e}"))?;
        db::events::insert(
            conn,
            &db::events::Event {
                action: "signing_key_rotated",
                user: None,
                context: serde_json::json!({"old_kid": old.kid, "new_kid": new.kid, "name": new.name, "via": "cli"}),
                client_ip: None,
            },
        )?;
        Ok::<_, anyhow::Error>((old, new))
    })?;
    let (old, new) = new;
    println!("{}", new.kid);
    eprintln!(
        "gatehouse: `{}` rotated: new kid {} ({}); old kid {} stays published until its tokens expire",
        new.name, new.kid, new.algorithm, old.kid
    );
    Ok(())
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    open_migrated(settings)?;
    eprintln!(
        "gatehouse: database {} is up to date",
        settings.database.redacted()
    );
    Ok(())
}

fn create_token(
    settings: &Settings,
    username: &str,
    identifier: Option<String>,
    description: String,
    expires_in_days: Option<u32>,
) -> anyhow::Result<()> {
    let db = open_migrated(settings)?;
    let mut conn = db.get()?;
    let identifier = match identifier {
        Some(identifier) => identifier,
        None => format!("{}-cli-{}", slug(username), &crypto::random_token(6)?),
    };
    validate::identifier(&identifier).map_err(|m| anyhow::anyhow!("--identifier: {m}"))?;
    let key = crypto::random_token(32)?;
    let key_hash = crypto::hash_key(&key);
    write_tx(&mut conn.conn, |conn| {
        let user = db::users::find_by_username(conn, username)?
            .ok_or_else(|| anyhow::anyhow!("no user named `{username}`"))?;
        let token = db::tokens::insert(
            conn,
            &NewToken {
                identifier: identifier.clone(),
                key_hash,
                user_id: user.id,
                intent: "api".into(),
                description,
                expires: expires_in_days.map(|d| time::now() + chrono::Duration::days(i64::from(d))),
                managed: None,
                created: time::now(),
            },
        )
        .map_err(|e| match e {
            db::StoreError::Unique { .. } => anyhow::anyhow!("a token named `{identifier}` already exists"),
            other => other.into(),
        })?;
        db::events::insert(
            conn,
            &db::events::Event {
                action: "model_created",
                user: None,
                context: serde_json::json!({
                    "source": "cli",
                    "model": {"app": "gatehouse", "model_name": "token", "pk": token.identifier,
                              "name": token.identifier},
                    "for_user": user.username,
                }),
                client_ip: None,
            },
        )?;
        Ok::<_, anyhow::Error>(())
    })?;
    eprintln!("Created API token `{identifier}` for {username}. The key is shown only once:");
    println!("{key}");
    Ok(())
}

fn slug(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect()
}
