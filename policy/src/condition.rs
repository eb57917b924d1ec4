//! The `Condition` element: operators, set qualifiers, `IfExists`, policy variables, and how a
//! condition holds for a request (IAM's documented semantics).

use std::borrow::Cow;
use std::net::IpAddr;

use crate::context::RequestContext;
use crate::document::PolicyError;
use crate::wildcard;

/// How a multi-valued request key is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetQualifier {
    /// At least one request value must satisfy the operator (false when the key is absent).
    ForAnyValue,
    /// Every request value must (true when the key is absent or empty).
    ForAllValues,
}

/// A condition operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)] // the names are AWS's
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const OPERATORS: [(&str, Operator); 26] = [
    ("StringEquals", Operator::StringEquals),
    ("StringNotEquals", Operator::StringNotEquals),
    ("StringEqualsIgnoreCase", Operator::StringEqualsIgnoreCase),
    ("StringNotEqualsIgnoreCase", Operator::StringNotEqualsIgnoreCase),
    ("StringLike", Operator::StringLike),
    ("StringNotLike", Operator::StringNotLike),
    ("NumericEquals", Operator::NumericEquals),
    ("NumericNotEquals", Operator::NumericNotEquals),
    ("NumericLessThan", Operator::NumericLessThan),
    ("NumericLessThanEquals", Operator::NumericLessThanEquals),
    ("NumericGreaterThan", Operator::NumericGreaterThan),
    ("NumericGreaterThanEquals", Operator::NumericGreaterThanEquals),
    ("DateEquals", Operator::DateEquals),
    ("DateNotEquals", Operator::DateNotEquals),
    ("DateLessThan", Operator::DateLessThan),
    ("DateLessThanEquals", Operator::DateLessThanEquals),
    ("DateGreaterThan", Operator::DateGreaterThan),
    ("DateGreaterThanEquals", Operator::DateGreaterThanEquals),
    ("Bool", Operator::Bool),
    ("IpAddress", Operator::IpAddress),
    ("NotIpAddress", Operator::NotIpAddress),
    ("ArnEquals", Operator::ArnEquals),
    ("ArnLike", Operator::ArnLike),
    ("ArnNotEquals", Operator::ArnNotEquals),
    ("ArnNotLike", Operator::ArnNotLike),
    ("Null", Operator::Null),
];

impl Operator {
    /// Whether the operator holds when no policy value matches (the `Not` forms).
    fn negated(self) -> bool {
        matches!(
            self,
            Operator::StringNotEquals
                | Operator::StringNotEqualsIgnoreCase
                | Operator::StringNotLike
                | Operator::NumericNotEquals
                | Operator::DateNotEquals
                | Operator::NotIpAddress
                | Operator::ArnNotEquals
                | Operator::ArnNotLike
        )
    }

    /// Whether request value `actual` matches policy value `expected` in the operator's
    /// positive sense (a `Not` operator negates the result over all policy values).
    fn positive_match(self, expected: &str, actual: &str) -> bool {
        use Operator::*;
        match self {
            StringEquals | StringNotEquals => expected == actual,
            StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => expected.eq_ignore_ascii_case(actual),
            StringLike | StringNotLike => wildcard::matches(expected, actual, false),
            ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => arn_matches(expected, actual),
            NumericEquals | NumericNotEquals => compare(number(expected), number(actual), |e, a| a == e),
            NumericLessThan => compare(number(expected), number(actual), |e, a| a < e),
            NumericLessThanEquals => compare(number(expected), number(actual), |e, a| a <= e),
            NumericGreaterThan => compare(number(expected), number(actual), |e, a| a > e),
            NumericGreaterThanEquals => compare(number(expected), number(actual), |e, a| a >= e),
            DateEquals | DateNotEquals => compare(date(expected), date(actual), |e, a| a == e),
            DateLessThan => compare(date(expected), date(actual), |e, a| a < e),
            DateLessThanEquals => compare(date(expected), date(actual), |e, a| a <= e),
            DateGreaterThan => compare(date(expected), date(actual), |e, a| a > e),
            DateGreaterThanEquals => compare(date(expected), date(actual), |e, a| a >= e),
            Bool => expected.eq_ignore_ascii_case(actual),
            IpAddress | NotIpAddress => cidr_contains(expected, actual),
            // Handled before any value is compared.
            Null => false,
        }
    }

