//! The signed workload: SigV4-signed Encrypt, Decrypt, GenerateDataKey and DescribeKey calls
//! (trent-bench's KMS target over trent-client) at a fixed rate in trent-bench's open loop, at
//! most `--clients` in flight, each to a random node, without retries so every failure shows.
//! Every `--fresh-connection-every`th call opens a new connection, as a client that comes and
//! goes would; the rest reuse a keep-alive pool.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use trent_client::{ClientOptions, RetryPolicy, Signing, TrentClient};
use trent_wire::admin::DevCredentials;

use crate::runner::{self, Live, Pacing, Plan};
use crate::soak::args::SoakArgs;
use crate::soak::tally::{Percentiles, Tally, TallyReport};
use crate::target::KmsTarget;
use crate::workload::{scramble, Mix, Op};

/// Plaintext bytes of each Encrypt.
const PLAINTEXT_BYTES: usize = 64;
/// Mixed into a call's sequence number to draw its node independently of its operation and key.
const NODE_SALT: u64 = 0x6e6f_6465;

/// The signed clients' results.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SignedReport {
    /// Calls per second offered.
    pub rate: f64,
    /// Calls in flight at most.
    pub clients: usize,
    /// The operation mix.
    pub mix: String,
    /// Every call by outcome, operation, node and error code, with latency from when it was sent.
    pub calls: TallyReport,
    /// Latency of successful calls counted from when each was due (open loop, as trent-bench
    /// reports it: a stall shows as latency, not as fewer calls). The p99 check uses this.
    pub success_latency: Percentiles,
    /// Seconds from the first call to the last answer.
    pub measured_secs: f64,
    /// Calls that fell due but were never sent because every client was busy with earlier ones
    /// (a stalled node holds clients for up to the timeout); also counted in `calls.total` as
    /// failed, error `NotSent`.
    pub not_sent: u64,
}

impl SignedReport {
    /// Counts the calls of the `due` that fell due in the run but were never sent as failed.
    pub fn count_unsent(&mut self, due: u64) {
        let total = &mut self.calls.total;
        let unsent = due.saturating_sub(total.ok + total.failed);
        if unsent > 0 {
            self.not_sent = unsent;
            total.failed += unsent;
            *total.errors.entry("NotSent".to_owned()).or_default() += unsent;
        }
    }
}

/// A prepared workload.
pub struct Signed {
    target: Arc<KmsTarget>,
    pooled: TrentClient,
    endpoints: Vec<String>,
    options: ClientOptions,
    mix: Mix,
    rate: f64,
    clients: usize,
    fresh_every: u64,
}

/// A client for the cluster with `credentials`, `timeout` per call and no retries.
pub fn client_options(credentials: &DevCredentials, timeout: Duration) -> ClientOptions {
    ClientOptions {
        timeout,
        retry: RetryPolicy::none(),
        signing: Some(Signing::new(
            credentials.access_key_id.clone(),
            credentials.secret_access_key.clone(),
            credentials.region.clone(),
        )),
        ..ClientOptions::default()
    }
}

impl Signed {
    /// Makes the keys and ciphertexts the calls use (with retries: the run has not begun).
    pub async fn prepare(credentials: &DevCredentials, args: &SoakArgs) -> anyhow::Result<Signed> {
        let (mix, kind) = args.signed_key_kind()?;
        let options = client_options(credentials, Duration::from_millis(args.signed_timeout_ms));
        let pooled = TrentClient::with_options(credentials.endpoints.clone(), options.clone())?;
        let setup = pooled.with_retry_policy(RetryPolicy::default());
        let ops: Vec<Op> = mix.ops().collect();
        let target =
            KmsTarget::prepare(pooled.clone(), &setup, &ops, kind, args.keys, None, PLAINTEXT_BYTES).await?;
        Ok(Signed {
            target: Arc::new(target),
            pooled,
            endpoints: credentials.endpoints.clone(),
            options,
            mix,
            rate: args.signed_rate,
            clients: args.clients,
            fresh_every: args.fresh_connection_every,
        })
    }

    /// Runs for `duration` or until `live.stop`, counting every call in `tally`.
    pub async fn run(
        self,
        duration: Duration,
        live: Arc<Live>,
        tally: Arc<Tally>,
    ) -> anyhow::Result<SignedReport> {
        let nodes = self.endpoints.len().max(1) as u64;
        let (target, pooled, mix) = (self.target, self.pooled, self.mix.clone());
        let (endpoints, options, fresh_every) = (self.endpoints, self.options, self.fresh_every);
        let counted = tally.clone();
        let call = Arc::new(move |sequence: u64| {
            let op = mix.pick(sequence);
            let node = (scramble(sequence ^ NODE_SALT) % nodes) as usize;
            let fresh = fresh_every > 0 && sequence.is_multiple_of(fresh_every);
            let (target, pooled, tally) = (target.clone(), pooled.clone(), counted.clone());
            let (endpoints, options) = (endpoints.clone(), options.clone());
            async move {
                let sent = Instant::now();
                let client = if fresh { TrentClient::with_options(endpoints, options) } else { Ok(pooled) };
                let outcome = match client.and_then(|client| client.on_endpoint(node)) {
                    Ok(client) => target.call_via(&client, op, sequence).await,
                    Err(error) => Err(error.error_type().to_owned()),
                };
                tally.record(op.target(), node + 1, &outcome, sent.elapsed());
                outcome
            }
        });
        let plan = Plan {
            pacing: Pacing::Open { rate: self.rate, max_in_flight: self.clients },
            warmup: Duration::ZERO,
            duration,
            requests: None,
        };
        let measurement = runner::run(call, &plan, live).await?;
        Ok(SignedReport {
            rate: self.rate,
            clients: self.clients,
            mix: self.mix.describe(),
            calls: tally.report(),
            success_latency: Percentiles::of(&measurement.latency_us),
            measured_secs: measurement.measured.as_secs_f64(),
            not_sent: 0,
        })
    }
}
