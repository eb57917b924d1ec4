//! Fuzzes the admin API router, `trent_node::admin::route(node, method, path, body)`
//! (`node/src/admin.rs`: everything under `/v1/sys/`), against a real node.
//!
//! Each fuzz process starts ONE single-node cluster in-process on first use
//! (`trent_fuzz::live::LiveNode`, data in `/tmp/trent-fuzz-admin-<pid>`), initialised with one
//! share and unsealed, then runs a scripted membership check once (below). Every input is then
//! up to `MAX_REQUESTS` admin requests, separated by the line `--` (`\n--\n`), so sequences such
//! as seal → rotate → unseal are reachable. Each request is:
//!
//! * a selector byte, by its value modulo 8: `@` GET, `A` POST, `B` PUT, `C` DELETE, `D` HEAD,
//!   `E` PATCH, `F` OPTIONS, `G` any method: the line then starts with the method token and a
//!   space (`Gget /v1/sys/status`; a token `hyper::Method` refuses skips the request);
//! * the path, up to the first `\n`: used as it is if it starts with `/` (so paths outside
//!   `/v1/sys/` are tried too), else `/v1/sys/` + it (`@health/ready`);
//! * the body: the rest.
//!
//! Placeholders in the path and the body are replaced before the call: `$S0`..`$S9` the current
//! unseal shares (one after init, as many as the last successful rekey returned), `$A0` the
//! administrator's access key id, `$A1` a spare access key the harness keeps.
//!
//! **State.** Several routes change the node: the harness lets them run and puts back what the
//! next inputs need after each input — a sealed node is sealed again (forgetting collected
//! shares) and unsealed with the current shares through the routes (which must work: the
//! shares a rekey returned are taken from its answer, and unsealing with them confirms the
//! rekey), the spare access key is recreated if an input deleted it, and members other than
//! node 1 are removed. Rotations and access key creation are skipped (not routed) past
//! `MAX_ROTATIONS` / `MAX_ACCESS_KEYS`.
//!
//! **Membership.** Adding a learner leaves a member the single node replicates to (nothing
//! runs at a fuzzer's address) and makes its promotion wait 3 s for an acknowledgement that
//! never comes; an address that happened to reach this node's own peer port could even make
//! node 1 vote for a phantom. So a POST `/v1/sys/members` that would really add a node (its
//! body parses, both addresses are set, the id is not a member) is skipped, and so is promoting
//! a learner (there never is one). Everything
//! else on `members` is routed: promoting a non-member or the voter, removing the only voter or
//! a non-member, bodies that do not parse, ids that are not numbers. The real add / promote /
//! remove of an unreachable node runs ONCE per process before fuzzing
//! (`membership_check`; `TRENT_FUZZ_MEMBERSHIP_CHECK=0` skips it, e.g. when minimising).
//!
//! What counts as a bug: any panic or abort; `route` answering `None` for a path under
//! `/v1/sys/` or `Some` for one outside it; a body that is not JSON; a success that is not a
//! JSON object; an error body that is not exactly `{"__type", "message"}` with a known code and
//! its HTTP status; a "No admin endpoint" answer for a route that exists or any other answer
//! for one that does not; a `KMSInternalException` with status 500 (`ErrorCode::Internal`,
//! unless `TRENT_FUZZ_ALLOW_INTERNAL=1`); a 503 or `DependencyTimeoutException` from a route
//! that does not need Raft (health, status, seal, cluster, unknown paths; health may answer 503
//! with its own JSON when the node is not ready); a seal that leaves the node unsealed, a
//! rotation whose version is not the keyring's newest, shares from a rekey that do not unseal;
//! Raft stopping.

#![no_main]

use std::collections::BTreeMap;
use std::sync::{Mutex, OnceLock};

use http_body_util::BodyExt;
use hyper::header::CONTENT_TYPE;
use hyper::{Method, StatusCode};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use trent_fuzz::live::{free_port, LiveNode, NODE_ID};
use trent_fuzz::placeholders::Placeholders;
use trent_fuzz::report::{code_name, Schedule};
use trent_node::peer::protocol::LeaderOp;
use trent_node::Node;
use trent_wire::admin::{AddLearnerRequest, HealthResponse, RekeyResponse, RotateResponse};
use trent_wire::ErrorCode;

