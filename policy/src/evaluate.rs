//! The decision: AWS KMS's evaluation logic over a key policy, identity policies and grants.

use crate::context::RequestContext;
use crate::document::{Effect, Policy, PrincipalMatch};
use crate::grant::Grant;

/// What decided a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decider {
    /// Statement `statement` (0-based) of the key policy.
    KeyPolicy {
        /// Its position.
        statement: usize,
        /// Its `Sid`.
        sid: Option<String>,
    },
    /// Statement `statement` of identity policy `policy` (both 0-based, in the order given).
    IdentityPolicy {
        /// Which policy.
        policy: usize,
        /// Its position.
        statement: usize,
        /// Its `Sid`.
        sid: Option<String>,
    },
    /// A grant.
    Grant {
        /// Its id.
        grant_id: String,
    },
}

/// Why a request was denied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenyReason {
    /// A Deny statement of the key policy covers it.
    ExplicitInKeyPolicy,
    /// A Deny statement of an identity policy covers it.
    ExplicitInIdentityPolicy,
    /// Nothing in the key policy allows the caller or its account (and no grant does).
    NoResourcePolicy,
    /// The key policy delegates to the account, but no identity policy allows it (or, for a
    /// call on no key, no identity policy allows it).
    NoIdentityPolicy,
}

/// The answer for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed, by this.
    Allow(Decider),
    /// Denied.
    Deny {
        /// Why.
        reason: DenyReason,
        /// The Deny statement, for an explicit deny.
        decider: Option<Decider>,
        /// AWS's `AccessDeniedException` message.
        message: String,
    },
}

impl Decision {
    /// Whether it allows.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow(_))
    }
}

/// Decides `context` against the key's policy (`None` for a call on no key), the caller's
/// identity policies and the key's grants.
pub fn evaluate(
    context: &RequestContext,
    key_policy: Option<&Policy>,
    identity: &[&Policy],
    grants: &[Grant],
) -> Decision {
    let mut allows_caller = None;
    let mut allows_account = false;
    if let Some(policy) = key_policy {
        for (index, statement) in policy.statements.iter().enumerate() {
            let principal = statement.principal_match(context);
            if principal == PrincipalMatch::No || !statement.covers(context) {
                continue;
            }
            let decider = Decider::KeyPolicy { statement: index, sid: statement.sid.clone() };
            match (statement.effect, principal) {
                (Effect::Deny, _) => return deny(context, DenyReason::ExplicitInKeyPolicy, Some(decider)),
                (Effect::Allow, PrincipalMatch::Caller) => {
                    allows_caller.get_or_insert(decider);
                }
                (Effect::Allow, _) => allows_account = true,
            }
        }
    }
    let mut identity_allows = None;
    for (policy_index, policy) in identity.iter().enumerate() {
        for (index, statement) in policy.statements.iter().enumerate() {
            if !statement.covers(context) {
                continue;
            }
            let decider = Decider::IdentityPolicy {
                policy: policy_index,
                statement: index,
                sid: statement.sid.clone(),
            };
            match statement.effect {
                Effect::Deny => return deny(context, DenyReason::ExplicitInIdentityPolicy, Some(decider)),
                Effect::Allow => {
                    identity_allows.get_or_insert(decider);
                }
            }
        }
    }
    if context.resource.is_none() {
        return match identity_allows {
            Some(decider) => Decision::Allow(decider),
            None => deny(context, DenyReason::NoIdentityPolicy, None),
        };
    }
    if let Some(decider) = allows_caller {
        return Decision::Allow(decider);
    }
    if allows_account {
        if let Some(decider) = identity_allows {
            return Decision::Allow(decider);
        }
    }
    if let Some(grant) = grants.iter().find(|grant| grant.allows(context)) {
        return Decision::Allow(Decider::Grant { grant_id: grant.grant_id.clone() });
    }
    let reason = if allows_account { DenyReason::NoIdentityPolicy } else { DenyReason::NoResourcePolicy };
    deny(context, reason, None)
}

fn deny(context: &RequestContext, reason: DenyReason, decider: Option<Decider>) -> Decision {
    let action = &context.action;
    let why = match reason {
        DenyReason::ExplicitInKeyPolicy => "with an explicit deny in a resource-based policy".to_owned(),
        DenyReason::ExplicitInIdentityPolicy => {
            "with an explicit deny in an identity-based policy".to_owned()
        }
        DenyReason::NoResourcePolicy => {
            format!("because no resource-based policy allows the {action} action")
        }
        DenyReason::NoIdentityPolicy => {
            format!("because no identity-based policy allows the {action} action")
        }
    };
    let message = format!(
        "User: {} is not authorized to perform: {action} on resource: {} {why}",
        context.principal_arn,
        context.resource.as_deref().unwrap_or("*")
    );
    Decision::Deny { reason, decider, message }
}
