//! Typed calls of the KMS data plane: Encrypt, Decrypt, ReEncrypt, GenerateDataKey,
//! GenerateDataKeyWithoutPlaintext, GenerateRandom.

use trent_wire::data_plane::{
    DecryptRequest, DecryptResponse, EncryptRequest, EncryptResponse, GenerateDataKeyRequest,
    GenerateDataKeyResponse, GenerateDataKeyWithoutPlaintextResponse, GenerateRandomRequest,
    GenerateRandomResponse, ReEncryptRequest, ReEncryptResponse,
};
use trent_wire::Operation;

use crate::client::TrentClient;
use crate::error::ClientError;

impl TrentClient {
    /// `Encrypt`: up to 4096 bytes under a symmetric key, bound to an encryption context.
    pub async fn encrypt(&self, request: &EncryptRequest) -> Result<EncryptResponse, ClientError> {
        self.call(Operation::Encrypt.name(), request).await
    }

    /// `Decrypt`: a blob from Encrypt, GenerateDataKey or ReEncrypt, with the same context.
    pub async fn decrypt(&self, request: &DecryptRequest) -> Result<DecryptResponse, ClientError> {
        self.call(Operation::Decrypt.name(), request).await
    }

    /// `ReEncrypt`: a blob moved to another key or context without exposing its plaintext.
    pub async fn re_encrypt(&self, request: &ReEncryptRequest) -> Result<ReEncryptResponse, ClientError> {
        self.call(Operation::ReEncrypt.name(), request).await
    }

    /// `GenerateDataKey`: a fresh data key, in plaintext and encrypted under a KMS key.
    pub async fn generate_data_key(
        &self,
        request: &GenerateDataKeyRequest,
    ) -> Result<GenerateDataKeyResponse, ClientError> {
        self.call(Operation::GenerateDataKey.name(), request).await
    }

    /// `GenerateDataKeyWithoutPlaintext`: a fresh data key, encrypted only.
    pub async fn generate_data_key_without_plaintext(
        &self,
        request: &GenerateDataKeyRequest,
    ) -> Result<GenerateDataKeyWithoutPlaintextResponse, ClientError> {
        self.call(Operation::GenerateDataKeyWithoutPlaintext.name(), request).await
    }

    /// `GenerateRandom`: 1–1024 random bytes.
    pub async fn generate_random(
        &self,
        request: &GenerateRandomRequest,
    ) -> Result<GenerateRandomResponse, ClientError> {
        self.call(Operation::GenerateRandom.name(), request).await
    }
}