/// Requests in one input at most.
const MAX_REQUESTS: usize = 4;
/// Separates the requests of an input.
const SEPARATOR: &[u8] = b"\n--\n";
/// POST /v1/sys/rotate is skipped once the keyring has this many versions.
const MAX_ROTATIONS: usize = 200;
/// POST /v1/sys/access-keys is skipped once the cluster has this many access keys.
const MAX_ACCESS_KEYS: usize = 200;
/// Tolerated 5xx answers printed with their request, at most.
const MAX_PRINTED_TOLERATED: usize = 20;
/// Content type of a successful admin answer.
const JSON: &str = "application/json";
/// Content type of an AWS error answer.
const AMZ_JSON: &str = trent_wire::kms::CONTENT_TYPE;

/// The admin routes, as `route` matches them (the oracle for which answers each may give).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Route {
    Health,
    Status,
    Init,
    Unseal,
    Seal,
    Cluster,
    CreateAccessKey,
    ListAccessKeys,
    DeleteAccessKey,
    Rekey,
    Rotate,
    AddMember,
    PromoteMember,
    RemoveMember,
    /// Under `/v1/sys/` but no route: `NotFoundException`, "No admin endpoint ...".
    NoRoute,
    /// Outside `/v1/sys/`: `route` answers `None`.
    NotAdmin,
}

impl Route {
    fn of(method: &Method, path: &str) -> Route {
        let Some(rest) = path.strip_prefix("/v1/sys/") else {
            return Route::NotAdmin;
        };
        let segments: Vec<&str> = rest.split('/').collect();
        match (method, segments.as_slice()) {
            (&Method::GET, ["health"] | ["health", "ready"] | ["health", "live"]) => Route::Health,
            (&Method::GET, ["status"]) => Route::Status,
            (&Method::POST, ["init"]) => Route::Init,
            (&Method::POST, ["unseal"]) => Route::Unseal,
            (&Method::POST, ["seal"]) => Route::Seal,
            (&Method::GET, ["cluster"]) => Route::Cluster,
            (&Method::POST, ["access-keys"]) => Route::CreateAccessKey,
            (&Method::GET, ["access-keys"]) => Route::ListAccessKeys,
            (&Method::DELETE, ["access-keys", _]) => Route::DeleteAccessKey,
            (&Method::POST, ["rekey"]) => Route::Rekey,
            (&Method::POST, ["rotate"]) => Route::Rotate,
            (&Method::POST, ["members"]) => Route::AddMember,
            (&Method::POST, ["members", _, "promote"]) => Route::PromoteMember,
            (&Method::DELETE, ["members", _]) => Route::RemoveMember,
            _ => Route::NoRoute,
        }
    }

    /// Whether the route goes through Raft (a write, a linearizable read, a membership change),
    /// so that "no leader" (503) or "did not commit in time" (`DependencyTimeoutException`) are
    /// legitimate answers; so is "sealed" (503) for the routes that need the root key.
    fn needs_raft(self) -> bool {
        matches!(
            self,
            Route::Init
                | Route::CreateAccessKey
                | Route::ListAccessKeys
                | Route::DeleteAccessKey
                | Route::Rekey
                | Route::Rotate
                | Route::AddMember
                | Route::PromoteMember
                | Route::RemoveMember
        )
    }
}

/// What the harness keeps between inputs.
struct State {
    /// The shares of the current split and how many unseal.
    shares: Vec<String>,
    threshold: usize,
    /// The spare access key (`$A1`).
    spare_access_key: String,
}

struct Fixture {
    live: LiveNode,
    admin_access_key: String,
    state: Mutex<State>,
    strict: bool,
    stats: Mutex<Stats>,
}

#[derive(Default)]
struct Stats {
    requests: u64,
    ok: BTreeMap<Route, u64>,
    errors: BTreeMap<(Route, &'static str), u64>,
    tolerated: BTreeMap<(Route, &'static str), u64>,
    /// Tolerated answers printed so far (the first `MAX_PRINTED_TOLERATED` are).
    printed: usize,
    skipped: BTreeMap<&'static str, u64>,
    restores: BTreeMap<&'static str, u64>,
    rekeys: u64,
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();
static REPORTS: Schedule = Schedule::new();

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        let live = LiveNode::start("admin");
        let node = live.node();
        let spare = live
            .block_on(trent_node::admin::access_keys::create_access_key(node, "fuzz spare".into(), None))
            .expect("create the spare access key");
        let fixture = Fixture {
            admin_access_key: live.init.access_key_id.clone(),
            state: Mutex::new(State {
                shares: live.init.shares.clone(),
                threshold: 1,
                spare_access_key: spare.access_key_id,
            }),
            live,
            strict: trent_fuzz::strict(),
            stats: Mutex::new(Stats::default()),
        };
        if trent_fuzz::verbose() {
            fixture.placeholders().print("admin_api");
        }
        if std::env::var("TRENT_FUZZ_MEMBERSHIP_CHECK").as_deref() != Ok("0") {
            fixture.membership_check();
        }
        fixture
    })
}

