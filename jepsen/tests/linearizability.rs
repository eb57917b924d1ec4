//! Behaviour of the linearizability checker on hand-written and generated histories, through the
//! public API: events are built, paired and checked just as the harness and the binary do.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use std::time::Instant;

use serde_json::{json, Value};
use trent_jepsen::{
    check, pair_operations, CheckLimits, Event, EventType, HistoryLimits, HistoryWriter, KeyStateRegister,
    Model, Register, Report, Summary, UnknownReason, Verdict,
};

/// How an operation in a hand-written history ends.
#[derive(Clone)]
enum End {
    /// Completed with this output at this time.
    Ok(u64, Value),
    /// Definitely did not happen; completed at this time.
    Fail(u64),
    /// Timed out at this time: may or may not have happened.
    Info(u64),
    /// Still outstanding when the history ended.
    Never,
}

/// One operation of a hand-written history.
#[derive(Clone)]
struct Spec {
    process: u64,
    f: &'static str,
    key: String,
    input: Value,
    call: u64,
    end: End,
}

fn op(process: u64, f: &'static str, call: u64, end: End) -> Spec {
    Spec { process, f, key: "k".into(), input: Value::Null, call, end }
}

fn ok(time: u64) -> End {
    End::Ok(time, Value::Null)
}

fn saw(time: u64, state: &str) -> End {
    End::Ok(time, json!(state))
}

/// The events of `specs`, in time order with completions before invocations at equal times.
fn events(specs: &[Spec]) -> Vec<Event> {
    let mut timed: Vec<(u64, u8, Event)> = Vec::new();
    for spec in specs {
        let event = |kind, value: Value, time_ns| Event {
            process: spec.process,
            kind,
            f: spec.f.into(),
            key: spec.key.clone(),
            value,
            time_ns,
            index: 0,
        };
        timed.push((spec.call, 1, event(EventType::Invoke, spec.input.clone(), spec.call)));
        match &spec.end {
            End::Ok(time, output) => timed.push((*time, 0, event(EventType::Ok, output.clone(), *time))),
            End::Fail(time) => timed.push((*time, 0, event(EventType::Fail, Value::Null, *time))),
            End::Info(time) => timed.push((*time, 0, event(EventType::Info, Value::Null, *time))),
            End::Never => {}
        }
    }
    timed.sort_by_key(|(time, order, event)| (*time, *order, event.process));
    timed
        .into_iter()
        .enumerate()
        .map(|(index, (_, _, mut event))| {
            event.index = index as u64;
            event
        })
        .collect()
}

fn judge<M: Model>(model: &M, specs: &[Spec]) -> Report {
    let operations = pair_operations(&events(specs)).unwrap();
    check(model, &operations, &CheckLimits::default()).unwrap()
}

fn key_state(specs: &[Spec]) -> Summary {
    judge(&KeyStateRegister::default(), specs).summary()
}

#[test]
fn sequential_history_passes() {
    let history = [
        op(1, "describe", 0, saw(10, "Enabled")),
        op(1, "disable", 20, ok(30)),
        op(2, "describe", 40, saw(50, "Disabled")),
        op(2, "enable", 60, ok(70)),
        op(1, "describe", 80, saw(90, "Enabled")),
    ];
    assert_eq!(key_state(&history), Summary::Linearizable);
}

#[test]
fn concurrent_overlapping_ops_that_can_be_ordered_pass() {
    // The disable is invoked first but must take effect after the enable for the last describe to
    // see Disabled; the two middle describes see either side of the disable.
    let history = [
        op(1, "disable", 0, ok(100)),
        op(2, "enable", 10, ok(90)),
        op(3, "describe", 20, saw(50, "Enabled")),
        op(4, "describe", 30, saw(95, "Disabled")),
        op(3, "describe", 110, saw(120, "Disabled")),
    ];
    assert_eq!(key_state(&history), Summary::Linearizable);
}