    /// Checks a policy value's form for this operator.
    fn check_value(self, value: &str) -> Result<(), String> {
        use Operator::*;
        let ok = match self {
            NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => number(value).is_some(),
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => date(value).is_some(),
            Bool | Null => value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false"),
            IpAddress | NotIpAddress => parse_cidr(value).is_some(),
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            Err(format!("{value:?} is not a valid value for {self:?}"))
        }
    }
}

/// ARNs match part by part: the six `:`-separated parts (the last keeps its colons), each
/// with wildcards, so a `*` never spans a colon into the next part.
fn arn_matches(pattern: &str, arn: &str) -> bool {
    let pattern: Vec<&str> = pattern.splitn(6, ':').collect();
    let arn: Vec<&str> = arn.splitn(6, ':').collect();
    pattern.len() == 6
        && arn.len() == 6
        && pattern.iter().zip(&arn).all(|(pattern, part)| wildcard::matches(pattern, part, false))
}

fn compare<T: Copy>(expected: Option<T>, actual: Option<T>, holds: impl Fn(T, T) -> bool) -> bool {
    matches!((expected, actual), (Some(e), Some(a)) if holds(e, a))
}

fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Seconds since the epoch, from epoch seconds or an ISO 8601 date or date-time.
fn date(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<i64>() {
        return Some(seconds);
    }
    let rfc3339 = time::format_description::well_known::Rfc3339;
    if let Ok(moment) = time::OffsetDateTime::parse(text, &rfc3339) {
        return Some(moment.unix_timestamp());
    }
    // A date alone (`2026-12-01`): its midnight, UTC.
    let mut parts = text.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let date = time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (address, bits) = match text.split_once('/') {
        Some((address, bits)) => (address, Some(bits.parse::<u8>().ok()?)),
        None => (text, None),
    };
    let address: IpAddr = address.trim().parse().ok()?;
    let max = if address.is_ipv4() { 32 } else { 128 };
    let bits = bits.unwrap_or(max);
    (bits <= max).then_some((address, bits))
}

fn cidr_contains(cidr: &str, address: &str) -> bool {
    let (Some((network, bits)), Ok(address)) = (parse_cidr(cidr), address.trim().parse::<IpAddr>()) else {
        return false;
    };
    let (network, address, width) = match (network, address) {
        (IpAddr::V4(n), IpAddr::V4(a)) => (u128::from(u32::from(n)), u128::from(u32::from(a)), 32u32),
        (IpAddr::V6(n), IpAddr::V6(a)) => (u128::from(n), u128::from(a), 128u32),
        _ => return false,
    };
    let bits = u32::from(bits);
    if bits == 0 {
        return true;
    }
    let shift = width - bits;
    (network >> shift) == (address >> shift)
}

/// One condition: an operator over one key with its policy values.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// `ForAnyValue:` / `ForAllValues:`, if given.
    pub qualifier: Option<SetQualifier>,
    /// The operator.
    pub operator: Operator,
    /// `…IfExists`: holds when the request lacks the key.
    pub if_exists: bool,
    /// The condition key, as written.
    pub key: String,
    /// The policy values (any of which may match), policy variables unexpanded.
    pub values: Vec<String>,
    /// `key` in the request context's lookup form, made once when the policy is parsed.
    lookup_key: String,
}

impl Condition {
    /// The condition `qualifier` `operator` (`if_exists`) on `key` with the policy's `values`.
    pub fn new(
        qualifier: Option<SetQualifier>,
        operator: Operator,
        if_exists: bool,
        key: String,
        values: Vec<String>,
    ) -> Condition {
        let lookup_key = crate::context::lookup_key(&key).into_owned();
        Condition { qualifier, operator, if_exists, key, values, lookup_key }
    }