/// One request of an input.
struct Request {
    method: Method,
    path: Vec<u8>,
    body: Vec<u8>,
}

/// The requests of an input (a request whose method token `hyper` refuses is left out).
fn requests(data: &[u8]) -> Vec<Option<Request>> {
    let mut parts = Vec::new();
    let mut rest = data;
    while parts.len() < MAX_REQUESTS {
        match rest.windows(SEPARATOR.len()).position(|window| window == SEPARATOR) {
            Some(at) => {
                parts.push(&rest[..at]);
                rest = &rest[at + SEPARATOR.len()..];
            }
            None => {
                parts.push(rest);
                break;
            }
        }
    }
    parts.into_iter().filter(|part| !part.is_empty()).map(parse_request).collect()
}

fn parse_request(part: &[u8]) -> Option<Request> {
    let (&selector, rest) = part.split_first()?;
    let (line, body) = match rest.iter().position(|&byte| byte == b'\n') {
        Some(newline) => (&rest[..newline], &rest[newline + 1..]),
        None => (rest, &[][..]),
    };
    let (method, path) = match selector % 8 {
        0 => (Method::GET, line),
        1 => (Method::POST, line),
        2 => (Method::PUT, line),
        3 => (Method::DELETE, line),
        4 => (Method::HEAD, line),
        5 => (Method::PATCH, line),
        6 => (Method::OPTIONS, line),
        _ => {
            let space = line.iter().position(|&byte| byte == b' ').unwrap_or(line.len());
            let method = Method::from_bytes(&line[..space]).ok()?;
            (method, line.get(space + 1..).unwrap_or_default())
        }
    };
    Some(Request { method, path: path.to_vec(), body: body.to_vec() })
}

impl Fixture {
    fn node(&self) -> &Node {
        self.live.node()
    }

    fn placeholders(&self) -> Placeholders {
        let state = self.state.lock().unwrap();
        let mut pairs: Vec<(String, String)> = state
            .shares
            .iter()
            .take(10)
            .enumerate()
            .map(|(index, share)| (format!("$S{index}"), share.clone()))
            .collect();
        pairs.push(("$A0".into(), self.admin_access_key.clone()));
        pairs.push(("$A1".into(), state.spare_access_key.clone()));
        Placeholders::new(pairs)
    }

    /// Routes one request; returns the status, content type and body.
    fn call(&self, method: &Method, path: &str, body: &[u8]) -> Option<(StatusCode, String, Vec<u8>)> {
        self.live.block_on(async {
            let response = trent_node::admin::route(self.node(), method, path, body).await?;
            let status = response.status();
            let content_type = response
                .headers()
                .get(CONTENT_TYPE)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
                .unwrap_or_default();
            let body = match response.into_body().collect().await {
                Ok(collected) => collected.to_bytes().to_vec(),
                Err(never) => match never {},
            };
            Some((status, content_type, body))
        })
    }

