//! Fuzzes the policy language: `trent_policy::Policy::parse` of any text as a key policy and as an
//! identity policy, then `evaluate` of every parsed policy against a set of requests (with and
//! without a key, encryption context, tags, source addresses, times).
//!
//! Checks, beyond "no panic": evaluation is deterministic, and an explicit deny-all identity
//! policy denies every request whatever the key policy says (a deny can never be outvoted).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use trent_policy::{evaluate, Decision, Grant, Policy, PolicyKind, RequestContext};

const ACCOUNT: &str = "111122223333";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn requests() -> &'static [RequestContext] {
    static REQUESTS: OnceLock<Vec<RequestContext>> = OnceLock::new();
    REQUESTS.get_or_init(|| {
        let alice = "arn:aws:iam::111122223333:user/alice";
        let mut with_context = RequestContext::new(alice, ACCOUNT, "kms:Decrypt", Some(KEY), 1_796_083_200);
        with_context
            .set_values("kms:EncryptionContextKeys", vec!["tenant".into(), "doc".into()])
            .set("kms:EncryptionContext:tenant", "blue")
            .set("kms:EncryptionContext:doc", "7")
            .set("aws:SourceIp", "203.0.113.9")
            .set("aws:SecureTransport", "true")
            .set("kms:ScheduleKeyDeletionPendingWindowInDays", "30")
            .set_values("aws:TagKeys", vec!["team".into()])
            .set("aws:ResourceTag/team", "storage");
        vec![
            RequestContext::new(alice, ACCOUNT, "kms:Encrypt", Some(KEY), 0),
            with_context,
            RequestContext::new("arn:aws:iam::111122223333:root", ACCOUNT, "kms:PutKeyPolicy", Some(KEY), 1),
            RequestContext::new(alice, ACCOUNT, "kms:CreateKey", None, 2_000_000_000),
            RequestContext::new("arn:aws:iam::111122223333:user/b?b*", ACCOUNT, "iam:CreateUser", None, -5),
        ]
    })
}

fn deny_all() -> &'static Policy {
    static DENY: OnceLock<Policy> = OnceLock::new();
    DENY.get_or_init(|| {
        Policy::parse(r#"{"Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#, &PolicyKind::Identity)
            .expect("the deny-all policy parses")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let grant = Grant {
        grant_id: "ab".repeat(32),
        grantee_principal: "arn:aws:iam::111122223333:user/alice".into(),
        operations: vec!["Decrypt".into(), "Encrypt".into()],
        constraints: None,
    };
    for kind in [PolicyKind::Key { account: ACCOUNT.into() }, PolicyKind::Identity] {
        let Ok(policy) = Policy::parse(text, &kind) else {
            continue;
        };
        for request in requests() {
            let (key_policy, identity): (Option<&Policy>, Vec<&Policy>) = match kind {
                PolicyKind::Key { .. } => (request.resource.as_ref().map(|_| &policy), Vec::new()),
                PolicyKind::Identity => (None, vec![&policy]),
            };
            let first = evaluate(request, key_policy, &identity, std::slice::from_ref(&grant));
            let again = evaluate(request, key_policy, &identity, std::slice::from_ref(&grant));
            assert_eq!(first, again, "evaluation is not deterministic");
            let mut with_deny = identity.clone();
            with_deny.push(deny_all());
            let denied = evaluate(request, key_policy, &with_deny, std::slice::from_ref(&grant));
            assert!(matches!(denied, Decision::Deny { .. }), "a deny-all identity policy was outvoted: {denied:?}");
        }
    }
});