#[test]
fn stale_read_after_completed_disable_fails() {
    let history = [op(1, "disable", 0, ok(10)), op(2, "describe", 20, saw(30, "Enabled"))];
    let report = judge(&KeyStateRegister::default(), &history);
    assert_eq!(report.summary(), Summary::NotLinearizable);
    let (key, evidence) = report.violations().next().unwrap();
    assert_eq!(key, "k");
    assert_eq!(evidence.prefix.iter().map(|op| op.f.as_str()).collect::<Vec<_>>(), ["disable"]);
    assert_eq!(evidence.blocked.f, "describe");
    assert_eq!(evidence.state_after_prefix, "Disabled");
}

#[test]
fn read_of_a_value_never_written_fails() {
    let write =
        |process, value: i64, call, ret| Spec { input: json!(value), ..op(process, "write", call, ok(ret)) };
    let read = |process, value: Value, call, ret| op(process, "read", call, End::Ok(ret, value));
    let good = [write(1, 1, 0, 10), write(2, 2, 5, 20), read(3, json!(1), 30, 40)];
    assert_eq!(judge(&Register, &good).summary(), Summary::Linearizable);
    let bad = [write(1, 1, 0, 10), write(2, 2, 5, 20), read(3, json!(3), 30, 40)];
    assert_eq!(judge(&Register, &bad).summary(), Summary::NotLinearizable);
    let before_any_write = [read(3, json!(1), 0, 5), write(1, 1, 10, 20)];
    assert_eq!(judge(&Register, &before_any_write).summary(), Summary::NotLinearizable);
}

#[test]
fn compare_and_set_orders_concurrent_writers() {
    let cas = |process, expected: i64, new: i64, call, ret| Spec {
        input: json!([expected, new]),
        ..op(process, "cas", call, ok(ret))
    };
    let write = Spec { input: json!(0), ..op(1, "write", 0, ok(10)) };
    let read = |value: i64, call, ret| op(4, "read", call, End::Ok(ret, json!(value)));
    // Both succeeded, so one ran after the other: 0 -> 1 -> 2 is the only order.
    let chained = [write.clone(), cas(2, 1, 2, 20, 50), cas(3, 0, 1, 25, 60), read(2, 70, 80)];
    assert_eq!(judge(&Register, &chained).summary(), Summary::Linearizable);
    // Two successful CAS from the same expected value cannot both have happened.
    let double = [write, cas(2, 0, 1, 20, 50), cas(3, 0, 2, 25, 60)];
    assert_eq!(judge(&Register, &double).summary(), Summary::NotLinearizable);
}

#[test]
fn timed_out_disable_passes_with_either_later_observation() {
    for seen in ["Enabled", "Disabled"] {
        let history = [op(1, "disable", 0, End::Info(50)), op(2, "describe", 100, saw(110, seen))];
        assert_eq!(key_state(&history), Summary::Linearizable, "describe saw {seen}");
    }
    // It may also take effect between two later observations...
    let late = [
        op(1, "disable", 0, End::Info(50)),
        op(2, "describe", 100, saw(110, "Enabled")),
        op(2, "describe", 120, saw(130, "Disabled")),
    ];
    assert_eq!(key_state(&late), Summary::Linearizable);
    // ...and an invocation the history never saw complete is just as indeterminate.
    let unfinished = [op(1, "disable", 0, End::Never), op(2, "describe", 100, saw(110, "Disabled"))];
    assert_eq!(key_state(&unfinished), Summary::Linearizable);
}

#[test]
fn timed_out_op_that_could_never_have_taken_effect_is_skipped() {
    // The CAS's precondition never holds, so it can only pass as "never happened".
    let write = Spec { input: json!(1), ..op(1, "write", 0, ok(10)) };
    let cas = Spec { input: json!([5, 6]), ..op(2, "cas", 20, End::Info(30)) };
    let read = op(3, "read", 40, End::Ok(50, json!(1)));
    assert_eq!(judge(&Register, &[write, cas, read]).summary(), Summary::Linearizable);
}

