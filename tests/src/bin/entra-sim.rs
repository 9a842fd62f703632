//! `entra-sim`: runs the Entra ID + Graph simulator with the demo directory and prints what an
//! operator pastes into a Gatehouse Entra ID source.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use gatehouse_testkit::entra_sim::{Directory, EntraSim, fixtures};

#[derive(Parser)]
#[command(about = "Microsoft Entra ID + Graph simulator for Gatehouse tests and demos")]
struct Args {
    /// Address to listen on (loopback only is sensible).
    #[arg(long, default_value = "127.0.0.1:9100", env = "ENTRA_SIM_LISTEN")]
    listen: SocketAddr,
    /// A directory JSON file (as printed by GET /_sim/directory) instead of the demo one.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Redirect URI registered on the demo app.
    #[arg(long, default_value = fixtures::DEMO_REDIRECT)]
    redirect_uri: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let directory: Directory = match &args.config {
        Some(path) => serde_json::from_slice(&std::fs::read(path)?)?,
        None => fixtures::standard_directory_with_redirect(&args.redirect_uri),
    };
    let sim = EntraSim::start_on(args.listen, directory)?;
    let t = fixtures::CONTOSO;
    println!("entra-sim listening on {}", sim.base_url());
    println!();
    println!("Gatehouse Entra ID source (demo app registration):");
    println!("  tenant (settings.tenant) : {t}");
    println!("  consumer key (client id) : {}", fixtures::APP);
    println!("  consumer secret          : {}", fixtures::APP_SECRET);
    println!("  authorization URL        : {}", sim.authorize_url(t));
    println!("  access token URL         : {}", sim.token_url(t));
    println!("  profile URL              : {}", sim.profile_url());
    println!("  OIDC JWKS URL            : {}", sim.jwks_url(t));
    println!("  redirect URI registered  : {}", args.redirect_uri);
    println!("  additional scopes        : https://graph.microsoft.com/GroupMember.Read.All");
    println!();
    println!(
        "Sign-in without UI: login_hint picks the user, else the default ({}).",
        fixtures::ADELE_UPN
    );
    println!(
        "Machine client: {} / {} (scope=api://{}/.default)",
        fixtures::DAEMON,
        fixtures::DAEMON_SECRET,
        fixtures::APP
    );
    println!(
        "Control: POST {0}/_sim/default-user, POST|DELETE {0}/_sim/faults, GET {0}/_sim/counters",
        sim.base_url()
    );
    // The source, ready to paste (the callback URL's origin is where Gatehouse runs).
    let gatehouse = args
        .redirect_uri
        .split("/source/oauth/callback/")
        .next()
        .unwrap_or("http://127.0.0.1:9000")
        .to_owned();
    let slug = args
        .redirect_uri
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or("entra-id")
        .to_owned();
    let source = serde_json::json!({
        "name": "Entra ID",
        "slug": slug,
        "provider_type": "entraid",
        "consumer_key": fixtures::APP,
        "consumer_secret": fixtures::APP_SECRET,
        "additional_scopes": "https://graph.microsoft.com/GroupMember.Read.All",
        "authorization_url": sim.authorize_url(t),
        "access_token_url": sim.token_url(t),
        "profile_url": sim.profile_url(),
        "oidc_jwks_url": sim.jwks_url(t),
        "settings": {"tenant": t},
    });
    println!();
    println!("Create the source in Gatehouse (TOKEN = its GATEHOUSE_BOOTSTRAP_TOKEN):");
    println!(
        "  curl -X POST {gatehouse}/api/v3/sources/oauth/ -H \"Authorization: Bearer $TOKEN\" \\\n    -H 'Content-Type: application/json' -d '{source}'"
    );
    println!("then open {gatehouse}/ and click \"Sign in with Entra ID\".");
    tokio::signal::ctrl_c().await?;
    sim.stop();
    Ok(())
}
