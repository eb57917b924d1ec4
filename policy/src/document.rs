//! Policy documents: parsing and validating the JSON AWS writes, into statements that can be
//! matched against a request.

use serde_json::{Map, Value};

use crate::condition::{expand_variables, Condition};
use crate::context::RequestContext;
use crate::wildcard;

/// Largest policy document, in bytes (AWS's limit for key policies).
pub const MAX_POLICY_BYTES: usize = 32 * 1024;

/// Why a policy document was refused (`MalformedPolicyDocumentException`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct PolicyError {
    /// What is wrong, for the caller.
    pub reason: String,
}

impl PolicyError {
    pub(crate) fn new(reason: impl Into<String>) -> PolicyError {
        PolicyError { reason: reason.into() }
    }
}

/// Which kind of policy a document is: the rules differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyKind {
    /// A key policy of a key in `account`: statements name principals (this account's ARNs or
    /// `*`), actions are `kms:` actions.
    Key {
        /// The cluster's account id.
        account: String,
    },
    /// A user's identity policy: no principal; `kms:`, `iam:` and `trent:` actions.
    Identity,
}

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// Grants the statement's actions.
    Allow,
    /// Refuses them, whatever else allows them.
    Deny,
}

/// The principals a key-policy statement names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Principals {
    /// `"*"` or `{"AWS": "*"}`: everyone.
    Anyone,
    /// ARNs of this account (an account id is written as its root ARN).
    Arns(Vec<String>),
}

/// Whether a statement's principal element covers the caller, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrincipalMatch {
    /// It does not.
    No,
    /// It names the caller (or everyone).
    Caller,
    /// It names the caller's account: the account delegates to its identity policies.
    Account,
}

/// A list of patterns, or everything but them (`NotAction`, `NotResource`, `NotPrincipal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Patterns {
    pub(crate) not: bool,
    pub(crate) patterns: Vec<String>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Its `Sid`, if it has one.
    pub sid: Option<String>,
    /// Allow or Deny.
    pub effect: Effect,
    pub(crate) principal: Option<(bool, Principals)>,
    pub(crate) actions: Patterns,
    pub(crate) resources: Patterns,
    pub(crate) conditions: Vec<Condition>,
}

/// A parsed, validated policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Its statements, in document order.
    pub statements: Vec<Statement>,
}

const STATEMENT_FIELDS: [&str; 10] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "Id",
];

impl Policy {
    /// Parses and validates `text` as a policy of `kind`.
    pub fn parse(text: &str, kind: &PolicyKind) -> Result<Policy, PolicyError> {
        if text.len() > MAX_POLICY_BYTES {
            return Err(PolicyError::new(format!("The policy is larger than {MAX_POLICY_BYTES} bytes")));
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|error| PolicyError::new(format!("The policy is not valid JSON: {error}")))?;
        let Value::Object(document) = value else {
            return Err(PolicyError::new("The policy must be a JSON object"));
        };
        for field in document.keys() {
            if !matches!(field.as_str(), "Version" | "Id" | "Statement") {
                return Err(PolicyError::new(format!("The policy has an unsupported element {field}")));
            }
        }
        match document.get("Version") {
            None => {}
            Some(Value::String(version)) if version == "2012-10-17" || version == "2008-10-17" => {}
            Some(other) => return Err(PolicyError::new(format!("Unsupported policy Version {other}"))),
        }
        let statements = match document.get("Statement") {
            Some(Value::Array(list)) if !list.is_empty() => list.iter().collect::<Vec<_>>(),
            Some(object @ Value::Object(_)) => vec![object],
            _ => {
                return Err(PolicyError::new(
                    "The policy must have a Statement (an object or a non-empty list)",
                ))
            }
        };
        let statements = statements
            .into_iter()
            .map(|statement| parse_statement(statement, kind))
            .collect::<Result<_, _>>()?;
        Ok(Policy { statements })
    }
}