#[test]
fn timed_out_disable_takes_effect_at_most_once_and_not_before_its_invocation() {
    // Seen to have taken effect, then overwritten: it cannot take effect a second time.
    let twice = [
        op(1, "disable", 0, End::Info(50)),
        op(2, "describe", 60, saw(70, "Disabled")),
        op(3, "enable", 80, ok(90)),
        op(2, "describe", 100, saw(110, "Disabled")),
    ];
    assert_eq!(key_state(&twice), Summary::NotLinearizable);
    let early = [op(2, "describe", 0, saw(10, "Disabled")), op(1, "disable", 20, End::Info(50))];
    assert_eq!(key_state(&early), Summary::NotLinearizable);
}

#[test]
fn failed_ops_are_ignored() {
    let history = [
        op(1, "disable", 0, End::Fail(10)),
        op(2, "describe", 20, saw(30, "Enabled")),
        op(1, "disable", 40, End::Fail(50)),
        op(2, "describe", 60, saw(70, "Enabled")),
    ];
    assert_eq!(key_state(&history), Summary::Linearizable);
}

#[test]
fn keys_are_checked_independently_and_a_bad_key_is_named() {
    let on = |key: &str, spec: Spec| Spec { key: key.into(), ..spec };
    let history = [
        // Had the keys been merged into one register, "good"'s describe would be stale.
        on("good", op(1, "describe", 0, saw(100, "Enabled"))),
        on("bad", op(2, "disable", 0, ok(10))),
        on("bad", op(2, "describe", 20, saw(30, "Enabled"))),
        on("good", op(3, "describe", 40, saw(50, "Enabled"))),
    ];
    let report = judge(&KeyStateRegister::default(), &history);
    assert_eq!(report.summary(), Summary::NotLinearizable);
    assert_eq!(report.key("good").unwrap().verdict, Verdict::Linearizable);
    assert_eq!(report.violations().map(|(key, _)| key).collect::<Vec<_>>(), ["bad"]);
}

#[test]
fn search_limits_give_unknown_not_a_verdict() {
    let history: Vec<Spec> = (0..8).map(|p| op(p, "disable", p, ok(100))).collect();
    let operations = pair_operations(&events(&history)).unwrap();
    let few_ops = CheckLimits { max_ops_per_key: 4, ..CheckLimits::default() };
    let report = check(&KeyStateRegister::default(), &operations, &few_ops).unwrap();
    assert!(matches!(report.keys[0].verdict, Verdict::Unknown(UnknownReason::TooManyOperations { .. })));
    // A violation the search can only find after trying every order of the concurrent disables.
    let mut stale = history.clone();
    stale.push(op(9, "describe", 200, saw(210, "Enabled")));
    let operations = pair_operations(&events(&stale)).unwrap();
    let few_steps = CheckLimits { max_steps_per_key: 5, ..CheckLimits::default() };
    let report = check(&KeyStateRegister::default(), &operations, &few_steps).unwrap();
    assert_eq!(report.summary(), Summary::Unknown);
}

/// splitmix64: a small deterministic generator, so the generated histories are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A key-state history from a real sequential execution: each process runs operations back to
/// back over random overlapping intervals; each operation takes effect at a random point inside
/// its interval, and describes report the state at that point.
fn generated_history(seed: u64, processes: u64, operations: usize) -> Vec<Spec> {
    let mut rng = Rng(seed);
    let mut specs = Vec::with_capacity(operations);
    let mut points = Vec::with_capacity(operations);
    let mut clocks: Vec<u64> = (0..processes).map(|_| rng.below(50)).collect();
    for i in 0..operations {
        let process = i as u64 % processes;
        let clock = &mut clocks[process as usize];
        let call = *clock + rng.below(30);
        let duration = 1 + rng.below(200);
        let f = match rng.below(4) {
            0 => "enable",
            1 => "disable",
            _ => "describe",
        };
        points.push((call + rng.below(duration + 1), i));
        specs.push(op(process, f, call, ok(call + duration)));
        *clock = call + duration;
    }
    points.sort_unstable();
    let mut state = "Enabled";
    for (_, i) in points {
        match specs[i].f {
            "enable" => state = "Enabled",
            "disable" => state = "Disabled",
            _ => specs[i].end = End::Ok(end_time(&specs[i]), json!(state)),
        }
    }
    specs
}

fn end_time(spec: &Spec) -> u64 {
    match spec.end {
        End::Ok(time, _) | End::Fail(time) | End::Info(time) => time,
        End::Never => u64::MAX,
    }
}

