//! Authorization: the one place every signed call is decided (DESIGN §8), after its signature
//! verified and before it runs. The caller is the user its access key acts as; what it asks is
//! the list of [`Check`]s its request makes (an action on a key, or on nothing, with condition
//! keys); the answer comes from `trent_policy::evaluate` over the key's policy, the user's
//! identity policy and the key's grants for the caller, all read from this node's applied
//! state. A KMS call is decided only once this node is within the consistency bound, so a
//! revoked grant or a tightened policy is honoured on every node within the same bound as
//! DisableKey. docs/authorization.md describes the model.

pub mod checks;
pub mod grant_token;
pub mod policies;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use trent_policy::{evaluate, Decision, Policy, RequestContext};
use trent_storage::{KeyId, KeyRecord, Registry, ADMIN_POLICY, ADMIN_USER};
use trent_wire::{ErrorCode, KmsError, Operation};

pub use checks::{Authorize, AuthorizedKeys, Check, Target};

use crate::authentication::Principal;
use crate::kms::identifiers::{key_arn, resolve, KeyRef};
use crate::node::Node;

/// The longest a call waits for this node to apply the grants its tokens name.
pub const GRANT_TOKEN_WAIT: Duration = Duration::from_secs(2);

/// Where a call came from, for `aws:SourceIp` and `aws:SecureTransport`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Origin {
    /// The client's address.
    pub source_ip: Option<IpAddr>,
    /// Whether it came over TLS.
    pub secure_transport: bool,
}

/// The caller as policies see it: a user, its ARN and its identity policy.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user name.
    pub user_name: String,
    /// `arn:aws:iam::<account>:user/<name>`.
    pub arn: String,
    identity: Option<Arc<Policy>>,
}

impl Caller {
    /// The user an access key acts as. An access key deleted since its signature was checked
    /// is refused as AWS refuses an unknown one.
    pub fn of(node: &Node, registry: &Registry, access_key_id: &str) -> Result<Caller, KmsError> {
        if registry.access_key(access_key_id).is_none() {
            return Err(KmsError::new(
                ErrorCode::UnrecognizedClient,
                "The security token included in the request is invalid.",
            ));
        }
        Caller::named(node, registry, registry.access_key_user(access_key_id))
    }

    /// The user `name` (a cluster below feature level 2 has no user records: its one user is
    /// `admin`, with the administrator policy).
    pub fn named(node: &Node, registry: &Registry, name: &str) -> Result<Caller, KmsError> {
        let policies = &node.policies;
        let (user_name, policy) = match registry.user(name) {
            Some(user) => (user.name.as_str(), user.policy.as_deref()),
            None if name.eq_ignore_ascii_case(ADMIN_USER) && registry.features().level < 2 => {
                (ADMIN_USER, Some(ADMIN_POLICY))
            }
            None => {
                return Err(KmsError::new(
                    ErrorCode::NotFound,
                    format!("The user with name {name} cannot be found."),
                ))
            }
        };
        let identity = match policy {
            Some(text) => match policies.identity_policy(user_name, text) {
                Ok(policy) => Some(policy),
                Err(error) => {
                    // Validated when it was stored; a policy this build reads differently
                    // allows nothing rather than something unintended.
                    tracing::error!(user = %user_name, %error, "a stored identity policy does not parse");
                    None
                }
            },
            None => None,
        };
        let arn = user_arn(policies.account(), user_name);
        Ok(Caller { user_name: user_name.to_owned(), arn, identity })
    }

    fn identity(&self) -> Vec<&Policy> {
        self.identity.as_deref().into_iter().collect()
    }
}

/// `arn:aws:iam::<account>:user/<name>`.
pub fn user_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:user/{name}")
}

/// One check decided, with the key it was about.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Allow or deny, and what decided.
    pub decision: Decision,
    /// The key, for a check on one.
    pub key: Option<KeyId>,
}

