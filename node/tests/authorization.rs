//! Who may use which key, end to end on a real node: an administrator and two users with their
//! own access keys; identity policies, key policies (the default one delegating to identity
//! policies, one naming a user, one with an explicit deny), the lockout safety check, grants
//! with an encryption-context constraint usable at once through their token, revocation, admin
//! actions, and the explainer. Every refusal is `AccessDeniedException` with AWS's wording.
#![allow(clippy::unwrap_used, clippy::expect_used)] // a panic in a test is a failed test

mod support;

use serde_json::{json, Value};
use support::kms::{call_json, refused, start, ACCOUNT};
use support::InProcessNode;
use trent_client::wire::admin::{AuthorizeRequest, ConditionValues};
use trent_client::wire::ErrorCode;
use trent_client::{ClientOptions, RetryPolicy, Signing, TrentClient};

fn arn(user: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{user}")
}

fn root() -> String {
    format!("arn:aws:iam::{ACCOUNT}:root")
}

/// A client signing as a new access key of `user`.
async fn user_client(node: &InProcessNode, admin: &TrentClient, user: &str) -> TrentClient {
    let key = admin.create_user_access_key(user, Some(user)).await.expect("access key");
    assert_eq!(key.user, user);
    let options = ClientOptions {
        retry: RetryPolicy::none(),
        signing: Some(Signing::new(key.access_key_id, key.secret_access_key, "us-east-1")),
        ..ClientOptions::default()
    };
    TrentClient::with_options(vec![node.endpoint.clone()], options).expect("client")
}

async fn new_key(client: &TrentClient, policy: Option<Value>) -> String {
    let mut body = json!({});
    if let Some(policy) = policy {
        body["Policy"] = Value::String(policy.to_string());
    }
    let created = call_json(client, "CreateKey", body).await.expect("CreateKey");
    created["KeyMetadata"]["KeyId"].as_str().expect("key id").to_owned()
}

async fn encrypt(
    client: &TrentClient,
    key: &str,
    context: Value,
) -> Result<Value, trent_client::ClientError> {
    call_json(client, "Encrypt", json!({"KeyId": key, "Plaintext": "aGVsbG8=", "EncryptionContext": context}))
        .await
}

