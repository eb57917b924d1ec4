//! Typed calls on asymmetric, HMAC and post-quantum keys: Sign, Verify, GetPublicKey,
//! GenerateMac, VerifyMac, DeriveSharedSecret, Encapsulate, Decapsulate, GenerateDataKeyPair and
//! GenerateDataKeyPairWithoutPlaintext.

use trent_wire::asymmetric::{
    DecapsulateRequest, DecapsulateResponse, DeriveSharedSecretRequest, DeriveSharedSecretResponse,
    EncapsulateRequest, EncapsulateResponse, GenerateDataKeyPairRequest, GenerateDataKeyPairResponse,
    GenerateMacRequest, GenerateMacResponse, GetPublicKeyRequest, GetPublicKeyResponse, SignRequest,
    SignResponse, VerifyMacRequest, VerifyMacResponse, VerifyRequest, VerifyResponse,
};
use trent_wire::Operation;

use crate::client::TrentClient;
use crate::error::ClientError;

impl TrentClient {
    /// `Sign`: a signature by a SIGN_VERIFY key.
    pub async fn sign(&self, request: &SignRequest) -> Result<SignResponse, ClientError> {
        self.call(Operation::Sign.name(), request).await
    }

    /// `Verify`: an invalid signature is the error `KMSInvalidSignatureException`.
    pub async fn verify(&self, request: &VerifyRequest) -> Result<VerifyResponse, ClientError> {
        self.call(Operation::Verify.name(), request).await
    }

    /// `GetPublicKey`: the DER SubjectPublicKeyInfo of an asymmetric key.
    pub async fn get_public_key(
        &self,
        request: &GetPublicKeyRequest,
    ) -> Result<GetPublicKeyResponse, ClientError> {
        self.call(Operation::GetPublicKey.name(), request).await
    }

    /// `GenerateMac`: an HMAC by a GENERATE_VERIFY_MAC key.
    pub async fn generate_mac(
        &self,
        request: &GenerateMacRequest,
    ) -> Result<GenerateMacResponse, ClientError> {
        self.call(Operation::GenerateMac.name(), request).await
    }

    /// `VerifyMac`: a wrong MAC is the error `KMSInvalidMacException`.
    pub async fn verify_mac(&self, request: &VerifyMacRequest) -> Result<VerifyMacResponse, ClientError> {
        self.call(Operation::VerifyMac.name(), request).await
    }

    /// `DeriveSharedSecret`: ECDH with a peer's public key.
    pub async fn derive_shared_secret(
        &self,
        request: &DeriveSharedSecretRequest,
    ) -> Result<DeriveSharedSecretResponse, ClientError> {
        self.call(Operation::DeriveSharedSecret.name(), request).await
    }

    /// `Encapsulate`: a fresh ML-KEM shared secret and its ciphertext.
    pub async fn encapsulate(
        &self,
        request: &EncapsulateRequest,
    ) -> Result<EncapsulateResponse, ClientError> {
        self.call(Operation::Encapsulate.name(), request).await
    }

    /// `Decapsulate`: the shared secret of an Encapsulate ciphertext.
    pub async fn decapsulate(
        &self,
        request: &DecapsulateRequest,
    ) -> Result<DecapsulateResponse, ClientError> {
        self.call(Operation::Decapsulate.name(), request).await
    }

    /// `GenerateDataKeyPair`: a key pair, its private key also encrypted under a symmetric key.
    pub async fn generate_data_key_pair(
        &self,
        request: &GenerateDataKeyPairRequest,
    ) -> Result<GenerateDataKeyPairResponse, ClientError> {
        self.call(Operation::GenerateDataKeyPair.name(), request).await
    }

    /// `GenerateDataKeyPairWithoutPlaintext`: the same without the plaintext private key.
    pub async fn generate_data_key_pair_without_plaintext(
        &self,
        request: &GenerateDataKeyPairRequest,
    ) -> Result<GenerateDataKeyPairResponse, ClientError> {
        self.call(Operation::GenerateDataKeyPairWithoutPlaintext.name(), request).await
    }
}
