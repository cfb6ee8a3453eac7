//! Demo mode's mild faults: the simulators misbehave now and then as the real systems do (a 429
//! with `Retry-After`, a 503, a short page in a CMS list, a CDR batch whose 200 CMS never saw, a
//! busy Exchange, a dropped EWS stream), so that the demo shows Switchboard riding through them.
//! Seeded: the same seed meets the same faults in the same requests. `--no-faults` turns them off.

/// The running simulators the faults are switched on in.
pub struct Sims<'a> {
    pub cms: &'a switchboard::sim::cms::SimCms,
    pub webex: &'a switchboard::sim::webex::SimWebex,
    pub connect: &'a switchboard::sim::connect::SimConnect,
    pub graph: &'a switchboard::sim::graph::SimGraph,
    pub ews: &'a switchboard::sim::ews::SimEws,
}

/// Which faults the demo's simulators meet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoFaults {
    /// Well-behaved simulators (`--no-faults`).
    Off,
    /// Now and then, as below; chances drawn from `seed`.
    Mild { seed: u64 },
}

/// How often each simulator misbehaves under [`DemoFaults::Mild`]. Every fault here is one a
/// client must ride through without an operator (nothing that loses a send's answer).
pub mod mild {
    use std::time::Duration;
    /// CMS: the largest page a node answers (CMS does not say what its own is): small enough that
    /// the demo's lists of users, spaces and calls take several pages, so short pages can happen.
    pub const CMS_MAX_PAGE: usize = 4;
    /// CMS: chance that a page in the middle of a list is short.
    pub const CMS_SHORT_PAGE: f64 = 0.25;
    /// CMS: chance of a 503 on an API request.
    pub const CMS_ERROR: f64 = 0.03;
    /// CMS: chance that a CDR batch's 200 is lost, so the batch comes again.
    pub const CMS_LOST_CDR_ACK: f64 = 0.05;
    /// Webex API: every n-th request 429 (`Retry-After` 1 s), every m-th 503.
    pub const WEBEX_THROTTLE_EVERY: u64 = 29;
    pub const WEBEX_FAIL_EVERY: u64 = 41;
    /// Webex Connect: every n-th send 429, every m-th 503 (neither was carried out).
    pub const CONNECT_THROTTLE_EVERY: u64 = 7;
    pub const CONNECT_FAIL_EVERY: u64 = 11;
    /// Graph: every n-th request 429, every m-th 503.
    pub const GRAPH_THROTTLE_EVERY: u64 = 13;
    pub const GRAPH_FAIL_EVERY: u64 = 31;
    /// EWS: every n-th request ErrorServerBusy (with `BackOffMilliseconds`).
    pub const EWS_BUSY_EVERY: u64 = 23;
    /// EWS: open streams cut (no `Closed`) this often.
    pub const EWS_DROP_STREAMS: Duration = Duration::from_secs(90);
    pub const RETRY_AFTER_SECS: u64 = 1;
}

impl DemoFaults {
    /// The seed when faults are on.
    pub fn seed(&self) -> Option<u64> {
        match self {
            DemoFaults::Off => None,
            DemoFaults::Mild { seed } => Some(*seed),
        }
    }

    /// The largest CMS page under these faults (`None`: the simulator's own).
    pub fn cms_max_page(&self) -> Option<usize> {
        self.seed().map(|_| mild::CMS_MAX_PAGE)
    }

    /// One line for the demo's start-up text.
    pub fn describe(&self) -> String {
        match self {
            DemoFaults::Off => "Simulators without faults (--no-faults).".into(),
            DemoFaults::Mild { seed } => format!(
                "Simulators misbehave now and then as the real systems do (429 with Retry-After, 503, CMS pages of at most {} rows and now and then shorter, \
                 lost CDR acknowledgements, a busy Exchange, a dropped EWS stream every {} s); seed {seed} \
                 (--seed {seed} repeats them, --no-faults turns them off).",
                mild::CMS_MAX_PAGE,
                mild::EWS_DROP_STREAMS.as_secs()
            ),
        }
    }

    /// Switches the faults on in each running simulator.
    pub fn apply(&self, world: Sims<'_>) {
        let DemoFaults::Mild { seed } = *self else { return };
        for (i, node) in world.cms.cluster.nodes.iter().enumerate() {
            let f = &node.faults;
            f.seed(seed.wrapping_add(i as u64));
            f.set_short_page_rate(mild::CMS_SHORT_PAGE);
            f.set_error_rate(mild::CMS_ERROR);
            f.set_lost_ack_rate(mild::CMS_LOST_CDR_ACK);
        }
        let http = |f: &switchboard::sim::faults::HttpFaults, throttle, fail| {
            f.set_throttle_every(throttle);
            f.set_fail_every(fail);
            f.set_retry_after_secs(mild::RETRY_AFTER_SECS);
        };
        http(world.webex.faults(), mild::WEBEX_THROTTLE_EVERY, mild::WEBEX_FAIL_EVERY);
        http(world.connect.faults(), mild::CONNECT_THROTTLE_EVERY, mild::CONNECT_FAIL_EVERY);
        http(world.graph.faults(), mild::GRAPH_THROTTLE_EVERY, mild::GRAPH_FAIL_EVERY);
        world.ews.faults().set_busy_every(mild::EWS_BUSY_EVERY);
    }

    /// What keeps happening while the demo runs (streams dropped now and then); `None` when off.
    pub fn keep_misbehaving(&self, ews: switchboard::sim::ews::EwsHandle) -> Option<tokio::task::JoinHandle<()>> {
        self.seed()?;
        Some(tokio::spawn(async move {
            let mut every = tokio::time::interval_at(tokio::time::Instant::now() + mild::EWS_DROP_STREAMS, mild::EWS_DROP_STREAMS);
            loop {
                every.tick().await;
                tracing::info!("demo fault: the simulated Exchange drops its open streams");
                ews.drop_streams();
            }
        }))
    }
}

/// A seed for a run that was not given one.
pub fn fresh_seed() -> u64 {
    rand::random::<u64>() % 1_000_000
}
