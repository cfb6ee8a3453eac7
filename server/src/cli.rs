//! The command line: `demo`, `serve`, `user add`, `migrate`, `branding import`, `sim cms`.

use crate::config::Config;
use crate::demo_faults::DemoFaults;
use crate::startup::{Application, Mode};
use crate::telemetry;
use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use rand::distributions::{Alphanumeric, DistString};
use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::path::PathBuf;
use switchboard::auth::Users;
use switchboard::model::Role;
use switchboard::store::Store;

#[derive(Parser, Debug)]
#[command(name = "switchboard", version, about = "Switchboard: CMS and Webex operations in one place")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run with an embedded database in a data directory (kept between runs) and the simulators.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:3000")]
        addr: SocketAddr,
        /// Simulators without faults (by default they misbehave now and then, as the real systems do).
        #[arg(long)]
        no_faults: bool,
        /// Seed for the simulated meetings and the faults: the same seed repeats a run's faults.
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        target: Target,
    },
    /// Run for real, from a config file.
    Serve {
        #[arg(long)]
        config: PathBuf,
    },
    /// Manage operator accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage the branding CMS fetches (invitation templates, call/IVR files, web-app archive).
    Branding {
        #[command(subcommand)]
        command: BrandingCommand,
    },
    /// Run a simulator on its own.
    Sim {
        #[command(subcommand)]
        command: SimCommand,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand, Debug)]
pub enum SimCommand {
    /// A Cisco Meeting Server (one node, or a cluster with --nodes N).
    Cms(crate::sim::SimCmsArgs),
    /// Webex Connect's messaging API (SMS and text-to-speech voice).
    Connect(crate::sim::SimConnectArgs),
    /// Webex: the REST API the incident rooms use (people, rooms, memberships, messages) and OAuth.
    Webex(crate::sim::SimWebexArgs),
    /// Exchange Web Services (calendar): streaming notifications, sync, get/update/create items.
    Ews(crate::sim::SimEwsArgs),
    /// Microsoft Graph for Exchange Online calendars: token endpoint, calendar delta, events.
    Graph(crate::sim::SimGraphArgs),
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Add a user (or, with --replace, reset an existing one). The password is asked for,
    /// or read from the first line of standard input when it is not a terminal.
    Add {
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Replace the password and role if the user exists.
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Disable a user: no more sign-ins, and their sessions end at once.
    Disable {
        name: String,
        #[command(flatten)]
        target: Target,
    },
    /// Delete a user; their sessions end at once. The audit log keeps their actions.
    Delete {
        name: String,
        #[command(flatten)]
        target: Target,
    },
}

#[derive(Subcommand, Debug)]
pub enum BrandingCommand {
    /// Import a folder laid out like the original static folder: invitation_template[_ll_CC].txt
    /// at the top, call files in CallBranding/ (or call/), IVR files in ivr/, one *.zip as the
    /// web-app sign-in archive. Files with the same name are replaced; the tenant is created if new.
    Import {
        dir: PathBuf,
        /// Tenant to import into (lower-case letters, digits, '-', '_').
        #[arg(long)]
        tenant: String,
        #[command(flatten)]
        target: Target,
    },
}

/// Which installation a command works on: a config file, or a data directory.
#[derive(Args, Debug, Clone, Default)]
pub struct Target {
    /// Configuration file (TOML).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Data directory (database and state); overrides `server.data_dir`.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl Target {
    pub fn load(&self) -> anyhow::Result<Config> {
        let mut cfg = Config::load(self.config.as_deref())?;
        if let Some(dir) = &self.data_dir {
            cfg.server.data_dir = dir.clone();
        }
        Ok(cfg)
    }
}

fn parse_role(s: &str) -> Result<Role, String> {
    s.parse::<Role>().map_err(|e| e.to_string())
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Demo { addr, no_faults, seed, target } => {
            let mut cfg = target.load()?;
            cfg.server.addr = addr;
            telemetry::init(cfg.server.log_format);
            let seed = seed.unwrap_or_else(crate::demo_faults::fresh_seed);
            let faults = if no_faults { DemoFaults::Off } else { DemoFaults::Mild { seed } };
            demo(cfg, faults, seed).await
        }
        Command::Serve { config } => {
            let cfg = Target { config: Some(config), data_dir: None }.load()?;
            telemetry::init(cfg.server.log_format);
            serve(cfg, Mode::Serve).await
        }
        Command::Sim { command: SimCommand::Cms(args) } => {
            telemetry::init(crate::config::LogFormat::Text);
            crate::sim::run_sim_cms(args).await
        }
        Command::Sim { command: SimCommand::Connect(args) } => {
            telemetry::init(crate::config::LogFormat::Text);
            crate::sim::run_sim_connect(args).await
        }
        Command::Sim { command: SimCommand::Webex(args) } => {
            telemetry::init(crate::config::LogFormat::Text);
            crate::sim::run_sim_webex(args).await
        }
        Command::Sim { command: SimCommand::Ews(args) } => {
            telemetry::init(crate::config::LogFormat::Text);
            crate::sim::run_sim_ews(args).await
        }
        Command::Sim { command: SimCommand::Graph(args) } => {
            telemetry::init(crate::config::LogFormat::Text);
            crate::sim::run_sim_graph(args).await
        }
        Command::Migrate { target } => {
            let cfg = target.load()?;
            let store = open_store(&cfg).await?;
            store.migrate().await?;
            println!("Database {} is up to date.", cfg.database_url());
            Ok(())
        }
        Command::Branding { command: BrandingCommand::Import { dir, tenant, target } } => {
            let cfg = target.load()?;
            let store = open_store(&cfg).await?;
            // Refused on PostgreSQL while some capability stores in SQLite only.
            store.check_fully_ported()?;
            store.migrate().await?;
            branding_import(&store, &dir, &tenant).await
        }
        Command::User { command: UserCommand::Add { name, role, replace, target } } => {
            let cfg = target.load()?;
            let store = open_store(&cfg).await?;
            store.migrate().await?;
            let password = read_password(&name)?;
            let users = Users::new(store.clone());
            let user = if replace { users.upsert(&name, &password, role).await? } else { users.create(&name, &password, role).await? };
            println!("User '{}' ({}) saved.", user.name, user.role);
            Ok(())
        }
        Command::User { command: UserCommand::Disable { name, target } } => {
            let users = Users::new(migrated_store(&target).await?);
            if !users.disable(&name).await? {
                bail!("there is no user '{name}'");
            }
            println!("User '{name}' disabled; their sessions have ended.");
            Ok(())
        }
        Command::User { command: UserCommand::Delete { name, target } } => {
            let users = Users::new(migrated_store(&target).await?);
            if !users.delete(&name).await? {
                bail!("there is no user '{name}'");
            }
            println!("User '{name}' deleted; their sessions have ended.");
            Ok(())
        }
    }
}

