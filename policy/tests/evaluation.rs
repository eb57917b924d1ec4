//! AWS's documented evaluation cases, one by one: the key policy, identity policies and grants,
//! explicit deny, root delegation, NotAction/NotResource, every condition operator, IfExists, the
//! set qualifiers and policy variables; and the documents `PutKeyPolicy` refuses.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

use std::collections::BTreeMap;

use trent_policy::{
    evaluate, Decider, Decision, DenyReason, Grant, GrantConstraints, Policy, PolicyKind, RequestContext,
};

const ACCOUNT: &str = "111122223333";
const ALICE: &str = "arn:aws:iam::111122223333:user/alice";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
/// 2026-12-01T00:00:00Z.
const NOW: i64 = 1_796_083_200;

fn key_policy(text: &str) -> Policy {
    Policy::parse(text, &PolicyKind::Key { account: ACCOUNT.into() }).unwrap()
}

fn identity(text: &str) -> Policy {
    Policy::parse(text, &PolicyKind::Identity).unwrap()
}

fn request(action: &str) -> RequestContext {
    RequestContext::new(ALICE, ACCOUNT, action, Some(KEY), NOW)
}

const DEFAULT_KEY_POLICY: &str = r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#;

fn allow(actions: &str) -> Policy {
    identity(&format!(r#"{{"Statement":{{"Effect":"Allow","Action":{actions},"Resource":"*"}}}}"#))
}

fn decide(context: &RequestContext, key: &Policy, identities: &[&Policy]) -> Decision {
    evaluate(context, Some(key), identities, &[])
}

#[test]
fn the_default_key_policy_delegates_to_identity_policies() {
    let key = key_policy(DEFAULT_KEY_POLICY);
    let encrypt = allow(r#""kms:Encrypt""#);
    assert!(matches!(
        decide(&request("kms:Encrypt"), &key, &[&encrypt]),
        Decision::Allow(Decider::IdentityPolicy { policy: 0, statement: 0, .. })
    ));
    let Decision::Deny { reason, message, .. } = decide(&request("kms:Decrypt"), &key, &[&encrypt]) else {
        panic!("Decrypt is not allowed");
    };
    assert_eq!(reason, DenyReason::NoIdentityPolicy);
    assert_eq!(
        message,
        format!("User: {ALICE} is not authorized to perform: kms:Decrypt on resource: {KEY} because no identity-based policy allows the kms:Decrypt action")
    );
}

#[test]
fn a_key_policy_that_names_the_caller_needs_no_identity_policy() {
    let key = key_policy(
        r#"{"Statement":[{"Sid":"Alice","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111122223333:user/alice"]},"Action":["kms:Encrypt","kms:Decrypt"],"Resource":"*"}]}"#,
    );
    assert_eq!(
        decide(&request("kms:Encrypt"), &key, &[]),
        Decision::Allow(Decider::KeyPolicy { statement: 0, sid: Some("Alice".into()) })
    );
}

#[test]
fn without_the_account_in_the_key_policy_identity_policies_count_for_nothing() {
    let key = key_policy(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/bob"},"Action":"kms:*","Resource":"*"}}"#,
    );
    let everything = allow(r#""kms:*""#);
    let Decision::Deny { reason, message, .. } = decide(&request("kms:Encrypt"), &key, &[&everything]) else {
        panic!("allowed without a resource-based policy");
    };
    assert_eq!(reason, DenyReason::NoResourcePolicy);
    assert!(message.ends_with("because no resource-based policy allows the kms:Encrypt action"), "{message}");
}

#[test]
fn an_explicit_deny_anywhere_beats_every_allow() {
    let key = key_policy(&format!(
        r#"{{"Statement":[{},{{"Sid":"NoDeletion","Effect":"Deny","Principal":"*","Action":"kms:ScheduleKeyDeletion","Resource":"*"}}]}}"#,
        &DEFAULT_KEY_POLICY
            [DEFAULT_KEY_POLICY.find("{\"Sid").unwrap()..DEFAULT_KEY_POLICY.rfind("]}").unwrap()]
    ));
    let everything = allow(r#""kms:*""#);
    let Decision::Deny { reason, decider, message } =
        decide(&request("kms:ScheduleKeyDeletion"), &key, &[&everything])
    else {
        panic!("explicit deny ignored");
    };
    assert_eq!(reason, DenyReason::ExplicitInKeyPolicy);
    assert_eq!(decider, Some(Decider::KeyPolicy { statement: 1, sid: Some("NoDeletion".into()) }));
    assert!(message.ends_with("with an explicit deny in a resource-based policy"), "{message}");
    // In an identity policy too, against a key policy naming the caller.
    let key = key_policy(
        r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"kms:*","Resource":"*"}}"#,
    );
    let deny = identity(r#"{"Statement":{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}}"#);
    let Decision::Deny { reason, .. } = decide(&request("kms:Decrypt"), &key, &[&deny]) else { panic!() };
    assert_eq!(reason, DenyReason::ExplicitInIdentityPolicy);
    assert!(decide(&request("kms:Encrypt"), &key, &[&deny]).is_allowed());
}

#[test]
fn not_action_and_not_resource_cover_everything_but_what_they_name() {
    let key = key_policy(DEFAULT_KEY_POLICY);
    let but_deletion = identity(
        r#"{"Statement":{"Effect":"Allow","NotAction":["kms:ScheduleKeyDeletion","kms:Disable*"],"Resource":"*"}}"#,
    );
    assert!(decide(&request("kms:Encrypt"), &key, &[&but_deletion]).is_allowed());
    assert!(!decide(&request("kms:ScheduleKeyDeletion"), &key, &[&but_deletion]).is_allowed());
    assert!(!decide(&request("kms:DisableKey"), &key, &[&but_deletion]).is_allowed());
    let other_keys = identity(
        r#"{"Statement":{"Effect":"Allow","Action":"kms:*","NotResource":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-*"}}"#,
    );
    assert!(!decide(&request("kms:Encrypt"), &key, &[&other_keys]).is_allowed());
    // Actions compare without case, resources with it.
    let shouting = allow(r#""KMS:ENCRYPT""#);
    assert!(decide(&request("kms:Encrypt"), &key, &[&shouting]).is_allowed());
}

/// Whether an identity policy allowing kms:Encrypt under `condition` allows `context`.
fn holds(condition: &str, context: &RequestContext) -> bool {
    let policy = identity(&format!(
        r#"{{"Statement":{{"Effect":"Allow","Action":"kms:*","Resource":"*","Condition":{condition}}}}}"#
    ));
    decide(context, &key_policy(DEFAULT_KEY_POLICY), &[&policy]).is_allowed()
}

fn with(pairs: &[(&str, &str)]) -> RequestContext {
    let mut context = request("kms:Encrypt");
    for (key, value) in pairs {
        context.set(key, value);
    }
    context
}

#[test]
fn string_operators() {
    let billing = with(&[("kms:EncryptionContext:purpose", "billing")]);
    assert!(holds(r#"{"StringEquals":{"kms:EncryptionContext:purpose":["audit","billing"]}}"#, &billing));
    assert!(!holds(r#"{"StringEquals":{"kms:EncryptionContext:purpose":"Billing"}}"#, &billing));
    assert!(holds(r#"{"StringEqualsIgnoreCase":{"kms:EncryptionContext:purpose":"BILLING"}}"#, &billing));
    assert!(holds(r#"{"StringLike":{"kms:EncryptionContext:purpose":"bil*"}}"#, &billing));
    assert!(!holds(r#"{"StringNotEquals":{"kms:EncryptionContext:purpose":["x","billing"]}}"#, &billing));
    assert!(holds(r#"{"StringNotLike":{"kms:EncryptionContext:purpose":"x*"}}"#, &billing));
    // A missing key: positive operators fail, negated ones hold.
    let bare = with(&[]);
    assert!(!holds(r#"{"StringEquals":{"kms:EncryptionContext:purpose":"billing"}}"#, &bare));
    assert!(holds(r#"{"StringNotEquals":{"kms:EncryptionContext:purpose":"billing"}}"#, &bare));
    // Keys in one operator and operators in one block must all hold.
    let both = with(&[
        ("kms:EncryptionContext:purpose", "billing"),
        ("kms:EncryptionAlgorithm", "SYMMETRIC_DEFAULT"),
    ]);
    assert!(holds(
        r#"{"StringEquals":{"kms:EncryptionContext:purpose":"billing","kms:EncryptionAlgorithm":"SYMMETRIC_DEFAULT"}}"#,
        &both
    ));
    assert!(!holds(
        r#"{"StringEquals":{"kms:EncryptionContext:purpose":"billing"},"StringLike":{"kms:EncryptionAlgorithm":"RSA*"}}"#,
        &both
    ));
}

#[test]
fn numeric_date_bool_ip_arn_and_null_operators() {
    let window = with(&[("kms:ScheduleKeyDeletionPendingWindowInDays", "30")]);
    assert!(holds(
        r#"{"NumericGreaterThanEquals":{"kms:ScheduleKeyDeletionPendingWindowInDays":"28"}}"#,
        &window
    ));
    assert!(!holds(r#"{"NumericLessThan":{"kms:ScheduleKeyDeletionPendingWindowInDays":30}}"#, &window));
    assert!(holds(r#"{"NumericEquals":{"kms:ScheduleKeyDeletionPendingWindowInDays":30}}"#, &window));
    let now = with(&[]);
    assert!(holds(r#"{"DateGreaterThan":{"aws:CurrentTime":"2026-11-30T23:59:59Z"}}"#, &now));
    assert!(holds(r#"{"DateLessThan":{"aws:CurrentTime":"2026-12-02"}}"#, &now));
    assert!(holds(&format!(r#"{{"DateEquals":{{"aws:EpochTime":"{NOW}"}}}}"#), &now));
    assert!(!holds(r#"{"DateGreaterThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}"#, &now));
    let tls = with(&[("aws:SecureTransport", "true")]);
    assert!(holds(r#"{"Bool":{"aws:SecureTransport":"true"}}"#, &tls));
    assert!(!holds(r#"{"Bool":{"aws:SecureTransport":false}}"#, &tls));
    let v4 = with(&[("aws:SourceIp", "203.0.113.9")]);
    assert!(holds(r#"{"IpAddress":{"aws:SourceIp":["198.51.100.0/24","203.0.113.0/24"]}}"#, &v4));
    assert!(!holds(r#"{"IpAddress":{"aws:SourceIp":"203.0.113.128/25"}}"#, &v4));
    assert!(holds(r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#, &v4));
    let v6 = with(&[("aws:SourceIp", "2001:db8::1")]);
    assert!(holds(r#"{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}"#, &v6));
    assert!(!holds(r#"{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}"#, &v6));
    assert!(holds(r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/a*"}}"#, &now));
    assert!(!holds(r#"{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/alice"}}"#, &now));
    assert!(holds(r#"{"Null":{"kms:EncryptionContext:purpose":"true"}}"#, &now));
    assert!(!holds(r#"{"Null":{"aws:PrincipalArn":"true"}}"#, &now));
    assert!(holds(r#"{"Null":{"aws:PrincipalArn":"false"}}"#, &now));
}

#[test]
fn if_exists_holds_when_the_request_lacks_the_key() {
    let bare = with(&[]);
    assert!(holds(r#"{"StringEqualsIfExists":{"kms:EncryptionContext:purpose":"billing"}}"#, &bare));
    assert!(!holds(r#"{"StringEquals":{"kms:EncryptionContext:purpose":"billing"}}"#, &bare));
    let other = with(&[("kms:EncryptionContext:purpose", "audit")]);
    assert!(!holds(r#"{"StringEqualsIfExists":{"kms:EncryptionContext:purpose":"billing"}}"#, &other));
}

#[test]
fn set_qualifiers_compare_every_or_any_request_value() {
    let keys = |names: &[&str]| {
        let mut context = request("kms:Encrypt");
        context.set_values("kms:EncryptionContextKeys", names.iter().map(|name| name.to_string()).collect());
        context
    };
    let all = r#"{"ForAllValues:StringEquals":{"kms:EncryptionContextKeys":["a","b"]}}"#;
    assert!(holds(all, &keys(&["a"])));
    assert!(holds(all, &keys(&["a", "b"])));
    assert!(!holds(all, &keys(&["a", "c"])));
    assert!(holds(all, &with(&[])), "ForAllValues holds for a missing key");
    let any = r#"{"ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":["a","b"]}}"#;
    assert!(holds(any, &keys(&["c", "a"])));
    assert!(!holds(any, &keys(&["c"])));
    assert!(!holds(any, &with(&[])), "ForAnyValue fails for a missing key");
}

#[test]
fn policy_variables_expand_from_the_request() {
    let own = r#"{"StringEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/${aws:username}"}}"#;
    assert!(holds(own, &with(&[])));
    let mut bob =
        RequestContext::new("arn:aws:iam::111122223333:user/bob", ACCOUNT, "kms:Encrypt", Some(KEY), NOW);
    bob.set("aws:PrincipalArn", ALICE);
    assert!(!holds(own, &bob), "bob's username does not make alice's ARN");
    // A variable whose key is missing matches nothing.
    assert!(!holds(
        r#"{"StringEquals":{"kms:EncryptionContext:owner":"${aws:nokey}"}}"#,
        &with(&[("kms:EncryptionContext:owner", "")])
    ));
}

#[test]
fn a_grant_allows_only_its_grantee_operations_and_context() {
    let key = key_policy(DEFAULT_KEY_POLICY);
    let subset = BTreeMap::from([("tenant".to_owned(), "blue".to_owned())]);
    let grant = Grant {
        grant_id: "ab".repeat(32),
        grantee_principal: ALICE.into(),
        operations: vec!["Decrypt".into()],
        constraints: Some(GrantConstraints { equals: None, subset: Some(subset) }),
    };
    let mut blue = request("kms:Decrypt");
    blue.set_values("kms:EncryptionContextKeys", vec!["tenant".into(), "doc".into()]);
    blue.set("kms:EncryptionContext:tenant", "blue").set("kms:EncryptionContext:doc", "7");
    assert_eq!(
        evaluate(&blue, Some(&key), &[], std::slice::from_ref(&grant)),
        Decision::Allow(Decider::Grant { grant_id: "ab".repeat(32) })
    );
    let mut red = request("kms:Decrypt");
    red.set_values("kms:EncryptionContextKeys", vec!["tenant".into()]);
    red.set("kms:EncryptionContext:tenant", "red");
    assert!(!evaluate(&red, Some(&key), &[], std::slice::from_ref(&grant)).is_allowed());
    assert!(!evaluate(&request("kms:Encrypt"), Some(&key), &[], std::slice::from_ref(&grant)).is_allowed());
    let bob =
        RequestContext::new("arn:aws:iam::111122223333:user/bob", ACCOUNT, "kms:Decrypt", Some(KEY), NOW);
    assert!(!evaluate(&bob, Some(&key), &[], &[grant]).is_allowed());
}

#[test]
fn calls_on_no_key_use_the_identity_policy_alone() {
    let create = RequestContext::new(ALICE, ACCOUNT, "kms:CreateKey", None, NOW);
    assert!(evaluate(&create, None, &[&allow(r#""kms:CreateKey""#)], &[]).is_allowed());
    let Decision::Deny { reason, message, .. } = evaluate(&create, None, &[&allow(r#""kms:Encrypt""#)], &[])
    else {
        panic!()
    };
    assert_eq!(reason, DenyReason::NoIdentityPolicy);
    assert_eq!(message, format!("User: {ALICE} is not authorized to perform: kms:CreateKey on resource: * because no identity-based policy allows the kms:CreateKey action"));
}

#[test]
fn malformed_documents_are_refused_with_a_reason() {
    let key =
        |text: &str| Policy::parse(text, &PolicyKind::Key { account: ACCOUNT.into() }).unwrap_err().reason;
    assert!(key("{").contains("not valid JSON"));
    assert!(key(r#"{"Statement":[]}"#).contains("Statement"));
    assert!(key(r#"{"Statement":{"Effect":"Maybe","Principal":"*","Action":"kms:*","Resource":"*"}}"#)
        .contains("Unknown Effect"));
    assert!(key(
        r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}}"#
    )
    .contains("not a kms: action"));
    assert!(key(r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"StringSorta":{"a":"b"}}}}"#).contains("Unknown condition operator"));
    assert!(key(r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"kms:*","Resource":"*"}}"#).contains("not an ARN of account"));
    assert!(key(r#"{"Statement":{"Effect":"Allow","Principal":{"Service":"logs.amazonaws.com"},"Action":"kms:*","Resource":"*"}}"#).contains("principal type Service"));
    assert!(key(r#"{"Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}}"#)
        .contains("needs a Principal"));
    assert!(key(r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*","Condition":{"NumericEquals":{"a":"lots"}}}}"#).contains("not a valid value"));
    let large = format!(
        r#"{{"Statement":{{"Sid":"{}","Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}}}"#,
        "x".repeat(33 * 1024)
    );
    assert!(key(&large).contains("larger than"));
    // An account id is its root.
    assert!(Policy::parse(r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}}"#, &PolicyKind::Key { account: ACCOUNT.into() }).is_ok());
    let identity = |text: &str| Policy::parse(text, &PolicyKind::Identity).unwrap_err().reason;
    assert!(identity(r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"kms:*","Resource":"*"}}"#)
        .contains("no Principal"));
    assert!(Policy::parse(
        r#"{"Statement":{"Effect":"Allow","Action":["iam:*","trent:Seal","kms:*"],"Resource":"*"}}"#,
        &PolicyKind::Identity
    )
    .is_ok());
}

#[test]
fn not_principal_denies_all_but_the_exempt_and_only_with_deny() {
    let with_deny = |not_principal: &str| {
        key_policy(&format!(
            r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"111122223333"}},"Action":"kms:*","Resource":"*"}},{{"Effect":"Deny","NotPrincipal":{{"AWS":{not_principal}}},"Action":"kms:*","Resource":"*"}}]}}"#
        ))
    };
    let everything = allow(r#""kms:*""#);
    let bob =
        RequestContext::new("arn:aws:iam::111122223333:user/bob", ACCOUNT, "kms:Encrypt", Some(KEY), NOW);
    // AWS's example: everyone but Bob, whose ARN is listed with his account's.
    let exempt_bob = with_deny(r#"["arn:aws:iam::111122223333:user/bob","arn:aws:iam::111122223333:root"]"#);
    assert!(evaluate(&bob, Some(&exempt_bob), &[&everything], &[]).is_allowed());
    assert!(
        !evaluate(&request("kms:Encrypt"), Some(&exempt_bob), &[&everything], &[]).is_allowed(),
        "alice is denied"
    );
    // The account alone exempts the root only; the user alone exempts nobody.
    let account_only = with_deny(r#""arn:aws:iam::111122223333:root""#);
    assert!(!evaluate(&bob, Some(&account_only), &[&everything], &[]).is_allowed());
    let bob_only = with_deny(r#""arn:aws:iam::111122223333:user/bob""#);
    assert!(!evaluate(&bob, Some(&bob_only), &[&everything], &[]).is_allowed());
    let refused = Policy::parse(
        r#"{"Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"111122223333"},"Action":"kms:*","Resource":"*"}}"#,
        &PolicyKind::Key { account: ACCOUNT.into() },
    );
    assert!(refused.unwrap_err().reason.contains("only with Effect Deny"));
}

#[test]
fn a_variable_the_request_cannot_fill_makes_the_statement_not_apply() {
    // A role has no aws:username: a negated condition on it must not hold.
    let root =
        RequestContext::new("arn:aws:iam::111122223333:role/builder", ACCOUNT, "kms:Encrypt", Some(KEY), NOW);
    let negated = r#"{"StringNotEquals":{"aws:ResourceTag/owner":"${aws:username}"}}"#;
    assert!(!holds(negated, &root));
    assert!(root.username().is_none());
    let mut tagged = root.clone();
    tagged.set("aws:ResourceTag/owner", "someone");
    assert!(!holds(negated, &tagged));
    assert!(holds(negated, &with(&[("aws:ResourceTag/owner", "bob")])), "alice, not the owner");
    // In NotResource too.
    let key = key_policy(DEFAULT_KEY_POLICY);
    let not_theirs = identity(
        r#"{"Statement":{"Effect":"Allow","Action":"kms:*","NotResource":"arn:aws:kms:*:*:key/${aws:username}"}}"#,
    );
    assert!(!decide(&root, &key, &[&not_theirs]).is_allowed());
    assert!(decide(&request("kms:Encrypt"), &key, &[&not_theirs]).is_allowed());
}

#[test]
fn if_exists_holds_for_a_missing_key_with_a_set_qualifier_too() {
    assert!(holds(r#"{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":["team"]}}"#, &with(&[])));
    assert!(!holds(r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["team"]}}"#, &with(&[])));
}

#[test]
fn arn_operators_match_part_by_part() {
    let context = with(&[]);
    assert!(holds(r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:user/*"}}"#, &context));
    // A star in the account part does not reach across colons into the resource.
    assert!(!holds(r#"{"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*"}}"#, &context));
    assert!(holds(r#"{"ArnEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/alice"}}"#, &context));
    assert!(!holds(r#"{"ArnLike":{"aws:PrincipalArn":"not an arn"}}"#, &context));
}

#[test]
fn grant_constraints_fold_key_case_and_skip_operations_without_a_context() {
    let key = key_policy(DEFAULT_KEY_POLICY);
    let grant = Grant {
        grant_id: "cd".repeat(32),
        grantee_principal: ALICE.into(),
        operations: vec!["Decrypt".into(), "DescribeKey".into()],
        constraints: Some(GrantConstraints {
            equals: Some(BTreeMap::from([("Tenant".to_owned(), "blue".to_owned())])),
            subset: None,
        }),
    };
    let mut blue = request("kms:Decrypt");
    blue.set_values("kms:EncryptionContextKeys", vec!["tenant".into()]);
    blue.set("kms:EncryptionContext:tenant", "blue");
    assert!(evaluate(&blue, Some(&key), &[], std::slice::from_ref(&grant)).is_allowed(), "keys without case");
    let mut shouting = request("kms:Decrypt");
    shouting.set_values("kms:EncryptionContextKeys", vec!["tenant".into()]);
    shouting.set("kms:EncryptionContext:tenant", "BLUE");
    assert!(
        !evaluate(&shouting, Some(&key), &[], std::slice::from_ref(&grant)).is_allowed(),
        "values with case"
    );
    assert!(
        evaluate(&request("kms:DescribeKey"), Some(&key), &[], &[grant]).is_allowed(),
        "no context to constrain"
    );
}