/// Decides one check for `caller` from `registry`. A key reference that names no key is the
/// operation's own error (`NotFoundException`).
pub fn decide(
    node: &Node,
    registry: &Registry,
    caller: &Caller,
    check: &Check,
    origin: Origin,
) -> Result<Verdict, KmsError> {
    let scope = &node.config.arn;
    let blob_reference;
    let key = match &check.target {
        Target::Nothing => None,
        Target::Key(reference) => Some((resolve(registry, reference, scope)?, reference)),
        Target::Blob(key_id) => {
            blob_reference = KeyRef::Id(*key_id);
            // A blob naming a key that does not exist is a forged blob: decided on no key here,
            // so the operation's own checks answer it (InvalidCiphertext, or a bad field first);
            // it cannot open anything with a key it was not authorized for.
            registry.key(key_id).map(|key| (key, &blob_reference))
        }
    };
    let resource = key.map(|(key, _)| key_arn(scope, key.key_id));
    let epoch_seconds = (node.now_ms() / 1000) as i64;
    let mut context =
        RequestContext::new(&caller.arn, &scope.account_id, check.action, resource.as_deref(), epoch_seconds);
    context.set("aws:SecureTransport", if origin.secure_transport { "true" } else { "false" });
    if let Some(ip) = origin.source_ip {
        context.set("aws:SourceIp", &ip.to_string());
    }
    let Some((key, reference)) = key else {
        for (name, values) in &check.conditions {
            context.set_values(name, values.clone());
        }
        let decision = evaluate(&context, None, &caller.identity(), &[]);
        return Ok(Verdict { decision, key: None });
    };
    describe_key(&mut context, registry, key, reference);
    for (name, values) in &check.conditions {
        context.set_values(name, values.clone());
    }
    let key_policy = key_policy(node, registry, key.key_id);
    let grants: Vec<trent_policy::Grant> =
        registry.grants_for(key.key_id, &caller.arn).map(|record| record.grant.clone()).collect();
    let decision = evaluate(&context, Some(&key_policy), &caller.identity(), &grants);
    Ok(Verdict { decision, key: Some(key.key_id) })
}

/// The condition keys that come from the key itself.
fn describe_key(context: &mut RequestContext, registry: &Registry, key: &KeyRecord, reference: &KeyRef) {
    context.set("kms:KeySpec", key.spec.as_str());
    context.set("kms:KeyUsage", key.usage.as_str());
    context.set("kms:KeyOrigin", key.origin.as_str());
    for (tag_key, tag_value) in &key.tags {
        context.set(&format!("aws:ResourceTag/{tag_key}"), tag_value);
    }
    let aliases: Vec<String> = registry.aliases_of(key.key_id).map(|alias| alias.name.clone()).collect();
    if !aliases.is_empty() {
        context.set_values("kms:ResourceAliases", aliases);
    }
    if let KeyRef::Alias(name) = reference {
        context.set("kms:RequestAlias", name);
    }
}

/// A key's policy, parsed; AWS's default for a key that has none.
pub fn key_policy(node: &Node, registry: &Registry, key_id: KeyId) -> Arc<Policy> {
    let Some(text) = registry.key_policy(&key_id) else {
        return node.policies.default_key_policy();
    };
    node.policies.key_policy(key_id, text).unwrap_or_else(|error| {
        tracing::error!(%key_id, %error, "a stored key policy does not parse; it allows nothing");
        Arc::new(Policy { statements: Vec::new() })
    })
}

