//! The config file (`--config banter.toml`, env `BANTER_CONFIG`) and `--print-config`.
//!
//! A config file is TOML whose keys are the flags' long names (`listen = "0.0.0.0:3000"`,
//! `ping-interval = "20s"`, `allowed-origin = ["https://chat.example"]`). Precedence, highest
//! first: command-line flag, `BANTER_*` variable, config file, default. This is done without a
//! second source of truth: the file's settings become flags inserted before the real ones, but
//! only for settings that neither the command line nor the environment gave. A key that is not a
//! flag is refused with its name, and a bad value gets clap's own message for that flag.
//!
//! [`effective_toml`] prints every setting as it ended up, as a config file would hold it, with
//! the value of anything named like a secret or key replaced by `"<hidden>"`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command, FromArgMatches};

/// The id of the `--config` flag; it and these others are never read from a file.
pub const CONFIG_ID: &str = "config";
const NOT_IN_FILE: &[&str] = &["config", "print-config", "help", "version"];
/// Shown instead of a secret's value.
pub const HIDDEN: &str = "<hidden>";

/// Why the settings could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The command line itself (or `--help`, `--version`): let clap print it and exit.
    #[error(transparent)]
    Clap(#[from] clap::Error),
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid TOML: {source}")]
    Toml {
        path: PathBuf,
        source: toml::de::Error,
    },
    #[error("unknown key `{key}` in the config file {path} (keys are flag names, see --help)")]
    UnknownKey { key: String, path: PathBuf },
    #[error("the key `{key}` in the config file {path} needs a {expected}")]
    BadValue {
        key: String,
        path: PathBuf,
        expected: &'static str,
    },
}

/// Parses `args` (with `args[0]` the program name) like `P::parse_from`, with the settings of the
/// config file named by `--config` / `BANTER_CONFIG` filled in below flags and environment.
/// Returns the parsed value and the matches (for [`effective_toml`]).
pub fn parse<P: clap::CommandFactory + FromArgMatches>(
    args: Vec<OsString>,
) -> Result<(P, ArgMatches), ConfigError> {
    let cmd = P::command();
    let first = cmd.clone().try_get_matches_from(&args)?;
    let Some(path) = first.get_one::<PathBuf>(CONFIG_ID).cloned() else {
        let parsed = P::from_arg_matches(&first)?;
        return Ok((parsed, first));
    };
    let injected = file_args(&cmd, &first, &path)?;
    let mut all = Vec::with_capacity(args.len() + injected.len());
    let mut rest = args.into_iter();
    all.extend(rest.next());
    all.extend(injected);
    all.extend(rest);
    let matches = cmd.try_get_matches_from(all)?;
    let parsed = P::from_arg_matches(&matches)?;
    Ok((parsed, matches))
}

/// The file's settings as flags, for the settings the command line and environment left alone.
fn file_args(cmd: &Command, first: &ArgMatches, path: &Path) -> Result<Vec<OsString>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let table: toml::Table = text.parse().map_err(|source| ConfigError::Toml {
        path: path.to_owned(),
        source,
    })?;
    let mut out = Vec::new();
    for (key, value) in table {
        let arg = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(key.as_str()) && !NOT_IN_FILE.contains(&key.as_str()))
            .ok_or_else(|| ConfigError::UnknownKey {
                key: key.clone(),
                path: path.to_owned(),
            })?;
        let given = matches!(
            first.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        );
        if given {
            continue;
        }
        let bad = |expected| ConfigError::BadValue {
            key: key.clone(),
            path: path.to_owned(),
            expected,
        };
        if matches!(arg.get_action(), ArgAction::SetTrue) {
            match value {
                toml::Value::Boolean(true) => out.push(format!("--{key}").into()),
                toml::Value::Boolean(false) => {}
                _ => return Err(bad("boolean")),
            }
            continue;
        }
        let values = match value {
            toml::Value::Array(items) => items,
            single => vec![single],
        };
        for v in values {
            let v = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => return Err(bad("string, number or list of them")),
            };
            out.push(format!("--{key}={v}").into());
        }
    }
    Ok(out)
}

/// Whether a setting's value is kept out of `--print-config`: one of its words is `secret`, or
/// its last word is `key`, `token` or `password` (`tls-key`, `auth-secret-file`; not
/// `http-rate-keys`, nor limits about one, like `password-min-chars` or `session-token-ttl`).
pub fn is_secret(key: &str) -> bool {
    let last = key.rsplit('-').next().unwrap_or(key);
    key.split('-').any(|word| word == "secret") || ["key", "token", "password"].contains(&last)
}

/// Every top-level setting of `cmd` as it ended up in `matches`, as a TOML config file.
/// Unset optional settings are listed as comments.
pub fn effective_toml(cmd: &Command, matches: &ArgMatches) -> String {
    let mut out =
        String::from("# banter: effective settings (flags > environment > file > default)\n");
    for arg in cmd.get_arguments() {
        let Some(key) = arg.get_long() else { continue };
        if NOT_IN_FILE.contains(&key) {
            continue;
        }
        let id = arg.get_id().as_str();
        let raw: Vec<String> = matches
            .get_raw(id)
            .map(|vs| vs.map(|v| v.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let list = matches!(arg.get_action(), ArgAction::Append);
        let line = if is_secret(key) && !raw.is_empty() {
            format!("{key} = {}", toml_value(HIDDEN))
        } else if list {
            let items: Vec<String> = raw.iter().map(|v| toml_value(v)).collect();
            format!("{key} = [{}]", items.join(", "))
        } else if matches!(arg.get_action(), ArgAction::SetTrue) {
            format!("{key} = {}", matches.get_flag(id))
        } else if let Some(v) = raw.first() {
            format!("{key} = {}", toml_value(v))
        } else {
            format!("# {key} = (unset)")
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// A raw flag value as TOML: integers bare, everything else a quoted string.
fn toml_value(raw: &str) -> String {
    if let Ok(i) = raw.parse::<i64>() {
        return i.to_string();
    }
    toml::Value::String(raw.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_recognised_by_name() {
        assert!(is_secret("auth-secret-file"));
        assert!(is_secret("tls-key"));
        assert!(!is_secret("listen"));
        assert!(!is_secret("http-rate-keys"));
        assert!(!is_secret("password-min-chars"));
        assert!(!is_secret("session-token-ttl"));
    }

    #[test]
    fn values_are_valid_toml() {
        assert_eq!(toml_value("1000"), "1000");
        assert_eq!(toml_value("20s"), "\"20s\"");
        assert_eq!(toml_value("a\"b"), "'a\"b'");
    }
}
