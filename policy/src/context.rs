//! The request as policies see it: who calls, what action on which resource, and the condition
//! keys with their values.

use std::borrow::Cow;
use std::collections::BTreeMap;

/// Condition-key families whose last part names something the caller chose (an encryption
/// context key, a tag key): that part keeps its case, the rest is compared without case.
const CASE_KEEPING_FAMILIES: [&str; 3] = ["kms:encryptioncontext:", "aws:resourcetag/", "aws:requesttag/"];

/// The condition keys without a caller-chosen part that requests carry, in lookup form: a key
/// among them is kept without allocating its name (most of a request's keys are these).
const WELL_KNOWN_KEYS: [&str; 30] = [
    "aws:principalarn",
    "kms:calleraccount",
    "aws:username",
    "aws:epochtime",
    "aws:currenttime",
    "aws:securetransport",
    "aws:sourceip",
    "kms:keyspec",
    "kms:keyusage",
    "kms:keyorigin",
    "kms:resourcealiases",
    "kms:requestalias",
    "kms:encryptioncontextkeys",
    "kms:encryptionalgorithm",
    "kms:signingalgorithm",
    "kms:macalgorithm",
    "kms:messagetype",
    "kms:keyagreementalgorithm",
    "kms:datakeypairspec",
    "kms:grantoperations",
    "kms:granteeprincipal",
    "kms:retiringprincipal",
    "kms:grantconstrainttype",
    "kms:grantisforawsresource",
    "kms:bypasspolicylockoutsafetycheck",
    "kms:schedulekeydeletionpendingwindowindays",
    "kms:multiregion",
    "kms:rotationperiodindays",
    "kms:replicaregion",
    "aws:tagkeys",
];

/// A condition key's values: most keys have one, kept without a list around it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Values {
    One(String),
    Many(Vec<String>),
}

impl Values {
    fn as_slice(&self) -> &[String] {
        match self {
            Values::One(value) => std::slice::from_ref(value),
            Values::Many(values) => values,
        }
    }
}

/// One request to authorize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    /// The caller: `arn:aws:iam::<account>:user/<name>` (or `:root`).
    pub principal_arn: String,
    /// The caller's account id.
    pub account: String,
    /// The action, as IAM names it (`kms:Encrypt`).
    pub action: String,
    /// The key ARN it acts on; `None` for calls on no key (`*`: CreateKey, ListKeys, …).
    pub resource: Option<String>,
    /// The request time, seconds since the Unix epoch.
    pub epoch_seconds: i64,
    keys: BTreeMap<Cow<'static, str>, Values>,
}

impl RequestContext {
    /// A request by `principal_arn` (of `account`) for `action` on `resource` at
    /// `epoch_seconds`; sets `aws:PrincipalArn`, `kms:CallerAccount`, `aws:username` (for a
    /// user), `aws:CurrentTime` and `aws:EpochTime`.
    pub fn new(
        principal_arn: &str,
        account: &str,
        action: &str,
        resource: Option<&str>,
        epoch_seconds: i64,
    ) -> RequestContext {
        let mut context = RequestContext {
            principal_arn: principal_arn.to_owned(),
            account: account.to_owned(),
            action: action.to_owned(),
            resource: resource.map(str::to_owned),
            epoch_seconds,
            keys: BTreeMap::new(),
        };
        context.set("aws:PrincipalArn", principal_arn);
        context.set("kms:CallerAccount", account);
        if let Some((_, name)) = principal_arn.split_once(":user/") {
            context.set("aws:username", name.rsplit('/').next().unwrap_or(name));
        }
        context.keys.insert(Cow::Borrowed("aws:epochtime"), Values::One(epoch_seconds.to_string()));
        if let Ok(now) = time::OffsetDateTime::from_unix_timestamp(epoch_seconds) {
            let text = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                now.year(),
                u8::from(now.month()),
                now.day(),
                now.hour(),
                now.minute(),
                now.second()
            );
            context.keys.insert(Cow::Borrowed("aws:currenttime"), Values::One(text));
        }
        context
    }

    /// Sets a single-valued condition key.
    pub fn set(&mut self, key: &str, value: &str) -> &mut RequestContext {
        self.keys.insert(lookup_key(key), Values::One(value.to_owned()));
        self
    }

    /// Sets a multi-valued condition key (`kms:EncryptionContextKeys`, `aws:TagKeys`, …).
    pub fn set_values(&mut self, key: &str, values: Vec<String>) -> &mut RequestContext {
        self.keys.insert(lookup_key(key), Values::Many(values));
        self
    }

    /// The values of a condition key, if the request has it.
    pub fn values(&self, key: &str) -> Option<&[String]> {
        self.values_by_lookup_key(&lookup_key(key))
    }

    /// The values of a condition key given in its lookup form ([`lookup_key`]), which policies
    /// compute once when they are parsed.
    pub(crate) fn values_by_lookup_key(&self, key: &str) -> Option<&[String]> {
        self.keys.get(key).map(Values::as_slice)
    }

    /// The caller's user name, for `${aws:username}`.
    pub fn username(&self) -> Option<&str> {
        self.values_by_lookup_key("aws:username").and_then(|values| values.first()).map(String::as_str)
    }
}

/// The lookup form of a condition key: case-insensitive, except the caller-chosen suffix of the
/// families that name encryption context and tag keys.
pub(crate) fn lookup_key(key: &str) -> Cow<'static, str> {
    if let Some(known) = WELL_KNOWN_KEYS.iter().find(|known| known.eq_ignore_ascii_case(key)) {
        return Cow::Borrowed(known);
    }
    let lower = key.to_ascii_lowercase();
    for family in CASE_KEEPING_FAMILIES {
        if lower.starts_with(family) && key.is_char_boundary(family.len()) {
            return Cow::Owned(format!("{family}{}", &key[family.len()..]));
        }
    }
    Cow::Owned(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_case_except_the_names_callers_chose() {
        let mut context = RequestContext::new(
            "arn:aws:iam::111122223333:user/alice",
            "111122223333",
            "kms:Encrypt",
            None,
            0,
        );
        context.set("kms:EncryptionContext:Purpose", "billing");
        assert!(context.values("KMS:encryptioncontext:Purpose").is_some());
        assert!(context.values("kms:EncryptionContext:purpose").is_none());
        assert_eq!(context.username(), Some("alice"));
        assert_eq!(context.values("aws:currenttime").unwrap(), ["1970-01-01T00:00:00Z"]);
        assert_eq!(context.values("kms:CallerAccount").unwrap(), ["111122223333"]);
        assert_eq!(context.values("aws:EpochTime").unwrap(), ["0"]);
        context.set_values("aws:TagKeys", vec!["a".to_owned(), "b".to_owned()]);
        assert_eq!(context.values("AWS:TAGKEYS").unwrap(), ["a", "b"]);
        context.set("Custom:Key", "v");
        assert_eq!(context.values("custom:key").unwrap(), ["v"]);
        for known in WELL_KNOWN_KEYS {
            assert_eq!(lookup_key(known), known, "a well-known key is in lookup form");
        }
    }
}