fn denied(result: Result<Value, trent_client::ClientError>) -> String {
    refused(result, ErrorCode::AccessDenied).message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_policies_and_grants_decide_who_uses_which_key() {
    let (node, admin) = start().await;
    let shared = new_key(&admin, None).await;

    // alice may encrypt and decrypt with any key, but never with the "hr" context.
    let alice_policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "UseKeys", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], "Resource": "*"},
            {"Sid": "NotHr", "Effect": "Deny", "Action": "kms:*", "Resource": "*",
             "Condition": {"StringEquals": {"kms:EncryptionContext:dept": "hr"}}}
        ]
    });
    let created = admin.create_user("alice", Some(alice_policy)).await.expect("create alice");
    assert_eq!(created.arn, arn("alice"));
    admin.create_user("bob", None).await.expect("create bob");
    let alice = user_client(&node, &admin, "alice").await;
    let bob = user_client(&node, &admin, "bob").await;

    // The default key policy delegates to identity policies.
    let blob = encrypt(&alice, &shared, json!({"dept": "eng"})).await.expect("alice encrypts");
    let decrypted = call_json(
        &alice,
        "Decrypt",
        json!({"CiphertextBlob": blob["CiphertextBlob"], "EncryptionContext": {"dept": "eng"}}),
    )
    .await
    .expect("alice decrypts");
    assert_eq!(decrypted["Plaintext"], "aGVsbG8=");
    let message = denied(encrypt(&alice, &shared, json!({"dept": "hr"})).await);
    assert_eq!(
        message,
        format!("User: {} is not authorized to perform: kms:Encrypt on resource: arn:aws:kms:us-east-1:{ACCOUNT}:key/{shared} with an explicit deny in an identity-based policy", arn("alice"))
    );
    let message = denied(call_json(&alice, "ScheduleKeyDeletion", json!({"KeyId": shared})).await);
    assert!(
        message.ends_with("because no identity-based policy allows the kms:ScheduleKeyDeletion action"),
        "{message}"
    );
    let message = denied(encrypt(&bob, &shared, json!({})).await);
    assert_eq!(
        message,
        format!("User: {} is not authorized to perform: kms:Encrypt on resource: arn:aws:kms:us-east-1:{ACCOUNT}:key/{shared} because no identity-based policy allows the kms:Encrypt action", arn("bob"))
    );
    // Calls on no key use the identity policy alone.
    let message = denied(call_json(&bob, "ListKeys", json!({})).await);
    assert!(
        message.contains("on resource: * because no identity-based policy allows the kms:ListKeys action"),
        "{message}"
    );
    let message = denied(call_json(&alice, "CreateKey", json!({})).await);
    assert!(message.contains("kms:CreateKey"), "{message}");

    // A key policy that names bob lets him in without an identity policy; an explicit deny
    // keeps alice out whatever her identity policy says.
    let named = new_key(
        &admin,
        Some(json!({"Statement": [
            {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": root()}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "Bob", "Effect": "Allow", "Principal": {"AWS": arn("bob")}, "Action": "kms:Encrypt", "Resource": "*"},
            {"Sid": "NoAlice", "Effect": "Deny", "Principal": {"AWS": arn("alice")}, "Action": "kms:*", "Resource": "*"}
        ]})),
    )
    .await;
    encrypt(&bob, &named, json!({})).await.expect("the key policy names bob");
    let message = denied(encrypt(&alice, &named, json!({})).await);
    assert!(message.ends_with("with an explicit deny in a resource-based policy"), "{message}");

    // A grant with an encryption-context constraint, usable at once through its token.
    let grant = call_json(
        &admin,
        "CreateGrant",
        json!({"KeyId": shared, "GranteePrincipal": arn("bob"), "Operations": ["Encrypt", "Decrypt"],
               "Constraints": {"EncryptionContextSubset": {"app": "billing"}}, "Name": "billing"}),
    )
    .await
    .expect("CreateGrant");
    let grant_id = grant["GrantId"].as_str().expect("grant id").to_owned();
    assert_eq!(grant_id.len(), 64);
    let token = grant["GrantToken"].as_str().expect("token").to_owned();
    let with_token = json!({"KeyId": shared, "Plaintext": "aGVsbG8=", "EncryptionContext": {"app": "billing", "x": "y"}, "GrantTokens": [token]});
    call_json(&bob, "Encrypt", with_token).await.expect("the grant allows bob");
    let message = denied(encrypt(&bob, &shared, json!({"app": "payroll"})).await);
    assert!(message.contains("kms:Encrypt"), "{message}");
    let again = call_json(
        &admin,
        "CreateGrant",
        json!({"KeyId": shared, "GranteePrincipal": arn("bob"), "Operations": ["Decrypt", "Encrypt"],
               "Constraints": {"EncryptionContextSubset": {"app": "billing"}}, "Name": "billing"}),
    )
    .await
    .expect("CreateGrant again");
    assert_eq!(again["GrantId"], grant_id, "the same name and parameters answer the same grant");
    let listed = call_json(&admin, "ListGrants", json!({"KeyId": shared})).await.expect("ListGrants");
    assert_eq!(listed["Grants"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["Grants"][0]["IssuingAccount"], root());
    refused(
        call_json(&admin, "RevokeGrant", json!({"KeyId": shared, "GrantId": "nope"})).await,
        ErrorCode::InvalidGrantId,
    );
    refused(
        call_json(&bob, "RetireGrant", json!({"KeyId": shared, "GrantId": grant_id})).await,
        ErrorCode::AccessDenied,
    );
    call_json(&admin, "RevokeGrant", json!({"KeyId": shared, "GrantId": grant_id}))
        .await
        .expect("RevokeGrant");
    denied(encrypt(&bob, &shared, json!({"app": "billing"})).await);

    // Key policies: the default one, validation, and the lockout safety check.
    let policy = call_json(&admin, "GetKeyPolicy", json!({"KeyId": shared, "PolicyName": "default"}))
        .await
        .expect("GetKeyPolicy");
    assert!(policy["Policy"].as_str().unwrap().contains("Enable IAM User Permissions"));
    let names =
        call_json(&admin, "ListKeyPolicies", json!({"KeyId": shared})).await.expect("ListKeyPolicies");
    assert_eq!(names["PolicyNames"], json!(["default"]));
    let put = |policy: Value, bypass: bool| {
        call_json(
            &admin,
            "PutKeyPolicy",
            json!({"KeyId": named, "Policy": policy.to_string(), "BypassPolicyLockoutSafetyCheck": bypass}),
        )
    };
    let locked_out = json!({"Statement": {"Effect": "Allow", "Principal": {"AWS": arn("bob")}, "Action": "kms:*", "Resource": "*"}});
    let error = refused(put(locked_out.clone(), false).await, ErrorCode::MalformedPolicyDocument);
    assert!(error.message.contains("will not allow you to update the key policy"), "{}", error.message);
    refused(put(json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}}), true).await, ErrorCode::MalformedPolicyDocument);
    refused(
        call_json(&admin, "PutKeyPolicy", json!({"KeyId": named, "Policy": "{not json"})).await,
        ErrorCode::MalformedPolicyDocument,
    );
    put(locked_out, true).await.expect("bypassed");
    encrypt(&bob, &named, json!({})).await.expect("the new policy lets bob in");
    denied(call_json(&admin, "DescribeKey", json!({"KeyId": named})).await);

    // Admin actions are authorized by the identity policy too.
    let error = refused(alice.create_user("mallory", None).await, ErrorCode::AccessDenied);
    assert!(error.message.contains("iam:CreateUser"), "{}", error.message);
    refused(admin.delete_user("bob").await, ErrorCode::DeleteConflict);

    // The explainer answers as the calls were answered.
    let question = |principal: &str, key: &str, context: Vec<(&str, &str)>| AuthorizeRequest {
        principal: principal.to_owned(),
        action: "kms:Encrypt".to_owned(),
        key_id: Some(key.to_owned()),
        context: context
            .into_iter()
            .map(|(k, v)| (k.to_owned(), ConditionValues::One(v.to_owned())))
            .collect(),
    };
    let answer = admin.authorize(&question("alice", &shared, vec![])).await.expect("explain");
    assert_eq!(answer.decision, "allow");
    assert_eq!(answer.decided_by.as_deref(), Some("identity policy statement 0 (Sid \"UseKeys\")"));
    let answer = admin
        .authorize(&question(&arn("alice"), &shared, vec![("kms:EncryptionContext:dept", "hr")]))
        .await
        .expect("explain");
    assert_eq!(answer.decision, "deny");
    assert!(answer.explanation.contains("Sid \"NotHr\""), "{}", answer.explanation);
    let answer = admin.authorize(&question("bob", &named, vec![])).await.expect("explain");
    assert_eq!(
        (answer.decision.as_str(), answer.decided_by.as_deref()),
        ("allow", Some("key policy statement 0"))
    );

    // A user's policy change is honoured at once on this node.
    admin.delete_user_policy("alice").await.expect("delete alice's policy");
    denied(encrypt(&alice, &shared, json!({})).await);
}
