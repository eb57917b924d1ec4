//! The aws-lc primitives aws-lc-rs does not wrap, behind safe functions: Ed25519ph over a
//! SHA-512 digest (RFC 8032), ML-DSA signing and verification of an external μ and the seed of
//! an ML-DSA key read from PKCS#8 (FIPS 204), and ML-KEM keys read from PKCS#8 and written as
//! SPKI and PKCS#8, with encapsulation and decapsulation (FIPS 203).
//! This is the crate's only `unsafe` code: every length is fixed by the argument's type or
//! checked before the call, and every block says why it is sound.

use std::ffi::c_int;
use std::mem::MaybeUninit;
use std::ptr::{self, NonNull};

use aws_lc_sys as sys;
use zeroize::Zeroizing;

use crate::message::MU_LEN;
use crate::KeysError;

/// The length of an Ed25519 seed (RFC 8032's private key).
pub(crate) const ED25519_SEED_LEN: usize = 32;
/// The length of a raw Ed25519 public key.
pub(crate) const ED25519_PUBLIC_KEY_LEN: usize = 32;
/// The length of an Ed25519 signature.
pub(crate) const ED25519_SIGNATURE_LEN: usize = 64;
/// The length of a SHA-512 digest, what Ed25519ph signs.
pub(crate) const SHA512_LEN: usize = 64;
/// The length of an ML-DSA seed (ξ).
pub(crate) const ML_DSA_SEED_LEN: usize = 32;
/// The length of an ML-KEM shared secret, for every parameter set.
pub(crate) const ML_KEM_SHARED_SECRET_LEN: usize = 32;

/// The NIDs aws-lc names Ed25519 keys and the ML-DSA and ML-KEM parameter sets by.
pub(crate) use sys::{
    EVP_PKEY_ED25519, NID_MLDSA44, NID_MLDSA65, NID_MLDSA87, NID_MLKEM1024, NID_MLKEM512, NID_MLKEM768,
};

/// An Ed25519 private key in aws-lc's 64-byte form (seed ‖ public key), for Ed25519ph.
pub(crate) struct Ed25519PrehashKey {
    private_key: Zeroizing<[u8; 64]>,
}

impl Ed25519PrehashKey {
    /// Expands an RFC 8032 seed.
    pub(crate) fn from_seed(seed: &[u8; ED25519_SEED_LEN]) -> Ed25519PrehashKey {
        let mut public_key = [0u8; ED25519_PUBLIC_KEY_LEN];
        let mut private_key = Zeroizing::new([0u8; 64]);
        // SAFETY: the pointers are valid for the 32, 64 and 32 bytes ED25519_keypair_from_seed
        // writes and reads; the function cannot fail.
        unsafe {
            sys::ED25519_keypair_from_seed(public_key.as_mut_ptr(), private_key.as_mut_ptr(), seed.as_ptr())
        };
        Ed25519PrehashKey { private_key }
    }

    /// Ed25519ph with an empty context over a SHA-512 `digest`.
    pub(crate) fn sign_digest(
        &self,
        digest: &[u8; SHA512_LEN],
    ) -> Result<[u8; ED25519_SIGNATURE_LEN], KeysError> {
        let mut signature = [0u8; ED25519_SIGNATURE_LEN];
        // SAFETY: the signature, digest and private key buffers have the 64 bytes each that
        // ED25519ph_sign_digest uses; the empty context is a null pointer of length 0.
        let signed = unsafe {
            sys::ED25519ph_sign_digest(
                signature.as_mut_ptr(),
                digest.as_ptr(),
                self.private_key.as_ptr(),
                ptr::null(),
                0,
            )
        };
        if signed == 1 {
            Ok(signature)
        } else {
            Err(KeysError::Crypto)
        }
    }
}