/// A describe in the second half of `specs` whose observation is forced, and the state it must
/// see. The last write before it in any linearization is one that may precede it (invoked before
/// it returned) and is not followed by a write that must precede it (returned before it was
/// invoked); when all such candidates write the same state, flipping its output must make the
/// history non-linearizable.
fn forced_describe(specs: &[Spec]) -> Option<(usize, &'static str)> {
    let writes: Vec<&Spec> = specs.iter().filter(|s| s.f != "describe").collect();
    let written = |w: &Spec| if w.f == "enable" { "Enabled" } else { "Disabled" };
    (specs.len() / 2..specs.len()).find_map(|d| {
        let describe = &specs[d];
        if describe.f != "describe" {
            return None;
        }
        let (call, ret) = (describe.call, end_time(describe));
        let must_precede: Vec<&Spec> = writes.iter().copied().filter(|w| end_time(w) < call).collect();
        let mut last_candidates = writes
            .iter()
            .filter(|w| w.call <= ret)
            .filter(|w| !must_precede.iter().any(|later| end_time(w) < later.call))
            .map(|w| written(w));
        let state = last_candidates.next()?;
        last_candidates.all(|other| other == state).then_some((d, state))
    })
}

#[test]
fn two_thousand_concurrent_ops_from_a_real_execution_pass_and_one_flipped_output_fails() {
    let specs = generated_history(0x7e57, 8, 2_000);
    let model = KeyStateRegister::default();
    let started = Instant::now();
    let report = judge(&model, &specs);
    let elapsed = started.elapsed();
    eprintln!("2,000 ops, linearizable: {} steps in {elapsed:?}", report.keys[0].steps);
    assert_eq!(report.summary(), Summary::Linearizable, "{}", report.keys[0]);

    let (d, forced) = forced_describe(&specs).expect("the generated history has a forced describe to flip");
    let mut flipped = specs.clone();
    let End::Ok(time, seen) = &specs[d].end else { unreachable!("describes complete") };
    assert_eq!(seen, forced, "the generator and the forcing argument disagree");
    let other = if forced == "Enabled" { "Disabled" } else { "Enabled" };
    flipped[d].end = End::Ok(*time, json!(other));
    let started = Instant::now();
    let report = judge(&model, &flipped);
    let elapsed = started.elapsed();
    eprintln!("2,000 ops, one output flipped: {} steps in {elapsed:?}", report.keys[0].steps);
    assert_eq!(report.summary(), Summary::NotLinearizable, "{}", report.keys[0]);
    let (_, evidence) = report.violations().next().unwrap();
    assert_eq!((evidence.blocked.f.as_str(), evidence.blocked.call_ns), ("describe", specs[d].call));
    assert_eq!(evidence.state_after_prefix, forced);
}

#[test]
fn check_binary_exits_by_verdict() {
    let dir = std::env::temp_dir().join(format!("trent-jepsen-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |name: &str, specs: &[Spec]| {
        let path = dir.join(name);
        let mut writer = HistoryWriter::new(std::fs::File::create(&path).unwrap(), HistoryLimits::default());
        for event in events(specs) {
            writer.write(&event).unwrap();
        }
        writer.into_inner().unwrap();
        let output =
            std::process::Command::new(env!("CARGO_BIN_EXE_trent-jepsen-check")).arg(&path).output().unwrap();
        (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned())
    };
    let good = [op(1, "disable", 0, ok(10)), op(2, "describe", 20, saw(30, "Disabled"))];
    let (code, stdout) = run("good.jsonl", &good);
    assert_eq!(code, Some(0), "{stdout}");
    let stale = [op(1, "disable", 0, ok(10)), op(2, "describe", 20, saw(30, "Enabled"))];
    let (code, stdout) = run("stale.jsonl", &stale);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("k: NOT linearizable"), "{stdout}");
    let garbage = dir.join("garbage.jsonl");
    std::fs::write(&garbage, "not json\n").unwrap();
    let output =
        std::process::Command::new(env!("CARGO_BIN_EXE_trent-jepsen-check")).arg(&garbage).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}