async fn migrated_store(target: &Target) -> anyhow::Result<Store> {
    let cfg = target.load()?;
    let store = open_store(&cfg).await?;
    store.migrate().await?;
    Ok(store)
}

async fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    std::fs::create_dir_all(&cfg.server.data_dir)
        .with_context(|| format!("cannot create data directory {}", cfg.server.data_dir.display()))?;
    Ok(cfg.database.connect(&cfg.server.data_dir).await?)
}

fn read_password(name: &str) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password(format!("Password for {name}: "))?;
        let second = rpassword::prompt_password("Again: ")?;
        if first != second {
            bail!("the two passwords differ");
        }
        Ok(first)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let pw = line.trim_end_matches(['\r', '\n']).to_string();
        if pw.is_empty() {
            bail!("no password on standard input");
        }
        Ok(pw)
    }
}

async fn demo(mut cfg: Config, faults: DemoFaults, seed: u64) -> anyhow::Result<()> {
    std::fs::create_dir_all(&cfg.server.data_dir)
        .with_context(|| format!("cannot create data directory {}", cfg.server.data_dir.display()))?;
    {
        let store = open_store(&cfg).await?;
        store.check_fully_ported()?;
        store.migrate().await?;
        crate::demo::seed_rules(&store).await?;
        store.close().await;
    }
    let world = crate::demo::start(&mut cfg, faults, seed).await?;
    let app = Application::build_with(&cfg, Mode::Demo, Some(world.control())).await?;
    let login = ensure_demo_admin(&app.services().users).await?;
    if let Err(e) = crate::demo_branding::seed(&app.services().branding).await {
        tracing::warn!(error = %e, "could not seed the demo branding tenant");
    }
    if let Err(e) = crate::demo::pregrant(app.services(), &world.webex).await {
        tracing::warn!(error = %e, "could not connect the simulated Webex org");
    }
    let url = format!("http://{}", app.addr());
    println!();
    println!("  Switchboard demo is running at {url}");
    println!("  Data directory: {} (kept between runs)", cfg.server.data_dir.display());
    println!("  {login}");
    println!("  Simulated CMS cluster: {} and {} (API user switchboard-demo)", world.cms.url(0), world.cms.url(1));
    println!("  Incidents: \"Sign in with Webex\" on the login page and pick Morgan Moderator (moderator@example.com).");
    println!("    Simulated Webex org: {} (messages sent: {}/sim/messages)", world.webex.url(), world.webex.url());
    println!("    SMS and voice calls as Webex Connect received them: {}/sim/messages", world.connect.url());
    println!(
        "  Calendar: simulated Exchange (EWS) at {} — account {} / {} may impersonate",
        world.ews.url(),
        world.ews_account.0,
        world.ews_account.1
    );
    println!("    alice.admin@, bob.builder@ and carol.cook@example.com; an @cms meeting appears every 20 s (see /calendar).");
    println!(
        "    Exchange Online (Graph) at {} (token endpoint {}) holds dave.diver@cloud.example.com (change notifications to /hooks/graph).",
        world.graph.api_url(),
        world.graph.token_url()
    );
    println!("  {}", world.faults.describe());
    println!("  Stop with Ctrl-C.");
    println!();
    tracing::info!(%url, "listening");
    app.run_until(telemetry::shutdown_signal()).await?;
    Ok(())
}