/// Whether `signature` is an Ed25519ph signature (empty context) of the SHA-512 `digest`.
pub(crate) fn ed25519ph_verify_digest(
    public_key: &[u8; ED25519_PUBLIC_KEY_LEN],
    digest: &[u8; SHA512_LEN],
    signature: &[u8],
) -> bool {
    let Ok(signature) = <&[u8; ED25519_SIGNATURE_LEN]>::try_from(signature) else {
        return false;
    };
    // SAFETY: digest and signature have 64 bytes and the public key 32, as
    // ED25519ph_verify_digest reads; the empty context is a null pointer of length 0.
    let verified = unsafe {
        sys::ED25519ph_verify_digest(digest.as_ptr(), signature.as_ptr(), public_key.as_ptr(), ptr::null(), 0)
    };
    verified == 1
}

/// An aws-lc function that copies one representation of a key (`EVP_PKEY_get_raw_public_key`,
/// `_private_key`, `EVP_PKEY_get_private_seed`): with a null output it writes only the length.
type RawGetter = unsafe extern "C" fn(*const sys::EVP_PKEY, *mut u8, *mut usize) -> c_int;

/// An owned aws-lc `EVP_PKEY`, freed on drop.
pub(crate) struct EvpKey(NonNull<sys::EVP_PKEY>);

// SAFETY: aws-lc documents that an EVP_PKEY may be used by several threads at once through
// non-mutating functions. After construction this type only reads the key; creating an
// EVP_PKEY_CTX takes a reference with an atomic count, as aws-lc-rs's own shared keys do.
unsafe impl Send for EvpKey {}
// SAFETY: as for Send.
unsafe impl Sync for EvpKey {}

impl Drop for EvpKey {
    fn drop(&mut self) {
        // SAFETY: this value owns one reference to the key, released once here.
        unsafe { sys::EVP_PKEY_free(self.0.as_ptr()) }
    }
}

impl EvpKey {
    fn from_raw(key: *mut sys::EVP_PKEY) -> Result<EvpKey, KeysError> {
        NonNull::new(key).map(EvpKey).ok_or(KeysError::Crypto)
    }

    /// Parses a DER SubjectPublicKeyInfo, refusing trailing bytes.
    pub(crate) fn parse_spki(der: &[u8]) -> Result<EvpKey, KeysError> {
        let mut cbs = sys::CBS { data: der.as_ptr(), len: der.len() };
        // SAFETY: cbs borrows `der` for the duration of the call; EVP_parse_public_key reads
        // within it and returns a new key (owned by us) or null.
        let key = unsafe { sys::EVP_parse_public_key(&mut cbs) };
        let key = EvpKey::from_raw(key).map_err(|_| KeysError::InvalidPublicKey)?;
        if cbs.len == 0 {
            Ok(key)
        } else {
            Err(KeysError::InvalidPublicKey)
        }
    }

    /// The ML-DSA key of parameter set `nid` whose seed is `seed`.
    pub(crate) fn ml_dsa_from_seed(nid: c_int, seed: &[u8; ML_DSA_SEED_LEN]) -> Result<EvpKey, KeysError> {
        // SAFETY: `seed` is valid for the 32 bytes passed; aws-lc copies what it needs and
        // returns a new key (owned by us) or null.
        EvpKey::from_raw(unsafe { sys::EVP_PKEY_pqdsa_new_raw_private_key(nid, seed.as_ptr(), seed.len()) })
    }

    /// Parses PKCS#8 DER (v1 or v2), refusing trailing bytes.
    pub(crate) fn parse_pkcs8(der: &[u8]) -> Result<EvpKey, KeysError> {
        let mut cbs = sys::CBS { data: der.as_ptr(), len: der.len() };
        // SAFETY: cbs borrows `der` for the duration of the call; EVP_parse_private_key reads
        // within it and returns a new key (owned by us) or null.
        let key = EvpKey::from_raw(unsafe { sys::EVP_parse_private_key(&mut cbs) })?;
        if cbs.len == 0 {
            Ok(key)
        } else {
            Err(KeysError::Crypto)
        }
    }

    /// The key's NID: the parameter set for ML-DSA and ML-KEM keys, else the key type.
    pub(crate) fn nid(&self) -> c_int {
        let key = self.0.as_ptr();
        // SAFETY: these getters only read the live key.
        unsafe {
            match sys::EVP_PKEY_id(key) {
                sys::EVP_PKEY_PQDSA => sys::EVP_PKEY_pqdsa_get_type(key),
                sys::EVP_PKEY_KEM => sys::EVP_PKEY_kem_get_type(key),
                other => other,
            }
        }
    }