fn parse_statement(value: &Value, kind: &PolicyKind) -> Result<Statement, PolicyError> {
    let Value::Object(statement) = value else {
        return Err(PolicyError::new("Each Statement must be a JSON object"));
    };
    for field in statement.keys() {
        if !STATEMENT_FIELDS.contains(&field.as_str()) {
            return Err(PolicyError::new(format!("A statement has an unsupported element {field}")));
        }
    }
    let sid = match statement.get("Sid") {
        None => None,
        Some(Value::String(sid)) => Some(sid.clone()),
        Some(_) => return Err(PolicyError::new("Sid must be a string")),
    };
    let effect = match statement.get("Effect") {
        Some(Value::String(effect)) if effect == "Allow" => Effect::Allow,
        Some(Value::String(effect)) if effect == "Deny" => Effect::Deny,
        Some(other) => return Err(PolicyError::new(format!("Unknown Effect {other}: it is Allow or Deny"))),
        None => return Err(PolicyError::new("A statement has no Effect")),
    };
    let principal = match (statement.get("Principal"), statement.get("NotPrincipal"), kind) {
        (Some(_), Some(_), _) => {
            return Err(PolicyError::new("A statement has both Principal and NotPrincipal"))
        }
        (None, None, PolicyKind::Identity) => None,
        (Some(_), _, PolicyKind::Identity) | (_, Some(_), PolicyKind::Identity) => {
            return Err(PolicyError::new("An identity policy names no Principal"))
        }
        (None, None, PolicyKind::Key { .. }) => {
            return Err(PolicyError::new("A key policy statement needs a Principal"))
        }
        (Some(value), None, PolicyKind::Key { account }) => Some((false, parse_principals(value, account)?)),
        (None, Some(_), PolicyKind::Key { .. }) if effect == Effect::Allow => {
            return Err(PolicyError::new("NotPrincipal is supported only with Effect Deny"))
        }
        (None, Some(value), PolicyKind::Key { account }) => Some((true, parse_principals(value, account)?)),
    };
    let actions = patterns(statement, "Action", "NotAction")?
        .ok_or_else(|| PolicyError::new("A statement needs an Action or NotAction"))?;
    for action in &actions.patterns {
        check_action(action, kind)?;
    }
    let resources = patterns(statement, "Resource", "NotResource")?
        .ok_or_else(|| PolicyError::new("A statement needs a Resource or NotResource"))?;
    let conditions = match statement.get("Condition") {
        None => Vec::new(),
        Some(Value::Object(operators)) => parse_conditions(operators)?,
        Some(_) => return Err(PolicyError::new("Condition must be a JSON object")),
    };
    Ok(Statement { sid, effect, principal, actions, resources, conditions })
}

fn strings(value: &Value, what: &str) -> Result<Vec<String>, PolicyError> {
    let one = |value: &Value| match value {
        Value::String(text) => Ok(text.clone()),
        _ => Err(PolicyError::new(format!("{what} must be a string or a list of strings"))),
    };
    match value {
        Value::Array(list) if !list.is_empty() => list.iter().map(one).collect(),
        Value::Array(_) => Err(PolicyError::new(format!("{what} must not be empty"))),
        other => Ok(vec![one(other)?]),
    }
}

fn patterns(
    statement: &Map<String, Value>,
    positive: &str,
    negative: &str,
) -> Result<Option<Patterns>, PolicyError> {
    match (statement.get(positive), statement.get(negative)) {
        (Some(_), Some(_)) => {
            Err(PolicyError::new(format!("A statement has both {positive} and {negative}")))
        }
        (Some(value), None) => Ok(Some(Patterns { not: false, patterns: strings(value, positive)? })),
        (None, Some(value)) => Ok(Some(Patterns { not: true, patterns: strings(value, negative)? })),
        (None, None) => Ok(None),
    }
}

fn check_action(action: &str, kind: &PolicyKind) -> Result<(), PolicyError> {
    if action == "*" {
        return Ok(());
    }
    let service = action.split_once(':').map(|(service, _)| service.to_ascii_lowercase());
    let allowed = matches!(
        (kind, service.as_deref()),
        (_, Some("kms")) | (PolicyKind::Identity, Some("iam" | "trent"))
    );
    if allowed {
        Ok(())
    } else {
        let services = match kind {
            PolicyKind::Key { .. } => "kms:",
            PolicyKind::Identity => "kms:, iam: or trent:",
        };
        Err(PolicyError::new(format!("The action {action} is not a {services} action")))
    }
}

