//! Object bodies on disk, encrypted at rest as SSE-S3 describes
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingServerSideEncryption.html>):
//! each body has its own AES-256-GCM data key, and the data key is stored in the
//! object's metadata wrapped by a master key that lives in a separate file
//! (`<data dir>/s3/master.key`), never next to the bodies.
//!
//! A body is written to `tmp/`, fsynced and renamed into `objects/` before its metadata
//! is committed, so a crash leaves at most an unreferenced file, which [`BlobStore::sweep`]
//! removes at start. A file is `nonce (12 bytes) || ciphertext || tag`.

use std::collections::HashSet;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine as _;
use mamori_aws::AwsError;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const NONCE_LEN: usize = 12;

/// Where bodies live, and the master key.
pub struct BlobStore {
    objects: PathBuf,
    tmp: PathBuf,
    master: Aes256Gcm,
}

impl std::fmt::Debug for BlobStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStore").field("objects", &self.objects).finish_non_exhaustive()
    }
}

/// A stored body: its file id and its wrapped data key.
#[derive(Debug, Clone)]
pub struct StoredBlob {
    pub id: String,
    pub wrapped_key: String,
}

impl BlobStore {
    /// Opens (creating) `<dir>/s3`, with its master key.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        let root = dir.join("s3");
        let objects = root.join("objects");
        let tmp = root.join("tmp");
        fs::create_dir_all(&objects)?;
        fs::create_dir_all(&tmp)?;
        let key_path = root.join("master.key");
        let key = match fs::read(&key_path) {
            Ok(k) if k.len() == 32 => k,
            Ok(_) => {
                return Err(std::io::Error::other(format!(
                    "{} is not a 32-byte key",
                    key_path.display()
                )));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let k: [u8; 32] = rand::random();
                write_durably(&key_path, &root.join("master.key.tmp"), &k)?;
                k.to_vec()
            }
            Err(e) => return Err(e),
        };
        let master = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&key));
        Ok(Self { objects, tmp, master })
    }

    /// Encrypts `plain` under a fresh data key and writes it durably.
    pub fn put(&self, plain: &[u8]) -> Result<StoredBlob, AwsError> {
        let data_key: [u8; 32] = rand::random();
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&data_key));
        let sealed = seal(&cipher, plain)?;
        let id = uuid::Uuid::new_v4().simple().to_string();
        write_durably(&self.objects.join(&id), &self.tmp.join(&id), &sealed)
            .map_err(AwsError::internal)?;
        let wrapped_key = B64.encode(seal(&self.master, &data_key)?);
        Ok(StoredBlob { id, wrapped_key })
    }

    /// Reads and decrypts a body.
    pub fn get(&self, id: &str, wrapped_key: &str) -> Result<Vec<u8>, AwsError> {
        let wrapped = B64.decode(wrapped_key).map_err(AwsError::internal)?;
        let data_key = open(&self.master, &wrapped)?;
        let cipher = Aes256Gcm::new_from_slice(&data_key).map_err(AwsError::internal)?;
        let sealed = fs::read(self.path(id)?).map_err(AwsError::internal)?;
        open(&cipher, &sealed)
    }

    /// Removes a body file; a missing file is not an error.
    pub fn remove(&self, id: &str) {
        let Ok(path) = self.path(id) else { return };
        if let Err(e) = fs::remove_file(&path)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(target: "s3", blob = id, error = %e, "cannot remove object body");
        }
    }

    /// Removes every body file not in `referenced` and every leftover temp file: what
    /// a crash between the rename and the metadata commit leaves. Returns the count.
    pub fn sweep(&self, referenced: &HashSet<String>) -> usize {
        let mut n = 0;
        for dir in [&self.tmp, &self.objects] {
            let Ok(entries) = fs::read_dir(dir) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if (dir == &self.tmp || !referenced.contains(&name))
                    && fs::remove_file(entry.path()).is_ok()
                {
                    n += 1;
                }
            }
        }
        n
    }

    /// Removes every body (the admin reset).
    pub fn clear(&self) {
        self.sweep(&HashSet::new());
    }

    /// The path of a body file, refusing ids that are not ours.
    pub fn path(&self, id: &str) -> Result<PathBuf, AwsError> {
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(AwsError::internal(format!("bad blob id {id:?}")));
        }
        Ok(self.objects.join(id))
    }
}

fn seal(cipher: &Aes256Gcm, plain: &[u8]) -> Result<Vec<u8>, AwsError> {
    let nonce: [u8; NONCE_LEN] = rand::random();
    let ct = cipher
        .encrypt(Nonce::from_slice(&nonce), plain)
        .map_err(|_| AwsError::internal("encryption failed"))?;
    let mut out = Vec::with_capacity(NONCE_LEN + ct.len());
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    Ok(out)
}

fn open(cipher: &Aes256Gcm, sealed: &[u8]) -> Result<Vec<u8>, AwsError> {
    if sealed.len() < NONCE_LEN {
        return Err(AwsError::internal("object body truncated"));
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    cipher
        .decrypt(Nonce::from_slice(nonce), ct)
        .map_err(|_| AwsError::internal("object body fails authentication"))
}

/// Writes `bytes` to `tmp`, fsyncs it, renames it to `path` and fsyncs the directory.
fn write_durably(path: &Path, tmp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = fs::File::create(tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    fs::rename(tmp, path)?;
    if let Some(parent) = path.parent() {
        fs::File::open(parent)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_encrypted_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::open(dir.path()).unwrap();
        let plain = b"the quick brown fox jumps over the lazy dog".repeat(10);
        let blob = store.put(&plain).unwrap();
        let on_disk = fs::read(store.path(&blob.id).unwrap()).unwrap();
        assert!(!on_disk.windows(9).any(|w| w == b"quick bro"));
        assert_eq!(store.get(&blob.id, &blob.wrapped_key).unwrap(), plain);
        // The master key survives a reopen.
        let again = BlobStore::open(dir.path()).unwrap();
        assert_eq!(again.get(&blob.id, &blob.wrapped_key).unwrap(), plain);
        // Sweep keeps referenced bodies only.
        let orphan = store.put(b"orphan").unwrap();
        let keep: HashSet<String> = [blob.id.clone()].into();
        assert_eq!(store.sweep(&keep), 1);
        assert!(store.get(&orphan.id, &orphan.wrapped_key).is_err());
        assert!(store.get(&blob.id, &blob.wrapped_key).is_ok());
    }
}