    /// The public key as a DER SubjectPublicKeyInfo.
    pub(crate) fn spki_der(&self) -> Result<Vec<u8>, KeysError> {
        // SAFETY: `cbb` is an initialised CBB; the key is live and only read.
        marshal(|cbb| unsafe { sys::EVP_marshal_public_key(cbb, self.0.as_ptr()) }).map(|der| der.to_vec())
    }

    /// The private key as PKCS#8 v1 DER (for ML-KEM: the seed form).
    pub(crate) fn pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeysError> {
        // SAFETY: `cbb` is an initialised CBB; the key is live and only read.
        marshal(|cbb| unsafe { sys::EVP_marshal_private_key(cbb, self.0.as_ptr()) })
    }

    /// One representation of the key, copied out by an aws-lc getter of the
    /// `EVP_PKEY_get_raw_public_key` kind, in a buffer zeroized on drop.
    fn raw(&self, get: RawGetter) -> Result<Zeroizing<Vec<u8>>, KeysError> {
        let mut len = 0usize;
        // SAFETY: the key is live and only read; with a null output the getter only writes
        // the length.
        if unsafe { get(self.0.as_ptr(), ptr::null_mut(), &mut len) } != 1 {
            return Err(KeysError::Crypto);
        }
        let mut raw = Zeroizing::new(vec![0u8; len]);
        // SAFETY: `raw` has the `len` bytes the getter asked for, and it writes at most `len`.
        if unsafe { get(self.0.as_ptr(), raw.as_mut_ptr(), &mut len) } != 1 {
            return Err(KeysError::Crypto);
        }
        raw.truncate(len);
        Ok(raw)
    }

    /// The raw public key bytes.
    pub(crate) fn raw_public_key(&self) -> Result<Vec<u8>, KeysError> {
        Ok(self.raw(sys::EVP_PKEY_get_raw_public_key)?.to_vec())
    }

    /// The raw private key bytes (for ML-DSA, FIPS 204's expanded private key).
    pub(crate) fn raw_private_key(&self) -> Result<Zeroizing<Vec<u8>>, KeysError> {
        self.raw(sys::EVP_PKEY_get_raw_private_key)
    }

    /// The 32-byte RFC 8032 seed of this (private) Ed25519 key.
    pub(crate) fn ed25519_seed(&self) -> Result<Zeroizing<[u8; ED25519_SEED_LEN]>, KeysError> {
        if self.nid() != sys::EVP_PKEY_ED25519 {
            return Err(KeysError::Crypto);
        }
        let mut seed = Zeroizing::new([0u8; ED25519_SEED_LEN]);
        let mut len = seed.len();
        // SAFETY: `seed` has the 32 bytes aws-lc writes for an Ed25519 key (it checks `len`).
        let copied =
            unsafe { sys::EVP_PKEY_get_raw_private_key(self.0.as_ptr(), seed.as_mut_ptr(), &mut len) };
        if copied == 1 && len == ED25519_SEED_LEN {
            Ok(seed)
        } else {
            Err(KeysError::Crypto)
        }
    }

    /// The 32-byte seed ξ of this (private) ML-DSA key. A key read from PKCS#8 that held only
    /// the expanded private key has no seed, and neither has any other kind of key.
    pub(crate) fn ml_dsa_seed(&self) -> Result<Zeroizing<Vec<u8>>, KeysError> {
        // SAFETY: the getter only reads the live key.
        if unsafe { sys::EVP_PKEY_id(self.0.as_ptr()) } != sys::EVP_PKEY_PQDSA {
            return Err(KeysError::Crypto);
        }
        let seed = self.raw(sys::EVP_PKEY_get_private_seed)?;
        if seed.len() == ML_DSA_SEED_LEN {
            Ok(seed)
        } else {
            Err(KeysError::Crypto)
        }
    }