fn parse_principals(value: &Value, account: &str) -> Result<Principals, PolicyError> {
    let aws = match value {
        Value::String(star) if star == "*" => return Ok(Principals::Anyone),
        Value::Object(map) => {
            if let Some(other) = map.keys().find(|key| key.as_str() != "AWS") {
                return Err(PolicyError::new(format!(
                    "The principal type {other} is not supported: name principals as {{\"AWS\": ARN}}"
                )));
            }
            map.get("AWS").ok_or_else(|| PolicyError::new("A Principal names no AWS principal"))?
        }
        _ => return Err(PolicyError::new("A Principal is \"*\" or {\"AWS\": ARN or list}")),
    };
    let names = strings(aws, "Principal")?;
    if names.iter().any(|name| name == "*") {
        return Ok(Principals::Anyone);
    }
    let arns = names
        .into_iter()
        .map(|name| {
            if name == account {
                return Ok(format!("arn:aws:iam::{account}:root"));
            }
            let of_account = name
                .strip_prefix(&format!("arn:aws:iam::{account}:"))
                .is_some_and(|rest| rest == "root" || rest.starts_with("user/") || rest.starts_with("role/"));
            if of_account {
                Ok(name)
            } else {
                Err(PolicyError::new(format!(
                    "The principal {name} is not an ARN of account {account} (or \"*\")"
                )))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(Principals::Arns(arns))
}

fn parse_conditions(operators: &Map<String, Value>) -> Result<Vec<Condition>, PolicyError> {
    let mut conditions = Vec::new();
    for (name, keys) in operators {
        let (qualifier, operator, if_exists) = Condition::parse_operator(name)?;
        let Value::Object(keys) = keys else {
            return Err(PolicyError::new(format!("The {name} condition must map keys to values")));
        };
        for (key, values) in keys {
            let one = |value: &Value| match value {
                Value::String(text) => Ok(text.clone()),
                Value::Bool(flag) => Ok(flag.to_string()),
                Value::Number(number) => Ok(number.to_string()),
                _ => {
                    Err(PolicyError::new(format!("The values of {key} must be strings, numbers or booleans")))
                }
            };
            let values = match values {
                Value::Array(list) => list.iter().map(one).collect::<Result<Vec<_>, _>>()?,
                other => vec![one(other)?],
            };
            let condition = Condition::new(qualifier, operator, if_exists, key.clone(), values);
            condition.check()?;
            conditions.push(condition);
        }
    }
    Ok(conditions)
}

impl Statement {
    /// How the statement's principal covers the caller (`Caller` for identity policies, which
    /// have none: they apply to whoever holds them).
    pub(crate) fn principal_match(&self, context: &RequestContext) -> PrincipalMatch {
        let Some((not, principals)) = &self.principal else {
            return PrincipalMatch::Caller;
        };
        let is_root = |arn: &String| is_root_of(arn, &context.account);
        if *not {
            // NotPrincipal (Deny only): the statement applies to everyone it does not exempt.
            // As in AWS, a user is exempt only if both its own ARN and its account's are
            // listed (the request is also made in the account's name); the root only if the
            // account is.
            let exempt = match principals {
                Principals::Anyone => true,
                Principals::Arns(arns) => {
                    arns.iter().any(is_root)
                        && (is_root(&context.principal_arn) || arns.contains(&context.principal_arn))
                }
            };
            return if exempt { PrincipalMatch::No } else { PrincipalMatch::Caller };
        }
        match principals {
            Principals::Anyone => PrincipalMatch::Caller,
            Principals::Arns(arns) if arns.contains(&context.principal_arn) => PrincipalMatch::Caller,
            Principals::Arns(arns) if arns.iter().any(is_root) => PrincipalMatch::Account,
            Principals::Arns(_) => PrincipalMatch::No,
        }
    }

    /// Whether the statement's actions, resources and conditions cover the request.
    pub(crate) fn covers(&self, context: &RequestContext) -> bool {
        let action =
            self.actions.patterns.iter().any(|pattern| wildcard::matches(pattern, &context.action, true));
        if action == self.actions.not {
            return false;
        }
        let resource = context.resource.as_deref().unwrap_or("*");
        // A pattern whose policy variable the request cannot fill makes the statement not apply
        // (for Resource and NotResource alike, for Allow and Deny alike).
        let mut matched = false;
        for pattern in &self.resources.patterns {
            let Some(pattern) = expand_variables(pattern, context) else {
                return false;
            };
            matched = matched || wildcard::matches(&pattern, resource, false);
        }
        if matched == self.resources.not {
            return false;
        }
        self.conditions.iter().all(|condition| condition.holds(context))
    }
}

/// Whether `arn` is `arn:aws:iam::<account>:root`, without building that ARN.
fn is_root_of(arn: &str, account: &str) -> bool {
    arn.strip_prefix("arn:aws:iam::").and_then(|rest| rest.strip_suffix(":root")) == Some(account)
}
