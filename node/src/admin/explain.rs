//! `POST /v1/sys/authorize` (`trent policy explain`): would this principal be allowed this
//! action on this key with this context, and what decided? The "why was I denied?" AWS answers
//! only through CloudTrail, answered from the same decision the calls get.

use trent_wire::admin::{AuthorizeRequest, AuthorizeResponse, ConditionValues};
use trent_wire::{ErrorCode, KmsError};

use crate::authorization::{decide, explain, Caller, Check, Origin, Target};
use crate::kms::identifiers::{parse_key_ref, AliasUse};
use crate::node::Node;

/// The most condition keys one question carries.
const MAX_CONTEXT_KEYS: usize = 128;

/// Decides `request` as a call would be decided on this node now.
pub async fn authorize(node: &Node, request: AuthorizeRequest) -> Result<AuthorizeResponse, KmsError> {
    let action = known_action(&request.action)?;
    if request.context.len() > MAX_CONTEXT_KEYS {
        return Err(KmsError::new(ErrorCode::Validation, format!("At most {MAX_CONTEXT_KEYS} context keys")));
    }
    let target = match &request.key_id {
        Some(key) => Target::Key(parse_key_ref(key, "key_id", &node.config.arn, AliasUse::Allowed)?),
        None => Target::Nothing,
    };
    let mut check = Check::new(action, target);
    for (name, values) in request.context {
        check = match values {
            ConditionValues::One(value) => check.with(&name, value),
            ConditionValues::Many(values) => check.with_all(&name, values),
        };
    }
    let name = user_name(&request.principal, &node.config.arn.account_id);
    node.linearizable_read().await?;
    let registry = node.registry.read();
    let caller = Caller::named(node, &registry, name)?;
    let verdict = decide(node, &registry, &caller, &check, Origin::default())?;
    let (decided_by, explanation) = explain(&verdict.decision);
    let (decision, message) = match verdict.decision {
        trent_policy::Decision::Allow(_) => ("allow", None),
        trent_policy::Decision::Deny { message, .. } => ("deny", Some(message)),
    };
    Ok(AuthorizeResponse { decision: decision.to_owned(), decided_by, explanation, message })
}

/// A user name, from a name or this account's user ARN.
fn user_name<'p>(principal: &'p str, account: &str) -> &'p str {
    principal.strip_prefix(&format!("arn:aws:iam::{account}:user/")).unwrap_or(principal)
}

/// The action, as one of the names calls are checked with (so the answer is about a real one).
fn known_action(action: &str) -> Result<&'static str, KmsError> {
    let extra = ["kms:ReEncryptFrom", "kms:ReEncryptTo"];
    trent_wire::Operation::ALL
        .iter()
        .map(|operation| operation.action())
        .chain(extra)
        .find(|known| known.eq_ignore_ascii_case(action))
        .ok_or_else(|| {
            KmsError::new(
                ErrorCode::Validation,
                format!("Unknown action {}", action.chars().take(128).collect::<String>()),
            )
        })
}