    /// Signs an ML-DSA μ with this (private) ML-DSA key.
    pub(crate) fn ml_dsa_sign_mu(&self, mu: &[u8; MU_LEN]) -> Result<Vec<u8>, KeysError> {
        let context = Context::for_key(self)?;
        // SAFETY: `context` is live and bound to this key.
        if unsafe { sys::EVP_PKEY_sign_init(context.as_ptr()) } != 1 {
            return Err(KeysError::Crypto);
        }
        let mut len = 0usize;
        // SAFETY: with a null signature aws-lc only writes the signature length; `mu` has the
        // 64 bytes passed.
        let sized =
            unsafe { sys::EVP_PKEY_sign(context.as_ptr(), ptr::null_mut(), &mut len, mu.as_ptr(), mu.len()) };
        if sized != 1 {
            return Err(KeysError::Crypto);
        }
        let mut signature = vec![0u8; len];
        // SAFETY: `signature` has the `len` bytes aws-lc asked for; `mu` has 64 bytes. On this
        // path (EVP_PKEY_sign, not EVP_DigestSign) aws-lc signs its input as μ.
        let signed = unsafe {
            sys::EVP_PKEY_sign(context.as_ptr(), signature.as_mut_ptr(), &mut len, mu.as_ptr(), mu.len())
        };
        if signed != 1 {
            return Err(KeysError::Crypto);
        }
        signature.truncate(len);
        Ok(signature)
    }

    /// Whether `signature` is this ML-DSA key's signature of the μ `mu`.
    pub(crate) fn ml_dsa_verify_mu(&self, mu: &[u8; MU_LEN], signature: &[u8]) -> Result<bool, KeysError> {
        let context = Context::for_key(self)?;
        // SAFETY: `context` is live and bound to this key.
        if unsafe { sys::EVP_PKEY_verify_init(context.as_ptr()) } != 1 {
            return Err(KeysError::Crypto);
        }
        // SAFETY: both buffers are valid for the lengths passed; aws-lc checks the signature's.
        let verified = unsafe {
            sys::EVP_PKEY_verify(context.as_ptr(), signature.as_ptr(), signature.len(), mu.as_ptr(), mu.len())
        };
        Ok(verified == 1)
    }

    /// A fresh ciphertext and shared secret for this ML-KEM key.
    pub(crate) fn ml_kem_encapsulate(&self) -> Result<(Vec<u8>, Zeroizing<Vec<u8>>), KeysError> {
        let context = Context::for_key(self)?;
        let (mut ciphertext_len, mut secret_len) = (0usize, 0usize);
        // SAFETY: with both outputs null aws-lc only writes the two lengths.
        let sized = unsafe {
            sys::EVP_PKEY_encapsulate(
                context.as_ptr(),
                ptr::null_mut(),
                &mut ciphertext_len,
                ptr::null_mut(),
                &mut secret_len,
            )
        };
        if sized != 1 {
            return Err(KeysError::Crypto);
        }
        let mut ciphertext = vec![0u8; ciphertext_len];
        let mut secret = Zeroizing::new(vec![0u8; secret_len]);
        // SAFETY: both buffers have the lengths aws-lc asked for and writes at most.
        let encapsulated = unsafe {
            sys::EVP_PKEY_encapsulate(
                context.as_ptr(),
                ciphertext.as_mut_ptr(),
                &mut ciphertext_len,
                secret.as_mut_ptr(),
                &mut secret_len,
            )
        };
        if encapsulated != 1 {
            return Err(KeysError::Crypto);
        }
        ciphertext.truncate(ciphertext_len);
        secret.truncate(secret_len);
        Ok((ciphertext, secret))
    }

