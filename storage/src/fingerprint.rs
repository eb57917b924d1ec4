//! Write fingerprints: FNV-1a over a canonical listing of fields (each length-prefixed), so a
//! fingerprint depends on what a command says, never on how its layout is encoded.

const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a of `bytes`.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(OFFSET, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(PRIME))
}

/// A fingerprint being built, field by field.
pub(crate) struct Fingerprint(u64);

impl Fingerprint {
    /// Starts a fingerprint of a command called `name`.
    pub(crate) fn new(name: &str) -> Fingerprint {
        let mut print = Fingerprint(OFFSET);
        print.text(name);
        print
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.0 = bytes.iter().fold(self.0, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(PRIME));
    }

    /// A byte string, length first.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> &mut Fingerprint {
        self.raw(&(bytes.len() as u64).to_be_bytes());
        self.raw(bytes);
        self
    }

    /// A string.
    pub(crate) fn text(&mut self, text: &str) -> &mut Fingerprint {
        self.bytes(text.as_bytes())
    }

    /// A number.
    pub(crate) fn number(&mut self, number: u64) -> &mut Fingerprint {
        self.raw(&number.to_be_bytes());
        self
    }

    /// A key id.
    pub(crate) fn key(&mut self, key_id: &crate::KeyId) -> &mut Fingerprint {
        self.bytes(key_id.as_bytes())
    }

    /// A list of strings, count first.
    pub(crate) fn texts(&mut self, texts: &[String]) -> &mut Fingerprint {
        self.number(texts.len() as u64);
        for text in texts {
            self.text(text);
        }
        self
    }

    /// A list of pairs (tags), count first, in the order given.
    pub(crate) fn pairs(&mut self, pairs: &[(String, String)]) -> &mut Fingerprint {
        self.number(pairs.len() as u64);
        for (key, value) in pairs {
            self.text(key).text(value);
        }
        self
    }

    /// The fingerprint.
    pub(crate) fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_length_prefixed_so_boundaries_cannot_shift() {
        let one = Fingerprint::new("TagKey").text("ab").text("c").finish();
        let two = Fingerprint::new("TagKey").text("a").text("bc").finish();
        assert_ne!(one, two);
        assert_ne!(Fingerprint::new("EnableKey").finish(), Fingerprint::new("DisableKey").finish());
    }
}
