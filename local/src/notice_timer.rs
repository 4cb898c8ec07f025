//! The notice sweep on a timer: what EventBridge Scheduler does on AWS (a run every 15 minutes), here every
//! `NOTICE_SWEEP_SECS` (default 60) over the same store, through the same `notices::sweep`. Each run reads
//! the time from its clock: the system's when serving, a test's own when a test drives [`NoticeTimer::run`]
//! (no test waits for the timer).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use notices::{sweep, SweepDeps, SweepReport};
use store::{StoreError, Stores};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where a run reads the time.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The sweep and its clock.
pub struct NoticeTimer {
    deps: SweepDeps,
    clock: Clock,
}

impl NoticeTimer {
    /// The sweep over `stores` (the engine's own, unsealed, as the Lambda function opens the table).
    pub fn new(stores: &Stores, clock: Clock) -> Self {
        NoticeTimer {
            deps: SweepDeps::new(stores),
            clock,
        }
    }

    /// One run of the sweep at the clock's time.
    pub async fn run(&self) -> Result<SweepReport, StoreError> {
        let run = uuid::Uuid::new_v4();
        let report = sweep(&self.deps, (self.clock)(), run).await;
        match &report {
            Ok(report) if report.notices > 0 => {
                tracing::info!(correlation_id = %run, notices = report.notices, debts = report.debts_notified, "notices appended");
            }
            Ok(_) => {}
            Err(error) => {
                tracing::error!(correlation_id = %run, %error, "notice sweep failed; the next run goes on")
            }
        }
        report
    }

    /// Runs the sweep at once and then every `every` until `stop` says so.
    pub fn spawn(self, every: Duration, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => { let _ = self.run().await; }
                    _ = stop.changed() => return,
                }
            }
        })
    }
}