/// Authorizes a KMS call: waits for the grants its tokens name, makes sure this node is within
/// the consistency bound, then decides every check; the keys it was allowed on.
pub async fn authorize_kms(
    node: &Node,
    principal: &Principal,
    operation: Operation,
    origin: Origin,
    request: &impl Authorize,
) -> Result<AuthorizedKeys, KmsError> {
    let checks = request.checks(operation, &node.config.arn)?;
    if let Some(index) = grant_token::highest_index(request.grant_tokens())? {
        // Bounded; a node that has not caught up by then decides from what it has.
        let _ =
            node.raft.wait(Some(GRANT_TOKEN_WAIT)).applied_index_at_least(Some(index), "grant token").await;
    }
    node.ensure_fresh().await?;
    // A key this node has not applied yet may have been made a moment ago through another node:
    // before answering NotFound, catch up with the leader once (management calls are
    // linearizable, and a call must not be decided on a key it could not see).
    let sees_every_key = {
        let registry = node.registry.read();
        checks.iter().all(|check| match &check.target {
            Target::Key(reference) => resolve(&registry, reference, &node.config.arn).is_ok(),
            Target::Nothing | Target::Blob(_) => true,
        })
    };
    if !sees_every_key {
        node.linearizable_read().await?;
    }
    let registry = node.registry.read();
    let caller = Caller::of(node, &registry, principal.access_key_id())?;
    let mut keys = Vec::with_capacity(checks.len());
    for check in &checks {
        let verdict = decide(node, &registry, &caller, check, origin)?;
        #[cfg(feature = "jepsen-planted-bug")]
        if let Some(key_id) = verdict.key {
            let allowed = verdict.decision.is_allowed();
            if crate::planted_bug::ignores_revocation(
                principal.access_key_id(),
                key_id,
                check.action,
                allowed,
            ) {
                keys.push(key_id);
                continue;
            }
        }
        if let Decision::Deny { message, .. } = verdict.decision {
            return Err(KmsError::new(ErrorCode::AccessDenied, message));
        }
        keys.extend(verdict.key);
    }
    Ok(AuthorizedKeys(keys))
}

/// Authorizes an admin call by the caller's identity policy alone (admin calls act on no key).
/// Decided from this node's applied state, without the consistency bound: sealing a node or
/// looking at the cluster must work on a node cut off from its leader.
pub fn authorize_admin(
    node: &Node,
    principal: &Principal,
    operation: Operation,
    origin: Origin,
) -> Result<(), KmsError> {
    let registry = node.registry.read();
    let caller = Caller::of(node, &registry, principal.access_key_id())?;
    let check = Check::new(operation.action(), Target::Nothing);
    match decide(node, &registry, &caller, &check, origin)?.decision {
        Decision::Allow(_) => Ok(()),
        Decision::Deny { message, .. } => Err(KmsError::new(ErrorCode::AccessDenied, message)),
    }
}

/// AWS's policy lockout safety check: whether `policy`, as the policy of the key `key_arn`,
/// still lets `caller` change it (by itself, or through the account and the caller's identity
/// policy).
pub fn keeps_caller_in(node: &Node, caller: &Caller, key_arn: &str, policy: &Policy) -> bool {
    let scope = &node.config.arn;
    let epoch_seconds = (node.now_ms() / 1000) as i64;
    let context =
        RequestContext::new(&caller.arn, &scope.account_id, "kms:PutKeyPolicy", Some(key_arn), epoch_seconds);
    evaluate(&context, Some(policy), &caller.identity(), &[]).is_allowed()
}

/// The one line an operator reads for a decision.
pub fn explain(decision: &Decision) -> (Option<String>, String) {
    use trent_policy::Decider;
    let describe = |decider: &Decider| match decider {
        Decider::KeyPolicy { statement, sid } => format!("key policy statement {statement}{}", sid_of(sid)),
        Decider::IdentityPolicy { statement, sid, .. } => {
            format!("identity policy statement {statement}{}", sid_of(sid))
        }
        Decider::Grant { grant_id } => format!("grant {grant_id}"),
    };
    match decision {
        Decision::Allow(decider) => {
            let by = describe(decider);
            (Some(by.clone()), format!("allowed by {by}"))
        }
        Decision::Deny { decider: Some(decider), message, .. } => {
            let by = describe(decider);
            (Some(by.clone()), format!("denied by {by} (explicit deny): {message}"))
        }
        Decision::Deny { decider: None, message, .. } => (None, format!("denied: {message}")),
    }
}

fn sid_of(sid: &Option<String>) -> String {
    sid.as_ref().map(|sid| format!(" (Sid \"{sid}\")")).unwrap_or_default()
}