    /// The shared secret of `ciphertext` under this (private) ML-KEM key.
    pub(crate) fn ml_kem_decapsulate(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeysError> {
        let context = Context::for_key(self)?;
        let mut secret = Zeroizing::new(vec![0u8; ML_KEM_SHARED_SECRET_LEN]);
        let mut secret_len = secret.len();
        // SAFETY: `secret` has the 32 bytes every ML-KEM secret takes; `ciphertext` is valid for
        // its length, which aws-lc checks against the parameter set.
        let decapsulated = unsafe {
            sys::EVP_PKEY_decapsulate(
                context.as_ptr(),
                secret.as_mut_ptr(),
                &mut secret_len,
                ciphertext.as_ptr(),
                ciphertext.len(),
            )
        };
        if decapsulated != 1 {
            return Err(KeysError::InvalidCiphertext);
        }
        secret.truncate(secret_len);
        Ok(secret)
    }
}

/// An owned `EVP_PKEY_CTX`, freed on drop.
struct Context(NonNull<sys::EVP_PKEY_CTX>);

impl Context {
    fn for_key(key: &EvpKey) -> Result<Context, KeysError> {
        // SAFETY: the key is live; the context takes its own (atomically counted) reference.
        let context = unsafe { sys::EVP_PKEY_CTX_new(key.0.as_ptr(), ptr::null_mut()) };
        NonNull::new(context).map(Context).ok_or(KeysError::Crypto)
    }

    fn as_ptr(&self) -> *mut sys::EVP_PKEY_CTX {
        self.0.as_ptr()
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: this value owns the context, released once here.
        unsafe { sys::EVP_PKEY_CTX_free(self.0.as_ptr()) }
    }
}

/// Runs `write` on a growable CBB and returns what it wrote, in a buffer zeroized on drop.
fn marshal(write: impl FnOnce(*mut sys::CBB) -> c_int) -> Result<Zeroizing<Vec<u8>>, KeysError> {
    struct Cbb(sys::CBB);
    impl Drop for Cbb {
        fn drop(&mut self) {
            // SAFETY: the CBB was initialised; cleaning up after CBB_finish is allowed.
            unsafe { sys::CBB_cleanup(&mut self.0) }
        }
    }

    let mut uninit = MaybeUninit::<sys::CBB>::uninit();
    // SAFETY: CBB_init initialises the CBB (zeroing it first, so a failure leaves nothing to free).
    if unsafe { sys::CBB_init(uninit.as_mut_ptr(), 256) } != 1 {
        return Err(KeysError::Crypto);
    }
    // SAFETY: CBB_init succeeded, so the CBB is initialised; it has no children, so moving it is fine.
    let mut cbb = Cbb(unsafe { uninit.assume_init() });
    if write(&mut cbb.0) != 1 {
        return Err(KeysError::Crypto);
    }
    let (mut data, mut len) = (ptr::null_mut::<u8>(), 0usize);
    // SAFETY: the CBB is initialised; on success aws-lc hands us `len` bytes at `data`.
    if unsafe { sys::CBB_finish(&mut cbb.0, &mut data, &mut len) } != 1 || data.is_null() {
        return Err(KeysError::Crypto);
    }
    // SAFETY: `data` points to `len` initialised bytes we own until OPENSSL_free, which also
    // cleanses them.
    let bytes = Zeroizing::new(unsafe { std::slice::from_raw_parts(data, len) }.to_vec());
    // SAFETY: `data` came from CBB_finish and is freed once.
    unsafe { sys::OPENSSL_free(data.cast()) };
    Ok(bytes)
}

/// SHAKE256 of the concatenated `parts`, `out_len` bytes long (for computing μ in tests).
#[cfg(test)]
pub(crate) fn shake256(parts: &[&[u8]], out_len: usize) -> Vec<u8> {
    let mut out = vec![0u8; out_len];
    // SAFETY: a test helper: the context is checked, used and freed here; every buffer is
    // valid for the length passed with it.
    unsafe {
        let context = sys::EVP_MD_CTX_new();
        assert!(!context.is_null());
        assert_eq!(sys::EVP_DigestInit_ex(context, sys::EVP_shake256(), ptr::null_mut()), 1);
        for part in parts {
            assert_eq!(sys::EVP_DigestUpdate(context, part.as_ptr().cast(), part.len()), 1);
        }
        assert_eq!(sys::EVP_DigestFinalXOF(context, out.as_mut_ptr(), out_len), 1);
        sys::EVP_MD_CTX_free(context);
    }
    out
}
