//! A periodic task: [`every`] runs a job every `period` until the server stops. The server's
//! flushes and sweeps (presence, HTTP rate keys, login guesses, files) each use it, so a missed
//! tick is delayed rather than bunched and a stop is seen between two runs.

use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Spawns a task that runs `job` every `period` (at least 1 ms; the first run at once) until
/// `stop` is cancelled. A run is never cut short: `stop` is looked at between runs.
pub fn every<F, Fut>(period: Duration, stop: CancellationToken, mut job: F)
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let period = period.max(Duration::from_millis(1));
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = ticks.tick() => job().await,
            }
        }
    });
}
