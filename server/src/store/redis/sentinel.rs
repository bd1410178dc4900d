//! Where a shard's Redis is: a `redis://` URL, or Sentinels that name its current master
//! (`redis+sentinel://[[USER]:PASSWORD@]HOST[:PORT][,HOST[:PORT]…]/MASTER_NAME[/DB]`, port
//! 26379 by default; the credentials and database are the master's, the Sentinels are asked
//! without them).
//!
//! Every connection of a shard ([`Endpoint::connect`] for the reads pool, the pub/sub thread
//! and the sweep; [`Endpoint::connect_async`] behind [`super::conn::Conn`]) is made to the
//! master the Sentinels name *when it connects*: each Sentinel in turn is asked `SENTINEL
//! get-master-addr-by-name`, the first that knows the name is believed, and the instance it
//! names must say `ROLE` master (a Sentinel that has not yet seen the failover names the old
//! one). A connection that breaks, or meets `READONLY` (its Redis was turned into a replica),
//! is dropped and the next one asks again, so a node follows a failover without a restart.
//! Sentinel itself cuts the clients of an instance it reconfigures.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{
    AsyncConnectionConfig, Client, Connection, ConnectionAddr, ErrorKind, IntoConnectionInfo,
    RedisConnectionInfo, RedisError, RedisResult, Value,
};

/// The scheme of a Sentinel entry in `--redis`.
pub const SCHEME: &str = "redis+sentinel://";
/// A Sentinel's port when the entry gives none.
const SENTINEL_PORT: u16 = 26379;

/// A shard's Redis: see the module docs.
#[derive(Clone)]
pub enum Endpoint {
    /// One `redis://` (or `rediss://`, `unix://`) URL.
    Fixed(Client),
    /// The master a set of Sentinels names.
    Sentinel(Arc<Sentinels>),
}

/// Sentinels and the name of the master they watch.
pub struct Sentinels {
    sentinels: Vec<(String, u16)>,
    master: String,
    /// The master's settings besides its address (database, user, password).
    redis: RedisConnectionInfo,
}

impl Endpoint {
    /// Reads one `--redis` entry.
    pub fn parse(url: &str) -> RedisResult<Endpoint> {
        match url.strip_prefix(SCHEME) {
            Some(rest) => Ok(Endpoint::Sentinel(Arc::new(Sentinels::parse(rest)?))),
            None => Ok(Endpoint::Fixed(Client::open(url)?)),
        }
    }

    /// A blocking connection to the Redis (the current master), connecting and each lookup
    /// within `timeout`.
    pub fn connect(&self, timeout: Duration) -> RedisResult<Connection> {
        match self {
            Endpoint::Fixed(client) => client.get_connection_with_timeout(timeout),
            Endpoint::Sentinel(s) => s.connect(timeout),
        }
    }
}

impl fmt::Display for Endpoint {
    /// For messages: the address, never a password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Fixed(c) => write!(f, "Redis at {}", c.get_connection_info().addr()),
            Endpoint::Sentinel(s) => write!(f, "{s}"),
        }
    }
}

impl fmt::Display for Sentinels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at: Vec<String> = self
            .sentinels
            .iter()
            .map(|(h, p)| format!("{h}:{p}"))
            .collect();
        write!(
            f,
            "the master {:?} of the Sentinels {}",
            self.master,
            at.join(",")
        )
    }
}

impl Sentinels {
    /// `[[USER]:PASSWORD@]HOST[:PORT][,…]/MASTER[/DB]` (after the scheme).
    fn parse(rest: &str) -> RedisResult<Sentinels> {
        let bad = |why: &str| {
            RedisError::from((
                ErrorKind::InvalidClientConfig,
                "bad Sentinel URL",
                why.to_owned(),
            ))
        };
        let (authority, path) = rest
            .split_once('/')
            .ok_or_else(|| bad("no /MASTER_NAME after the Sentinels"))?;
        let (auth, hosts) = match authority.rsplit_once('@') {
            Some((auth, hosts)) => (Some(auth), hosts),
            None => (None, authority),
        };
        let sentinels = hosts
            .split(',')
            .filter(|h| !h.is_empty())
            .map(|h| host_port(h).ok_or_else(|| bad(&format!("{h:?} is not HOST[:PORT]"))))
            .collect::<RedisResult<Vec<_>>>()?;
        if sentinels.is_empty() {
            return Err(bad("no Sentinel before /MASTER_NAME"));
        }
        let (master, db) = path.split_once('/').unwrap_or((path, ""));
        if master.is_empty() {
            return Err(bad("no MASTER_NAME"));
        }
        // The master's credentials and database, percent-decoded as in a `redis://` URL.
        let auth = auth.map(|a| format!("{a}@")).unwrap_or_default();
        let info = format!("redis://{auth}localhost/{db}").into_connection_info()?;
        Ok(Sentinels {
            sentinels,
            master: master.to_owned(),
            redis: info.redis_settings().clone(),
        })
    }

    /// The master's database (as `get_db` reports it).
    pub fn db(&self) -> i64 {
        self.redis.db()
    }

    fn master_client(&self, (host, port): (String, u16)) -> RedisResult<Client> {
        let info = ConnectionAddr::Tcp(host, port)
            .into_connection_info()?
            .set_redis_settings(self.redis.clone());
        Client::open(info)
    }