    /// Parses an operator name as written (`ForAnyValue:StringLikeIfExists`).
    pub fn parse_operator(name: &str) -> Result<(Option<SetQualifier>, Operator, bool), PolicyError> {
        let unknown = || PolicyError::new(format!("Unknown condition operator {name}"));
        let (qualifier, rest) = if let Some(rest) = strip_prefix_ignore_case(name, "ForAnyValue:") {
            (Some(SetQualifier::ForAnyValue), rest)
        } else if let Some(rest) = strip_prefix_ignore_case(name, "ForAllValues:") {
            (Some(SetQualifier::ForAllValues), rest)
        } else {
            (None, name)
        };
        let (base, if_exists) = match rest.len().checked_sub("IfExists".len()) {
            Some(at) if rest.is_char_boundary(at) && rest[at..].eq_ignore_ascii_case("IfExists") => {
                (&rest[..at], true)
            }
            _ => (rest, false),
        };
        let operator = OPERATORS
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(base))
            .map(|(_, operator)| *operator)
            .ok_or_else(unknown)?;
        if operator == Operator::Null && (if_exists || qualifier.is_some()) {
            return Err(unknown());
        }
        Ok((qualifier, operator, if_exists))
    }

    /// Checks the policy values' forms.
    pub fn check(&self) -> Result<(), PolicyError> {
        for value in &self.values {
            // A value with a policy variable is checked once expanded.
            if !value.contains("${") {
                self.operator.check_value(value).map_err(PolicyError::new)?;
            }
        }
        Ok(())
    }

    /// Whether the condition holds for `context`.
    pub fn holds(&self, context: &RequestContext) -> bool {
        let actual = context.values_by_lookup_key(&self.lookup_key).filter(|values| !values.is_empty());
        if self.operator == Operator::Null {
            let wants_absent = self.values.iter().any(|value| value.eq_ignore_ascii_case("true"));
            return wants_absent == actual.is_none();
        }
        // A policy variable the request cannot fill makes the condition false, whatever the
        // operator and whether or not the request has the key (dropping the value would make a
        // negated operator hold).
        let Some(expected) = self
            .values
            .iter()
            .map(|value| expand_variables(value, context))
            .collect::<Option<Vec<Cow<str>>>>()
        else {
            return false;
        };
        let Some(actual) = actual else {
            if self.if_exists {
                return true;
            }
            return match self.qualifier {
                Some(SetQualifier::ForAllValues) => true,
                Some(SetQualifier::ForAnyValue) => false,
                None => self.operator.negated(),
            };
        };

        // Whether one request value satisfies the operator against every policy value given.
        let satisfies = |value: &String| {
            let any = expected.iter().any(|policy| self.operator.positive_match(policy, value));
            if self.operator.negated() {
                !any
            } else {
                any
            }
        };
        match self.qualifier {
            Some(SetQualifier::ForAllValues) => actual.iter().all(satisfies),
            Some(SetQualifier::ForAnyValue) | None => {
                if self.operator.negated() && self.qualifier.is_none() {
                    actual.iter().all(satisfies)
                } else {
                    actual.iter().any(satisfies)
                }
            }
        }
    }
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

/// Expands `${key}` policy variables from the request (`${*}`, `${?}`, `${$}` are the literal
/// characters); `None` when a variable's key is not in the request (the value then matches
/// nothing).
pub(crate) fn expand_variables<'v>(value: &'v str, context: &RequestContext) -> Option<Cow<'v, str>> {
    if !value.contains("${") {
        return Some(Cow::Borrowed(value));
    }
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}')?;
        let name = &after[..end];
        match name {
            "*" | "?" | "$" => out.push_str(name),
            _ => out.push_str(context.values(name)?.first()?),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(Cow::Owned(out))
}
