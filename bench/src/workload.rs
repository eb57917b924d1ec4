//! What the load generator sends: the operations it knows, and a weighted mix of them
//! (`encrypt=70,decrypt=30`) from which each call draws one, deterministically from the call's
//! sequence number so that a run is reproducible.

use clap::ValueEnum;

/// Most distinct operations in a mix.
const MAX_MIX_ENTRIES: usize = 16;
/// Largest weight of one entry.
const MAX_WEIGHT: u32 = 1_000_000;

/// An operation, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
pub enum Op {
    /// `CreateKey` of a `--key-spec` key: a replicated write (etcd: a put of a fresh key).
    CreateKey,
    /// `DescribeKey`: a linearizable management read (etcd: a range read).
    DescribeKey,
    /// `Encrypt` of `--plaintext-bytes` bytes.
    Encrypt,
    /// `Decrypt` of a blob made by one `Encrypt` of `--plaintext-bytes` bytes.
    Decrypt,
    /// `GenerateDataKey` (AES_256).
    GenerateDataKey,
    /// `ReEncrypt` of a blob to the same key.
    ReEncrypt,
    /// `GenerateRandom` of 32 bytes: no key, no state.
    GenerateRandom,
    /// `Sign` of a `--plaintext-bytes` RAW message with the key spec's algorithm.
    Sign,
    /// `Verify` of a signature made by one `Sign` of the same message per key.
    Verify,
    /// `GenerateMac` of a `--plaintext-bytes` message with an HMAC key's algorithm.
    GenerateMac,
    /// `DeriveSharedSecret` (ECDH) with one peer public key made before the run.
    DeriveSharedSecret,
    /// `Encapsulate` (ML-KEM).
    Encapsulate,
    /// `ListKeyRotations` of a key with `Limit` 1000: one page of up to AWS's most rotations.
    ListKeyRotations,
}

impl Op {
    /// The operation's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Op::CreateKey => "create-key",
            Op::DescribeKey => "describe-key",
            Op::Encrypt => "encrypt",
            Op::Decrypt => "decrypt",
            Op::GenerateDataKey => "generate-data-key",
            Op::ReEncrypt => "re-encrypt",
            Op::GenerateRandom => "generate-random",
            Op::Sign => "sign",
            Op::Verify => "verify",
            Op::GenerateMac => "generate-mac",
            Op::DeriveSharedSecret => "derive-shared-secret",
            Op::Encapsulate => "encapsulate",
            Op::ListKeyRotations => "list-key-rotations",
        }
    }

    /// The AWS operation name (`X-Amz-Target: TrentService.<target>`).
    pub fn target(self) -> &'static str {
        match self {
            Op::CreateKey => "CreateKey",
            Op::DescribeKey => "DescribeKey",
            Op::Encrypt => "Encrypt",
            Op::Decrypt => "Decrypt",
            Op::GenerateDataKey => "GenerateDataKey",
            Op::ReEncrypt => "ReEncrypt",
            Op::GenerateRandom => "GenerateRandom",
            Op::Sign => "Sign",
            Op::Verify => "Verify",
            Op::GenerateMac => "GenerateMac",
            Op::DeriveSharedSecret => "DeriveSharedSecret",
            Op::Encapsulate => "Encapsulate",
            Op::ListKeyRotations => "ListKeyRotations",
        }
    }

    /// Whether the operation needs ciphertexts made before the run.
    pub fn needs_ciphertexts(self) -> bool {
        matches!(self, Op::Decrypt | Op::ReEncrypt)
    }

    /// Whether the operation needs signatures made before the run.
    pub fn needs_signatures(self) -> bool {
        self == Op::Verify
    }
}

/// Operations with weights; each call draws one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mix {
    entries: Vec<(Op, u32)>,
    total: u64,
}

impl Mix {
    /// Every call is `op`.
    pub fn single(op: Op) -> Mix {
        Mix { entries: vec![(op, 1)], total: 1 }
    }

    /// Parses `op=weight,op=weight` (a bare `op` weighs 1), e.g. `encrypt=70,decrypt=30`.
    pub fn parse(text: &str) -> Result<Mix, String> {
        let mut entries: Vec<(Op, u32)> = Vec::new();
        for item in text.split(',').map(str::trim).filter(|item| !item.is_empty()) {
            let (name, weight) = item.split_once('=').unwrap_or((item, "1"));
            let op = Op::from_str(name.trim(), true).map_err(|_| format!("unknown operation {name:?}"))?;
            let weight: u32 =
                weight.trim().parse().map_err(|_| format!("weight of {name} is not a number"))?;
            if weight == 0 || weight > MAX_WEIGHT {
                return Err(format!("weight of {name} must be 1 to {MAX_WEIGHT}"));
            }
            if entries.iter().any(|(seen, _)| *seen == op) {
                return Err(format!("{name} appears twice"));
            }
            entries.push((op, weight));
        }
        if entries.is_empty() || entries.len() > MAX_MIX_ENTRIES {
            return Err(format!("give 1 to {MAX_MIX_ENTRIES} operations"));
        }
        let total = entries.iter().map(|(_, weight)| u64::from(*weight)).sum();
        Ok(Mix { entries, total })
    }

    /// The operation of call number `sequence`.
    pub fn pick(&self, sequence: u64) -> Op {
        let mut point = scramble(sequence) % self.total;
        for (op, weight) in &self.entries {
            if point < u64::from(*weight) {
                return *op;
            }
            point -= u64::from(*weight);
        }
        self.entries[0].0
    }

    /// The operations in the mix.
    pub fn ops(&self) -> impl Iterator<Item = Op> + '_ {
        self.entries.iter().map(|(op, _)| *op)
    }

    /// The mix as `op=weight,...`, or the bare name of a single operation.
    pub fn describe(&self) -> String {
        match self.entries.as_slice() {
            [(op, _)] => op.name().to_owned(),
            entries => entries
                .iter()
                .map(|(op, weight)| format!("{}={weight}", op.name()))
                .collect::<Vec<_>>()
                .join(","),
        }
    }
}

/// A well-spread 64-bit value from `n` (splitmix64's finaliser): the same sequence number always
/// picks the same operation and key, and neighbouring numbers land far apart.
pub fn scramble(n: u64) -> u64 {
    let mut z = n.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn op_names_match_the_command_line() {
        for op in Op::value_variants() {
            assert_eq!(Op::from_str(op.name(), false).unwrap(), *op);
        }
    }

    #[test]
    fn a_mix_draws_each_operation_about_as_often_as_its_weight() {
        let mix = Mix::parse("encrypt=70, decrypt=30").unwrap();
        assert_eq!(mix.describe(), "encrypt=70,decrypt=30");
        let encrypts = (0..100_000).filter(|n| mix.pick(*n) == Op::Encrypt).count();
        assert!((68_000..72_000).contains(&encrypts), "{encrypts}");
        assert_eq!(mix.pick(12345), mix.pick(12345), "reproducible");
        assert_eq!(Mix::parse("create-key").unwrap(), Mix::single(Op::CreateKey));
        assert_eq!(Mix::parse("derive-shared-secret").unwrap(), Mix::single(Op::DeriveSharedSecret));
        assert_eq!(Mix::parse("sign=3,verify=1").unwrap().describe(), "sign=3,verify=1");
    }

    #[test]
    fn a_mix_refuses_nonsense() {
        for bad in [
            "",
            "frobnicate=1",
            "sign-mac=1",
            "encrypt=0",
            "encrypt=x",
            "encrypt=1,encrypt=2",
            "encrypt=2000000",
        ] {
            assert!(Mix::parse(bad).is_err(), "{bad:?}");
        }
    }
}
