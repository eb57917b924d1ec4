//! The Wing–Gong–Lowe linearizability search, as Knossos and Porcupine run it.
//!
//! The history is split by key and each key is checked alone (a KMS key's state depends on no
//! other key). For one key, every operation contributes a call and a return entry to a
//! doubly-linked list sorted by time. The search walks the list: at a call it tries to linearize
//! that operation next (the model must accept its output), lifting the call and its return out of
//! the list and pushing it on a stack; at a return it has found an operation that had to be
//! linearized by now and was not, so it pops the last choice and tries the next candidate. The
//! configurations already explored, a (linearized set, model state) pair, are memoised, which
//! turns the exponential search into one that is fast on real histories.
//!
//! An indeterminate operation's return is at infinity: it may take effect anywhere after its call,
//! and it may never take effect, so the search succeeds once every determinate operation is
//! linearized, whatever indeterminate ones remain. The search is bounded: operations per key,
//! steps, and memo bytes; reaching a bound gives [`Verdict::Unknown`].

use std::collections::{BTreeMap, HashSet};

use crate::history::Operation;
use crate::model::{Model, ModelError};
use crate::verdict::{Counterexample, KeyReport, Report, UnknownReason, Verdict};

/// Bounds on the search for one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckLimits {
    /// The most operations one key may have.
    pub max_ops_per_key: usize,
    /// The most search steps (list entries visited) for one key.
    pub max_steps_per_key: u64,
    /// An estimate of the most memory the memo of one key may take.
    pub max_memo_bytes: usize,
}

impl Default for CheckLimits {
    fn default() -> Self {
        Self { max_ops_per_key: 10_000, max_steps_per_key: 50_000_000, max_memo_bytes: 1 << 30 }
    }
}

/// Why a history could not be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// An operation does not fit the model.
    #[error("key {key}, operation invoked at event {invoke_index}: {source}")]
    Decode {
        /// The operation's key.
        key: String,
        /// The index of its invocation event.
        invoke_index: u64,
        /// What the model objected to.
        source: ModelError,
    },
    /// An operation completes before it is invoked.
    #[error("key {key}, operation invoked at event {invoke_index}: returns before its call")]
    ReturnBeforeCall {
        /// The operation's key.
        key: String,
        /// The index of its invocation event.
        invoke_index: u64,
    },
}

/// Checks every key's operations against `model`, each key independently.
pub fn check<M: Model>(
    model: &M,
    operations: &[Operation],
    limits: &CheckLimits,
) -> Result<Report, CheckError> {
    let mut by_key: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
    for op in operations {
        by_key.entry(op.key.as_str()).or_default().push(op);
    }
    let mut report = Report::default();
    for (key, ops) in by_key {
        report.keys.push(check_key(model, key, &ops, limits)?);
    }
    Ok(report)
}

