//! The request as policies see it: who calls, what action on which resource, and the condition
//! keys with their values.

use std::collections::BTreeMap;

/// Condition-key families whose last part names something the caller chose (an encryption
/// context key, a tag key): that part keeps its case, the rest is compared without case.
const CASE_KEEPING_FAMILIES: [&str; 3] = ["kms:encryptioncontext:", "aws:resourcetag/", "aws:requesttag/"];

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
    keys: BTreeMap<String, Vec<String>>,
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
        context.set("aws:EpochTime", &epoch_seconds.to_string());
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
            context.set("aws:CurrentTime", &text);
        }
        context
    }

    /// Sets a single-valued condition key.
    pub fn set(&mut self, key: &str, value: &str) -> &mut RequestContext {
        self.keys.insert(normalize(key), vec![value.to_owned()]);
        self
    }

    /// Sets a multi-valued condition key (`kms:EncryptionContextKeys`, `aws:TagKeys`, …).
    pub fn set_values(&mut self, key: &str, values: Vec<String>) -> &mut RequestContext {
        self.keys.insert(normalize(key), values);
        self
    }

    /// The values of a condition key, if the request has it.
    pub fn values(&self, key: &str) -> Option<&[String]> {
        self.keys.get(&normalize(key)).map(Vec::as_slice)
    }

    /// The caller's user name, for `${aws:username}`.
    pub fn username(&self) -> Option<&str> {
        self.values("aws:username").and_then(|values| values.first()).map(String::as_str)
    }
}

/// The lookup form of a condition key: case-insensitive, except the caller-chosen suffix of the
/// families that name encryption context and tag keys.
fn normalize(key: &str) -> String {
    let lower = key.to_ascii_lowercase();
    for family in CASE_KEEPING_FAMILIES {
        if lower.starts_with(family) && key.is_char_boundary(family.len()) {
            return format!("{family}{}", &key[family.len()..]);
        }
    }
    lower
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
    }
}