    fn sentinel_client(&self, (host, port): &(String, u16)) -> RedisResult<Client> {
        Client::open(ConnectionAddr::Tcp(host.clone(), *port).into_connection_info()?)
    }

    fn lookup() -> redis::Cmd {
        let mut cmd = redis::cmd("SENTINEL");
        cmd.arg("get-master-addr-by-name");
        cmd
    }

    /// Asks each Sentinel in turn for the master's address (blocking).
    fn master(&self, timeout: Duration) -> RedisResult<(String, u16)> {
        let mut last = None;
        for s in &self.sentinels {
            let answer = self.sentinel_client(s).and_then(|c| {
                let mut c = c.get_connection_with_timeout(timeout)?;
                c.set_read_timeout(Some(timeout))?;
                c.set_write_timeout(Some(timeout))?;
                Self::lookup().arg(&self.master).query::<Value>(&mut c)
            });
            match answer.and_then(|v| self.address(v)) {
                Ok(addr) => return Ok(addr),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| self.unknown()))
    }

    /// The same, on async connections.
    async fn master_async(&self, config: &AsyncConnectionConfig) -> RedisResult<(String, u16)> {
        let mut last = None;
        for s in &self.sentinels {
            let answer = match self.sentinel_client(s) {
                Ok(c) => match c.get_multiplexed_async_connection_with_config(config).await {
                    Ok(mut c) => Self::lookup().arg(&self.master).query_async(&mut c).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            };
            match answer.and_then(|v| self.address(v)) {
                Ok(addr) => return Ok(addr),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| self.unknown()))
    }

    /// `SENTINEL get-master-addr-by-name`'s reply: `[host, port]`, or nil for a name it does
    /// not know.
    fn address(&self, reply: Value) -> RedisResult<(String, u16)> {
        match redis::from_redis_value::<Option<(String, u16)>>(reply) {
            Ok(Some(addr)) => Ok(addr),
            Ok(None) => Err(self.unknown()),
            Err(e) => Err(e.into()),
        }
    }

    fn unknown(&self) -> RedisError {
        RedisError::from((
            ErrorKind::InvalidClientConfig,
            "no Sentinel knows the master",
            self.to_string(),
        ))
    }

    /// A blocking connection to the current master.
    fn connect(&self, timeout: Duration) -> RedisResult<Connection> {
        let client = self.master_client(self.master(timeout)?)?;
        let mut conn = client.get_connection_with_timeout(timeout)?;
        conn.set_read_timeout(Some(timeout))?;
        is_master(redis::cmd("ROLE").query(&mut conn)?)?;
        Ok(conn)
    }

    /// An async (multiplexed) connection to the current master.
    pub async fn connect_async(
        &self,
        config: &AsyncConnectionConfig,
    ) -> RedisResult<MultiplexedConnection> {
        let client = self.master_client(self.master_async(config).await?)?;
        let mut conn = client
            .get_multiplexed_async_connection_with_config(config)
            .await?;
        is_master(redis::cmd("ROLE").query_async(&mut conn).await?)?;
        Ok(conn)
    }
}

/// `HOST[:PORT]` or `[V6]:PORT`.
fn host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && (!h.contains(':') || h.ends_with(']')) => {
            (h, p.parse().ok()?)
        }
        _ if !s.contains(':') || s.ends_with(']') => (s, SENTINEL_PORT),
        _ => return None,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    (!host.is_empty()).then(|| (host.to_owned(), port))
}

/// `ROLE`'s reply names a master: a Sentinel that has not seen the failover yet may name an
/// instance that has since become a replica.
fn is_master(role: Vec<Value>) -> RedisResult<()> {
    let first = role
        .into_iter()
        .next()
        .map(redis::from_redis_value::<String>);
    match first {
        Some(Ok(r)) if r == "master" => Ok(()),
        _ => Err(RedisError::from((
            ErrorKind::Server(redis::ServerErrorKind::ReadOnly),
            "the instance the Sentinel named is not a master (yet)",
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> Sentinels {
        match Endpoint::parse(url).expect(url) {
            Endpoint::Sentinel(s) => Arc::into_inner(s).expect("one"),
            Endpoint::Fixed(_) => panic!("{url}: not a Sentinel entry"),
        }
    }

    #[test]
    fn a_sentinel_entry_names_its_sentinels_and_master() {
        let s = parse("redis+sentinel://a:26380,b,[::1]:5/mymaster");
        let want = [("a", 26380), ("b", 26379), ("::1", 5)];
        let want: Vec<(String, u16)> = want.iter().map(|(h, p)| (h.to_string(), *p)).collect();
        assert_eq!(s.sentinels, want);
        assert_eq!(s.master, "mymaster");
        assert_eq!(s.db(), 0);
        let s = parse("redis+sentinel://:p%40ss@a:1/m/3");
        assert_eq!((s.master.as_str(), s.db()), ("m", 3));
        assert_eq!(s.redis.password(), Some("p@ss"));
        assert!(!s.to_string().contains("p@ss"), "{s}");
        for bad in [
            "redis+sentinel://a:1",
            "redis+sentinel:///m",
            "redis+sentinel://a:1/",
            "redis+sentinel://a:x/m",
        ] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
        assert!(matches!(
            Endpoint::parse("redis://127.0.0.1:6379/"),
            Ok(Endpoint::Fixed(_))
        ));
    }
}