/// Checks the operations of one key, which must all name that key.
pub fn check_key<M: Model>(
    model: &M,
    key: &str,
    ops: &[&Operation],
    limits: &CheckLimits,
) -> Result<KeyReport, CheckError> {
    let report = |steps, verdict| KeyReport { key: key.to_owned(), operations: ops.len(), steps, verdict };
    if ops.len() > limits.max_ops_per_key {
        let reason =
            UnknownReason::TooManyOperations { operations: ops.len(), limit: limits.max_ops_per_key };
        return Ok(report(0, Verdict::Unknown(reason)));
    }
    let decoded = ops
        .iter()
        .map(|op| {
            debug_assert_eq!(op.key, key, "operation filed under the wrong key");
            if op.return_ns.is_some_and(|return_ns| return_ns < op.call_ns) {
                return Err(CheckError::ReturnBeforeCall {
                    key: key.to_owned(),
                    invoke_index: op.invoke_index,
                });
            }
            model.decode(op).map_err(|source| CheckError::Decode {
                key: key.to_owned(),
                invoke_index: op.invoke_index,
                source,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut search = Search::new(model, ops, &decoded, limits);
    let verdict = search.run();
    Ok(report(search.steps, verdict))
}

/// The state of one key's search.
struct Search<'a, M: Model> {
    model: &'a M,
    ops: &'a [&'a Operation],
    decoded: &'a [M::Op],
    limits: &'a CheckLimits,
    entries: EntryList,
    steps: u64,
    /// The longest dead end seen: op indices in linearization order, the op that blocked it,
    /// and the state after the prefix.
    deepest: Option<(Vec<usize>, usize, M::State)>,
}

impl<'a, M: Model> Search<'a, M> {
    fn new(model: &'a M, ops: &'a [&'a Operation], decoded: &'a [M::Op], limits: &'a CheckLimits) -> Self {
        let entries = EntryList::new(ops);
        Self { model, ops, decoded, limits, entries, steps: 0, deepest: None }
    }

    fn run(&mut self) -> Verdict {
        let mut remaining = self.ops.iter().filter(|op| !op.is_indeterminate()).count();
        let mut state = self.model.init();
        let mut linearized = Bitset::new(self.ops.len());
        let mut memo: HashSet<(Bitset, M::State)> = HashSet::new();
        let memo_entry_bytes = linearized.heap_bytes() + std::mem::size_of::<(Bitset, M::State)>() + 16;
        // Each element: the call entry linearized and the state before it.
        let mut stack: Vec<(usize, M::State)> = Vec::new();
        let mut entry = self.entries.first();
        while remaining > 0 {
            self.steps += 1;
            if self.steps > self.limits.max_steps_per_key {
                let reason = UnknownReason::StepBudgetExhausted { steps: self.limits.max_steps_per_key };
                return Verdict::Unknown(reason);
            }
            let op = self.entries.op(entry);
            if self.entries.is_call(entry) {
                let Some(next) = self.model.step(&state, &self.decoded[op]) else {
                    entry = self.entries.next(entry);
                    continue;
                };
                linearized.set(op);
                if !memo.insert((linearized.clone(), next.clone())) {
                    // Linearizing `op` here leads somewhere already explored.
                    linearized.clear(op);
                    entry = self.entries.next(entry);
                    continue;
                }
                if memo.len().saturating_mul(memo_entry_bytes) > self.limits.max_memo_bytes {
                    return Verdict::Unknown(UnknownReason::MemoFull { bytes: self.limits.max_memo_bytes });
                }
                stack.push((entry, std::mem::replace(&mut state, next)));
                if !self.ops[op].is_indeterminate() {
                    remaining -= 1;
                }
                self.entries.lift(entry);
                entry = self.entries.first();
            } else {
                // `op` had to be linearized before this point and was not: backtrack.
                self.note_dead_end(&stack, op, &state);
                let Some((call, before)) = stack.pop() else {
                    return Verdict::NotLinearizable(Box::new(self.counterexample()));
                };
                let undone = self.entries.op(call);
                state = before;
                linearized.clear(undone);
                if !self.ops[undone].is_indeterminate() {
                    remaining += 1;
                }
                self.entries.unlift(call);
                entry = self.entries.next(call);
            }
        }
        Verdict::Linearizable
    }

    fn note_dead_end(&mut self, stack: &[(usize, M::State)], blocked: usize, state: &M::State) {
        if self.deepest.as_ref().is_some_and(|(prefix, _, _)| prefix.len() >= stack.len()) {
            return;
        }
        let prefix = stack.iter().map(|(call, _)| self.entries.op(*call)).collect();
        self.deepest = Some((prefix, blocked, state.clone()));
    }

    fn counterexample(&self) -> Counterexample {
        // The search only gives up at a dead end, which `note_dead_end` has recorded.
        let (prefix, blocked, state) = match &self.deepest {
            Some((prefix, blocked, state)) => (prefix.as_slice(), *blocked, format!("{state:?}")),
            None => (&[][..], 0, format!("{:?}", self.model.init())),
        };
        Counterexample {
            prefix: prefix.iter().map(|&op| self.ops[op].clone()).collect(),
            blocked: self.ops[blocked].clone(),
            state_after_prefix: state,
        }
    }
}

/// The set of linearized operations, one bit per operation of the key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Bitset {
    words: Vec<u64>,
}

impl Bitset {
    fn new(bits: usize) -> Self {
        Self { words: vec![0; bits.div_ceil(64)] }
    }

    fn set(&mut self, bit: usize) {
        self.words[bit / 64] |= 1u64 << (bit % 64);
    }

    fn clear(&mut self, bit: usize) {
        self.words[bit / 64] &= !(1u64 << (bit % 64));
    }

    #[cfg(test)]
    fn contains(&self, bit: usize) -> bool {
        self.words[bit / 64] & (1u64 << (bit % 64)) != 0
    }

    fn heap_bytes(&self) -> usize {
        self.words.len() * std::mem::size_of::<u64>()
    }
}

/// Sentinel for "no entry" in the list's links.
const NIL: usize = usize::MAX;
/// The list's head sentinel lives at index 0.
const HEAD: usize = 0;

/// One call or return of an operation, as a node of the doubly-linked list.
#[derive(Debug, Clone, Copy)]
struct Entry {
    op: usize,
    /// For a call, the index of its return entry; `NIL` for a return.
    matching: usize,
    prev: usize,
    next: usize,
}

/// The call and return entries of one key's operations in time order, as a doubly-linked list
/// whose removed nodes keep their links so that they can be put back (dancing links).
#[derive(Debug)]
struct EntryList {
    nodes: Vec<Entry>,
}

impl EntryList {
    fn new(ops: &[&Operation]) -> Self {
        // (time, 0 = call / 1 = return, op): at equal times calls come first, so operations that
        // touch are treated as concurrent, never as ordered. Indeterminate returns go last.
        let mut points: Vec<(u64, u8, usize)> = Vec::with_capacity(ops.len() * 2);
        for (i, op) in ops.iter().enumerate() {
            points.push((op.call_ns, 0, i));
            points.push((op.return_ns.unwrap_or(u64::MAX), 1, i));
        }
        points.sort_unstable();
        let mut nodes = Vec::with_capacity(points.len() + 1);
        nodes.push(Entry { op: NIL, matching: NIL, prev: NIL, next: NIL });
        let mut call_of = vec![NIL; ops.len()];
        for (position, &(_, kind, op)) in points.iter().enumerate() {
            let index = position + 1;
            nodes.push(Entry { op, matching: NIL, prev: index - 1, next: NIL });
            nodes[index - 1].next = index;
            if kind == 0 {
                call_of[op] = index;
            } else {
                nodes[call_of[op]].matching = index;
            }
        }
        Self { nodes }
    }

    fn first(&self) -> usize {
        self.nodes[HEAD].next
    }

    fn next(&self, entry: usize) -> usize {
        self.nodes[entry].next
    }

    fn op(&self, entry: usize) -> usize {
        self.nodes[entry].op
    }

    fn is_call(&self, entry: usize) -> bool {
        self.nodes[entry].matching != NIL
    }

    /// Removes a call entry and its return from the list.
    fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(self.nodes[call].matching);
    }

    /// Puts back what [`lift`](Self::lift) removed; must undo lifts in reverse order.
    fn unlift(&mut self, call: usize) {
        self.relink(self.nodes[call].matching);
        self.relink(call);
    }

    fn unlink(&mut self, entry: usize) {
        let Entry { prev, next, .. } = self.nodes[entry];
        self.nodes[prev].next = next;
        if next != NIL {
            self.nodes[next].prev = prev;
        }
    }

    fn relink(&mut self, entry: usize) {
        let Entry { prev, next, .. } = self.nodes[entry];
        self.nodes[prev].next = entry;
        if next != NIL {
            self.nodes[next].prev = entry;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(call_ns: u64, return_ns: Option<u64>) -> Operation {
        Operation {
            process: 0,
            f: "enable".into(),
            key: "k".into(),
            input: serde_json::Value::Null,
            output: serde_json::Value::Null,
            call_ns,
            return_ns,
            invoke_index: 0,
        }
    }

    fn walk(list: &EntryList) -> Vec<(usize, bool)> {
        let mut out = Vec::new();
        let mut entry = list.first();
        while entry != NIL {
            out.push((list.op(entry), list.is_call(entry)));
            entry = list.next(entry);
        }
        out
    }

    #[test]
    fn entries_sort_by_time_with_calls_first_and_indeterminate_returns_last() {
        let ops = [op(10, Some(20)), op(20, None), op(5, Some(30))];
        let refs: Vec<&Operation> = ops.iter().collect();
        let list = EntryList::new(&refs);
        assert_eq!(walk(&list), [(2, true), (0, true), (1, true), (0, false), (2, false), (1, false)]);
    }

    #[test]
    fn unlift_restores_what_lift_removed() {
        let ops = [op(0, Some(10)), op(1, Some(11)), op(2, Some(12))];
        let refs: Vec<&Operation> = ops.iter().collect();
        let mut list = EntryList::new(&refs);
        let before = walk(&list);
        let second = list.next(list.first());
        list.lift(second);
        let first = list.first();
        list.lift(first);
        assert_eq!(walk(&list), [(2, true), (2, false)]);
        list.unlift(first);
        list.unlift(second);
        assert_eq!(walk(&list), before);
    }

    #[test]
    fn bitset_sets_and_clears_across_words() {
        let mut bits = Bitset::new(130);
        assert_eq!(bits.words.len(), 3);
        bits.set(0);
        bits.set(129);
        assert!(bits.contains(0) && bits.contains(129) && !bits.contains(64));
        bits.clear(129);
        assert!(!bits.contains(129));
    }
}
