//! `banter user add|disable|enable|role|list` and `banter invite` (without `--sub`): the admin's
//! commands for `--auth accounts`, run beside a running server on its own store (the same
//! `--data-dir`, or `--redis`). A change that ends sessions is seen by every node within
//! `--accounts-poll`, which closes the user's sockets with 4001. Passwords are read from
//! standard input (one line) and never printed.

use std::io::BufRead;
use std::time::Duration;

use anyhow::{Context, bail};
use banter_protocol::UserRole;
use banter_server::Config;
use banter_server::accounts::{invite, password};
use banter_server::store::accounts::{self, UserChange, UserRecord};
use clap::{Args, Subcommand, ValueEnum};

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from standard input (one line).
    Add {
        name: String,
        /// The user's server role.
        #[arg(long, value_enum, default_value_t = Role::Member)]
        role: Role,
    },
    /// Disable a user: every session ends at once, and they cannot sign in.
    Disable { name: String },
    /// Enable a disabled user again.
    Enable { name: String },
    /// Set a user's server role.
    Role { name: String, role: Role },
    /// Set a user's password (read from standard input, one line): every session ends.
    Password { name: String },
    /// List the users: name, role, and `disabled` when they are.
    List,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Role {
    Admin,
    Member,
}

impl From<Role> for UserRole {
    fn from(r: Role) -> Self {
        match r {
            Role::Admin => UserRole::Admin,
            Role::Member => UserRole::Member,
        }
    }
}

fn now() -> u64 {
    banter_server::auth::claims::since_epoch().as_secs()
}

/// One line of standard input, without its line end.
fn read_password(config: &Config) -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let pw = line.trim_end_matches(['\n', '\r']).to_owned();
    let a = &config.accounts;
    if pw.chars().count() < a.password_min_chars {
        bail!(
            "the password is too short: use at least {} characters (one line on standard input)",
            a.password_min_chars
        );
    }
    if pw.len() > a.password_max_bytes {
        bail!(
            "the password is too long: at most {} bytes",
            a.password_max_bytes
        );
    }
    Ok(pw)
}

fn hash(config: &Config, pw: &str) -> anyhow::Result<String> {
    let params = password::params(&config.accounts).map_err(anyhow::Error::msg)?;
    Ok(password::hash_blocking(&params, pw)?)
}

/// Runs `banter user ...` against the store `config` names.
pub fn user(config: &Config, args: UserArgs) -> anyhow::Result<()> {
    let store = accounts::open(&config.store_settings())?;
    let change = |name: &str, c: UserChange| -> anyhow::Result<()> {
        match store.change_user(name, &c, now())? {
            Some(_) => Ok(()),
            None => bail!("there is no user `{name}` (banter user list)"),
        }
    };
    match args.command {
        UserCommand::Add { name, role } => {
            let limits = config.limits();
            let name = limits
                .name(&name)
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .to_owned();
            let pw = read_password(config)?;
            let rec = UserRecord {
                hash: hash(config, &pw)?,
                name: name.clone(),
                role: role.into(),
                disabled: false,
                generation: 0,
                valid_after: 0,
                rev: 0,
            };
            if !store.add_user(rec)? {
                bail!("the name `{name}` is taken");
            }
            eprintln!("added `{name}`");
        }
        UserCommand::Disable { name } => change(&name, UserChange::Disabled(true))?,
        UserCommand::Enable { name } => change(&name, UserChange::Disabled(false))?,
        UserCommand::Role { name, role } => change(&name, UserChange::Role(role.into()))?,
        UserCommand::Password { name } => {
            let pw = read_password(config)?;
            change(&name, UserChange::Password(hash(config, &pw)?))?;
        }
        UserCommand::List => {
            for u in store.users()? {
                let role = match u.role {
                    UserRole::Admin => "admin",
                    UserRole::Member => "member",
                };
                let disabled = if u.disabled { "\tdisabled" } else { "" };
                println!("{}\t{role}{disabled}", u.name);
            }
        }
    }
    Ok(())
}

/// `banter invite` without `--sub`: a single-use sign-up code, stored; prints its link.
pub fn invite_code(config: &Config, url: &str, ttl: Duration) -> anyhow::Result<()> {
    let store = accounts::open(&config.store_settings())?;
    let (made, stored) = invite::new("banter invite", ttl)?;
    store.add_invite(stored)?;
    println!("{}/#invite={}", url.trim_end_matches('/'), made.code);
    Ok(())
}