/// The demo's `admin` account: the password from `SWITCHBOARD_ADMIN_PASSWORD` if set, otherwise a
/// random one, created once and shown only then.
async fn ensure_demo_admin(users: &Users) -> anyhow::Result<String> {
    if let Ok(pw) = std::env::var("SWITCHBOARD_ADMIN_PASSWORD") {
        if !pw.is_empty() {
            users.upsert("admin", &pw, Role::Admin).await?;
            return Ok("Log in as 'admin' with the password in SWITCHBOARD_ADMIN_PASSWORD.".into());
        }
    }
    if users.exists("admin").await? {
        return Ok("Log in as 'admin' with the password printed when this data directory was first used \
                   (or restart with SWITCHBOARD_ADMIN_PASSWORD=... to set a new one)."
            .into());
    }
    let pw = Alphanumeric.sample_string(&mut rand::thread_rng(), 16);
    users.create("admin", &pw, Role::Admin).await?;
    Ok(format!("Log in as 'admin' with password {pw}  (shown once; keep it)"))
}

async fn branding_import(store: &Store, dir: &std::path::Path, tenant: &str) -> anyhow::Result<()> {
    let svc = switchboard::branding::BrandingService::new(store.clone());
    let actor = format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()));
    let report = switchboard::branding::import::import_dir(&svc, dir, tenant, &actor).await?;
    if report.tenant_created {
        println!("Created tenant '{tenant}'.");
    }
    println!("Took {} file(s):", report.taken.len());
    for (path, what) in &report.taken {
        println!("  + {}  ->  {what}", path.display());
    }
    println!("Skipped {} file(s):", report.skipped.len());
    for (path, why) in &report.skipped {
        println!("  - {}  ({why})", path.display());
    }
    if report.taken.is_empty() {
        bail!("nothing was imported from {}", dir.display());
    }
    Ok(())
}

async fn serve(cfg: Config, mode: Mode) -> anyhow::Result<()> {
    cfg.cdr.check_guarded()?;
    cfg.check_secure_urls()?;
    if cfg.cdr.unguarded() {
        tracing::warn!("cdr.open = true: ANYONE who can reach this server may post CDRs; set cdr.token or cdr.allowed_sources");
    }
    std::fs::create_dir_all(&cfg.server.data_dir)
        .with_context(|| format!("cannot create data directory {}", cfg.server.data_dir.display()))?;
    let app = Application::build(&cfg, mode).await?;
    if app.services().users.count().await? == 0 {
        tracing::warn!("no users yet: add one with `switchboard user add NAME --role admin --config FILE`");
    }
    tracing::info!(addr = %app.addr(), "listening");
    app.run_until(telemetry::shutdown_signal()).await?;
    Ok(())
}