    /// Why the harness does not route this request, if it does not.
    fn skip(&self, route: Route, path: &str, body: &[u8]) -> Option<&'static str> {
        let node = self.node();
        match route {
            Route::AddMember => {
                let request: AddLearnerRequest = serde_json::from_slice(body).ok()?;
                let adds = !request.api_addr.is_empty() && !request.peer_addr.is_empty();
                let member = node
                    .raft
                    .metrics()
                    .borrow()
                    .membership_config
                    .membership()
                    .get_node(&request.node_id)
                    .is_some();
                (adds && !member).then_some("add a learner")
            }
            Route::PromoteMember => {
                let id = path.split('/').nth(4)?.parse::<u64>().ok()?;
                let metrics = node.raft.metrics().borrow().clone();
                let membership = metrics.membership_config.membership();
                let learner =
                    membership.get_node(&id).is_some() && !membership.voter_ids().any(|voter| voter == id);
                learner.then_some("promote a learner")
            }
            Route::Rotate => {
                let versions = node.registry.read().keyring().map_or(0, |keyring| keyring.keys.len());
                (versions >= MAX_ROTATIONS).then_some("rotation cap")
            }
            Route::CreateAccessKey => {
                let count = node.registry.read().access_keys().count();
                (count >= MAX_ACCESS_KEYS).then_some("access key cap")
            }
            _ => None,
        }
    }

    /// Routes one request and checks the answer; panics on a bug.
    fn run(&self, request: &Request) {
        let placeholders = self.placeholders();
        let path = String::from_utf8_lossy(&placeholders.substitute(&request.path)).into_owned();
        let path = if path.starts_with('/') { path } else { format!("/v1/sys/{path}") };
        let body = placeholders.substitute(&request.body).into_owned();
        let method = &request.method;
        let route = Route::of(method, &path);
        if let Some(reason) = self.skip(route, &path, &body) {
            *self.stats.lock().unwrap().skipped.entry(reason).or_default() += 1;
            return;
        }
        let sealed_before = self.node().seal.status().sealed;
        let answer = self.call(method, &path, &body);
        let what = || format!("{method} {path:?} body {:?}", String::from_utf8_lossy(&body));
        let Some((status, content_type, reply)) = answer else {
            assert_eq!(route, Route::NotAdmin, "route answered None for {}", what());
            self.record(route, Ok(()), false);
            return;
        };
        assert_ne!(route, Route::NotAdmin, "route answered a path outside /v1/sys/: {}", what());
        let value: Value = serde_json::from_slice(&reply).unwrap_or_else(|error| {
            panic!(
                "{} answered {status} with a body that is not JSON ({error}): {:?}",
                what(),
                String::from_utf8_lossy(&reply)
            )
        });
        if status.is_success() {
            assert_eq!(status, StatusCode::OK, "{} answered {status}: {value}", what());
            assert_eq!(content_type, JSON, "{} answered {status} as {content_type:?}", what());
            assert!(value.is_object(), "{} answered {status} with a JSON non-object: {value}", what());
            assert_ne!(route, Route::NoRoute, "{} has no route but answered {status}: {value}", what());
            self.after_success(route, &value, &what);
            self.record(route, Ok(()), false);
            return;
        }
        if route == Route::Health && status == StatusCode::SERVICE_UNAVAILABLE {
            let health: HealthResponse = serde_json::from_value(value.clone()).unwrap_or_else(|error| {
                panic!("{} answered 503 without a health body ({error}): {value}", what())
            });
            assert!(!health.ready, "{} answered 503 for a ready node: {value}", what());
            self.record(route, Ok(()), false);
            return;
        }
        let object = value.as_object().unwrap_or_else(|| panic!("{} answered {status} with {value}", what()));
        let (Some(Value::String(type_name)), Some(Value::String(message)), 2) =
            (object.get("__type"), object.get("message"), object.len())
        else {
            panic!(
                "{} answered {status} with an error body that is not {{\"__type\", \"message\"}}: {value}",
                what()
            );
        };
        assert_eq!(content_type, AMZ_JSON, "{} answered an error as {content_type:?}", what());
        let code = ErrorCode::parse(type_name)
            .unwrap_or_else(|| panic!("{} answered an unknown __type: {value}", what()));
        let code = match (code, status.as_u16()) {
            (ErrorCode::Internal, 503) => ErrorCode::ServiceUnavailable,
            (code, _) => code,
        };
        assert_eq!(
            status.as_u16(),
            code.http_status(),
            "{} answered {type_name} with status {status}",
            what()
        );
        let no_route = code == ErrorCode::NotFound && message.starts_with("No admin endpoint ");
        assert_eq!(no_route, route == Route::NoRoute, "{} answered {value} (route {route:?})", what());
        let needs_root = matches!(route, Route::CreateAccessKey | Route::Rekey | Route::Rotate);
        let tolerated = match code {
            ErrorCode::Internal => {
                if self.strict {
                    panic!("{} answered an internal error (sealed before: {sealed_before}): {value}", what());
                }
                true
            }
            // What a sealed node must say to the routes that need the root key.
            ErrorCode::ServiceUnavailable if sealed_before && needs_root && message.contains("sealed") => {
                false
            }
            ErrorCode::ServiceUnavailable | ErrorCode::DependencyTimeout => {
                assert!(route.needs_raft(), "{} needs no Raft but answered {status}: {value}", what());
                true
            }
            _ => false,
        };
        if tolerated {
            let mut stats = self.stats.lock().unwrap();
            if stats.printed < MAX_PRINTED_TOLERATED {
                stats.printed += 1;
                eprintln!(
                    "admin_api: tolerated {} -> {status} {value} (sealed before: {sealed_before})",
                    what()
                );
            }
        }
        self.record(route, Err(code), tolerated);
    }

    /// Checks what a successful answer says and takes note of new shares.
    fn after_success(&self, route: Route, value: &Value, what: &dyn Fn() -> String) {
        let node = self.node();
        match route {
            Route::Seal => {
                assert!(node.seal.status().sealed, "{} answered 200 but the node is unsealed", what())
            }
            Route::Rotate => {
                let answer: RotateResponse = serde_json::from_value(value.clone())
                    .unwrap_or_else(|error| panic!("{} answered {value} ({error})", what()));
                let versions = node.registry.read().keyring().map_or(0, |keyring| keyring.keys.len());
                assert_eq!(answer.barrier_version as usize, versions, "{} answered {value}", what());
            }
            Route::Rekey => {
                let answer: RekeyResponse = serde_json::from_value(value.clone()).unwrap_or_else(|error| {
                    panic!("{} answered a rekey that does not parse ({error})", what())
                });
                let threshold = answer.threshold as usize;
                assert!(
                    (1..=answer.shares.len()).contains(&threshold),
                    "{} answered {} shares, threshold {threshold}",
                    what(),
                    answer.shares.len()
                );
                let mut state = self.state.lock().unwrap();
                state.shares = answer.shares;
                state.threshold = threshold;
                self.stats.lock().unwrap().rekeys += 1;
            }
            _ => {}
        }
    }

    fn record(&self, route: Route, result: Result<(), ErrorCode>, tolerated: bool) {
        let mut stats = self.stats.lock().unwrap();
        stats.requests += 1;
        match result {
            Ok(()) => *stats.ok.entry(route).or_default() += 1,
            Err(code) if tolerated => *stats.tolerated.entry((route, code_name(code))).or_default() += 1,
            Err(code) => *stats.errors.entry((route, code_name(code))).or_default() += 1,
        }
    }

    fn report(&self) {
        let stats = self.stats.lock().unwrap();
        if !REPORTS.due(stats.requests) {
            return;
        }
        let (keys, versions) = {
            let registry = self.node().registry.read();
            (registry.access_keys().count(), registry.keyring().map_or(0, |keyring| keyring.keys.len()))
        };
        eprintln!(
            "admin_api: {} requests, ok {:?}, errors {:?}, tolerated {:?}, skipped {:?}, restores {:?}, {} rekeys, {keys} access keys, {versions} keyring versions, snapshot at {:?}",
            stats.requests,
            stats.ok,
            stats.errors,
            stats.tolerated,
            stats.skipped,
            stats.restores,
            stats.rekeys,
            self.live.snapshot_index()
        );
    }

    fn restored(&self, what: &'static str) {
        *self.stats.lock().unwrap().restores.entry(what).or_default() += 1;
    }

    /// Puts back what the next inputs need: node 1 alone, unsealed, with its spare access key.
    fn restore(&self) {
        let node = self.node();
        let extra: Vec<u64> = member_ids(node).into_iter().filter(|id| *id != NODE_ID).collect();
        for node_id in extra {
            eprintln!("admin_api: removing member {node_id} an input added");
            if let Err(error) = self.live.block_on(node.change_membership(LeaderOp::Remove { node_id })) {
                panic!("cannot remove member {node_id}: {error:?}");
            }
            self.restored("member");
        }
        if node.seal.status().sealed {
            // Through the routes, as an operator would: seal (forgets whatever shares the input
            // submitted), then unseal with the current split (which confirms a rekey).
            let (shares, threshold) = {
                let state = self.state.lock().unwrap();
                (state.shares.clone(), state.threshold)
            };
            let restore = |path: &str, body: String| {
                let answer = self.call(&Method::POST, path, body.as_bytes());
                match answer {
                    Some((StatusCode::OK, _, _)) => {}
                    Some((status, _, reply)) => panic!(
                        "restoring: POST {path} {body} (threshold {threshold}) answered {status}: {}",
                        String::from_utf8_lossy(&reply)
                    ),
                    None => panic!("restoring: POST {path} is not routed"),
                }
            };
            restore("/v1/sys/seal", String::new());
            for share in shares.iter().take(threshold) {
                restore("/v1/sys/unseal", serde_json::json!({ "share": share }).to_string());
            }
            assert!(!node.seal.status().sealed, "still sealed after {threshold} shares");
            self.restored("unseal");
        }
        let spare = self.state.lock().unwrap().spare_access_key.clone();
        if node.registry.read().access_key(&spare).is_none() {
            let created = self
                .live
                .block_on(trent_node::admin::access_keys::create_access_key(node, "fuzz spare".into(), None))
                .unwrap_or_else(|error| panic!("cannot recreate the spare access key: {error:?}"));
            self.state.lock().unwrap().spare_access_key = created.access_key_id;
            self.restored("spare access key");
        }
        self.live.assert_alive();
    }

    /// Runs the membership changes the fuzzer is kept from, once: a learner that does not run
    /// is added (the answer must come within the client's 10 s), refused promotion, and
    /// removed; the only voter cannot be removed; ids that are not members are refused. Every
    /// answer must be well-formed JSON and none an internal error; node 1 must end up alone.
    fn membership_check(&self) {
        let started = std::time::Instant::now();
        let ghost = 2;
        let body = format!(
            r#"{{"node_id":{ghost},"api_addr":"127.0.0.1:{}","peer_addr":"127.0.0.1:{}"}}"#,
            free_port(),
            free_port()
        );
        let steps: [(Method, String, String, &[u16]); 9] = [
            (
                Method::POST,
                "members".into(),
                format!(r#"{{"node_id":{NODE_ID},"api_addr":"a","peer_addr":"b"}}"#),
                &[400],
            ),
            (Method::POST, format!("members/{NODE_ID}/promote"), String::new(), &[400]),
            (Method::POST, "members/99/promote".into(), String::new(), &[400]),
            (Method::DELETE, format!("members/{NODE_ID}"), String::new(), &[400]),
            (Method::DELETE, "members/99".into(), String::new(), &[400]),
            // A learner nobody runs: added (at once while the log is short: openraft counts a
            // learner as caught up within 5,000 entries; DependencyTimeout after 8 s otherwise).
            (Method::POST, "members".into(), body, &[200, 500]),
            (Method::POST, format!("members/{ghost}/promote"), String::new(), &[400]),
            (Method::DELETE, format!("members/{ghost}"), String::new(), &[200]),
            (Method::DELETE, format!("members/{ghost}"), String::new(), &[400]),
        ];
        for (method, path, body, expected) in steps {
            let path = format!("/v1/sys/{path}");
            let step = std::time::Instant::now();
            let (status, _, reply) = self.call(&method, &path, body.as_bytes()).expect("an admin path");
            let reply = String::from_utf8_lossy(&reply).into_owned();
            eprintln!(
                "admin_api: membership check: {method} {path} {body} -> {status} in {:.1}s: {reply}",
                step.elapsed().as_secs_f64()
            );
            let value: Value = serde_json::from_str(&reply).expect("a JSON answer");
            assert!(step.elapsed().as_secs() < 10, "{method} {path} took {:?}", step.elapsed());
            assert!(
                expected.contains(&status.as_u16()),
                "membership check: {method} {path} answered {status}, expected {expected:?}: {value}"
            );
            if status.as_u16() == 500 {
                assert_eq!(value["__type"], "DependencyTimeoutException", "{method} {path}: {value}");
            }
        }
        let members = member_ids(self.node());
        assert_eq!(members, vec![NODE_ID], "the membership check left members behind");
        self.live.assert_alive();
        eprintln!("admin_api: membership check passed in {:.1}s", started.elapsed().as_secs_f64());
    }
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let requests = requests(data);
    if requests.is_empty() {
        return;
    }
    for request in &requests {
        match request {
            Some(request) => fixture.run(request),
            None => *fixture.stats.lock().unwrap().skipped.entry("bad method token").or_default() += 1,
        }
    }
    fixture.restore();
    fixture.report();
});

/// The ids of every member (voters and learners) `node` knows of.
fn member_ids(node: &Node) -> Vec<u64> {
    node.raft.metrics().borrow().membership_config.membership().nodes().map(|(id, _)| *id).collect()
}
